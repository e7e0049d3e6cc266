"""``export``: a somanet model (or function) traced by the graph layer, written as ONNX.

The program runs once on the example inputs under ``somanet.graph.trace``: every op
becomes a node whose ``op`` is the very Function eager mode ran. Each node is then
translated by the converter of its Function (``somanet.onnx.converters``); the
Parameters and buffers it read become initializers named by their path in the
model (``"0.weight"``, ``"encoder.lstm.weight_ih_l0"``).

Dynamic batch: a trace has concrete shapes, and some ops record the example's batch
size in their attributes (the target shape of a ``Reshape``, ``Flatten``). So the
program is traced a second time on inputs one sample longer, and what differs
between the two traces is what depends on the batch size: those entries are written
as ``0``/``-1`` or computed from the input's ``Shape``, and the first axis of every
input and output is declared symbolic (``"batch"``).
"""
import functools

import numpy

from .. import graph as graph_layer
from .._version import __version__
from ..autograd import no_grad
from ..backend import xp_of
from ..io import atomic_write_bytes
from ..nn.module import Module, module_path
from ..ops import shape
from ..ops.convolution import Geometry
from ..tensor import Tensor
from ._proto import IR_VERSION, OPSET, onnx, tensor_type
from .converters import CONVERTERS, Emitter, UnsupportedOpError


def export(model, example_inputs, path=None, dynamic_batch=True, batch_axis=0,
           input_names=None, output_names=None, check=True):
    """Write ``model`` as an ONNX file (opset 18) and return the ``onnx.ModelProto``.

    The program is traced on ``example_inputs`` (``somanet.graph.trace``); a Module is
    put in eval mode for the trace (Dropout disappears, BatchNorm uses its running
    statistics) and back in its own mode afterwards, as ``torch.onnx.export`` does.

    Args:
        model: a Module, or a function of tensors (the Modules it reads are found
            through its closure and globals, for the initializers' names).
        example_inputs: a Tensor or array, or a tuple of them (one per input).
        path: the ``.onnx`` file to write (``None``: only return the model).
        dynamic_batch: declare the batch axis of every input, and the axes of the
            outputs that follow it, symbolic (``"batch"``), so the file runs on any
            batch size; ``False`` fixes the example's shapes.
        batch_axis: which axis of the inputs is the batch (1 for time-major sequences
            ``(T, B, features)``); inputs with fewer axes are taken as they are.
        input_names, output_names: the ONNX names of the inputs and outputs (default:
            the parameter names of ``forward`` / the function, and ``output`` or
            ``output_0``, ``output_1``...).
        check: run ``onnx.checker.check_model`` (with shape inference) on the result.

    Returns:
        The ``onnx.ModelProto``.

    Raises:
        UnsupportedOpError: an op has no ONNX form; the message names the op and the
            layer path it ran in (``Sequential[2] (Softplus)``).

        >>> import somanet as sn, tempfile, os
        >>> model = sn.nn.Sequential(sn.nn.Linear(4, 3), sn.nn.ReLU())
        >>> proto = sn.onnx.export(model, sn.ones(2, 4), os.path.join(tempfile.mkdtemp(),
        ...                                                             "model.onnx"))
        >>> [node.op_type for node in proto.graph.node]
        ['Gemm', 'Relu']
    """
    onnx()  # the clear ImportError first
    examples = _as_inputs(example_inputs)
    if not examples:
        raise ValueError("export: give at least one example input")
    if not any(example.ndim > batch_axis for example in examples):
        dynamic_batch = False
    modes = _eval_modes(model)
    try:
        if isinstance(model, Module) and not model.is_built:
            with no_grad():
                model(*examples)  # lazy layers make their Parameters (named by the model)
        graph, paths = _trace(model, examples)
        other = None
        if dynamic_batch:
            longer = [_one_longer(example, batch_axis) for example in examples]
            other, _ = _trace(model, longer)
            _check_alike(graph, other)
    finally:
        for module, training in modes:
            module.training = training
    exporter = Exporter(graph, other, paths, model, examples, batch_axis)
    proto = exporter.build(input_names, output_names)
    if check:
        onnx().checker.check_model(proto, full_check=True)
    if path is not None:  # written whole or not at all (a temporary file, then a rename)
        atomic_write_bytes(str(path), proto.SerializeToString())
    return proto


def _as_inputs(example_inputs):
    items = list(example_inputs) if isinstance(example_inputs, (tuple, list)) else \
        [example_inputs]
    return [item if isinstance(item, Tensor) else Tensor(item) for item in items]


def _one_longer(example, axis):
    """``example`` with its first sample repeated once more on ``axis``."""
    if example.ndim <= axis:
        return example
    data = example.data
    first = data[(slice(None),) * axis + (slice(0, 1),)]
    result = Tensor.__new__(Tensor)
    result.data = xp_of(data).concatenate([data, first], axis=axis)
    return result


def _eval_modes(model):
    if not isinstance(model, Module):
        return []
    modes = [(module, module.training) for module in model.modules()]
    for module, _ in modes:
        module.training = False
    return modes


def _trace(model, examples):
    """``(graph, paths)``: the trace, and for each of its nodes (by index) the chain of
    Modules whose forward was running when it was recorded (innermost first)."""
    paths = {}
    if not isinstance(model, Module):
        return graph_layer.trace(model, *examples), paths
    stack, patched = [], []

    def wrap(module, forward):
        @functools.wraps(forward)
        def watched(*args, **kwargs):
            current = graph_layer.graph.current_graph()
            start = len(current.nodes) if current is not None else 0
            stack.append(module)
            try:
                return forward(*args, **kwargs)
            finally:
                stack.pop()
                if current is not None:
                    chain = [module] + stack[::-1]
                    for index in range(start, len(current.nodes)):
                        paths.setdefault(index, chain)
        return watched

    try:
        for module in model.modules():
            if "forward" not in module.__dict__:
                module.__dict__["forward"] = wrap(module, module.forward)
                patched.append(module)
        graph = graph_layer.trace(model, *examples)
    finally:
        for module in patched:
            del module.__dict__["forward"]
    return graph, paths


def _check_alike(graph, other):
    """The two traces record the same program (only sizes may differ)."""
    same = len(graph.nodes) == len(other.nodes) and all(
        a.kind == b.kind and a.op is b.op and len(a.inputs) == len(b.inputs)
        for a, b in zip(graph.nodes, other.nodes))
    if not same:
        raise ValueError("export: the program records different ops for another batch size "
                         "(it branches on the batch size); export it with "
                         "dynamic_batch=False")


def _same(a, b):
    if isinstance(a, Geometry) and isinstance(b, Geometry):
        return (a.stride, a.padding, a.dilation) == (b.stride, b.padding, b.dilation)
    if hasattr(a, "shape") and hasattr(b, "shape"):
        return a.shape == b.shape and bool(numpy.all(numpy.asarray(_host(a)) ==
                                                     numpy.asarray(_host(b))))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:
        return a is b


def _host(array):
    return array.get() if hasattr(array, "get") else array


class Exporter:
    """Turns a traced ``Graph`` (and its twin traced one sample longer) into ONNX."""

    def __init__(self, graph, other, paths, model, examples, batch_axis=0):
        self.graph, self.other, self.paths, self.model = graph, other, paths, model
        self.batch_axis = batch_axis
        self.batch = next(example.shape[batch_axis] for example in examples
                          if example.ndim > batch_axis) if other is not None else None
        self.emitter = Emitter(self)
        self.names = {}  # id(SymbolicTensor) -> ONNX name
        self.twins = {}  # id(SymbolicTensor) -> the other trace's tensor
        self.index = {id(node): i for i, node in enumerate(graph.nodes)}
        if other is not None:
            for node, twin in zip(graph.nodes, other.nodes):
                for out, out_twin in zip(node.outputs, twin.outputs):
                    self.twins[id(out)] = out_twin
        self.buffer_names = {}
        if isinstance(model, Module):
            for name, tensor in list(model.named_buffers()) + list(model.named_parameters()):
                if tensor is not None:
                    self.buffer_names.setdefault(id(tensor.data), name)
        self._batch = None

    # -- what converters ask -----------------------------------------------------------------

    def other_tensor(self, tensor):
        """The tensor of the second trace standing for ``tensor`` (itself without one)."""
        return self.twins.get(id(tensor), tensor)

    def other_params(self, node):
        """``{name: value}`` of the params whose value differs in the second trace."""
        if self.other is None:
            return {}
        twin = self.other.nodes[self.index[id(node)]]
        return {key: twin.params.get(key) for key, value in node.params.items()
                if not _same(value, twin.params.get(key))}

    def value_of(self, tensor):
        """The array of a constant or variable (``None`` for a computed tensor)."""
        if tensor.node.kind in ("constant", "variable"):
            return numpy.asarray(_host(tensor.node.value.data))
        return None

    def variable_name(self, tensor):
        return tensor.node.name

    def array_initializer(self, array, default):
        return self.emitter.initializer(array, self.buffer_names.get(id(array), default))

    def batch_size(self):
        if self._batch is None:
            e = self.emitter
            source = next(tensor for tensor in self.graph.inputs
                          if tensor.data.ndim > self.batch_axis)
            axis = self.batch_axis
            shape = e.one("Shape", [self.names[id(source)]], name="batch")
            self._batch = e.one("Slice", [shape, e.ints([axis]), e.ints([axis + 1])],
                                name="batch")
        return self._batch

    def dynamic_shape(self, values, other_values, node):
        """``values`` as an int64 tensor where an entry that changed with the batch size
        (``k * B`` in the first trace, ``k * B'`` in the second) is computed from it."""
        first, second = self.batch, self.batch + 1
        e = self.emitter
        pieces, fixed = [], []
        for a, b in zip(values, other_values):
            if a == b:
                fixed.append(int(a))
                continue
            if a % first or b * first != a * second:
                raise UnsupportedOpError(
                    f"{self.describe(node)}: the shape {tuple(values)} has an entry ({a}) "
                    f"that changes with the batch size but is not a multiple of it; export "
                    f"with dynamic_batch=False")
            if fixed:
                pieces.append(e.ints(fixed))
                fixed = []
            factor = a // first
            batch = self.batch_size()
            pieces.append(batch if factor == 1 else
                          e.one("Mul", [batch, e.ints([factor])], name=node.name))
        if fixed:
            pieces.append(e.ints(fixed))
        return pieces[0] if len(pieces) == 1 else e.one("Concat", pieces, name=node.name,
                                                        axis=0)

    def describe(self, node):
        """``"Cube in Sequential[1] (CubeLayer)"``: the op and the layer it ran in."""
        chain = self.paths.get(self.index.get(id(node)))
        where = module_path(chain) if chain else \
            f"the traced function {self.graph.name!r}"
        return f"{node.what} in {where}"

    # -- naming tensors ----------------------------------------------------------------------

    def name_of(self, tensor):
        found = self.names.get(id(tensor))
        if found is not None:
            return found
        node = tensor.node
        if node.kind == "variable":
            name = self.emitter.initializer(tensor.node.value.data, node.name)
        elif node.kind == "constant":
            name = self._constant(tensor)
        else:
            raise UnsupportedOpError(f"{self.describe(node)}: a {node.kind} node has no ONNX "
                                     f"form")
        self.names[id(tensor)] = name
        return name

    def _constant(self, tensor):
        """A constant's initializer; one whose shape changes with the batch size (zeros
        made to the batch's size) becomes ``ConstantOfShape`` of a computed shape."""
        value = tensor.node.value.data
        twin = self.twins.get(id(tensor))
        if twin is None or tuple(twin.data.shape) == tuple(value.shape):
            return self.emitter.initializer(value, tensor.node.name)
        host = numpy.asarray(_host(value))
        if host.size == 0 or not numpy.all(host == host.flat[0]):
            raise UnsupportedOpError(
                f"{self.describe(tensor.node)}: a constant of shape {host.shape} made to the "
                f"batch size (not filled with one value) cannot follow the batch size; export "
                f"with dynamic_batch=False")
        e = self.emitter
        shape = self.dynamic_shape(list(host.shape), list(twin.data.shape), tensor.node)
        fill = onnx().numpy_helper.from_array(host.reshape(-1)[:1].copy(), "value")
        return e.one("ConstantOfShape", [shape], name=tensor.node.name, value=fill)

    # -- the model ---------------------------------------------------------------------------

    def build(self, input_names, output_names):
        helper = onnx().helper
        graph = self.graph
        inputs = graph.inputs
        input_names = list(input_names) if input_names else [t.node.name for t in inputs]
        if len(input_names) != len(inputs):
            raise ValueError(f"export: {len(input_names)} input_names for {len(inputs)} "
                             f"inputs")
        for tensor, name in zip(inputs, input_names):
            self.names[id(tensor)] = name
            self.emitter._taken.add(name)
        outputs = graph.outputs
        if output_names is None:
            output_names = ["output"] if len(outputs) == 1 else \
                [f"output_{i}" for i in range(len(outputs))]
        output_names = list(output_names)
        if len(output_names) != len(outputs):
            raise ValueError(f"export: {len(output_names)} output_names for {len(outputs)} "
                             f"outputs")
        for name in output_names:
            self.emitter._taken.add(name)
        needed = _needed_nodes(graph)
        for node in graph.nodes:
            if node.kind != "op" or id(node) not in needed:
                if node.kind not in ("placeholder", "constant", "variable", "op") and \
                        id(node) in needed:
                    raise UnsupportedOpError(f"{self.describe(node)}: has no ONNX form "
                                             f"(somanet.onnx converts the ops of "
                                             f"somanet.ops)")
                continue
            self._convert(node)
        for tensor, name in zip(outputs, output_names):
            self.emitter.node("Identity", [self.name_of(tensor)], [name], name=name)
        value_infos = [self._value_info(name, tensor)
                       for tensor, name in zip(inputs, input_names)]
        output_infos = [self._value_info(name, tensor)
                        for tensor, name in zip(outputs, output_names)]
        _rename_outputs(self.emitter.nodes)
        onnx_graph = helper.make_graph(self.emitter.nodes, graph.name or "somanet", value_infos,
                                       output_infos, self.emitter.initializers)
        return helper.make_model(onnx_graph, producer_name="somanet",
                                 producer_version=__version__, ir_version=IR_VERSION,
                                 opset_imports=[helper.make_opsetid("", OPSET)])

    def _convert(self, node):
        converter = CONVERTERS.get(node.op)
        if converter is None:
            raise UnsupportedOpError(
                f"{self.describe(node)}: the op {node.op.__name__} has no ONNX form in "
                f"somanet.onnx (it converts {', '.join(sorted(c.__name__ for c in CONVERTERS))})")
        varying = self.other_params(node)
        if varying and node.op not in _BATCH_AWARE:
            raise UnsupportedOpError(
                f"{self.describe(node)}: its attribute(s) {', '.join(sorted(varying))} change "
                f"with the batch size; export with dynamic_batch=False")
        ins = _Names(self, node.inputs)
        try:
            outs = converter(self.emitter, node, ins)
        except UnsupportedOpError as error:
            message = str(error)
            prefix = f"{node.what}: "
            if message.startswith(prefix):
                message = message[len(prefix):]
            raise UnsupportedOpError(f"{self.describe(node)}: {message}") from None
        for tensor, name in zip(node.outputs, outs):
            self.names[id(tensor)] = name

    def _value_info(self, name, tensor):
        shape = list(tensor.data.shape)
        twin = self.twins.get(id(tensor))
        if twin is not None:
            shape = [size if size == other else "batch"
                     for size, other in zip(shape, twin.data.shape)]
        return onnx().helper.make_tensor_value_info(name, tensor_type(tensor.data.dtype), shape)


# the ops whose converters write batch-sized attributes from the second trace
_BATCH_AWARE = (shape.Reshape, shape.BroadcastTo)


class _Names:
    """The ONNX names of a node's inputs, each written (an initializer, a constant) only
    when its converter asks for it: a recurrent op's weights become reordered
    initializers, its zero initial states nothing at all."""

    def __init__(self, exporter, tensors):
        self.exporter, self.tensors = exporter, tensors

    def __len__(self):
        return len(self.tensors)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.exporter.name_of(t) for t in self.tensors[index]]
        return self.exporter.name_of(self.tensors[index])

    def __iter__(self):
        return (self.exporter.name_of(t) for t in self.tensors)


def _needed_nodes(graph):
    needed, stack = set(), [tensor.node for tensor in graph.outputs]
    while stack:
        node = stack.pop()
        if id(node) in needed:
            continue
        needed.add(id(node))
        stack.extend(tensor.node for tensor in node.inputs)
    return needed


def _rename_outputs(nodes):
    """Fold each ``Identity`` into the node making its input where that output is used
    nowhere else (the graph then ends in the real op, named ``output``)."""
    producers, uses = {}, {}
    for node in nodes:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
        for position, name in enumerate(node.output):
            producers[name] = (node, position)
    kept = []
    for node in nodes:
        source = node.input[0] if node.op_type == "Identity" else None
        if source in producers and uses[source] == 1:
            producer, position = producers[source]
            producer.output[position] = node.output[0]
            producers[node.output[0]] = (producer, position)
            continue
        kept.append(node)
    nodes[:] = kept
