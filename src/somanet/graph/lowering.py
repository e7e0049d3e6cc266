"""The native forms of ops and optimiser updates: how a compiled step becomes one numba
function (``somanet.graph.native``).

A compiled step's shapes and dtypes are fixed (a program exists per input signature),
so each op's native form is written for its exact shapes: a function of an ``OpCode``
that emits the forward as lines of NumPy-style array code (which numba compiles and
fuses) and returns the backward, a function from the name of the output's gradient to
one expression per input (``None``: no gradient). ``LOWERINGS`` maps each ``Function``
class to its native form; an op missing from it keeps the step in Python code.

The forms compute what the ops compute, in float32 round-off: a sum or a matrix product
may add in another order than NumPy's (pairwise sums, BLAS blocking), and ``exp``,
``log`` and ``tanh`` come from LLVM's math library instead of NumPy's.

``UPDATES`` maps an optimiser's update function (``SGD.update``...) to its native form:
which state arrays and scalars one parameter's step takes (worked out in Python, per
call) and the loop that applies it (``backend.kernels_optim``'s, as in eager mode).
"""
import numpy

from ..backend import kernels_native, kernels_optim
from ..ops.activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from ..ops.dropout import Dropout
from ..ops.elementwise import Add, Clip, Div, Exp, Log, Mul, Neg, PowConstant, Sub
from ..ops.linalg import Linear, MatMul
from ..ops.loss import (BinaryCrossEntropyWithLogits, SparseNLL,
                        SparseSoftmaxCrossEntropy, SquaredError)
from ..ops.reduction import Mean, Sum
from ..ops.shape import Reshape, Transpose
from ..optim.adam import adam_update, adamw_update
from ..optim.sgd import sgd_update

LOWERINGS = {}
SMALL_MATMUL = 4096  # m * k * n up to which a product is three loops rather than BLAS


def lowers(*classes):
    def register(form):
        for cls in classes:
            LOWERINGS[cls] = form
        return form
    return register


class OpCode:
    """What an op's native form is given: the names of its inputs' and outputs' values
    (``x``, ``y``), their shapes and dtypes, the op's attributes (``params``), and where
    to write code (``emit``, ``const``, ``temp``)."""

    def __init__(self, writer, inputs, outputs, params):
        self.writer = writer
        self.x = inputs
        self.y = outputs
        self.params = params

    def shape(self, name):
        return self.writer.shapes[name]

    def dtype(self, name=None):
        return self.writer.dtypes[name or self.y[0]]

    def emit(self, line):
        self.writer.emit(line)

    def const(self, value, dtype=None):
        """The name of a constant ``value`` in the op's dtype (a typed module global, so
        float32 arithmetic stays float32)."""
        return self.writer.const(value, dtype or self.dtype())

    def temp(self, hint="t"):
        return self.writer.temp(hint)

    def uniform(self, shape):
        """The name of an array of uniform [0, 1) float32 numbers drawn, before the step
        runs, from the device's generator as eager code would draw them."""
        return self.writer.uniform(shape)

    def sum_to(self, expression, shape_from, shape_to):
        """``expression`` (of shape ``shape_from``) summed over the axes that
        broadcasting added to reach it from ``shape_to``."""
        if tuple(shape_from) == tuple(shape_to):
            return expression
        if not shape_to:
            return f"np.sum({expression})"
        lead = len(shape_from) - len(shape_to)
        for _ in range(lead):
            expression = f"np.sum({expression}, axis=0)"
        for axis, size in enumerate(shape_to):
            if size == 1 and shape_from[lead + axis] != 1:
                expression = f"np.expand_dims(np.sum({expression}, axis={axis}), {axis})"
        return expression


def matmul(a, b, shape, trans_a=False, trans_b=False):
    """The expression of a 2-D product ``op(a) @ op(b)`` of shapes (m, k) @ (k, n)
    (``shape = (m, k, n)``; ``op`` transposes where asked): three loops when tiny, else
    NumPy's own BLAS (``kernels_native.gemm``), else ``np.dot``."""
    m, k, n = shape
    left, right = f"{a}.T" if trans_a else a, f"{b}.T" if trans_b else b
    if m * k * n <= SMALL_MATMUL:
        return f"matmul_small({left}, {right})"
    if kernels_native.kernels().gemm is not None:
        return f"gemm({a}, {b}, {trans_a}, {trans_b})"
    return f"np.dot({left}, {right})"


# -- elementwise ---------------------------------------------------------------------------

@lowers(Add)
def add(op):
    (a, b), (y,) = op.x, op.y
    op.emit(f"{y} = {a} + {b}")
    return lambda g: [op.sum_to(g, op.shape(y), op.shape(a)),
                      op.sum_to(g, op.shape(y), op.shape(b))]


@lowers(Sub)
def sub(op):
    (a, b), (y,) = op.x, op.y
    op.emit(f"{y} = {a} - {b}")
    return lambda g: [op.sum_to(g, op.shape(y), op.shape(a)),
                      "-" + op.sum_to(g, op.shape(y), op.shape(b))]


@lowers(Mul)
def mul(op):
    (a, b), (y,) = op.x, op.y
    op.emit(f"{y} = {a} * {b}")
    return lambda g: [op.sum_to(f"{g} * {b}", op.shape(y), op.shape(a)),
                      op.sum_to(f"{g} * {a}", op.shape(y), op.shape(b))]


@lowers(Div)
def div(op):
    (a, b), (y,) = op.x, op.y
    op.emit(f"{y} = {a} / {b}")

    def backward(g):
        grad_a = op.temp("ga")
        op.emit(f"{grad_a} = {g} / {b}")
        return [op.sum_to(grad_a, op.shape(y), op.shape(a)),
                op.sum_to(f"-{grad_a} * {a} / {b}", op.shape(y), op.shape(b))]
    return backward


@lowers(Neg)
def neg(op):
    (a,), (y,) = op.x, op.y
    op.emit(f"{y} = -{a}")
    return lambda g: [f"-{g}"]


@lowers(PowConstant)
def pow_constant(op):
    (a,), (y,) = op.x, op.y
    p = op.params["exponent"]
    if p == 2:
        op.emit(f"{y} = {a} * {a}")
        return lambda g: [f"{g} * ({a} + {a})"]
    op.emit(f"{y} = {a} ** {op.const(p)}")
    return lambda g: [f"{g} * ({op.const(p)} * {a} ** {op.const(p - 1)})"]


@lowers(Exp)
def exp(op):
    (a,), (y,) = op.x, op.y
    op.emit(f"{y} = np.exp({a})")
    return lambda g: [f"{g} * {y}"]


@lowers(Log)
def log(op):
    (a,), (y,) = op.x, op.y
    op.emit(f"{y} = np.log({a})")
    return lambda g: [f"{g} / {a}"]


@lowers(Sigmoid)
def sigmoid(op):
    (x,), (y,) = op.x, op.y
    one = op.const(1)
    op.emit(f"{y} = {one} / ({one} + np.exp(-{x}))")
    return lambda g: [f"{g} * {y} * ({one} - {y})"]


@lowers(Tanh)
def tanh(op):
    (x,), (y,) = op.x, op.y
    op.emit(f"{y} = np.tanh({x})")
    return lambda g: [f"{g} * ({op.const(1)} - {y} * {y})"]


@lowers(ReLU)
def relu(op):
    (x,), (y,) = op.x, op.y
    zero = op.const(0)
    op.emit(f"{y} = np.maximum({x}, {zero})")
    return lambda g: [f"{g} * ({y} > {zero})"]


@lowers(LeakyReLU)
def leaky_relu(op):
    (x,), (y,) = op.x, op.y
    zero, slope = op.const(0), op.const(op.params["slope"])
    positive = op.temp("positive")
    op.emit(f"{positive} = {x} > {zero}")
    op.emit(f"{y} = np.where({positive}, {x}, {x} * {slope})")
    return lambda g: [f"np.where({positive}, {g}, {g} * {slope})"]


@lowers(Clip)
def clip(op):
    (x,), (y,) = op.x, op.y
    low, high = op.params["low"], op.params["high"]
    if low is None and high is None:
        op.emit(f"{y} = {x}.copy()")
        return lambda g: [g]
    bounded, inside = x, op.temp("inside")
    conditions = []
    if low is not None:
        bounded = f"np.maximum({bounded}, {op.const(low)})"
        conditions.append(f"({x} >= {op.const(low)})")
    if high is not None:
        bounded = f"np.minimum({bounded}, {op.const(high)})"
        conditions.append(f"({x} <= {op.const(high)})")
    op.emit(f"{y} = {bounded}")
    op.emit(f"{inside} = {' & '.join(conditions)}")
    return lambda g: [f"{g} * {inside}"]


@lowers(Softmax)
def softmax(op):
    (x,), (y,) = op.x, op.y
    shape_ = op.shape(x)
    if len(shape_) != 2 or op.params["axis"] not in (1, -1):
        return None
    op.emit(f"{y} = softmax_rows({x})")

    def backward(g):
        product = op.temp("product")
        op.emit(f"{product} = {g} * {y}")
        return [f"{product} - {y} * np.sum({product}, axis=1).reshape(({shape_[0]}, 1))"]
    return backward


@lowers(LogSoftmax)
def log_softmax(op):
    (x,), (y,) = op.x, op.y
    shape_ = op.shape(x)
    if len(shape_) != 2 or op.params["axis"] not in (1, -1):
        return None
    op.emit(f"{y} = log_softmax_rows({x})")
    column = f"({shape_[0]}, 1)"
    return lambda g: [f"{g} - np.exp({y}) * np.sum({g}, axis=1).reshape({column})"]


@lowers(Dropout)
def dropout_(op):
    (x,), (y,) = op.x, op.y
    keep = op.temp("keep")
    scale = op.const(1 / (1 - op.params["p"]))
    op.emit(f"{keep} = {op.uniform(op.shape(x))} >= {op.const(op.params['p'], numpy.float32)}")
    op.emit(f"{y} = ({x} * {keep}) * {scale}")
    return lambda g: [f"({g} * {keep}) * {scale}"]


# -- shapes, reductions, products ----------------------------------------------------------

@lowers(Reshape)
def reshape(op):
    (x,), (y,) = op.x, op.y
    op.emit(f"{y} = np.ascontiguousarray({x}).reshape({tuple(op.shape(y))})")
    return lambda g: [f"np.ascontiguousarray({g}).reshape({tuple(op.shape(x))})"]


@lowers(Transpose)
def transpose(op):
    (x,), (y,) = op.x, op.y
    axes = op.params["axes"]
    if len(op.shape(x)) != 2 or axes not in (None, (1, 0), [1, 0]):
        return None
    op.emit(f"{y} = np.ascontiguousarray({x}.T)")
    return lambda g: [f"np.ascontiguousarray({g}.T)"]


def _reduce(op, x, y, axes, keepdims, divisor=None):
    """Sum (divided by ``divisor``: a mean) over ``axes`` (None: all), and its backward."""
    in_shape = tuple(op.shape(x))
    axes = tuple(range(len(in_shape))) if axes is None else tuple(axes)
    if set(axes) == set(range(len(in_shape))) and not keepdims:
        total = f"np.sum({x})"
    else:
        total = x
        for axis in sorted(axes, reverse=True):
            total = f"np.sum({total}, axis={axis})"
        if keepdims:
            total = f"np.ascontiguousarray({total}).reshape({tuple(op.shape(y))})"
    by = f" / {divisor}" if divisor else ""
    op.emit(f"{y} = {total}{by}")
    kept = tuple(1 if axis in axes else size for axis, size in enumerate(in_shape))

    def backward(g):
        ones = f"np.ones({in_shape}, np.{op.dtype(x).name})"
        spread = f"({g}{by})" if not op.shape(y) else \
            f"np.ascontiguousarray({g}{by}).reshape({kept})"
        return [f"{ones} * {spread}"]
    return backward


@lowers(Sum)
def sum_(op):
    (x,), (y,) = op.x, op.y
    return _reduce(op, x, y, op.params["axes"], op.params["keepdims"])


@lowers(Mean)
def mean(op):
    (x,), (y,) = op.x, op.y
    shape_ = op.shape(x)
    axes = op.params["axes"]
    count = 1
    for axis in range(len(shape_)) if axes is None else axes:
        count *= shape_[axis]
    return _reduce(op, x, y, axes, op.params["keepdims"], op.const(max(count, 1)))


@lowers(MatMul)
def matmul_(op):
    (a, b), (y,) = op.x, op.y
    a_shape, b_shape = op.shape(a), op.shape(b)
    if len(a_shape) != 2 or len(b_shape) != 2:
        return None
    (m, k), n = a_shape, b_shape[1]
    op.emit(f"{y} = {matmul(a, b, (m, k, n))}")
    return lambda g: [matmul(g, b, (m, n, k), trans_b=True),
                      matmul(a, g, (k, m, n), trans_a=True)]


@lowers(Linear)
def linear(op):
    x, weight = op.x[:2]
    (y,) = op.y
    x_shape = op.shape(x)
    if len(x_shape) != 2:
        return None
    (m, k), n = x_shape, op.shape(weight)[1]
    op.emit(f"{y} = {matmul(x, weight, (m, k, n))}" + (f" + {op.x[2]}" if len(op.x) > 2 else ""))

    def backward(g):
        grads = [matmul(g, weight, (m, n, k), trans_b=True),
                 matmul(x, g, (k, m, n), trans_a=True)]
        return grads + ([f"np.sum({g}, axis=0)"] if len(op.x) > 2 else [])
    return backward


@lowers(SparseSoftmaxCrossEntropy)
def sparse_softmax_cross_entropy(op):
    logits, labels = op.x[:2]
    (y,) = op.y
    p = op.params
    rows = op.shape(logits)[0]
    if (len(op.x) > 2 or len(op.shape(logits)) != 2 or p["axis"] not in (1, -1)
            or p["smoothing"] or p["ignore_index"] is not None
            or p["reduction"] not in ("mean", "sum")):
        return None
    values, probs = op.temp("loss"), op.temp("probs")
    op.emit(f"{values}, {probs} = softmax_cross_entropy({logits}, {labels})")
    by = f" / {op.const(max(rows, 1))}" if p["reduction"] == "mean" else ""
    op.emit(f"{y} = np.sum({values}){by}")
    return lambda g: [f"softmax_cross_entropy_backward({probs}, {labels}, {g}{by})", None]


def _loss_reduction(op, values, y, reduction, size):
    """``values`` (per element) reduced into ``y``; the divisor of the gradient ("")."""
    if reduction == "none":
        op.emit(f"{y} = {values}")
        return ""
    by = f" / {op.const(max(size, 1))}" if reduction == "mean" else ""
    op.emit(f"{y} = np.sum({values}){by}")
    return by


@lowers(SquaredError)
def squared_error(op):
    (pred, target), (y,) = op.x, op.y
    diff, values = op.temp("diff"), op.temp("values")
    scale = op.params["scale"]
    op.emit(f"{diff} = {pred} - {target}")
    op.emit(f"{values} = {diff} * {diff}" + (f" * {op.const(scale)}" if scale != 1 else ""))
    by = _loss_reduction(op, values, y, op.params["reduction"], _size(op.shape(pred)))

    def backward(g):
        grad = op.temp("grad")
        op.emit(f"{grad} = {diff} * ({g}{by} * {op.const(2 * scale)})")
        return [grad, f"-{grad}"]
    return backward


@lowers(BinaryCrossEntropyWithLogits)
def binary_cross_entropy_with_logits(op):
    (logits, target), (y,) = op.x, op.y
    p = op.params
    if p["has_weight"] or p["has_pos_weight"]:
        return None
    zero, one = op.const(0), op.const(1)
    values = op.temp("values")
    op.emit(f"{values} = np.log1p(np.exp(-np.abs({logits}))) + np.maximum({logits}, {zero})"
            f" - {logits} * {target}")
    by = _loss_reduction(op, values, y, p["reduction"], _size(op.shape(logits)))

    def backward(g):
        scale = op.temp("scale")
        op.emit(f"{scale} = {g}{by}")
        return [f"({one} / ({one} + np.exp(-{logits})) - {target}) * {scale}",
                f"-{logits} * {scale}"]
    return backward


@lowers(SparseNLL)
def sparse_nll(op):
    log_probs, labels = op.x[:2]
    (y,) = op.y
    p = op.params
    if (len(op.x) > 2 or len(op.shape(log_probs)) != 2 or p["axis"] not in (1, -1)
            or p["smoothing"] or p["ignore_index"] is not None
            or p["reduction"] not in ("mean", "sum")):
        return None
    values = op.temp("values")
    op.emit(f"{values} = -pick_rows({log_probs}, {labels})")
    by = _loss_reduction(op, values, y, p["reduction"], op.shape(log_probs)[0])
    return lambda g: [f"place_rows({log_probs}, {labels}, -({g}{by}))", None]


def _size(shape_):
    size = 1
    for length in shape_:
        size *= length
    return size


# -- optimiser updates ---------------------------------------------------------------------

class Update:
    """One optimiser's native update: ``key(hyper)`` the choices fixed in the code (a
    change runs the step in Python again), ``arrays(state)`` the state arrays the loop
    updates, ``constants(dtype, state, hyper)`` its scalars (per call: the learning rate
    may follow a schedule), ``loop`` the name of the ``kernels_optim`` loop, and
    ``depends(state, hyper)`` what the scalars depend on (``None``: the step count too),
    so that ``scalars`` can reuse the last call's."""

    def __init__(self, key, arrays, constants, loop, depends=None):
        self.key, self.arrays, self.constants, self.loop = key, arrays, constants, loop
        self.depends = depends
        self._last = (None, None)

    def scalars(self, dtype, state, hyper):
        """``constants(dtype, state, hyper)``, the last ones again if nothing they depend
        on changed (a few Python calls fewer per step)."""
        if self.depends is None:
            return self.constants(dtype, state, hyper)
        key = (dtype, self.depends(state, hyper))
        if key != self._last[0]:
            self._last = (key, self.constants(dtype, state, hyper))
        return self._last[1]


def _sgd_constants(dtype, state, hyper):
    if not hyper["momentum"]:
        return dtype.type(hyper["lr"]), dtype.type(hyper["weight_decay"])
    return kernels_optim.sgd_constants(dtype, hyper["lr"], hyper["momentum"],
                                       hyper["weight_decay"], hyper["nesterov"],
                                       hyper["dampening"] if state["step"] > 1 else 0.0)


def _adam_arrays(state, hyper):
    return [state["exp_avg"], state["exp_avg_sq"]] + (
        [state["max_exp_avg_sq"]] if hyper["amsgrad"] else [])


def _adam_loop(hyper):
    return "amsgrad" if hyper["amsgrad"] else "adam"


UPDATES = {
    sgd_update: Update(
        key=lambda hyper: bool(hyper["momentum"]),
        arrays=lambda state, hyper: [state["momentum_buffer"]] if hyper["momentum"] else [],
        constants=_sgd_constants,
        loop=lambda hyper: "sgd_momentum" if hyper["momentum"] else "sgd",
        depends=lambda state, hyper: (hyper["lr"], hyper["momentum"], hyper["weight_decay"],
                                      hyper["nesterov"], hyper["dampening"],
                                      state["step"] > 1)),
    adam_update: Update(
        key=lambda hyper: bool(hyper["amsgrad"]), arrays=_adam_arrays,
        constants=lambda dtype, state, hyper: kernels_optim.adam_constants(
            dtype, state["step"], hyper["lr"], *hyper["betas"], hyper["eps"],
            l2=hyper["weight_decay"]),
        loop=_adam_loop),
    adamw_update: Update(
        key=lambda hyper: bool(hyper["amsgrad"]), arrays=_adam_arrays,
        constants=lambda dtype, state, hyper: kernels_optim.adam_constants(
            dtype, state["step"], hyper["lr"], *hyper["betas"], hyper["eps"],
            decay=1 - hyper["lr"] * hyper["weight_decay"]),
        loop=_adam_loop),
}
