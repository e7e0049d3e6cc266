"""Activation functions, as differentiable ops.

The three classic ones: the step (the perceptron's threshold unit), the
sigmoid ``1 / (1 + e^-x)`` and ReLU ``max(0, x)``; the rest are what modern
networks use. Derivatives that are functions of the output (sigmoid, tanh,
softmax) are computed from the saved output.
"""
import math

from .._checks import check_choice, check_real
from ..autograd.function import Function
from ..backend import kernels_special, xp_of
from ..backend.kernels_activation import relu_backward


class Step(Function):
    """Heaviside step: 1 where x > 0, else 0. Its gradient is zero everywhere
    (which is why gradient-trained networks use the sigmoid instead)."""

    def forward(ctx, x):
        return (x > 0).astype(x.dtype)

    def backward(ctx, grad):
        return xp_of(grad).zeros_like(grad)


class Sigmoid(Function):
    """sigma(x) = 1 / (1 + e^-x); sigma'(x) = sigma(x) (1 - sigma(x))."""

    def forward(ctx, x):
        out = sigmoid_array(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out * (1 - out)


_EXP_LIMITS = {}  # dtype -> the most negative x whose e^-x is still finite


def sigmoid_array(x):
    """The sigmoid of an array, 1 / (1 + e^-x), in place on one new array.

    x is first raised to -log(largest float) so that e^-x cannot overflow (no
    warnings); below that the sigmoid is smaller than the tiniest normal float anyway.
    """
    xp = xp_of(x)
    limit = _EXP_LIMITS.get(x.dtype)
    if limit is None:
        limit = _EXP_LIMITS[x.dtype] = x.dtype.type(1 - math.log(xp.finfo(x.dtype).max))
    out = xp.maximum(x, limit, out=xp.empty_like(x))  # out=: an array even for 0-d x
    xp.negative(out, out=out)
    xp.exp(out, out=out)
    out += 1
    return xp.reciprocal(out, out=out)


class Tanh(Function):
    """tanh(x); tanh'(x) = 1 - tanh(x)^2."""

    def forward(ctx, x):
        out = kernels_special.tanh(x)  # float32: a vectorised rational tanh (5 ulps)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * (1 - out * out)


class ReLU(Function):
    """max(0, x); gradient 1 where x > 0, else 0."""

    def forward(ctx, x):
        out = xp_of(x).maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return relu_backward(grad, out)


class LeakyReLU(Function):
    """x where x > 0, else slope * x."""

    def forward(ctx, x, slope):
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.slope = slope
        return xp_of(x).where(positive, x, x * x.dtype.type(slope))

    def backward(ctx, grad):
        (positive,) = ctx.saved
        return xp_of(grad).where(positive, grad, grad * grad.dtype.type(ctx.slope))


class ELU(Function):
    """x where x > 0, else alpha (e^x - 1); the derivative there is out + alpha."""

    def forward(ctx, x, alpha):
        xp = xp_of(x)
        positive = x > 0
        out = xp.where(positive, x, x.dtype.type(alpha) * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(positive, out)
        ctx.alpha = alpha
        return out

    def backward(ctx, grad):
        positive, out = ctx.saved
        return xp_of(grad).where(positive, grad, grad * (out + grad.dtype.type(ctx.alpha)))


_GELU_C = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class GELU(Function):
    """Gaussian error linear unit, exact: ``x Phi(x)`` with ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``
    the standard normal CDF; d/dx = ``Phi(x) + x phi(x)``, ``phi`` the normal density."""

    def forward(ctx, x):
        cdf = kernels_special.normal_cdf(x)
        ctx.save_for_backward(x, cdf)
        return x * cdf

    def backward(ctx, grad):
        x, cdf = ctx.saved
        xp = xp_of(x)
        slope = xp.multiply(x, x, out=xp.empty_like(x))  # out=: an array even for 0-d x
        slope *= x.dtype.type(-0.5)
        xp.exp(slope, out=slope)
        slope *= x.dtype.type(_INV_SQRT_2PI)
        slope *= x  # x phi(x)
        slope += cdf
        slope *= grad
        return slope


class GELUTanh(Function):
    """Gaussian error linear unit, tanh approximation (as in GPT-2, BERT):
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def forward(ctx, x):
        xp = xp_of(x)
        inner = x.dtype.type(_GELU_C) * (x + x.dtype.type(0.044715) * x * x * x)
        t = xp.tanh(inner)
        ctx.save_for_backward(x, t)
        return 0.5 * x * (1 + t)

    def backward(ctx, grad):
        x, t = ctx.saved
        c = x.dtype.type(_GELU_C)
        d_inner = c * (1 + x.dtype.type(3 * 0.044715) * x * x)
        return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)


class Softplus(Function):
    """log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|); derivative sigmoid(x).

    With ``beta`` and ``threshold`` (PyTorch's): ``log(1 + e^{beta x}) / beta``, and
    ``x`` itself where ``beta x > threshold`` (derivative 1 there).
    """

    def forward(ctx, x, beta, threshold):
        xp = xp_of(x)
        scaled = x if beta == 1 else x * x.dtype.type(beta)
        out = xp.maximum(scaled, 0, out=xp.empty_like(x))  # out=: an array even for 0-d x
        out += xp.log1p(xp.exp(-xp.abs(scaled)))
        if beta != 1:
            out *= x.dtype.type(1 / beta)
        linear = scaled > threshold
        xp.copyto(out, x, where=linear)
        ctx.save_for_backward(scaled, linear)
        return out

    def backward(ctx, grad):
        scaled, linear = ctx.saved
        slope = sigmoid_array(scaled)
        xp_of(slope).copyto(slope, 1, where=linear)
        slope *= grad
        return slope


class Softmax(Function):
    """softmax(x)_i = e^{x_i} / sum_j e^{x_j} along ``axis`` (max subtracted first)."""

    def forward(ctx, x, axis):
        xp = xp_of(x)
        shifted = x - x.max(axis=axis, keepdims=True)
        out = xp.exp(shifted)
        out /= out.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        product = grad * out
        return product - out * product.sum(axis=ctx.axis, keepdims=True)


class LogSoftmax(Function):
    """log_softmax(x) = x - logsumexp(x) along ``axis``, stable for any x."""

    def forward(ctx, x, axis):
        xp = xp_of(x)
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad - xp_of(out).exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


def step(x):
    """Heaviside step (1 where x > 0, else 0), with zero gradient."""
    return Step.apply(x)


def sigmoid(x):
    """The logistic sigmoid 1 / (1 + e^-x), stable for any x."""
    return Sigmoid.apply(x)


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh.apply(x)


def relu(x):
    """Rectified linear unit max(0, x)."""
    return ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else ``negative_slope * x``."""
    return LeakyReLU.apply(x, slope=negative_slope)


def elu(x, alpha=1.0):
    """Exponential linear unit: x where x > 0, else alpha (e^x - 1)."""
    return ELU.apply(x, alpha=alpha)


def gelu(x, approximate="none"):
    """Gaussian error linear unit, ``x Phi(x)`` (``Phi`` the standard normal CDF).

    Args:
        x: float input.
        approximate: ``"none"`` (the default, as PyTorch, Keras and ONNX): the exact form
            ``0.5 x (1 + erf(x / sqrt 2))``; ``"tanh"``: the tanh approximation
            ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` of GPT-2 and BERT.
            Keras's spelling ``approximate=False`` / ``True`` is accepted too.

        >>> import somanet as sn
        >>> [round(v, 4) for v in sn.gelu(sn.tensor([-1.0, 1.0])).tolist()]
        [-0.1587, 0.8413]
        >>> [round(v, 4) for v in sn.gelu(sn.tensor([-1.0, 1.0]), approximate="tanh").tolist()]
        [-0.1588, 0.8412]
    """
    return GELU_FORMS[gelu_form(approximate, "gelu")].apply(x)


def gelu_form(approximate, owner):
    """``approximate`` as ``"none"`` or ``"tanh"`` (Keras's ``False`` / ``True`` too)."""
    if approximate is True or approximate is False:
        return "tanh" if approximate else "none"
    return check_choice(owner, "approximate", approximate, ("none", "tanh"))


GELU_FORMS = {"none": GELU, "tanh": GELUTanh}


def softplus(x, beta=1.0, threshold=20.0):
    """``log(1 + e^{beta x}) / beta``, stable for any x; linear (``x``) where
    ``beta x > threshold``, as PyTorch's ``softplus``.

    Args:
        x: float input.
        beta: the sharpness, > 0 (default 1: ``log(1 + e^x)``).
        threshold: above it (in ``beta x``) the output is ``x`` (default 20, PyTorch's).
    """
    beta = check_real("softplus", "beta", beta, minimum=0.0, min_open=True)
    threshold = check_real("softplus", "threshold", threshold, finite=False)
    return Softplus.apply(x, beta=beta, threshold=threshold)


def softmax(x, axis=-1):
    """Softmax along ``axis``: non-negative, sums to 1."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """The logarithm of softmax along ``axis``, computed stably."""
    return LogSoftmax.apply(x, axis=axis)
