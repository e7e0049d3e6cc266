"""Native compiled steps: a captured training step as one numba function.

When every op of a captured step has a native form (``graph.lowering``), and its state
changes are backward passes, optimiser steps (SGD, Adam, AdamW) and ``zero_grad`` (with
other recorded calls, such as metric updates, only after them), the whole step becomes
the source of one function of straight-line array code for its exact shapes, compiled
by numba: forward, backward (the engine's order, gradients summed in its order) and the
optimiser's update loops, with no Python between the ops. A small Python function
around it (``NativeStep.source``) does what must stay in Python, per call and before
the native code runs: it checks that the step still applies (no grad-ready hooks, no
gradient left over from outside the step, the optimiser's state and choices as when
compiled; otherwise that call runs the step's Python program), draws the dropout
numbers from the device's generator (the masks of eager mode), counts the optimiser's
steps and works out its scalars (learning rate, bias corrections); after it, it sets
the ``.grad`` of the parameters whose gradient outlives the step and runs the remaining
recorded calls.

The generated source is cached on disk (``backend.jit.native_function``): a second
process with the same step loads the machine code instead of compiling it.

Results equal eager mode's within float32 round-off, not bitwise: see
``graph.lowering`` for where the arithmetic differs.
"""
import builtins
import linecache

import numpy

from ..autograd.engine import _HOOKED
from ..backend import generator, jit
from ..nn.module import Module
from ..ops._operands import constant_value
from ..optim.optimizer import Optimizer
from . import lowering
from .replay import returned_source, slots, values_of

_PRELUDE = """\
import numpy as np
from somanet.backend import kernels_native as _native, kernels_optim as _optim

_kernels = _native.kernels()
gemm = _kernels.gemm
matmul_small = _kernels.matmul_small
softmax_cross_entropy = _kernels.softmax_cross_entropy
softmax_cross_entropy_backward = _kernels.softmax_cross_entropy_backward
softmax_rows, log_softmax_rows = _kernels.softmax_rows, _kernels.log_softmax_rows
pick_rows, place_rows = _kernels.pick_rows, _kernels.place_rows
adam, sgd_momentum, amsgrad, sgd = _optim.numba_kernels()
"""


class NotLowered(Exception):
    """The step has something without a native form (the message says what)."""


class NativeStep:
    """A captured step's native form (see the module docstring), made by ``lower``.

    Attributes:
        source: the Python function called per step (checks, dropout draws, optimiser
            scalars, the native call, ``.grad`` and recorded calls).
        native_source: the source numba compiled (the step's array code).
        function: the compiled function (a numba dispatcher).
    """

    def __init__(self, source, native_source, run, function):
        self.source = source
        self.native_source = native_source
        self.run = run
        self.function = function

    @property
    def from_cache(self):
        """Whether the machine code came from the disk cache (not compiled here)."""
        return bool(self.function.stats.cache_hits)


class NativeRecord:
    """What lowering a captured step needs, kept until it is lowered: the record's ops,
    state changes, inputs and leaves (by reference), the shape, dtype and kind of array
    of every value (not the arrays: a step's activations are not kept alive)."""

    def __init__(self, capture, output_slots, output_spec):
        self.ops, self.events = capture.ops, capture.events
        self.inputs, self.leaves = capture.inputs, capture.leaves
        self.meta = [(tensor.data.shape, tensor.data.dtype, type(tensor.data))
                     for tensor in capture.kept]
        self.output_slots, self.output_spec = output_slots, output_spec


def lower(record, fallback):
    """The native form of a captured step (a ``NativeRecord``), or ``NotLowered`` saying
    why there is none (``fallback(arrays)``, the step's Python program, runs the calls
    that the native code does not apply to)."""
    writer = _Writer(record)
    native_source = writer.native(record.output_slots)
    function = jit.native_function(native_source, "step", writer.examples())
    if function is None:
        raise NotLowered("numba is not installed")
    source, run = writer.wrapper(function, record.output_slots, record.output_spec, fallback)
    return NativeStep(source, native_source, run, function)


class _Writer:
    """Writes a step's native function and the Python function around it."""

    def __init__(self, record):
        self.record = record
        self.shapes, self.dtypes, self.example = {}, {}, {}
        for slot, (shape, dtype, kind) in enumerate(record.meta):
            if kind is not numpy.ndarray:
                raise NotLowered(f"a value on {kind.__module__} (native steps run on the "
                                 f"CPU)")
            name = f"v{slot}"
            self.shapes[name], self.dtypes[name] = shape, dtype
        for slot in record.inputs:
            shape, dtype, _ = record.meta[slot]
            self.example[f"v{slot}"] = numpy.empty(shape, dtype)
        for slot, tensor in record.leaves:
            self.example[f"v{slot}"] = tensor.data
        self.lines = []
        self.constants = {}
        self.count = 0
        self.arguments = [f"v{slot}" for slot in record.inputs]
        self.leaves = []  # (slot, leaf) read by reference at each call
        for slot, tensor in record.leaves:
            number = constant_value(tensor)
            if number is None:
                self.arguments.append(f"v{slot}")
                self.leaves.append((slot, tensor))
            else:  # a Python number of the step's code: a constant of the native code
                self.emit(f"v{slot} = {self.const(number, tensor.data.dtype)}")
        self.draws = []  # (name, shape): dropout's uniform numbers
        self.updates = []  # (optimizer, group index, form, constant names, [(param, arrays)])
        self.grads = {}  # id(leaf) -> the name of its gradient now, or None (cleared)
        self.leaf_of = {id(tensor): (slot, tensor) for slot, tensor in record.leaves}
        self.untouched = {}  # id(leaf) -> leaf: read before being cleared in the step
        self.cleared = {}  # id(leaf) -> leaf: set to None by a zero_grad of the step
        self.trailing = []  # recorded calls after the native part: (fn, args, kwargs)
        self.backward_of = {}  # op index -> its native backward

    # -- helpers the op forms use ---------------------------------------------------------

    def emit(self, line):
        self.lines.append("    " + line)

    def temp(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, dtype):
        dtype = numpy.dtype(dtype)
        key = (repr(value), dtype.name)
        if key not in self.constants:
            self.constants[key] = f"c{len(self.constants)}"
        return self.constants[key]

    def uniform(self, shape):
        name = self.temp("u")
        self.arguments.append(name)
        self.draws.append((name, tuple(shape)))
        self.example[name] = numpy.zeros(shape, numpy.float32)
        return name

    # -- the native function --------------------------------------------------------------

    def native(self, output_slots):
        record = self.record
        if sum(kind == "backward" for kind, _, _ in record.events) > 1:
            raise NotLowered("more than one backward() in the step")
        done, native_done = 0, False
        for kind, position, event in record.events:
            if native_done:
                self._check_after_calls(done, position)
            self._forward(done, position)
            done = position
            if kind == "backward":
                if native_done:
                    raise NotLowered("a backward() after a recorded call without a native "
                                     "form")
                self._backward(*event)
            elif not native_done and self._state_change(*event):
                pass
            else:
                native_done = True
                self.trailing.append(event)
        if native_done:
            self._check_after_calls(done, len(record.ops))
        self._forward(done, len(record.ops))
        wanted = list(output_slots)
        for fn, args, kwargs in self.trailing:
            wanted += sorted(slots((args, kwargs)))
        known = set(record.inputs) | {slot for slot, _ in self.leaves}  # in Python
        returned = []  # the values the Python side needs that the native code made
        for slot in wanted:
            if slot not in known and f"v{slot}" not in returned:
                returned.append(f"v{slot}")
        self.final = [(self.leaf_of[key][1], name) for key, name in self.grads.items()
                      if name is not None]
        returned += [name for _, name in self.final]
        self.returned = returned
        header = [_PRELUDE] + [f"{name} = np.{dtype}({value})" for (value, dtype), name
                               in self.constants.items()]
        body = [f"def step({', '.join(self.arguments)}):"] + self.lines + [
            f"    return ({', '.join(returned)},)" if returned else "    return 0"]
        return "\n".join(header + [""] + body) + "\n"

    def _check_after_calls(self, start, stop):
        """Ops recorded after a call that stays Python run before it in native code: fine
        unless they read a leaf (a parameter) that the call may change."""
        leaves = {slot for slot, _ in self.leaves}  # not the constants
        for op in self.record.ops[start:stop]:
            if leaves.intersection(op.sources):
                raise NotLowered(f"the op {type(op.ctx).__name__} reads a parameter after a "
                                 f"recorded call without a native form")

    def _forward(self, start, stop):
        for index in range(start, stop):
            op = self.record.ops[index]
            cls = type(op.ctx)
            if cls.__name__ == "_Identity":  # detach(): the value itself
                self.emit(f"v{op.outputs[0]} = v{op.sources[0]}")
                continue
            form = lowering.LOWERINGS.get(cls)
            if form is None or len(op.outputs) != 1:
                raise NotLowered(f"the op {cls.__name__} has no native form")
            code = lowering.OpCode(self, [f"v{s}" for s in op.sources],
                                   [f"v{s}" for s in op.outputs], op.params)
            self.backward_of[index] = form(code)
            if self.backward_of[index] is None:
                raise NotLowered(f"the op {cls.__name__} has no native form for these "
                                 f"shapes or options")

    def _backward(self, root, gradient, order):
        ops = self.record.ops
        assigned = set()
        root_name = f"v{root}"
        if gradient is not None:
            self.emit(f"g{root} = v{gradient.index}")
        elif self.shapes[root_name]:
            dtype = self.dtypes[root_name].name
            self.emit(f"g{root} = np.ones({self.shapes[root_name]}, np.{dtype})")
        else:
            self.emit(f"g{root} = {self.const(1, self.dtypes[root_name])}")
        assigned.add(root)
        for index in order:
            op = ops[index]
            (out,) = op.outputs
            if out not in assigned:
                continue  # nothing flowed into it (the engine skips it too)
            grads = self.backward_of[index](f"g{out}")
            for target, expression in zip(op.backward, grads):
                if target is None or expression is None:
                    continue
                if target.__class__ is int:
                    name = f"g{target}"
                    first = target not in assigned
                    assigned.add(target)
                else:
                    key = id(target)
                    current = self.grads.get(key, "unknown")
                    if current == "unknown":
                        self.untouched[key] = target
                    name = f"G{self.leaf_of[key][0]}"
                    first = current in ("unknown", None)
                    self.grads[key] = name
                self.emit(f"{name} = {expression}" if first else
                          f"{name} = {name} + {expression}")

    def _state_change(self, fn, args, kwargs):
        """Write a recorded call that has a native form; False if it has none."""
        if fn is Optimizer.step.recorded and len(args) == 1 and not kwargs:
            form = lowering.UPDATES.get(getattr(type(args[0]).update, "__func__",
                                                type(args[0]).update))
            if form is None:  # runs in Python, after the native part
                return False
            self._optimizer_step(args[0], form)
            return True
        if fn in (Optimizer.zero_grad.recorded, Module.zero_grad.recorded):
            to_none = kwargs.get("set_to_none", args[1] if len(args) > 1 else True)
            if to_none is not True:
                return False
            owner = args[0]
            params = owner.parameters() if isinstance(owner, Optimizer) else \
                list(owner.parameters())
            for param in params:
                self.grads[id(param)] = None
                self.cleared[id(param)] = param
            return True
        return False

    def _optimizer_step(self, optimizer, form):
        """One optimiser step: per parameter group, one set of scalars (worked out once a
        call: the group's parameters count their steps together) and a loop per
        parameter with a gradient."""
        for number, group in enumerate(optimizer.param_groups):
            stepped = []
            for param in group["params"]:
                key = id(param)
                grad = self.grads.get(key, "unknown")
                if grad == "unknown":
                    self.untouched[key] = param
                    grad = None  # checked to be None at each call
                if grad is None:
                    continue
                if not param.data.flags.c_contiguous:
                    raise NotLowered("a parameter that is not C-contiguous")
                stepped.append((param, grad))
            if not stepped:
                continue
            states = [optimizer.state[param] for param, _ in stepped]
            if len({state["step"] for state in states}) > 1:
                raise NotLowered("parameters of one group that have taken different "
                                 "numbers of steps")
            dtype = stepped[0][0].data.dtype
            if any(param.data.dtype != dtype for param, _ in stepped):
                raise NotLowered("parameters of several dtypes in one group")
            constants = []
            for value in form.constants(dtype, states[0], group):
                constants.append(self.temp("k"))
                self.example[constants[-1]] = value
            self.arguments += constants
            params = []
            for (param, grad), state in zip(stepped, states):
                arrays = []
                for value in form.arrays(state, group):
                    arrays.append(self.temp("s"))
                    self.example[arrays[-1]] = value
                self.arguments += arrays
                params.append((param, arrays))
                flat = [f"{name}.reshape(-1)" for name in
                        [f"v{self.leaf_of[id(param)][0]}", grad] + arrays]
                self.emit(f"{form.loop(group)}({', '.join(flat + constants)})")
            self.updates.append((optimizer, number, form, constants, params))

    def examples(self):
        values = []
        for name in self.arguments:
            value = self.example[name]
            values.append(value[()] if isinstance(value, numpy.ndarray) and not value.shape
                          else value)
        return values

    # -- the Python function around it ----------------------------------------------------

    def wrapper(self, function, output_slots, output_spec, fallback):
        names = {"native": function, "fallback": fallback, "hooked": _HOOKED,
                 "generator": generator, "float32": numpy.float32,
                 "values_of": values_of, "as_value": _as_value}
        labels = {}  # id(object) -> its name in the function's namespace

        def name(value, hint):
            label = labels.get(id(value))
            if label is None:
                label = labels[id(value)] = f"{hint}{len(labels)}"
                names[label] = value
            return label

        lines = ["def run(arrays):"]

        def emit(text):
            lines.append("    " + text)

        # Whether the native code still applies, checked before anything changes.
        checks = ["hooked[0]"] + [f"{name(leaf, 'leaf')}.grad is not None"
                                  for leaf in self.untouched.values()]
        for optimizer, number, form, _, params in self.updates:
            opt = name(optimizer, "opt")
            group = f"{opt}.param_groups[{number}]"
            checks.append(f"{name(form.key, 'key')}({group}) != "
                          f"{form.key(optimizer.param_groups[number])}")
            first = name(params[0][0], "leaf")
            checks += [f"{name(param, 'leaf')} not in {opt}.state" for param, _ in params]
            checks += [f"{opt}.state[{name(param, 'leaf')}]['step'] != "
                       f"{opt}.state[{first}]['step']" for param, _ in params[1:]]
        emit(f"if {' or '.join(checks)}:")
        emit("    return fallback(arrays)")
        inputs = [f"v{slot}" for slot in self.record.inputs]
        if inputs:
            emit(f"{', '.join(inputs)}, = arrays")
        for label in inputs:
            if not self.shapes[label]:  # 0-d values are scalars in native code
                emit(f"{label} = {label}[()]")
        for slot, leaf in self.leaves:  # by reference: updates since the last call count
            emit(f"v{slot} = {name(leaf, 'leaf')}.data" +
                 ("[()]" if not self.shapes[f"v{slot}"] else ""))
        for label, shape in self.draws:  # the CPU's generator, as eager dropout on the CPU
            emit(f"{label} = generator().random({shape}, dtype=float32)")
        for optimizer, number, form, constants, params in self.updates:
            opt, upd = name(optimizer, "opt"), name(form, "update")
            emit(f"group = {opt}.param_groups[{number}]")
            for position, (param, arrays) in enumerate(params):
                leaf = name(param, "leaf")
                emit(f"state = {opt}.state[{leaf}]")
                emit("state['step'] += 1")
                if arrays:
                    emit(f"{', '.join(arrays)}, = {upd}.arrays(state, group)")
                if position == 0:
                    emit(f"{', '.join(constants)}, = {upd}.scalars({leaf}.data.dtype, "
                         f"state, group)")
        emit(f"r = native({', '.join(self.arguments)})")
        for position, label in enumerate(self.returned):
            if label.startswith("v"):
                emit(f"{label} = as_value(r[{position}], {name(self.dtypes[label], 'dtype')})")
        first_grad = len(self.returned) - len(self.final)
        for position, (leaf, _) in enumerate(self.final):  # as the engine: a new .grad
            emit(f"{name(leaf, 'leaf')}.grad = tensor_of(r[{first_grad + position}])")
        kept = {id(leaf) for leaf, _ in self.final}
        for leaf_id, leaf in self.cleared.items():
            if leaf_id not in kept:
                emit(f"{name(leaf, 'leaf')}.grad = None")
        for fn, args, kwargs in self.trailing:
            values = "{" + ", ".join(f"{slot}: v{slot}"
                                     for slot in sorted(slots((args, kwargs)))) + "}"
            emit(f"{name(fn, 'call')}(*values_of({name(args, 'args')}, {values}), "
                 f"**values_of({name(kwargs, 'kwargs')}, {values}))")
        emit(returned_source(output_slots, output_spec, lambda value: name(value, "spec"),
                             names))
        source = "\n".join(lines) + "\n"
        filename = f"<native step {id(self):x}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace = dict(names)
        exec(builtins.compile(source, filename, "exec"), namespace)
        return source, namespace["run"]


def _as_value(value, dtype):
    """A native result as the array eager code would hold: scalars become 0-d arrays."""
    if value.__class__ is numpy.ndarray:
        return value
    return numpy.array(value, dtype)
