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

Later calls with that signature run the record as one generated Python function of
straight-line array code (its text: ``program.source``, for each program in
``step.programs``): each op's ``forward`` on a context object kept from call to call,
then each ``backward`` in the order the engine would run them, with the gradients
summed in the same order, so the results are bitwise those of eager code; no Tensor,
node or graph object is made per op, and no loop interprets the record. State changes
are called again with the new values. Randomness (dropout) draws from the same
generator in the same order, so a seeded run gives eager's masks; batch-norm
statistics update inside their op as in eager mode.

Native code: once a program has been replayed ``native_after`` times (50 by default:
short runs never pay for compiling), it is lowered, where every op has a native form
(``somanet.graph.lowering``: dense and elementwise layers, the usual losses, SGD and
Adam), to one numba function for its exact shapes: forward, backward and optimiser
updates with no Python between them (``program.native``; see
``somanet.graph.native``). Its results equal the Python program's within float32
round-off (sums and products may add in another order), not bitwise; the same
dropout masks. A program that cannot be lowered says why in
``program.native_reason`` and stays Python code. The compiled code is cached on disk,
so a later process loads it instead of compiling (a few seconds per program the first
time).

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
import builtins
import linecache
import warnings

import numpy

from ..autograd.engine import _HOOKED, grad_ready
from ..autograd.mode import mode
from ..backend import as_array_like, device_of
from ..nn.module import Module
from ..tensor import Tensor, run_backward
from .capture import _is_tensor_like, _modules_of, _signature
from .graph import GraphRecorder, current_graph
from .native import NativeRecord, NotLowered, lower as lower_native
from .replay import Slot, has_slots, returned_source, slots, tensor_of, values_of
from .structure import flatten, rebuild
from .tensor import GraphCaptureError, user_frame


_HOST_ARRAY = numpy.ndarray
NATIVE_AFTER = 50  # replays of a program before it is lowered to native code


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
                return Slot(slot)
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


class _Identity:
    """What ``detach()`` is in a replay: the value, passed on."""

    def forward(ctx, x):
        return x


class StepProgram:
    """A captured training step, replayed as array code (see the module docstring).

    The record becomes the source of one Python function, made once: each op is a
    call of its Function's ``forward`` on the arrays (held in locals, ``v<slot>``),
    each backward the ops' ``backward`` calls in the engine's order with the
    gradients (``g<slot>``) summed in the same order, each other state change a call
    of the recorded function. No loop over instructions, no Tensor or node per op.
    ``program.source`` is that function's text (for reading, and in tracebacks).

    Attributes:
        run: what a replay calls with the input arrays: ``run_python`` (the generated
            function), counting replays until the step is lowered, then the native
            step's.
        native: the ``NativeStep`` once lowered (``native.native_source`` is the code
            numba compiled), else None; ``native_reason`` says why not.
        replays: replays counted before lowering.
    """

    def __init__(self, capture, output_slots, output_spec, native_after=None):
        self.inputs = capture.inputs
        self.leaves = capture.leaves
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
                plain = not has_slots((args, kwargs))  # no step tensor among the arguments
                self.events.append(("call", position, (fn, args, kwargs, plain)))
        self.source, self.run_python = _Generator(self).function()
        self.run = self.run_python
        self.native = None
        self.native_reason = "native=False" if native_after is None else \
            "not yet lowered: it has not been replayed enough times"
        self.replays = 0
        if native_after is not None:
            self._record = NativeRecord(capture, output_slots, output_spec)
            if native_after <= 0:
                self._lower()
            else:
                self.run = self._counting(native_after)

    def _counting(self, native_after):
        """``run_python``, counting the replays: the ``native_after``-th lowers the step
        to native code, which then runs it (or, if it cannot be lowered, Python code)."""
        def run(arrays):
            self.replays += 1
            if self.replays < native_after:
                return self.run_python(arrays)
            self._lower()
            return self.run(arrays)
        return run

    def _lower(self):
        self.run = self.run_python
        record, self._record = self._record, None
        try:
            self.native = lower_native(record, self.run_python)
        except NotLowered as why:
            self.native_reason = str(why)
        except Exception as error:  # numba could not compile it: Python code runs it
            self.native_reason = (f"numba could not compile it "
                                  f"({type(error).__name__}: {str(error)[:300]})")
        else:
            self.native_reason = None
            self.run = self.native.run


class _Generator:
    """Writes a ``StepProgram``'s function: its source and the objects it names."""

    def __init__(self, program):
        self.program = program
        self.lines = ["def run(arrays):"]
        self.names = {"as_array_like": as_array_like, "deliver": _deliver,
                      "grad_ready": grad_ready, "hooked_uses": _hooked_uses, "rebuild": rebuild,
                      "tensor_of": tensor_of, "ones_like": _ones_like, "filled": _filled,
                      "values_of": values_of}

    def name(self, value, hint):
        """A name in the function's namespace bound to ``value`` (a Function's method,
        an attribute value, a leaf tensor, a state-changing function...)."""
        name = f"{hint}{len(self.names)}"
        self.names[name] = value
        return name

    def emit(self, text, depth=1):
        self.lines.append("    " * depth + text)

    def function(self):
        program = self.program
        if program.inputs:
            self.emit(", ".join(f"v{slot}" for slot in program.inputs) + ", = arrays")
        leaves = [(slot, self.name(tensor, "leaf")) for slot, tensor in program.leaves]
        read_leaves = [f"v{slot} = {leaf}.data" for slot, leaf in leaves]
        for text in read_leaves:  # by reference: updates since the last call count
            self.emit(text)
        done = 0  # the ops written so far: each state change comes where it came eagerly
        for kind, position, event in program.events:
            self.forward(done, position)
            done = position
            if kind == "backward":
                self.backward(*event)
            else:
                self.call(*event)
                for text in read_leaves:  # an update may have replaced an array
                    self.emit(text)
        self.forward(done, len(program.forward))
        self.emit(returned_source(program.output_slots, program.output_spec,
                                  lambda value: self.name(value, "spec"), self.names))
        source = "\n".join(self.lines) + "\n"
        filename = f"<compiled step {id(program):x}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = dict(self.names)
        exec(builtins.compile(source, filename, "exec"), namespace)
        return source, namespace["run"]

    def forward(self, start, stop):
        for forward, sources, params, outputs, several in self.program.forward[start:stop]:
            arguments = [f"v{source}" for source in sources] + \
                [f"{key}={self.name(value, 'a')}" for key, value in params.items()]
            call = f"{self.name(forward, 'f')}({', '.join(arguments)})"
            first = f"v{sources[0]}"
            if several:
                self.emit(f"r = {call}")
                for position, slot in enumerate(outputs):
                    self.emit(f"v{slot} = r[{position}]")
            else:
                self.emit(f"v{outputs[0]} = {call}")
            for slot in outputs:  # a NumPy scalar from a reduction: the array type again
                self.emit(f"if v{slot}.__class__ is not {first}.__class__: "
                          f"v{slot} = as_array_like(v{slot}, {first})")

    def backward(self, root, gradient, schedule, uses):
        self.emit(f"hooked = hooked_uses({self.name(uses, 'uses')})")
        pending = sorted({slot for _, outputs, _, targets in schedule
                          for slot in outputs + tuple(t for t in targets
                                                      if t.__class__ is int)} - {root})
        for slot in pending:  # the gradient of each op output so far
            self.emit(f"g{slot} = None")
        self.emit(f"g{root} = " + (f"ones_like(v{root})" if gradient is None
                                   else f"v{gradient.index}"))
        for backward, outputs, meta, targets in schedule:
            method = self.name(backward, "b")
            if meta is None:
                reference = f"g{outputs[0]}"
                self.emit(f"r = {method}({reference})")
            else:  # several outputs: zeros for those that got no gradient, as the engine
                given = ", ".join(f"g{slot}" for slot in outputs)
                self.emit(f"given = filled(({given},), {self.name(meta, 'meta')})")
                self.emit(f"r = {method}(*given)")
                reference = "given[0]"
            self.emit("if r.__class__ is not tuple: r = (r,)")
            for position, target in enumerate(targets):
                if target is None:
                    continue
                self.emit(f"t = r[{position}] if len(r) > {position} else None")
                self.emit("if t is not None:")
                self.emit(f"if t.__class__ is not {reference}.__class__: "
                          f"t = as_array_like(t, {reference})", 2)
                if target.__class__ is int:  # the slot of an earlier op's output
                    self.emit(f"g{target} = t if g{target} is None else g{target} + t", 2)
                else:
                    leaf = self.name(target, "leaf")
                    self.emit(f"deliver({leaf}, t)", 2)
                    self.emit(f"if hooked: grad_ready(hooked, {leaf})", 2)

    def call(self, fn, args, kwargs, plain):
        marked = sorted(slots((args, kwargs)))
        fn, args, kwargs = self.name(fn, "call"), self.name(args, "args"), \
            self.name(kwargs, "kwargs")
        if plain:
            self.emit(f"{fn}(*{args}, **{kwargs})")
            return
        values = "{" + ", ".join(f"{slot}: v{slot}" for slot in marked) + "}"
        self.emit(f"{fn}(*values_of({args}, {values}), **values_of({kwargs}, {values}))")


def _hooked_uses(uses):
    """A backward's count of the gradients each hooked leaf still awaits, or ``None``
    when no grad-ready hook exists (as the engine: hooks run once a leaf's gradient is
    whole)."""
    if not _HOOKED[0]:
        return None
    return {key: [count, leaf] for key, (count, leaf) in uses.items()}


def _ones_like(array):
    return device_of(array).xp.ones_like(array)


def _filled(given, meta):
    """The gradients of an op's outputs, zeros for those that got none (as the engine)."""
    reference = next(g for g in given if g is not None)
    xp = device_of(reference).xp
    return [xp.zeros(shape, dtype) if g is None else g for g, (shape, dtype) in zip(given, meta)]


def _deliver(leaf, gradient):
    """As the engine does: the first gradient becomes ``.grad``, later ones are added
    (out of place)."""
    if leaf.grad is None:
        tensor = Tensor.__new__(Tensor)
        tensor.data = gradient
        leaf.grad = tensor
    else:
        leaf.grad.data = leaf.grad.data + gradient


class CompiledStep:
    """A training step captured per input signature and replayed (see the module
    docstring); made by ``compile``.

    Attributes:
        programs: ``{signature: StepProgram or None}`` (``None``: that signature runs
            eagerly).
        strict: raise instead of falling back to eager code.
    """

    def __init__(self, fn, strict=False, native=True, native_after=None):
        self.fn = fn
        self.strict = strict
        if native_after is None:
            native_after = NATIVE_AFTER
        self.native_after = native_after if native else None
        self.programs = {}
        self._fast = {}  # (arguments' shapes, dtypes and devices, modes) -> a program
        self._modules = None  # the Modules fn reads (closures, globals, self): their modes
        self._module_list = None  # every module of those, for the modes in the signature
        self.__name__ = getattr(fn, "__name__", "train_step")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args):
        fast = None  # the usual call, step(x, y) with tensors: its program by a short key
        if self._modules is not None:
            arrays, key = [], []
            for arg in args:
                if arg.__class__ is not Tensor:
                    break
                data = arg.data
                arrays.append(data)
                key.append((data.shape, data.dtype) if data.__class__ is _HOST_ARRAY
                           else (data.shape, data.dtype, device_of(data)))
            else:  # every argument is a Tensor: their shapes, dtypes, devices, the modes
                if self._module_list:
                    key.append(tuple([module.training for module in self._module_list]))
                fast = tuple(key)
                program = self._fast.get(fast)
                if program is not None:
                    return program.run(arrays)
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
        if fast is not None:
            self._fast[fast] = program
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
                                             output_spec, native_after=self.native_after)
        for item in outputs:  # the caller gets ordinary tensors
            if type(item) is CapturedTensor:
                item.__class__ = Tensor
        return result


def compile(fn, strict=False, native=True, native_after=None):
    """Compile a training step: capture ``fn`` once per input signature, replay it as
    array code afterwards (see the module docstring).

    Args:
        fn: ``train_step(*tensors)``: eager code with ``loss.backward()`` and
            ``optimizer.step()`` (or any computation: a forward pass compiles too).
            Its arguments may be tensors, arrays (the data: part of the replay),
            nested lists or tuples of them, or other values (part of the signature).
        strict: raise ``GraphCaptureError`` when ``fn`` cannot be replayed, instead of
            running it eagerly with a ``CompileWarning``.
        native: lower programs to native code (numba) once replayed often enough;
            ``False`` keeps them Python code (bitwise eager results).
        native_after: the replays of a program before it is lowered (default
            ``NATIVE_AFTER``, 50); 0 lowers it right after the capture.

    Returns:
        A ``CompiledStep``, called like ``fn``; it returns what ``fn`` returns (tensors
        without autograd: backward already ran inside the step).
    """
    return CompiledStep(fn, strict=strict, native=native, native_after=native_after)
