"""Import: one function per ONNX op type, computing it with somanet ops.

An importer is ``run(context, inputs, attributes) -> [outputs]``: ``inputs`` are
Tensors (``None`` for an omitted optional input), ``attributes`` the node's attributes
as Python values, ``context`` the model's opset and how many outputs the node has.
Float computations go through somanet's differentiable ops, so a loaded model trains;
integer arithmetic (shapes, indices) is computed on the arrays directly.

================================ ===========================================================
ONNX                             somanet
================================ ===========================================================
Add Sub Mul Div Pow              add sub mul div pow (integers: exact integer arithmetic)
Neg Abs Exp Log Sqrt Erf         neg abs exp log sqrt, ``somanet.onnx.erf``
Max Min (n inputs) Clip Where    maximum minimum clip where
Relu Sigmoid Tanh LeakyRelu Elu  relu sigmoid tanh leaky_relu elu
Softplus Gelu                    softplus gelu
Softmax LogSoftmax               softmax log_softmax
MatMul Gemm                      matmul, linear (transposes, alpha and beta as ops)
Conv (1-D, 2-D)                  the Conv2d op, asymmetric padding included (1-D on a view)
ConvTranspose (1-D, 2-D)         the ConvTranspose2d op
MaxPool AveragePool (1-D, 2-D)   max_pool2d avg_pool2d (asymmetric padding: pad first;
                                 MaxPool's Indices computed on the arrays)
GlobalAveragePool                global_avg_pool2d / mean
BatchNormalization (inference)   batch_norm (eval)
LayerNormalization               layer_norm (and Mean, InvStdDev when asked)
Dropout                          the identity (dropout when training_mode is true)
Gather                           x[..., indices] (getitem: a gradient for the data)
RNN LSTM GRU                     rnn_sequence lstm_sequence gru_sequence (layouts converted;
                                 LSTM peepholes and GRU linear_before_reset=0 step by step)
BatchNormalization (training)    batch_norm on the batch, running statistics as outputs
Reshape Flatten Transpose        reshape transpose
Squeeze Unsqueeze Expand         reshape broadcast_to
Concat Split Slice Pad           concatenate split getitem pad (reflect, edge, wrap: getitem)
Identity Cast                    astype (float8 casts saturate)
Shape Size Range ConstantOfShape int64 tensors computed on the arrays
ReduceSum ReduceMean ReduceMax   sum mean max min prod logsumexp
ReduceMin ReduceProd
ReduceLogSumExp
ArgMax ArgMin                    argmax argmin
Equal Less Greater               equal less greater less_equal greater_equal
LessOrEqual GreaterOrEqual Not
================================ ===========================================================
"""
import math
import operator

import numpy

from .. import ops
from ..ops.comparison import Compare
from ..ops.convolution import Conv2d, ConvTranspose2d, Geometry
from ..ops.pooling import AvgPool2d, MaxPool2d
from ..tensor import Tensor
from ._proto import numpy_dtype, onnx
from .converters import GATE_SOURCES
from .erf import erf

IMPORTERS = {}


class UnsupportedOnnxError(ValueError):
    """An ONNX node somanet cannot run: an op type it does not know, or attributes of a
    known one that it does not support."""


class Context:
    """What an importer may need besides its inputs: the opset, the node's op type and its
    number of outputs."""

    def __init__(self, opset):
        self.opset = opset
        self.op_type = None
        self.outputs = 1


def imports(*op_types):
    def register(function):
        for op_type in op_types:
            IMPORTERS[op_type] = function
        return function
    return register


def attribute_values(node):
    """A node's attributes as Python values (tensors as arrays, strings decoded)."""
    lib = onnx()
    values = {}
    for attribute in node.attribute:
        value = lib.helper.get_attribute_value(attribute)
        if isinstance(value, lib.TensorProto):
            value = lib.numpy_helper.to_array(value)
        elif isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [item.decode("utf-8") for item in value]
        values[attribute.name] = value
    return values


def unsupported(why):
    raise UnsupportedOnnxError(why)


def _ints(tensor):
    """An int64 input (a shape, axes) as a list of Python ints."""
    return [int(v) for v in numpy.asarray(_host(tensor.data)).reshape(-1)]


def _host(array):
    return array.get() if hasattr(array, "get") else array


def _tensor(array, like=None):
    """A Tensor of ``array`` (dtype kept), on ``like``'s device."""
    device = like.device if like is not None else None
    array = numpy.asarray(array)
    return Tensor(array, dtype=array.dtype, device=device)


def _is_float(tensor):
    return tensor.dtype.kind == "f"


def _computed(function, *tensors):
    """``function`` of the inputs' arrays, as a Tensor without gradient (integer maths)."""
    result = function(*[t.data for t in tensors])
    xp_result = numpy.asarray(result) if not hasattr(result, "dtype") else result
    out = Tensor.__new__(Tensor)
    out.data = xp_result if hasattr(xp_result, "shape") else numpy.asarray(xp_result)
    return out


def _axis(axis, ndim):
    return axis % ndim if ndim else 0


# -- elementwise -----------------------------------------------------------------------------

def _binary(float_op, integer_op):
    def run(context, inputs, attributes):
        a, b = inputs
        if _is_float(a) or _is_float(b):
            return [float_op(a, b)]
        return [_computed(integer_op, a, b)]
    return run


def _integer_divide(a, b):
    quotient = numpy.floor_divide(a, b)
    # ONNX's (and C's) integer division truncates towards zero
    negative = ((a < 0) != (b < 0)) & (quotient * b != a)
    return (quotient + negative).astype(numpy.result_type(a, b))


IMPORTERS["Add"] = _binary(ops.add, operator.add)
IMPORTERS["Sub"] = _binary(ops.sub, operator.sub)
IMPORTERS["Mul"] = _binary(ops.mul, operator.mul)
IMPORTERS["Div"] = _binary(ops.div, _integer_divide)


@imports("Pow")
def _pow(context, inputs, attributes):
    base, exponent = inputs
    if _is_float(base):
        if not _is_float(exponent):
            exponent = ops.astype(exponent, base.dtype)
        elif exponent.dtype != base.dtype:
            exponent = ops.astype(exponent, base.dtype)
        return [ops.pow(base, exponent)]
    return [_computed(lambda a, b: numpy.power(a, b).astype(a.dtype), base, exponent)]


_UNARY = {"Neg": ops.neg, "Abs": ops.abs, "Exp": ops.exp, "Log": ops.log, "Sqrt": ops.sqrt,
          "Relu": ops.relu, "Sigmoid": ops.sigmoid, "Tanh": ops.tanh, "Erf": erf,
          "Identity": lambda x: x}
_INTEGER_UNARY = {"Neg": numpy.negative, "Abs": numpy.abs,
                  "Relu": lambda a: numpy.maximum(a, 0).astype(a.dtype), "Identity": None}


def _unary(op_type):
    def run(context, inputs, attributes):
        (x,) = inputs
        if not _is_float(x):
            function = _INTEGER_UNARY.get(op_type, False)
            if function is None:
                return [x]
            if function is not False:
                return [_computed(function, x)]
        return [_UNARY[op_type](x)]
    return run


for _op_type in _UNARY:
    IMPORTERS[_op_type] = _unary(_op_type)


@imports("Max", "Min")
def _max_min(context, inputs, attributes):
    float_op = ops.maximum if context.op_type == "Max" else ops.minimum
    integer_op = numpy.maximum if float_op is ops.maximum else numpy.minimum
    result = inputs[0]
    for other in inputs[1:]:
        if _is_float(result):
            result = float_op(result, other)
        else:
            result = _computed(integer_op, result, other)
    if len(inputs) == 1 and _is_float(result):
        result = float_op(result, result)  # a copy, as the op
    return [result]


@imports("Clip")
def _clip(context, inputs, attributes):
    x = inputs[0]
    if context.opset < 11:
        low, high = attributes.get("min"), attributes.get("max")
    else:
        bounds = list(inputs[1:]) + [None, None]
        low, high = [None if b is None else numpy.asarray(_host(b.data)).item()
                     for b in bounds[:2]]
    if low is not None and high is not None and low > high:
        return [ops.full_like(x, high)] if _is_float(x) else \
            [_computed(lambda a: numpy.full_like(a, high), x)]
    return [ops.clip(x, low, high)]


@imports("Where")
def _where(context, inputs, attributes):
    condition, a, b = inputs
    if _is_float(a) or _is_float(b):
        return [ops.where(condition, a, b)]
    return [_computed(numpy.where, condition, a, b)]


# -- activations -----------------------------------------------------------------------------

@imports("LeakyRelu")
def _leaky_relu(context, inputs, attributes):
    return [ops.leaky_relu(inputs[0], attributes.get("alpha", 0.01))]


@imports("Elu")
def _elu(context, inputs, attributes):
    return [ops.elu(inputs[0], attributes.get("alpha", 1.0))]


@imports("Softplus")
def _softplus(context, inputs, attributes):
    return [ops.softplus(inputs[0], threshold=math.inf)]


@imports("Gelu")
def _gelu(context, inputs, attributes):
    return [ops.gelu(inputs[0], attributes.get("approximate", "none"))]


@imports("Softmax", "LogSoftmax")
def _softmax(context, inputs, attributes):
    x = inputs[0]
    function = ops.softmax if context.op_type == "Softmax" else ops.log_softmax
    if context.opset >= 13:
        return [function(x, attributes.get("axis", -1))]
    # before opset 13: the input seen as 2-D, axes from ``axis`` on flattened together
    axis = _axis(attributes.get("axis", 1), x.ndim)
    rows = math.prod(x.shape[:axis])
    flat = ops.reshape(x, (rows, -1))
    return [ops.reshape(function(flat, 1), x.shape)]


# -- matrix products -------------------------------------------------------------------------

@imports("MatMul")
def _matmul(context, inputs, attributes):
    a, b = inputs
    if _is_float(a):
        return [ops.matmul(a, b)]
    return [_computed(numpy.matmul, a, b)]


@imports("Gemm")
def _gemm(context, inputs, attributes):
    a, b = inputs[:2]
    c = inputs[2] if len(inputs) > 2 else None
    alpha, beta = attributes.get("alpha", 1.0), attributes.get("beta", 1.0)
    if attributes.get("transA", 0):
        a = ops.transpose(a)
    if attributes.get("transB", 0):
        b = ops.transpose(b)
    if alpha == 1 and beta == 1 and c is not None and c.shape == (b.shape[1],):
        return [ops.linear(a, b, c)]
    out = ops.matmul(a, b)
    if alpha != 1:
        out = out * alpha
    if c is not None:
        out = out + (c if beta == 1 else c * beta)
    return [out]


# -- convolution and pooling -----------------------------------------------------------------

def _spatial_pads(attributes, in_sizes, kernel, strides, dilations, what):
    """``(begins, ends)`` padding per spatial axis from ``pads`` or ``auto_pad``."""
    rank = len(in_sizes)
    auto = attributes.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
            out = -(-size // s)
            total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
            small = total // 2
            begins.append(small if auto == "SAME_UPPER" else total - small)
            ends.append(total - small if auto == "SAME_UPPER" else small)
        return begins, ends
    if auto == "VALID":
        return [0] * rank, [0] * rank
    if auto != "NOTSET":
        unsupported(f"{what}: auto_pad={auto!r}")
    pads = list(attributes.get("pads", [0] * (2 * rank)))
    return pads[:rank], pads[rank:]


def _as_2d(x, what):
    """A 3-D (N, C, L) input as 4-D (N, C, 1, L); 4-D as it is."""
    if x.ndim == 3:
        return ops.reshape(x, x.shape[:2] + (1,) + x.shape[2:]), True
    if x.ndim != 4:
        unsupported(f"{what} over {x.ndim - 2} spatial axes: somanet has 1-D and 2-D")
    return x, False


def _pair(values, one_d, fill):
    values = list(values)
    return tuple([fill] + values) if one_d else tuple(values)


@imports("Conv")
def _conv(context, inputs, attributes):
    x, weight = inputs[:2]
    bias = inputs[2] if len(inputs) > 2 else None
    x4, one_d = _as_2d(x, "Conv")
    w4 = ops.reshape(weight, weight.shape[:2] + (1,) + weight.shape[2:]) if one_d else weight
    rank = x.ndim - 2
    kernel = list(attributes.get("kernel_shape", weight.shape[2:]))
    strides = list(attributes.get("strides", [1] * rank))
    dilations = list(attributes.get("dilations", [1] * rank))
    begins, ends = _spatial_pads(attributes, x.shape[2:], kernel, strides, dilations, "Conv")
    begins, ends = _pair(begins, one_d, 0), _pair(ends, one_d, 0)
    geometry = Geometry(_pair(strides, one_d, 1), (begins[0], ends[0], begins[1], ends[1]),
                        _pair(dilations, one_d, 1))
    args = (x4, w4) if bias is None else (x4, w4, bias)
    out = Conv2d.apply(*args, geometry=geometry, groups=int(attributes.get("group", 1)))
    return [ops.reshape(out, out.shape[:2] + out.shape[3:]) if one_d else out]


@imports("ConvTranspose")
def _conv_transpose(context, inputs, attributes):
    x, weight = inputs[:2]
    bias = inputs[2] if len(inputs) > 2 else None
    x4, one_d = _as_2d(x, "ConvTranspose")
    w4 = ops.reshape(weight, weight.shape[:2] + (1,) + weight.shape[2:]) if one_d else weight
    rank = x.ndim - 2
    kernel = list(attributes.get("kernel_shape", weight.shape[2:]))
    strides = list(attributes.get("strides", [1] * rank))
    dilations = list(attributes.get("dilations", [1] * rank))
    extra = list(attributes.get("output_padding", [0] * rank))
    groups = int(attributes.get("group", 1))
    spans = [(size - 1) * s + d * (k - 1) + 1 + e for size, s, d, k, e in
             zip(x.shape[2:], strides, dilations, kernel, extra)]
    auto = attributes.get("auto_pad", "NOTSET")
    if "output_shape" in attributes or auto in ("SAME_UPPER", "SAME_LOWER"):
        wanted = list(attributes.get("output_shape", [size * s for size, s in
                                                      zip(x.shape[2:], strides)]))[-rank:]
        begins, ends = [], []
        for span, out in zip(spans, wanted):
            total = max(span - out, 0)
            small = total // 2
            # the odd one at the end for SAME_UPPER (and for output_shape), as onnxruntime
            if auto == "SAME_LOWER":
                begins.append(total - small)
                ends.append(small)
            else:
                begins.append(small)
                ends.append(total - small)
    elif auto == "VALID":
        begins, ends = [0] * rank, [0] * rank
    else:
        pads = list(attributes.get("pads", [0] * (2 * rank)))
        begins, ends = pads[:rank], pads[rank:]
    out_sizes = [span - b - e for span, b, e in zip(spans, begins, ends)]
    if "output_shape" in attributes:  # larger than the windows reach: zeros at the end
        out_sizes = list(attributes["output_shape"])[-rank:]
    begins, ends = _pair(begins, one_d, 0), _pair(ends, one_d, 0)
    geometry = Geometry(_pair(strides, one_d, 1), (begins[0], ends[0], begins[1], ends[1]),
                        _pair(dilations, one_d, 1))
    args = (x4, w4) if bias is None else (x4, w4, bias)
    out = ConvTranspose2d.apply(*args, geometry=geometry, groups=groups,
                                out_hw=_pair(out_sizes, one_d, 1))
    return [ops.reshape(out, out.shape[:2] + out.shape[3:]) if one_d else out]


def _pool(context, inputs, attributes, kind):
    x = inputs[0]
    x4, one_d = _as_2d(x, "MaxPool" if kind == "max" else "AveragePool")
    rank = x.ndim - 2
    kernel = list(attributes["kernel_shape"])
    strides = list(attributes.get("strides", [1] * rank))
    dilations = list(attributes.get("dilations", [1] * rank))
    if kind == "avg" and any(d != 1 for d in dilations):
        unsupported("AveragePool with dilations")
    begins, ends = _spatial_pads(attributes, x.shape[2:], kernel, strides, dilations, "pool")
    kernel, strides = _pair(kernel, one_d, 1), _pair(strides, one_d, 1)
    dilations = _pair(dilations, one_d, 1)
    begins, ends = _pair(begins, one_d, 0), _pair(ends, one_d, 0)
    ceil_mode = bool(attributes.get("ceil_mode", 0))
    original = x4.dtype
    if not _is_float(x4):
        x4 = ops.astype(x4, "float64")
    if kind == "max":
        out = _max_pool(x4, kernel, strides, begins, ends, dilations, ceil_mode)
        if context.outputs > 1:
            indices = _max_indices(x4.data, out.data, kernel, strides, begins, dilations,
                                   attributes.get("storage_order", 0))
            if one_d:
                indices = indices.reshape(indices.shape[:2] + indices.shape[3:])
            return [ops.reshape(out, out.shape[:2] + out.shape[3:]) if one_d else out,
                    _tensor(indices, x)]
    else:
        include = bool(attributes.get("count_include_pad", 0))
        out = _avg_pool(x4, kernel, strides, begins, ends, ceil_mode, include)
    if out.dtype != original:
        out = ops.astype(out, original)
    return [ops.reshape(out, out.shape[:2] + out.shape[3:]) if one_d else out]


def _max_indices(x, out, kernel, strides, begins, dilations, storage_order):
    """MaxPool's Indices: where each maximum is, as a flat index into ``x`` (row-major, or
    column-major within each plane with ``storage_order=1``); the first one on ties."""
    x, out = numpy.asarray(_host(x)), numpy.asarray(_host(out))
    n, c, height, width = x.shape
    found = numpy.full(out.shape, -1, dtype=numpy.int64)
    rows = numpy.arange(out.shape[2])[:, None] * strides[0] - begins[0]
    columns = numpy.arange(out.shape[3])[None, :] * strides[1] - begins[1]
    for p in range(kernel[0]):
        for q in range(kernel[1]):
            row, column = rows + p * dilations[0], columns + q * dilations[1]
            inside = (row >= 0) & (row < height) & (column >= 0) & (column < width)
            values = x[:, :, numpy.clip(row, 0, height - 1), numpy.clip(column, 0, width - 1)]
            hit = (values == out) & inside & (found < 0)
            place = row * width + column if not storage_order else row + column * height
            found = numpy.where(hit, place, found)
    planes = (numpy.arange(n)[:, None] * c + numpy.arange(c)[None, :]) * height * width
    return found + planes[:, :, None, None]


def _symmetric(begins, ends, kernel):
    return tuple(begins) == tuple(ends) and all(p < k for p, k in zip(begins, kernel))


def _max_pool(x, kernel, strides, begins, ends, dilations, ceil_mode):
    if _symmetric(begins, ends, kernel):
        return MaxPool2d.apply(x, kernel=kernel, stride=strides, padding=tuple(begins),
                               dilation=dilations, ceil_mode=ceil_mode)
    padded = ops.pad(x, [(0, 0), (0, 0), (begins[0], ends[0]), (begins[1], ends[1])],
                     value=-math.inf)
    return MaxPool2d.apply(padded, kernel=kernel, stride=strides, padding=(0, 0),
                           dilation=dilations, ceil_mode=ceil_mode)


def _avg_pool(x, kernel, strides, begins, ends, ceil_mode, count_include_pad):
    if _symmetric(begins, ends, kernel):
        return AvgPool2d.apply(x, kernel=kernel, stride=strides, padding=tuple(begins),
                               ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    widths = [(0, 0), (0, 0), (begins[0], ends[0]), (begins[1], ends[1])]
    total = AvgPool2d.apply(ops.pad(x, widths), kernel=kernel, stride=strides, padding=(0, 0),
                            ceil_mode=ceil_mode, count_include_pad=True)
    if count_include_pad:
        return total
    inside = ops.pad(ops.ones_like(x), widths)  # 1 on the input, 0 on the padding
    share = AvgPool2d.apply(inside, kernel=kernel, stride=strides, padding=(0, 0),
                            ceil_mode=ceil_mode, count_include_pad=True)
    return total / share


@imports("MaxPool")
def _max_pool_node(context, inputs, attributes):
    return _pool(context, inputs, attributes, "max")


@imports("AveragePool")
def _avg_pool_node(context, inputs, attributes):
    return _pool(context, inputs, attributes, "avg")


@imports("GlobalAveragePool")
def _global_avg_pool(context, inputs, attributes):
    x = inputs[0]
    if x.ndim == 4:
        pooled = ops.global_avg_pool2d(x)
        return [ops.reshape(pooled, pooled.shape + (1, 1))]
    return [ops.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)]


# -- normalisation, dropout ------------------------------------------------------------------

@imports("BatchNormalization")
def _batch_norm(context, inputs, attributes):
    x, scale, bias, mean, var = inputs[:5]
    channels = (x.shape[1],)
    if scale.shape != channels or bias.shape != channels:
        unsupported(f"BatchNormalization with scale {scale.shape} and bias {bias.shape} for "
                    f"{x.shape[1]} channels")
    eps = attributes.get("epsilon", 1e-5)
    if not attributes.get("training_mode", 0):
        return [ops.batch_norm(x, scale, bias, mean, var, training=False, eps=eps)]
    # training: the batch's statistics; the running ones as outputs, ONNX's momentum
    # being the old value's weight (PyTorch's and somanet's is the new batch's)
    momentum = attributes.get("momentum", 0.9)
    axes = (0,) + tuple(range(2, x.ndim))
    batch_mean = ops.mean(x, axis=axes)
    batch_var = ops.var(x, axis=axes)
    out = ops.batch_norm(x, scale, bias, training=True, eps=eps)
    running_mean = mean * momentum + batch_mean * (1 - momentum)
    running_var = var * momentum + batch_var * (1 - momentum)
    return [out, running_mean, running_var][:context.outputs]


@imports("LayerNormalization")
def _layer_norm(context, inputs, attributes):
    x, scale = inputs[:2]
    bias = inputs[2] if len(inputs) > 2 else None
    axis = _axis(attributes.get("axis", -1), x.ndim)
    eps = attributes.get("epsilon", 1e-5)
    shape = tuple(x.shape[axis:])
    outputs = []
    if (scale.shape == shape) and (bias is None or bias.shape == shape):
        outputs.append(ops.layer_norm(x, shape, scale, bias, eps))
    else:  # scale or bias broadcast: normalise, then scale and shift as ops
        normalised = ops.layer_norm(x, shape, eps=eps)
        out = normalised * scale
        outputs.append(out if bias is None else out + bias)
    if context.outputs > 1:
        axes = tuple(range(axis, x.ndim))
        mean = ops.mean(x, axis=axes, keepdims=True)
        variance = ops.mean((x - mean) * (x - mean), axis=axes, keepdims=True)
        outputs += [mean, 1 / ops.sqrt(variance + eps)]
    return outputs


@imports("Dropout")
def _dropout(context, inputs, attributes):
    x = inputs[0]
    ratio = inputs[1] if len(inputs) > 1 and inputs[1] is not None else None
    training = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    p = float(numpy.asarray(_host(ratio.data))) if ratio is not None else \
        attributes.get("ratio", 0.5)
    if training is not None and bool(numpy.asarray(_host(training.data))) and p > 0:
        if context.outputs > 1:
            unsupported("Dropout's mask output in training mode")
        return [ops.dropout(x, p, True)]
    return [x, _tensor(numpy.ones(x.shape, dtype=bool), x)][:context.outputs]


# -- recurrent layers ------------------------------------------------------------------------

_RECURRENT = {"RNN": ("rnn", 1), "LSTM": ("lstm", 4), "GRU": ("gru", 3)}
_DEFAULT_ACTIVATIONS = {"rnn": [["Tanh"], ["Relu"]], "lstm": [["Sigmoid", "Tanh", "Tanh"]],
                        "gru": [["Sigmoid", "Tanh"]]}


def _somanet_gates(matrix, kind):
    """ONNX's ``(G*H, rows)`` weight (or ``(G*H,)`` bias) as somanet's ``(rows, G*H)`` (or
    ``(G*H,)``), gate blocks reordered, in differentiable ops."""
    sources = GATE_SOURCES[kind]
    blocks = ops.split(matrix, len(sources), axis=0)
    ordered = [None] * len(sources)
    for onnx_index, somanet_index in enumerate(sources):
        ordered[somanet_index] = blocks[onnx_index]
    joined = ops.concatenate(ordered, axis=0) if len(ordered) > 1 else ordered[0]
    return ops.transpose(joined) if joined.ndim == 2 else joined


@imports("RNN", "LSTM", "GRU")
def _recurrent(context, inputs, attributes):
    op_type = context.op_type
    kind, gates = _RECURRENT[op_type]
    inputs = list(inputs) + [None] * (8 - len(inputs))
    x, w, r, b, lengths, h0 = inputs[:6]
    c0 = inputs[6] if kind == "lstm" else None
    peepholes = inputs[7] if kind == "lstm" else None
    if attributes.get("clip") is not None:
        unsupported(f"{op_type} with clip")
    if attributes.get("input_forget", 0):
        unsupported("LSTM with input_forget=1")
    activations = attributes.get("activations")
    nonlinearity = "tanh"
    if activations is not None:
        directions = 2 if attributes.get("direction") == "bidirectional" else 1
        per = len(activations) // directions
        first = activations[:per]
        if activations != first * directions or first not in _DEFAULT_ACTIVATIONS[kind]:
            unsupported(f"{op_type} with activations {activations}")
        nonlinearity = "relu" if first == ["Relu"] else "tanh"
    batch_major = bool(attributes.get("layout", 0))
    if batch_major:
        x = ops.swapaxes(x, 0, 1)
        h0 = ops.swapaxes(h0, 0, 1) if h0 is not None else None
        c0 = ops.swapaxes(c0, 0, 1) if c0 is not None else None
    steps, batch = x.shape[:2]
    if lengths is not None and any(v != steps for v in _ints(lengths)):
        unsupported(f"{op_type} with sequence_lens shorter than the sequence")
    hidden = int(attributes.get("hidden_size", r.shape[-1]))
    direction = attributes.get("direction", "forward")
    reverses = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    outputs, finals_h, finals_c = [], [], []
    # what the fused ops do not compute (LSTM peepholes, GRU's reset before the product)
    unrolled = peepholes is not None or (kind == "gru" and
                                         not attributes.get("linear_before_reset", 0))
    for index, reverse in enumerate(reverses):
        if unrolled:
            found = _unrolled(kind, x, [None if t is None else ops.getitem(t, index)
                                        for t in (w, r, b, h0, c0, peepholes)],
                              hidden, reverse)
            outputs.append(found[0])
            finals_h.append(found[1])
            finals_c.extend(found[2:])
            continue
        weight_ih = _somanet_gates(ops.getitem(w, index), kind)
        weight_hh = _somanet_gates(ops.getitem(r, index), kind)
        biases = ()
        if b is not None:
            both = ops.getitem(b, index)
            bias_w = _somanet_gates(ops.getitem(both, slice(0, gates * hidden)), kind)
            bias_r = _somanet_gates(ops.getitem(both, slice(gates * hidden, None)), kind)
            biases = (bias_w, bias_r) if kind == "gru" else (bias_w + bias_r,)
        elif kind == "gru":
            zeros = ops.zeros(gates * hidden, dtype=x.dtype, device=x.device)
            biases = (zeros, zeros)
        state_h = ops.getitem(h0, index) if h0 is not None else \
            ops.zeros(batch, hidden, dtype=x.dtype, device=x.device)
        if kind == "rnn":
            out, h_n = ops.rnn_sequence(x, state_h, weight_ih, weight_hh, *biases,
                                        nonlinearity=nonlinearity, reverse=reverse)
        elif kind == "lstm":
            state_c = ops.getitem(c0, index) if c0 is not None else \
                ops.zeros(batch, hidden, dtype=x.dtype, device=x.device)
            out, h_n, c_n = ops.lstm_sequence(x, state_h, state_c, weight_ih, weight_hh,
                                              *biases, reverse=reverse)
            finals_c.append(c_n)
        else:
            out, h_n = ops.gru_sequence(x, state_h, weight_ih, weight_hh, *biases,
                                        reverse=reverse)
        outputs.append(out)
        finals_h.append(h_n)
    y = ops.stack(outputs, axis=1)  # (T, D, B, H)
    results = [y, ops.stack(finals_h)] + ([ops.stack(finals_c)] if kind == "lstm" else [])
    if batch_major:
        results = [ops.permute(y, 2, 0, 1, 3)] + [ops.swapaxes(s, 0, 1) for s in results[1:]]
    return results[:max(context.outputs, 1)]


def _unrolled(kind, x, weights, hidden, reverse):
    """One direction of an LSTM with peepholes, or of a GRU with ONNX's default
    ``linear_before_reset=0``, step by step in somanet ops (ONNX's layout: gates i o f c,
    z r h)."""
    w, r, b, h, c, peepholes = weights
    gates = 4 if kind == "lstm" else 3
    steps, batch = x.shape[:2]
    zeros = ops.zeros(batch, hidden, dtype=x.dtype, device=x.device)
    h = zeros if h is None else h
    c = zeros if c is None else c
    bias_w = bias_r = None
    if b is not None:
        bias_w = ops.getitem(b, slice(0, gates * hidden))
        bias_r = ops.getitem(b, slice(gates * hidden, None))
    projected = ops.matmul(x, ops.transpose(w))  # (T, B, G*H)
    if bias_w is not None:
        projected = projected + bias_w
    weight_r = ops.transpose(r)
    block = lambda t, k: ops.getitem(t, (Ellipsis, slice(k * hidden, (k + 1) * hidden)))  # noqa
    outputs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        a = ops.getitem(projected, t)
        if kind == "lstm":
            u = ops.matmul(h, weight_r) if bias_r is None else ops.matmul(h, weight_r) + bias_r
            pre = a + u
            p_i, p_o, p_f = ((block(peepholes, k) for k in range(3)) if peepholes is not None
                             else (None, None, None))
            gate_i, gate_o, gate_f = block(pre, 0), block(pre, 1), block(pre, 2)
            if p_i is not None:
                gate_i, gate_f = gate_i + p_i * c, gate_f + p_f * c
            c = ops.sigmoid(gate_f) * c + ops.sigmoid(gate_i) * ops.tanh(block(pre, 3))
            if p_o is not None:
                gate_o = gate_o + p_o * c
            h = ops.sigmoid(gate_o) * ops.tanh(c)
        else:
            r_z = ops.matmul(h, ops.getitem(weight_r, (slice(None), slice(0, 2 * hidden))))
            if bias_r is not None:
                r_z = r_z + ops.getitem(bias_r, slice(0, 2 * hidden))
            z = ops.sigmoid(block(a, 0) + block(r_z, 0))
            reset = ops.sigmoid(block(a, 1) + block(r_z, 1))
            candidate = block(a, 2) + ops.matmul(reset * h, block(weight_r, 2))
            if bias_r is not None:
                candidate = candidate + block(bias_r, 2)
            n = ops.tanh(candidate)
            h = (1 - z) * n + z * h
        outputs[t] = h
    return [ops.stack(outputs)] + [h] + ([c] if kind == "lstm" else [])


# -- shapes ----------------------------------------------------------------------------------

@imports("Reshape")
def _reshape(context, inputs, attributes):
    x, shape = inputs
    target = _ints(shape)
    if not attributes.get("allowzero", 0):
        target = [x.shape[i] if size == 0 else size for i, size in enumerate(target)]
    return [ops.reshape(x, tuple(target))]


@imports("Flatten")
def _flatten(context, inputs, attributes):
    x = inputs[0]
    axis = attributes.get("axis", 1)
    axis = axis % x.ndim if axis < 0 else axis
    return [ops.reshape(x, (math.prod(x.shape[:axis]), math.prod(x.shape[axis:])))]


@imports("Transpose")
def _transpose(context, inputs, attributes):
    perm = attributes.get("perm")
    return [ops.transpose(inputs[0], None if perm is None else tuple(perm))]


def _axes_of(context, inputs, attributes, since):
    """``axes`` from the second input (opset >= ``since``) or the attribute."""
    if context.opset >= since:
        return None if len(inputs) < 2 or inputs[1] is None else _ints(inputs[1])
    axes = attributes.get("axes")
    return None if axes is None else list(axes)


@imports("Squeeze")
def _squeeze(context, inputs, attributes):
    x = inputs[0]
    axes = _axes_of(context, inputs, attributes, 13)
    return [ops.squeeze(x, None if axes is None else tuple(axes))]


@imports("Unsqueeze")
def _unsqueeze(context, inputs, attributes):
    x = inputs[0]
    axes = _axes_of(context, inputs, attributes, 13)
    rank = x.ndim + len(axes)
    shape = list(x.shape)
    for axis in sorted(a % rank for a in axes):
        shape.insert(axis, 1)
    return [ops.reshape(x, tuple(shape))]


@imports("Expand")
def _expand(context, inputs, attributes):
    x, shape = inputs
    target = numpy.broadcast_shapes(tuple(x.shape), tuple(_ints(shape)))
    if _is_float(x):
        return [ops.broadcast_to(x, target)]
    return [_computed(lambda a: numpy.broadcast_to(a, target).copy(), x)]


@imports("Concat")
def _concat(context, inputs, attributes):
    parts = [t for t in inputs if t is not None]
    axis = _axis(attributes["axis"], parts[0].ndim)
    if all(_is_float(t) for t in parts):
        return [ops.concatenate(parts, axis=axis)]
    return [_computed(lambda *arrays: numpy.concatenate(arrays, axis=axis), *parts)]


@imports("Split")
def _split(context, inputs, attributes):
    x = inputs[0]
    axis = _axis(attributes.get("axis", 0), x.ndim)
    if context.opset >= 13 and len(inputs) > 1 and inputs[1] is not None:
        sizes = _ints(inputs[1])
    elif "split" in attributes:
        sizes = list(attributes["split"])
    else:
        count = attributes.get("num_outputs", context.outputs)
        length = x.shape[axis]
        size = -(-length // count)
        sizes = [size] * (count - 1) + [length - size * (count - 1)]
    return ops.split(x, sizes, axis=axis)


@imports("Slice")
def _slice(context, inputs, attributes):
    x = inputs[0]
    if context.opset < 10:
        starts, ends = attributes["starts"], attributes["ends"]
        axes, steps = attributes.get("axes"), None
    else:
        starts, ends = _ints(inputs[1]), _ints(inputs[2])
        axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
        steps = _ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else None
    axes = list(range(len(starts))) if axes is None else [a % x.ndim for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[axis] = slice(start, end, step)
    return [_index(x, tuple(index))]


def _index(x, index):
    if _is_float(x):
        return ops.getitem(x, index)
    return _computed(lambda a: a[index], x)


@imports("Gather")
def _gather(context, inputs, attributes):
    x, indices = inputs
    axis = _axis(attributes.get("axis", 0), x.ndim)
    where = numpy.asarray(_host(indices.data)).astype(numpy.int64)
    return [_index(x, (slice(None),) * axis + (where,))]


@imports("Pad")
def _pad(context, inputs, attributes):
    x = inputs[0]
    mode = attributes.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        unsupported(f"Pad with mode={mode!r}")
    if context.opset < 11:
        pads, value, axes = list(attributes["pads"]), attributes.get("value", 0.0), None
    else:
        pads = _ints(inputs[1])
        value = numpy.asarray(_host(inputs[2].data)).item() if len(inputs) > 2 and \
            inputs[2] is not None else 0
        axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
    axes = list(range(x.ndim)) if axes is None else [a % x.ndim for a in axes]
    widths = [(0, 0)] * x.ndim
    count = len(axes)
    for i, axis in enumerate(axes):
        widths[axis] = (pads[i], pads[i + count])
    if any(before < 0 or after < 0 for before, after in widths):
        unsupported("Pad with negative pads (cropping)")
    if mode != "constant":
        for axis, (before, after) in enumerate(widths):
            if before or after:
                x = _index(x, (slice(None),) * axis + (_pad_index(x.shape[axis], before,
                                                                  after, mode),))
        return [x]
    if _is_float(x):
        return [ops.pad(x, widths, value=value)]
    return [_computed(lambda a: numpy.pad(a, widths, constant_values=value), x)]


def _pad_index(size, before, after, mode):
    """The source position of each element of an axis padded by ``mode`` (reflect: mirrored
    without repeating the edge; edge: the edge repeated; wrap: periodic)."""
    where = numpy.arange(-before, size + after)
    if mode == "edge":
        return numpy.clip(where, 0, size - 1)
    if mode == "wrap":
        return where % size
    period = 2 * (size - 1) if size > 1 else 1
    where = numpy.abs(where) % period
    return numpy.where(where >= size, period - where, where)


@imports("Shape")
def _shape(context, inputs, attributes):
    x = inputs[0]
    shape = list(x.shape)
    start = attributes.get("start", 0)
    end = attributes.get("end")
    return [_tensor(numpy.asarray(shape[start:end], dtype=numpy.int64))]


@imports("Size")
def _size(context, inputs, attributes):
    return [_tensor(numpy.asarray(inputs[0].size, dtype=numpy.int64))]


@imports("ConstantOfShape")
def _constant_of_shape(context, inputs, attributes):
    value = attributes.get("value", numpy.zeros(1, numpy.float32))
    shape = tuple(_ints(inputs[0]))
    return [_tensor(numpy.full(shape, value.reshape(-1)[0], dtype=value.dtype))]


@imports("Range")
def _range(context, inputs, attributes):
    start, limit, delta = [numpy.asarray(_host(t.data)) for t in inputs]
    return [_tensor(numpy.arange(start, limit, delta, dtype=start.dtype))]


@imports("Cast")
def _cast(context, inputs, attributes):
    x = inputs[0]
    dtype = numpy_dtype(attributes["to"])
    if x.dtype == dtype:
        return [x]
    if dtype.name.startswith("float8") and attributes.get("saturate", 1) and \
            "e8m0" not in dtype.name:
        limit = float(_finfo_max(dtype))  # saturate: out of range (inf too) to the limit
        return [_computed(lambda a: numpy.clip(a.astype(numpy.float32), -limit, limit)
                          .astype(dtype), x)]
    if _is_float(x) and dtype.kind == "f":
        return [ops.astype(x, dtype)]
    return [_computed(lambda a: a.astype(dtype), x)]


def _finfo_max(dtype):
    import ml_dtypes
    return ml_dtypes.finfo(dtype).max


# -- reductions ------------------------------------------------------------------------------

_REDUCTIONS = {"ReduceSum": (ops.sum, 13), "ReduceMean": (ops.mean, 18),
               "ReduceMax": (ops.max, 18), "ReduceMin": (ops.min, 18),
               "ReduceProd": (ops.prod, 18), "ReduceLogSumExp": (ops.logsumexp, 18)}


@imports(*_REDUCTIONS)
def _reduce(context, inputs, attributes):
    op_type = context.op_type
    function, since = _REDUCTIONS[op_type]
    x = inputs[0]
    axes = _axes_of(context, inputs, attributes, since)
    keepdims = bool(attributes.get("keepdims", 1))
    if not axes:
        if attributes.get("noop_with_empty_axes", 0):
            return [x]
        axes = list(range(x.ndim))
    axes = tuple(a % x.ndim for a in axes) if x.ndim else ()
    if not _is_float(x):
        name = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max",
                "ReduceMin": "min", "ReduceProd": "prod"}.get(op_type)
        if name is None:
            unsupported(f"{op_type} of integers")
        extra = {}
        if name in ("max", "min"):  # the identity over an empty axis: the dtype's limit
            info = numpy.iinfo(x.dtype) if x.dtype.kind in "iu" else None
            low, high = (info.min, info.max) if info else (False, True)
            extra["initial"] = low if name == "max" else high
        return [_computed(lambda a: getattr(numpy, name)(a, axis=axes, keepdims=keepdims,
                                                         **extra).astype(a.dtype), x)]
    if x.size == 0 and op_type in ("ReduceMax", "ReduceMin"):
        fill = -numpy.inf if op_type == "ReduceMax" else numpy.inf
        shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape)) if keepdims else \
            tuple(s for i, s in enumerate(x.shape) if i not in axes)
        return [_tensor(numpy.full(shape, fill, dtype=x.dtype), x)]
    return [function(x, axis=axes, keepdims=keepdims)]


@imports("ArgMax", "ArgMin")
def _arg(context, inputs, attributes):
    x = inputs[0]
    largest = context.op_type == "ArgMax"
    axis = _axis(attributes.get("axis", 0), x.ndim)
    keepdims = bool(attributes.get("keepdims", 1))
    function = ops.argmax if largest else ops.argmin
    if attributes.get("select_last_index", 0):
        flipped = _index(x, (slice(None),) * axis + (slice(None, None, -1),))
        found = function(flipped, axis=axis, keepdims=keepdims)
        return [_computed(lambda a: (x.shape[axis] - 1 - a).astype(numpy.int64), found)]
    return [function(x, axis=axis, keepdims=keepdims)]


# -- comparisons -----------------------------------------------------------------------------

_COMPARISONS = {"Equal": operator.eq, "Less": operator.lt, "Greater": operator.gt,
                "LessOrEqual": operator.le, "GreaterOrEqual": operator.ge}


@imports(*_COMPARISONS)
def _compare(context, inputs, attributes):
    op_type = context.op_type
    a, b = inputs
    return [Compare.apply(a, b, test=_COMPARISONS[op_type])]


@imports("Not")
def _not(context, inputs, attributes):
    return [_computed(numpy.logical_not, inputs[0])]
