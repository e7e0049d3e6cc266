"""Export: one converter per ``Function`` class of ``somanet.ops``, each writing ONNX node(s).

A converter is ``convert(e, node, inputs) -> [output names]``: ``e`` the ``Emitter``
building the ONNX graph, ``node`` the recorded graph node (its ``op``, ``params`` and
input ``SymbolicTensor``s, whose ``.data`` holds the traced example's values and
shapes), ``inputs`` the ONNX names of its inputs. ``CONVERTERS`` is the table; an op
missing from it has no ONNX form (``UnsupportedOpError``).

=========================== ==========================================================
somanet Function            ONNX
=========================== ==========================================================
Linear                      Gemm (2-D input), else MatMul + Add
MatMul                      MatMul
Add Sub Mul Div Pow         Add Sub Mul Div Pow
PowConstant                 Pow (a constant exponent)
Neg Exp Log Sqrt Abs        Neg Exp Log Sqrt Abs
Maximum Minimum             Max Min
Clip Where                  Clip Where
Step                        Greater + Cast
Sigmoid Tanh ReLU           Sigmoid Tanh Relu
LeakyReLU ELU               LeakyRelu Elu
GELU / GELUTanh             Erf / Tanh formula (Gelu is opset 20)
Softplus                    Softplus (with Mul/Div for beta, Where for threshold)
Softmax LogSoftmax          Softmax LogSoftmax
Conv2d                      Conv (Conv1D records Reshape, Conv2d, Reshape)
ConvTranspose2d             ConvTranspose
MaxPool2d AvgPool2d         MaxPool AveragePool
GlobalAvgPool2d             GlobalAveragePool + Squeeze
BatchNorm (eval)            BatchNormalization
LayerNorm                   LayerNormalization
Dropout (training)          Dropout (training_mode true; in eval nothing is recorded)
Embedding                   Gather
RNNSequence                 RNN (+ Unsqueeze / Squeeze)
LSTMSequence                LSTM (gates i f g o reordered to ONNX's i o f c)
GRUSequence                 GRU (gates r z n reordered to z r h, linear_before_reset=1)
Reshape BroadcastTo         Reshape Expand (batch-sized entries from Shape)
Transpose                   Transpose
Concatenate Stack Split     Concat, Unsqueeze + Concat, Split
Pad                         Pad
GetItem                     Slice / Squeeze / Unsqueeze, or Gather
Sum Mean Prod Max Min       ReduceSum ReduceMean ReduceProd ReduceMax ReduceMin
LogSumExp Var               ReduceLogSumExp; ReduceMean, Sub, Mul, ReduceSum, Div
ArgReduce                   ArgMax ArgMin
Compare                     Equal Less Greater LessOrEqual GreaterOrEqual, Not(Equal)
AsType ToDevice             Cast Identity
=========================== ==========================================================
"""
import math
import operator

import numpy

from ..ops import (activation, comparison, conversion, convolution, elementwise, indexing,
                   linalg, normalization, pooling, recurrent, reduction, shape)
from ..ops.dropout import Dropout
from ..ops.embedding import Embedding
from ._proto import onnx, tensor_type

INT64_MAX = 2 ** 63 - 1

CONVERTERS = {}


def converts(*classes):
    """Register the decorated function as the converter of ``classes``."""
    def register(function):
        for cls in classes:
            CONVERTERS[cls] = function
        return function
    return register


class UnsupportedOpError(ValueError):
    """An op of the traced program has no ONNX form (or not with these attributes): the
    message names the op and the layer it ran in."""


class Emitter:
    """The ONNX graph being written: nodes, initializers, unique names; and, through its
    ``exporter`` (``somanet.onnx.export.Exporter``), what a converter may ask about the
    traces (the second trace's sizes, a constant's value, the batch size)."""

    def __init__(self, exporter):
        self.exporter = exporter
        self.nodes = []
        self.initializers = []
        self._taken = set()
        self._arrays = {}  # id(array) -> initializer name (one initializer per array)
        self._kept = []

    def unique(self, base):
        base = base or "value"
        name, count = base, 0
        while name in self._taken:
            count += 1
            name = f"{base}_{count}"
        self._taken.add(name)
        return name

    def node(self, op_type, inputs, outputs=1, name=None, **attributes):
        """Add a node; returns the list of its output names (``outputs``: a count or names)."""
        if isinstance(outputs, int):
            base = name or op_type.lower()
            outputs = [self.unique(base if outputs == 1 else f"{base}:{i}")
                       for i in range(outputs)]
        attributes = {key: value for key, value in attributes.items() if value is not None}
        self.nodes.append(onnx().helper.make_node(op_type, list(inputs), list(outputs),
                                                  name=self.unique(f"{name or op_type}_node"),
                                                  **attributes))
        return list(outputs)

    def one(self, op_type, inputs, name=None, **attributes):
        return self.node(op_type, inputs, 1, name, **attributes)[0]

    def initializer(self, array, name=None):
        """An initializer holding ``array`` (the same array object: the same initializer)."""
        key = id(array)
        if key in self._arrays:
            return self._arrays[key]
        self._kept.append(array)
        host = numpy.asarray(array.get() if hasattr(array, "get") else array)
        found = self.unique(name or "constant")
        self.initializers.append(onnx().numpy_helper.from_array(host, found))
        self._arrays[key] = found
        return found

    def constant(self, value, dtype, name=None):
        """A new initializer of ``value`` with ``dtype`` (numbers, lists, arrays)."""
        return self.initializer(numpy.asarray(value, dtype=dtype), name)

    def ints(self, values, name=None):
        return self.constant(list(values), numpy.int64, name)

    def name_of(self, tensor):
        return self.exporter.name_of(tensor)

    def batch_size(self):
        """A 1-element int64 tensor holding the batch size (the first axis of the first
        input): where an op's attribute held the traced example's batch size."""
        return self.exporter.batch_size()

    def shape_of(self, values, other_values, what):
        """An int64 shape input from a shape recorded in the two traces (``values`` and
        ``other_values``): entries that changed with the batch size become
        ``batch * k`` from ``Shape``, the rest constants."""
        return self.exporter.dynamic_shape(values, other_values, what)


# -- helpers ---------------------------------------------------------------------------------

def _dtype(tensor):
    return tensor.data.dtype


def _scalar(e, value, like):
    return e.constant(value, _dtype(like))


def _axes_list(axes, ndim):
    return list(range(ndim)) if axes is None else list(axes)


def unsupported(node, why):
    raise UnsupportedOpError(f"{node.what}: {why}")


# -- linear algebra --------------------------------------------------------------------------

@converts(linalg.Linear)
def _linear(e, node, ins):
    x = node.inputs[0]
    if x.data.ndim == 2:
        return [e.one("Gemm", list(ins), name=node.name)]
    out = e.one("MatMul", ins[:2], name=node.name)
    if len(ins) > 2:
        out = e.one("Add", [out, ins[2]], name=node.name)
    return [out]


@converts(linalg.MatMul)
def _matmul(e, node, ins):
    return [e.one("MatMul", ins, name=node.name)]


# -- elementwise -----------------------------------------------------------------------------

_SAME = {
    elementwise.Add: "Add", elementwise.Sub: "Sub", elementwise.Mul: "Mul",
    elementwise.Div: "Div", elementwise.Pow: "Pow", elementwise.Neg: "Neg",
    elementwise.Exp: "Exp", elementwise.Log: "Log", elementwise.Sqrt: "Sqrt",
    elementwise.Abs: "Abs", elementwise.Maximum: "Max", elementwise.Minimum: "Min",
    elementwise.Where: "Where", activation.Sigmoid: "Sigmoid", activation.Tanh: "Tanh",
    activation.ReLU: "Relu", conversion.ToDevice: "Identity",
}


@converts(*_SAME)
def _same(e, node, ins):
    return [e.one(_SAME[node.op], ins, name=node.name)]


@converts(elementwise.PowConstant)
def _pow_constant(e, node, ins):
    exponent = _scalar(e, node.params["exponent"], node.inputs[0])
    return [e.one("Pow", [ins[0], exponent], name=node.name)]


@converts(elementwise.Clip)
def _clip(e, node, ins):
    x = node.inputs[0]
    low, high = node.params["low"], node.params["high"]
    bounds = [_scalar(e, bound, x) if bound is not None else "" for bound in (low, high)]
    while bounds and bounds[-1] == "":
        bounds.pop()
    return [e.one("Clip", [ins[0]] + bounds, name=node.name)]


# -- activations -----------------------------------------------------------------------------

@converts(activation.Step)
def _step(e, node, ins):
    x = node.inputs[0]
    positive = e.one("Greater", [ins[0], _scalar(e, 0, x)], name=node.name)
    return [e.one("Cast", [positive], name=node.name, to=tensor_type(_dtype(x)))]


@converts(activation.LeakyReLU)
def _leaky_relu(e, node, ins):
    return [e.one("LeakyRelu", ins, name=node.name, alpha=float(node.params["slope"]))]


@converts(activation.ELU)
def _elu(e, node, ins):
    return [e.one("Elu", ins, name=node.name, alpha=float(node.params["alpha"]))]


@converts(activation.GELU)
def _gelu(e, node, ins):
    # x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), as opset 20's Gelu defines it
    x = node.inputs[0]
    scaled = e.one("Mul", [ins[0], _scalar(e, 1 / math.sqrt(2), x)], name=node.name)
    erf = e.one("Erf", [scaled], name=node.name)
    one_plus = e.one("Add", [erf, _scalar(e, 1, x)], name=node.name)
    half_x = e.one("Mul", [ins[0], _scalar(e, 0.5, x)], name=node.name)
    return [e.one("Mul", [half_x, one_plus], name=node.name)]


@converts(activation.GELUTanh)
def _gelu_tanh(e, node, ins):
    # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    x = node.inputs[0]
    cube = e.one("Mul", [e.one("Mul", [ins[0], ins[0]], name=node.name), ins[0]],
                 name=node.name)
    inner = e.one("Add", [ins[0], e.one("Mul", [cube, _scalar(e, 0.044715, x)],
                                        name=node.name)], name=node.name)
    t = e.one("Tanh", [e.one("Mul", [inner, _scalar(e, math.sqrt(2 / math.pi), x)],
                             name=node.name)], name=node.name)
    one_plus = e.one("Add", [t, _scalar(e, 1, x)], name=node.name)
    half_x = e.one("Mul", [ins[0], _scalar(e, 0.5, x)], name=node.name)
    return [e.one("Mul", [half_x, one_plus], name=node.name)]


@converts(activation.Softplus)
def _softplus(e, node, ins):
    x = node.inputs[0]
    beta, threshold = node.params["beta"], node.params["threshold"]
    scaled = ins[0] if beta == 1 else e.one("Mul", [ins[0], _scalar(e, beta, x)],
                                            name=node.name)
    out = e.one("Softplus", [scaled], name=node.name)
    if beta != 1:
        out = e.one("Div", [out, _scalar(e, beta, x)], name=node.name)
    # Above the threshold somanet returns x itself; the two differ by log1p(e^-threshold),
    # below float32's resolution for the default threshold of 20.
    if math.isfinite(threshold) and threshold < 20:
        linear = e.one("Greater", [scaled, _scalar(e, threshold, x)], name=node.name)
        out = e.one("Where", [linear, ins[0], out], name=node.name)
    return [out]


@converts(activation.Softmax, activation.LogSoftmax)
def _softmax(e, node, ins):
    op_type = "Softmax" if node.op is activation.Softmax else "LogSoftmax"
    return [e.one(op_type, ins, name=node.name, axis=int(node.params["axis"]))]


# -- convolution and pooling -----------------------------------------------------------------

@converts(convolution.Conv2d)
def _conv(e, node, ins):
    geometry = node.params["geometry"]
    top, bottom, left, right = geometry.padding
    kernel = node.inputs[1].data.shape[2:]
    return [e.one("Conv", ins, name=node.name, kernel_shape=list(kernel),
                  strides=list(geometry.stride), dilations=list(geometry.dilation),
                  pads=[top, left, bottom, right], group=int(node.params["groups"]))]


@converts(convolution.ConvTranspose2d)
def _conv_transpose(e, node, ins):
    geometry = node.params["geometry"]
    top, bottom, left, right = geometry.padding
    x, weight = node.inputs[0], node.inputs[1]
    kernel = weight.data.shape[2:]
    extra = []
    for size, k, s, d, before, after, out in zip(x.data.shape[2:], kernel, geometry.stride,
                                                  geometry.dilation, (top, left),
                                                  (bottom, right), node.params["out_hw"]):
        extra.append(int(out - ((size - 1) * s - before - after + d * (k - 1) + 1)))
    return [e.one("ConvTranspose", ins, name=node.name, kernel_shape=list(kernel),
                  strides=list(geometry.stride), dilations=list(geometry.dilation),
                  pads=[top, left, bottom, right], output_padding=extra,
                  group=int(node.params["groups"]))]


def _pool_pads(node, dilation):
    """ONNX pads ``[top, left, bottom, right]`` that give somanet's output size without
    ``ceil_mode``: the bottom/right padding grows for a last partial window."""
    params = node.params
    x = node.inputs[0].data
    begins, ends = [], []
    for size, k, s, p, d in zip(x.shape[2:], params["kernel"], params["stride"],
                                params["padding"], dilation):
        count = pooling.output_size(size, k, s, p, d, params["ceil_mode"])
        begins.append(p)
        ends.append(max(p, (count - 1) * s + d * (k - 1) + 1 - size - p))
    return begins + ends


@converts(pooling.MaxPool2d)
def _max_pool(e, node, ins):
    params = node.params
    # -inf padding: a last partial window (ceil_mode) is the same as more padding
    return [e.one("MaxPool", ins, name=node.name, kernel_shape=list(params["kernel"]),
                  strides=list(params["stride"]), dilations=list(params["dilation"]),
                  pads=_pool_pads(node, params["dilation"]))]


@converts(pooling.AvgPool2d)
def _avg_pool(e, node, ins):
    params = node.params
    pads = _pool_pads(node, (1, 1))
    symmetric = list(params["padding"]) * 2
    if pads == symmetric:
        return [e.one("AveragePool", ins, name=node.name, kernel_shape=list(params["kernel"]),
                      strides=list(params["stride"]), pads=pads,
                      count_include_pad=int(params["count_include_pad"]))]
    # a ceil_mode window past the padding: ONNX's ceil_mode counts as PyTorch does
    return [e.one("AveragePool", ins, name=node.name, kernel_shape=list(params["kernel"]),
                  strides=list(params["stride"]), pads=symmetric, ceil_mode=1,
                  count_include_pad=int(params["count_include_pad"]))]


@converts(pooling.GlobalAvgPool2d)
def _global_avg_pool(e, node, ins):
    pooled = e.one("GlobalAveragePool", ins, name=node.name)
    return [e.one("Squeeze", [pooled, e.ints([2, 3])], name=node.name)]


# -- normalisation, dropout, embedding -------------------------------------------------------

@converts(normalization.BatchNorm)
def _batch_norm(e, node, ins):
    params = node.params
    if params["training"]:
        unsupported(node, "batch normalisation in training mode (batch statistics) has no "
                          "ONNX inference form; call model.eval() before exporting")
    x = node.inputs[0]
    channels = x.data.shape[1]
    scale = ins[1] if params["has_weight"] else e.constant(numpy.ones(channels), _dtype(x))
    bias = ins[-1] if params["has_bias"] else e.constant(numpy.zeros(channels), _dtype(x))
    mean = e.exporter.array_initializer(params["running_mean"], f"{node.name}.running_mean")
    var = e.exporter.array_initializer(params["running_var"], f"{node.name}.running_var")
    return [e.one("BatchNormalization", [ins[0], scale, bias, mean, var], name=node.name,
                  epsilon=float(params["eps"]))]


@converts(normalization.LayerNorm)
def _layer_norm(e, node, ins):
    params = node.params
    x = node.inputs[0]
    count = params["count"]
    shape = x.data.shape[x.data.ndim - count:]
    scale = ins[1] if params["has_weight"] else e.constant(numpy.ones(shape), _dtype(x))
    inputs = [ins[0], scale] + ([ins[-1]] if params["has_bias"] else [])
    return [e.one("LayerNormalization", inputs, name=node.name, axis=-count,
                  epsilon=float(params["eps"]))]


@converts(Dropout)
def _dropout(e, node, ins):
    ratio = e.constant(node.params["p"], _dtype(node.inputs[0]))
    training = e.constant(True, numpy.bool_)
    return [e.one("Dropout", [ins[0], ratio, training], name=node.name)]


@converts(Embedding)
def _embedding(e, node, ins):
    return [e.one("Gather", [ins[1], ins[0]], name=node.name, axis=0)]


# -- recurrent layers ------------------------------------------------------------------------

# Where each ONNX gate block comes from among somanet's (column blocks of H).
GATE_SOURCES = {"rnn": [0], "lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}  # iofc <- ifgo, zrh <- rzn


def onnx_gates(array, kind):
    """A somanet ``(rows, G*H)`` weight (or ``(G*H,)`` bias) as ONNX's ``(G*H, rows)`` (or
    ``(G*H,)``), gate blocks reordered (LSTM i f g o -> i o f c, GRU r z n -> z r h)."""
    blocks = numpy.split(array, len(GATE_SOURCES[kind]), axis=-1)
    ordered = numpy.concatenate([blocks[k] for k in GATE_SOURCES[kind]], axis=-1)
    return ordered.T if ordered.ndim == 2 else ordered


_RECURRENT = {recurrent.RNNSequence: ("rnn", "RNN", 2), recurrent.LSTMSequence:
              ("lstm", "LSTM", 3), recurrent.GRUSequence: ("gru", "GRU", 2)}


@converts(*_RECURRENT)
def _recurrent(e, node, ins):
    kind, op_type, first_weight = _RECURRENT[node.op]
    if node.params.get("masked"):
        unsupported(node, "padded steps (a mask or lengths) have no ONNX form here yet; "
                          "export the layer called without mask= / lengths=")
    exporter = e.exporter
    tensors = node.inputs
    weight_ih, weight_hh = tensors[first_weight], tensors[first_weight + 1]
    biases = tensors[first_weight + 2:]
    arrays = [exporter.value_of(t) for t in (weight_ih, weight_hh) + tuple(biases)]
    if any(array is None for array in arrays):
        unsupported(node, "the recurrent weights must be Parameters (or constants) to become "
                          "ONNX initializers; these are computed in the program")
    hidden = weight_hh.data.shape[0]
    names = [exporter.variable_name(t) for t in (weight_ih, weight_hh)]
    w = e.initializer(onnx_gates(arrays[0], kind)[None], f"{names[0]}:W")
    r = e.initializer(onnx_gates(arrays[1], kind)[None], f"{names[1]}:R")
    width = len(GATE_SOURCES[kind]) * hidden
    zeros = numpy.zeros(width, arrays[0].dtype)
    if not biases:
        b = ""
    elif kind == "gru":
        b = e.initializer(numpy.concatenate([onnx_gates(arrays[2], kind),
                                             onnx_gates(arrays[3], kind)])[None],
                          f"{exporter.variable_name(biases[0])}:B")
    else:  # one bias: ONNX's Wb, and Rb zero
        b = e.initializer(numpy.concatenate([onnx_gates(arrays[2], kind), zeros])[None],
                          f"{exporter.variable_name(biases[0])}:B")
    states = []
    for index in range(1, first_weight):  # h0 (and c0): omitted when a zero constant
        value = exporter.value_of(tensors[index])
        if value is not None and not numpy.any(value):
            states.append("")
        else:
            states.append(e.one("Unsqueeze", [ins[index], e.ints([0])], name=node.name))
    inputs = [ins[0], w, r, b, ""] + states
    while inputs[-1] == "":
        inputs.pop()
    attributes = {"hidden_size": int(hidden),
                  "direction": "reverse" if node.params.get("reverse") else "forward"}
    if kind == "rnn":
        attributes["activations"] = ["Relu" if node.params["nonlinearity"] == "relu"
                                     else "Tanh"]
    if kind == "gru":
        attributes["linear_before_reset"] = 1
    outputs = e.node(op_type, inputs, first_weight, name=node.name, **attributes)
    sequence = e.one("Squeeze", [outputs[0], e.ints([1])], name=node.name)
    finals = [e.one("Squeeze", [out, e.ints([0])], name=node.name) for out in outputs[1:]]
    return [sequence] + finals


# -- shapes ----------------------------------------------------------------------------------

@converts(shape.Reshape)
def _reshape(e, node, ins):
    target = list(node.params["shape"])
    other = e.exporter.other_params(node).get("shape")
    if other is None:
        return [e.one("Reshape", [ins[0], e.ints(target)], name=node.name)]
    other = list(other)
    varying = [i for i, (a, b) in enumerate(zip(target, other)) if a != b]
    x = node.inputs[0]
    other_x = e.exporter.other_tensor(x).data.shape
    if len(varying) == 1:
        i = varying[0]
        if i < x.data.ndim and x.data.shape[i] == target[i] and other_x[i] == other[i]:
            target[i] = 0  # ONNX's 0: the input's size on that axis
            return [e.one("Reshape", [ins[0], e.ints(target)], name=node.name)]
        if -1 not in target:
            target[i] = -1
            return [e.one("Reshape", [ins[0], e.ints(target)], name=node.name)]
    shape_input = e.shape_of(target, other, node)
    return [e.one("Reshape", [ins[0], shape_input], name=node.name)]


@converts(shape.BroadcastTo)
def _broadcast_to(e, node, ins):
    target = list(node.params["shape"])
    other = e.exporter.other_params(node).get("shape")
    shape_input = e.ints(target) if other is None else e.shape_of(target, list(other), node)
    return [e.one("Expand", [ins[0], shape_input], name=node.name)]


@converts(shape.Transpose)
def _transpose(e, node, ins):
    axes = node.params["axes"]
    perm = None if axes is None else [int(a) for a in axes]
    return [e.one("Transpose", ins, name=node.name, perm=perm)]


@converts(shape.Concatenate)
def _concatenate(e, node, ins):
    return [e.one("Concat", ins, name=node.name, axis=int(node.params["axis"]))]


@converts(shape.Stack)
def _stack(e, node, ins):
    axis = int(node.params["axis"])
    axes = e.ints([axis])
    parts = [e.one("Unsqueeze", [name, axes], name=node.name) for name in ins]
    return [e.one("Concat", parts, name=node.name, axis=axis)]


@converts(shape.Split)
def _split(e, node, ins):
    axis = node.params["axis"]
    length = node.inputs[0].data.shape[axis]
    edges = [0] + list(node.params["boundaries"]) + [length]
    sizes = [b - a for a, b in zip(edges, edges[1:])]
    return e.node("Split", [ins[0], e.ints(sizes)], len(sizes), name=node.name, axis=axis)


@converts(shape.Pad)
def _pad(e, node, ins):
    widths = node.params["widths"]
    pads = [before for before, _ in widths] + [after for _, after in widths]
    value = _scalar(e, node.params["value"], node.inputs[0])
    return [e.one("Pad", [ins[0], e.ints(pads), value], name=node.name, mode="constant")]


@converts(indexing.GetItem)
def _getitem(e, node, ins):
    index = node.params["index"]
    x = node.inputs[0].data
    parts = index if isinstance(index, tuple) else (index,)
    arrays = [part for part in parts if hasattr(part, "dtype")]
    if arrays:
        if len(parts) != 1 or arrays[0].dtype.kind not in "iu":
            unsupported(node, "indexing with boolean masks, or with integer arrays mixed with "
                              "other indices, has no ONNX form here; index one axis with one "
                              "integer array (x[indices])")
        indices = e.initializer(numpy.asarray(arrays[0], dtype=numpy.int64),
                                f"{node.name}.indices")
        return [e.one("Gather", [ins[0], indices], name=node.name, axis=0)]
    if sum(part is Ellipsis for part in parts) > 1:
        unsupported(node, "an index with more than one '...'")
    used = sum(part is not None and part is not Ellipsis for part in parts)
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        parts = parts[:at] + (slice(None),) * (x.ndim - used) + parts[at + 1:]
    starts, ends, axes, steps, dropped, inserted = [], [], [], [], [], []
    axis = out_axis = 0
    for part in parts:
        if part is None:
            inserted.append(out_axis)
            out_axis += 1
            continue
        if isinstance(part, slice):
            step = 1 if part.step is None else int(part.step)
            if part != slice(None):
                default_start, default_end = (0, INT64_MAX) if step > 0 else \
                    (-1, -INT64_MAX - 1)
                starts.append(default_start if part.start is None else int(part.start))
                ends.append(default_end if part.stop is None else int(part.stop))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:  # an int: a slice of one, squeezed below
            position = int(part)
            starts.append(position)
            ends.append(position + 1 if position != -1 else INT64_MAX)
            axes.append(axis)
            steps.append(1)
            dropped.append(axis)
        axis += 1
    out = ins[0]
    if axes:
        out = e.one("Slice", [out, e.ints(starts), e.ints(ends), e.ints(axes), e.ints(steps)],
                    name=node.name)
    if dropped:
        out = e.one("Squeeze", [out, e.ints(dropped)], name=node.name)
    if inserted:
        out = e.one("Unsqueeze", [out, e.ints(inserted)], name=node.name)
    if out == ins[0]:
        out = e.one("Identity", [out], name=node.name)
    return [out]


# -- reductions ------------------------------------------------------------------------------

_REDUCTIONS = {reduction.Sum: "ReduceSum", reduction.Mean: "ReduceMean",
               reduction.Prod: "ReduceProd", reduction.Max: "ReduceMax",
               reduction.Min: "ReduceMin", reduction.LogSumExp: "ReduceLogSumExp"}


@converts(*_REDUCTIONS)
def _reduce(e, node, ins):
    axes = node.params["axes"]
    x = node.inputs[0].data
    inputs = [ins[0], e.ints(_axes_list(axes, x.ndim))]
    return [e.one(_REDUCTIONS[node.op], inputs, name=node.name,
                  keepdims=int(bool(node.params["keepdims"])))]


@converts(reduction.Var)
def _var(e, node, ins):
    params = node.params
    x = node.inputs[0]
    axes = _axes_list(params["axes"], x.data.ndim)
    axes_input = e.ints(axes)
    mean = e.one("ReduceMean", [ins[0], axes_input], name=node.name, keepdims=1)
    centred = e.one("Sub", [ins[0], mean], name=node.name)
    squares = e.one("Mul", [centred, centred], name=node.name)
    total = e.one("ReduceSum", [squares, axes_input], name=node.name,
                  keepdims=int(bool(params["keepdims"])))
    count = math.prod(x.data.shape[a] for a in axes)
    other = e.exporter.other_tensor(x).data.shape
    if count != math.prod(other[a] for a in axes):
        unsupported(node, "a variance over the batch axis depends on the batch size; export "
                          "with dynamic_batch=False")
    return [e.one("Div", [total, _scalar(e, max(count - params["ddof"], 0), x)],
                  name=node.name)]


@converts(reduction.ArgReduce)
def _arg_reduce(e, node, ins):
    params = node.params
    op_type = "ArgMax" if params["name"] == "argmax" else "ArgMin"
    axis, keepdims = params["axis"], bool(params["keepdims"])
    if axis is not None:
        return [e.one(op_type, ins, name=node.name, axis=int(axis), keepdims=int(keepdims))]
    flat = e.one("Reshape", [ins[0], e.ints([-1])], name=node.name)
    found = e.one(op_type, [flat], name=node.name, axis=0, keepdims=int(keepdims))
    if keepdims:
        found = e.one("Reshape", [found, e.ints([1] * node.inputs[0].data.ndim)],
                      name=node.name)
    return [found]


# -- comparisons and casts -------------------------------------------------------------------

_COMPARISONS = {operator.eq: "Equal", operator.lt: "Less", operator.gt: "Greater",
                operator.le: "LessOrEqual", operator.ge: "GreaterOrEqual"}


@converts(comparison.Compare)
def _compare(e, node, ins):
    test = node.params["test"]
    if test is operator.ne:
        return [e.one("Not", [e.one("Equal", ins, name=node.name)], name=node.name)]
    if test not in _COMPARISONS:
        unsupported(node, f"the comparison {getattr(test, '__name__', test)!r}")
    return [e.one(_COMPARISONS[test], ins, name=node.name)]


@converts(conversion.AsType)
def _astype(e, node, ins):
    return [e.one("Cast", ins, name=node.name, to=tensor_type(node.params["dtype"]))]


def supported():
    """The names of the Functions export converts, sorted."""
    return sorted(cls.__name__ for cls in CONVERTERS)
