"""Compiled training steps: ``step = somanet.graph.compile(train_step)``.

``train_step`` is ordinary eager code: a forward pass, ``loss.backward()``,
``optimizer.step()``, ``optimizer.zero_grad()`` (gradient clipping, metrics updated
through ``Model.update_metrics``, ``Module.zero_grad`` too). The first call for an
input signature runs it eagerly, for real, while recording:

- every op (the ``Function`` of ``somanet.ops``, its attributes, where each input
  comes from: a step input, an earlier op, or a tensor read by reference such as a
  Parameter);
- every change of state, in order: ``backward``, optimiser steps, ``zero_grad``,
  clipping, metric updates (the functions marked ``@recordable``).

Later calls with that signature replay the record as array code: each op's
``forward`` on a context object kept from call to call, then each ``backward`` in
the order the engine would run them, with the gradients summed in the same order,
so the results are bitwise those of eager code; no Tensor, node or graph object is
made per op. Optimiser steps go straight to the optimiser's update kernels; the
other state changes are called again with the new values. Randomness (dropout)
draws from the same generator in the same order, so a seeded run gives eager's
masks; batch-norm statistics update inside their op as in eager mode.

What a replay cannot reproduce falls back to eager code, with one
``CompileWarning`` naming the op and the line (or a ``GraphCaptureError`` with
``strict=True``): a Python decision on a tensor's value (``.item()``, ``bool``,
``.numpy()``, ``float``) or a write in place into a tensor computed in the step.
Other Python side effects of ``train_step`` (a counter, a print) run at the first
call only.

    >>> import somanet as sn
    >>> from somanet import nn
    >>> sn.manual_seed(0)
    >>> model = nn.Linear(3, 1)
    >>> optimizer = sn.optim.SGD(model.parameters(), lr=0.1)
    >>> def train_step(x, y):
    ...     loss = sn.mse(model(x), y)
    ...     loss.backward()
    ...     optimizer.step()
    ...     optimizer.zero_grad()
    ...     return loss
    >>> step = sn.graph.compile(train_step)
    >>> x, y = sn.ones(8, 3), sn.zeros(8, 1)
    >>> losses = [float(step(x, y)) for _ in range(3)]
    >>> losses[0] > losses[1] > losses[2], len(step.programs)
    (True, 1)
"""
import warnings

from ..autograd.engine import _HOOKED, grad_ready
from ..autograd.mode import mode
from ..backend import as_array_like, device_of
from ..nn.module import Module
from ..tensor import Tensor, run_backward
from .capture import _is_tensor_like, _modules_of, _signature
from .graph import GraphRecorder, current_graph
from .structure import flatten, rebuild
from .tensor import GraphCaptureError, user_frame


class CompileWarning(UserWarning):
    """A step that ``somanet.graph.compile`` cannot replay runs eagerly (said once)."""


class CapturedTensor(Tensor):
    """A tensor computed while a training step is captured: an ordinary eager tensor
    (autograd included) that notes when Python reads its value or writes into it, since
    a replay could not do the same."""

    _capture = None
    _producer = "an op"

    def _noted(self, what):
        capture = self._capture
        if capture is not None and capture.active and not capture.inside:
            capture.offences.append(f"{what} of a tensor made by {self._producer} at "
                                    f"{user_frame()}")

    def item(self):
        self._noted("item()")
        return Tensor.item(self)

    def tolist(self):
        self._noted("tolist()")
        return Tensor.tolist(self)

    def numpy(self):
        self._noted("numpy()")
        return Tensor.numpy(self)

    def __array__(self, dtype=None, copy=None):
        self._noted("numpy.asarray()")
        return Tensor.__array__(self, dtype, copy)

    def __bool__(self):
        self._noted("bool()")
        return Tensor.__bool__(self)

    def __float__(self):
        self._noted("float()")
        return Tensor.__float__(self)

    def __int__(self):
        self._noted("int()")
        return Tensor.__int__(self)

    def __index__(self):
        self._noted("use as an index")
        return int(Tensor.__int__(self))

    def _check_writable(self, what):
        self._noted(f"{what} (a write in place)")
        return Tensor._check_writable(self, what)

    def detach(self):
        capture = self._capture
        if capture is None or not capture.active:
            return Tensor.detach(self)
        return capture.detach(self)


class _Op:
    """One recorded op: its Function (a context object reused by every replay), its
    attributes, and the slots of its inputs and outputs."""

    __slots__ = ("ctx", "forward", "params", "sources", "outputs", "tuple_output",
                 "backward")

    def __init__(self, cls, node, params, sources, outputs, tuple_output):
        ctx = cls.__new__(cls)
        if node is not None:  # what backward reads from its node: which inputs, shapes
            ctx.needs_input_grad = node.needs_input_grad
            ctx.parents = tuple(None if edge is None else (None,) + tuple(edge[1:])
                                for edge in node.parents)
            ctx.outputs = node.outputs
        self.ctx = ctx
        self.forward = ctx.forward
        self.params = params
        self.sources = sources
        self.outputs = outputs
        self.tuple_output = tuple_output
        self.backward = None  # (edges) when a gradient flows through it


class _Capture:
    """``autograd.mode.recorder`` while a step runs for the first time."""

    def __init__(self, inputs):
        self.active = True
        self.inside = 0  # > 0 inside a recorded state change: its own ops are not recorded
        self.slots = {}  # id(tensor) -> slot
        self.count = 0
        self.kept = []  # every tensor met (so ids stay unique while capturing)
        self.leaves = []  # (slot, tensor): tensors read by reference
        self.ops = []
        self.producer = {}  # slot -> (index of the op making it, which of its outputs)
        self.op_of_node = {}  # id(autograd node) -> index in ops
        self.events = []
        self.offences = []
        self.inputs = []
        for tensor in inputs:
            tensor._capture = self
            self.inputs.append(self._new_slot(tensor))

    def _new_slot(self, tensor):
        slot = self.count
        self.count += 1
        self.slots[id(tensor)] = slot
        self.kept.append(tensor)
        return slot

    def slot(self, tensor):
        found = self.slots.get(id(tensor))
        if found is None:
            found = self._new_slot(tensor)
            self.leaves.append((found, tensor))
        return found

    # -- the recorder ---------------------------------------------------------------------

    def op(self, cls, inputs, params, result):
        if self.inside or not self.active:
            return result
        sources = [self.slot(tensor) for tensor in inputs]
        parts = result if isinstance(result, tuple) else (result,)
        node = parts[0]._node
        outputs = []
        for position, part in enumerate(parts):
            if type(part) is Tensor:
                part.__class__ = CapturedTensor
                part._capture = self
                part._producer = cls.__name__
            outputs.append(self._new_slot(part))
            self.producer[outputs[-1]] = (len(self.ops), position)
        if node is not None:
            self.op_of_node[id(node)] = len(self.ops)
        self.ops.append(_Op(cls, node, params, sources, outputs, isinstance(result, tuple)))
        return result

    def detach(self, tensor):
        result = Tensor.detach(tensor)
        source = self.slot(tensor)
        slot = self._new_slot(result)
        self.producer[slot] = (len(self.ops), 0)
        self.ops.append(_Op(_Identity, None, {}, [source], [slot], False))
        return result

    def call(self, fn, args, kwargs):
        if self.inside or not self.active:
            return fn(*args, **kwargs)
        position = len(self.ops)  # the ops a replay runs before this state change
        if fn is not run_backward:  # iterators (model.parameters()) are read once: keep a list
            args = tuple(_materialised(value) for value in args)
            kwargs = {key: _materialised(value) for key, value in kwargs.items()}
        self.inside += 1
        try:
            if fn is run_backward:
                self.events.append(("backward", position,
                                    self._backward_event(*args, **kwargs)))
            result = fn(*args, **kwargs)
        finally:
            self.inside -= 1
        if fn is not run_backward:
            self.events.append(("call", position,
                                (fn, self._arguments(args), self._arguments(kwargs))))
        return result

    def _arguments(self, value):
        """``value`` with the tensors computed in the step (and the step's inputs)
        replaced by markers of their slots; anything else (a Parameter, an optimiser)
        is kept by reference."""
        if isinstance(value, Tensor):
            slot = self.slots.get(id(value))
            if slot is not None and (slot in self.producer or slot in self.inputs):
                return _Slot(slot)
            return value
        if isinstance(value, (list, tuple)):
            return type(value)(self._arguments(item) for item in value)
        if isinstance(value, dict):
            return {key: self._arguments(item) for key, item in value.items()}
        return value

    def _backward_event(self, root, grad=None, retain_graph=False):
        """The backward schedule from ``root``: the engine's order, computed now."""
        if id(root) not in self.slots or root._node is None:
            raise GraphCaptureError(f"backward() of a tensor not computed in the step, at "
                                    f"{user_frame()}")
        gradient = None if grad is None else self._arguments(
            grad if isinstance(grad, Tensor) else Tensor(grad))
        start = self.op_of_node[id(root._node)]
        reached, order = {start}, []
        for index in range(start, -1, -1):  # decreasing node numbers: the engine's order
            if index not in reached:
                continue
            op = self.ops[index]
            order.append(index)
            edges = []
            for edge in op.ctx.parents if op.ctx.needs_input_grad else ():
                if edge is None:
                    edges.append(None)
                    continue
                source = op.sources[len(edges)]
                made = self.producer.get(source)
                if made is None:  # a leaf (a Parameter): the gradient goes to its .grad
                    edges.append(self.kept[source])
                else:
                    edges.append(source)
                    reached.add(made[0])
            op.backward = edges
        return (self.slots[id(root)], gradient, order)


def _materialised(value):
    """A generator or other iterator as a list (so a replay sees the same items)."""
    if not isinstance(value, (list, tuple, dict, str, bytes, Tensor)) and \
            hasattr(value, "__next__"):
        return list(value)
    return value


class _Slot:
    """A step tensor among the arguments of a recorded state change."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class _Identity:
    """What ``detach()`` is in a replay: the value, passed on."""

    def forward(ctx, x):
        return x


class StepProgram:
    """A captured training step, replayed as array code (see the module docstring).

    The record becomes flat instruction lists, made once: a forward instruction is
    ``(forward, input slots, params, output slots, several outputs?)``, a backward one
    ``(backward, output slots, output shapes and dtypes or None, gradient targets)``,
    where a target is the slot of an earlier op's output or a leaf tensor.
    """

    def __init__(self, capture, output_slots, output_spec):
        self.inputs = capture.inputs
        self.leaves = capture.leaves
        self.size = capture.count
        self.output_slots = output_slots
        self.output_spec = output_spec
        ops = capture.ops
        self.forward = [(op.forward, tuple(op.sources), op.params, tuple(op.outputs),
                         op.tuple_output) for op in ops]
        self.events = []
        for kind, position, event in capture.events:
            if kind == "backward":
                root, gradient, order = event
                schedule = [(ops[index].ctx.backward, tuple(ops[index].outputs),
                             ops[index].ctx.outputs if len(ops[index].outputs) > 1 else None,
                             tuple(ops[index].backward)) for index in order]
                uses = {}  # id(leaf) -> (gradients it receives, leaf): for grad-ready hooks
                for _, _, _, targets in schedule:
                    for target in targets:
                        if target is not None and target.__class__ is not int:
                            count, _ = uses.get(id(target), (0, target))
                            uses[id(target)] = (count + 1, target)
                self.events.append(("backward", position, (root, gradient, schedule, uses)))
            else:
                fn, args, kwargs = event
                plain = not _has_slots((args, kwargs))  # no step tensor among the arguments
                self.events.append(("call", position, (fn, args, kwargs, plain)))

    def run(self, arrays):
        values = [None] * self.size
        for slot, array in zip(self.inputs, arrays):
            values[slot] = array
        leaves = self.leaves
        for slot, tensor in leaves:  # by reference: updates since the last call count
            values[slot] = tensor.data
        done = 0  # the ops run so far: each state change comes where it came in eager code
        for kind, position, event in self.events:
            self._forward(values, done, position)
            done = position
            if kind == "backward":
                self._backward(values, *event)
            else:
                fn, args, kwargs, plain = event
                if plain:
                    fn(*args, **kwargs)
                else:
                    fn(*_values(args, values), **_values(kwargs, values))
                for slot, tensor in leaves:  # an update may have replaced an array
                    values[slot] = tensor.data
        self._forward(values, done, len(self.forward))
        if not self.output_slots and self.output_spec is None:
            return None  # the step returned nothing
        tensors = []
        for slot in self.output_slots:
            tensor = Tensor.__new__(Tensor)
            tensor.data = values[slot]
            tensors.append(tensor)
        return rebuild(self.output_spec, tensors)

    def _forward(self, values, start, stop):
        for forward, sources, params, outputs, several in self.forward[start:stop]:
            arrays = [values[source] for source in sources]
            out = forward(*arrays, **params)
            kind = type(arrays[0])
            if several:
                for slot, part in zip(outputs, out):
                    values[slot] = part if type(part) is kind else \
                        as_array_like(part, arrays[0])
            else:
                values[outputs[0]] = out if type(out) is kind else \
                    as_array_like(out, arrays[0])

    def _backward(self, values, root, gradient, schedule, uses):
        hooked = {key: [count, leaf] for key, (count, leaf) in uses.items()} \
            if _HOOKED[0] else None  # as the engine: hooks run once a leaf's gradient is whole
        grads = [None] * self.size  # the gradient of each op output so far, by slot
        root_value = values[root]
        grads[root] = device_of(root_value).xp.ones_like(root_value) if gradient is None \
            else values[gradient.index]
        for backward, outputs, meta, targets in schedule:
            if meta is None:
                given = (grads[outputs[0]],)
            else:  # several outputs: zeros for those that got no gradient, as the engine
                given = [grads[slot] for slot in outputs]
                reference = next(g for g in given if g is not None)
                xp = device_of(reference).xp
                given = [xp.zeros(shape, dtype) if g is None else g
                         for g, (shape, dtype) in zip(given, meta)]
            input_grads = backward(*given)
            if input_grads.__class__ is not tuple:
                input_grads = (input_grads,)
            kind = type(given[0])
            for target, input_grad in zip(targets, input_grads):
                if target is None or input_grad is None:
                    continue
                if type(input_grad) is not kind:
                    input_grad = as_array_like(input_grad, given[0])
                if target.__class__ is int:  # the slot of an earlier op's output
                    previous = grads[target]
                    grads[target] = input_grad if previous is None else previous + input_grad
                else:
                    _deliver(target, input_grad)
                    if hooked:
                        grad_ready(hooked, target)


def _has_slots(value):
    if isinstance(value, _Slot):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_slots(item) for item in value)
    if isinstance(value, dict):
        return any(_has_slots(item) for item in value.values())
    return False


def _deliver(leaf, gradient):
    """As the engine does: the first gradient becomes ``.grad``, later ones are added
    (out of place)."""
    if leaf.grad is None:
        tensor = Tensor.__new__(Tensor)
        tensor.data = gradient
        leaf.grad = tensor
    else:
        leaf.grad.data = leaf.grad.data + gradient


def _values(value, values):
    if isinstance(value, _Slot):
        tensor = Tensor.__new__(Tensor)
        tensor.data = values[value.index]
        return tensor
    if isinstance(value, (list, tuple)):
        return type(value)(_values(item, values) for item in value)
    if isinstance(value, dict):
        return {key: _values(item, values) for key, item in value.items()}
    return value


class CompiledStep:
    """A training step captured per input signature and replayed (see the module
    docstring); made by ``compile``.

    Attributes:
        programs: ``{signature: StepProgram or None}`` (``None``: that signature runs
            eagerly).
        strict: raise instead of falling back to eager code.
    """

    def __init__(self, fn, strict=False):
        self.fn = fn
        self.strict = strict
        self.programs = {}
        self._modules = None  # the Modules fn reads (closures, globals, self): their modes
        self._module_list = None  # every module of those, for the modes in the signature
        self.__name__ = getattr(fn, "__name__", "train_step")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args):
        leaves, spec = flatten(list(args), lambda item: _is_tensor_like(item))
        tensors = [leaf if isinstance(leaf, Tensor) else Tensor(leaf) for leaf in leaves
                   if _is_tensor_like(leaf)]
        if self._modules is None:
            self._modules = _modules_of(self.fn, ())
            self._module_list = [module for _, owner in self._modules
                                 for module in owner.modules()]
        extra = [("", leaf) for leaf in leaves if isinstance(leaf, Module)]
        key = _signature(self.fn, leaves, extra) + (
            tuple([module.training for module in self._module_list]),)
        if key not in self.programs:
            return self._capture(key, leaves, spec, tensors)
        program = self.programs[key]
        if program is None:
            return self.fn(*args)
        return program.run([tensor.data for tensor in tensors])

    def _capture(self, key, leaves, spec, tensors):
        previous = mode.recorder
        if previous is not None and (not isinstance(previous, GraphRecorder) or
                                     current_graph() is not None):
            raise GraphCaptureError(f"{self.__name__}: a compiled step cannot be captured "
                                    f"while a graph is being built or another step captured")
        inputs = []
        for tensor in tensors:
            standin = CapturedTensor.__new__(CapturedTensor)
            standin.data = tensor.data
            if tensor.requires_grad:
                standin._requires_grad = True
            inputs.append(standin)
        capture = _Capture(inputs)
        replaced = iter(inputs)
        arguments = rebuild(spec, [next(replaced) if _is_tensor_like(leaf) else leaf
                                   for leaf in leaves])
        mode.recorder = capture
        try:
            result = self.fn(*arguments)
        finally:
            mode.recorder = previous
            capture.active = False
        outputs, output_spec = ([], None) if result is None else \
            flatten(result, lambda item: isinstance(item, Tensor))
        problems = list(capture.offences)
        for item in outputs:
            if not isinstance(item, Tensor):
                problems.append(f"it returned a {type(item).__name__} (a compiled step "
                                f"returns tensors)")
        if problems:
            message = (f"{self.__name__} cannot be compiled, it runs eagerly: "
                       f"{problems[0]}" + (f" (and {len(problems) - 1} more)"
                                           if len(problems) > 1 else "") +
                       "; return tensors and read their values after the step, or branch "
                       "with somanet.graph.cond")
            if self.strict:
                raise GraphCaptureError(message)
            warnings.warn(message, CompileWarning, stacklevel=3)
            self.programs[key] = None
        else:
            self.programs[key] = StepProgram(capture, [capture.slot(item) for item in outputs],
                                             output_spec)
        for item in outputs:  # the caller gets ordinary tensors
            if type(item) is CapturedTensor:
                item.__class__ = Tensor
        return result


def compile(fn, strict=False):
    """Compile a training step: capture ``fn`` once per input signature, replay it as
    array code afterwards (see the module docstring).

    Args:
        fn: ``train_step(*tensors)``: eager code with ``loss.backward()`` and
            ``optimizer.step()`` (or any computation: a forward pass compiles too).
            Its arguments may be tensors, arrays (the data: part of the replay),
            nested lists or tuples of them, or other values (part of the signature).
        strict: raise ``GraphCaptureError`` when ``fn`` cannot be replayed, instead of
            running it eagerly with a ``CompileWarning``.

    Returns:
        A ``CompiledStep``, called like ``fn``; it returns what ``fn`` returns (tensors
        without autograd: backward already ran inside the step).
    """
    return CompiledStep(fn, strict=strict)
