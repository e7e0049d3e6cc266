"""``load``: an ONNX file as a somanet ``Module`` that runs and trains.

``OnnxModule`` keeps the ONNX graph's nodes in order and its ``forward`` replays them
with somanet ops (``somanet.onnx.importers``: one function per ONNX op type). The
float initializers become ``Parameter``s (so ``model.parameters()`` fine-tunes them);
the others (and BatchNormalization's running statistics), and the values of
``Constant`` nodes, buffers.
"""
import keyword
import re

import numpy

from ..nn.module import Module
from ..nn.parameter import Parameter
from ..tensor import Tensor
from ._proto import onnx
from .importers import IMPORTERS, Context, UnsupportedOnnxError, attribute_values


def load(path_or_model):
    """Read an ONNX model (a path, bytes, or an ``onnx.ModelProto``) as an ``OnnxModule``.

    Args:
        path_or_model: a ``.onnx`` file, its bytes, or a ModelProto.

    Returns:
        An ``OnnxModule``: call it with one tensor (or array) per graph input; it returns
        the output, or a tuple of them.

    Raises:
        UnsupportedOnnxError: the graph uses an op type (or attributes of one) that
            somanet cannot run; the message names the node and lists what is supported.

        >>> import somanet as sn, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
        >>> _ = sn.onnx.export(sn.nn.Linear(3, 2), sn.ones(1, 3), path)
        >>> module = sn.onnx.load(path)
        >>> module(sn.ones(4, 3)).shape, len(list(module.parameters()))
        ((4, 2), 2)
    """
    proto = _model_proto(path_or_model)
    return OnnxModule(proto)


def _model_proto(source):
    lib = onnx()
    if isinstance(source, lib.ModelProto):
        return source
    if isinstance(source, (bytes, bytearray)):
        return lib.load_model_from_string(bytes(source))
    return lib.load(str(source))


class OnnxModule(Module):
    """An ONNX graph as a somanet Module (made by ``somanet.onnx.load``).

    Attributes:
        input_names, output_names: the graph's inputs (initializers excluded) and outputs.
        opset: the version of the default ONNX domain the model uses.
        onnx_names: ``{ONNX initializer name: attribute name}`` (ONNX names such as
            ``"fc.weight"`` are made attribute names: ``fc_weight``).
    """

    def __init__(self, proto):
        super().__init__()
        graph = proto.graph
        self.opset = _default_opset(proto)
        self.graph_name = graph.name
        self.onnx_names = {}
        initialized = set()
        statistics = _statistics(graph)
        for tensor in graph.initializer:
            array = onnx().numpy_helper.to_array(tensor)
            trainable = array.dtype.kind == "f" and tensor.name not in statistics
            self._add_value(tensor.name, array, trainable=trainable)
            initialized.add(tensor.name)
        for tensor in getattr(graph, "sparse_initializer", ()):
            raise UnsupportedOnnxError(f"the sparse initializer {tensor.values.name!r} is not "
                                       f"supported; store it dense")
        self.input_names = [value.name for value in graph.input if value.name not in
                            initialized]
        self.output_names = [value.name for value in graph.output]
        self.nodes = []
        for node in graph.node:
            self._add_node(node)

    def _attribute_name(self, onnx_name):
        base = re.sub(r"\W", "_", onnx_name) or "value"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = "v_" + base
        name, count = base, 0
        while name in self.__dict__ or name in self._parameters or name in self._buffers or \
                hasattr(type(self), name):
            count += 1
            name = f"{base}_{count}"
        return name

    def _add_value(self, onnx_name, array, trainable):
        name = self._attribute_name(onnx_name)
        if trainable:
            tensor = Tensor(numpy.array(array), dtype=array.dtype)
            self.register_parameter(name, Parameter(tensor))
        else:
            tensor = Tensor(numpy.array(array), dtype=array.dtype)
            self.register_buffer(name, tensor, persistent=trainable is not None)
        self.onnx_names[onnx_name] = name

    def _add_node(self, node):
        domain = node.domain or ""
        where = f"node {node.name or node.op_type!r} ({node.op_type})"
        if domain not in ("", "ai.onnx"):
            raise UnsupportedOnnxError(f"{where}: the op domain {domain!r} is not supported "
                                       f"(somanet runs the default ONNX domain)")
        attributes = attribute_values(node)
        if node.op_type == "Constant":
            value = _constant_value(attributes, where)
            self._add_value(node.output[0], value, trainable=None)
            return
        importer = IMPORTERS.get(node.op_type)
        if importer is None:
            raise UnsupportedOnnxError(
                f"{where}: the ONNX op {node.op_type} is not supported by somanet.onnx (it "
                f"runs {', '.join(sorted(IMPORTERS) + ['Constant'])})")
        self.nodes.append((node.op_type, list(node.input), list(node.output), attributes,
                           importer, where))

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"the ONNX graph takes {len(self.input_names)} input(s) "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        values = {onnx_name: getattr(self, name) for onnx_name, name in self.onnx_names.items()}
        for name, value in zip(self.input_names, inputs):
            values[name] = value if isinstance(value, Tensor) else Tensor(
                value, dtype=getattr(value, "dtype", None))
        context = Context(self.opset)
        for op_type, names, outputs, attributes, importer, where in self.nodes:
            args = [values[name] if name else None for name in names]
            context.op_type, context.outputs = op_type, len(outputs)
            try:
                results = importer(context, args, attributes)
            except UnsupportedOnnxError as error:
                raise UnsupportedOnnxError(f"{where}: {error}") from None
            for name, result in zip(outputs, results):
                if name:
                    values[name] = result
        results = tuple(values[name] for name in self.output_names)
        return results[0] if len(results) == 1 else results

    def extra_repr(self):
        return (f"{self.graph_name!r}, opset {self.opset}, inputs {self.input_names}, "
                f"{len(self.nodes)} nodes")


def _statistics(graph):
    """The names of BatchNormalization's running mean and variance inputs: buffers, as in
    somanet's own BatchNorm layers, not Parameters (nothing trains them)."""
    return {name for node in graph.node if node.op_type == "BatchNormalization"
            for name in node.input[3:5]}


def _default_opset(proto):
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 1


def _constant_value(attributes, where):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in attributes:
            value = attributes[key]
            if key.startswith("value_float"):
                return numpy.asarray(value, dtype=numpy.float32)
            if key.startswith("value_int"):
                return numpy.asarray(value, dtype=numpy.int64)
            return value
    raise UnsupportedOnnxError(f"{where}: a Constant of {', '.join(attributes)} is not "
                               f"supported (only tensors and numbers)")
