"""Activation functions, as differentiable ops.

The three classic ones: the step (the perceptron's threshold unit), the
sigmoid ``1 / (1 + e^-x)`` and ReLU ``max(0, x)``; the rest are what modern
networks use. Derivatives that are functions of the output (sigmoid, tanh,
softmax) are computed from the saved output.
"""
import math

from ..autograd.function import Function
from ..backend import xp_of


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
        out = xp_of(x).tanh(x)
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
        return grad * (out > 0)


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


class GELU(Function):
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
    """log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|); derivative sigmoid(x)."""

    def forward(ctx, x):
        xp = xp_of(x)
        ctx.save_for_backward(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * sigmoid_array(x)


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


def gelu(x):
    """GELU, tanh approximation."""
    return GELU.apply(x)


def softplus(x):
    """log(1 + e^x), stable for any x."""
    return Softplus.apply(x)


def softmax(x, axis=-1):
    """Softmax along ``axis``: non-negative, sums to 1."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """The logarithm of softmax along ``axis``, computed stably."""
    return LogSoftmax.apply(x, axis=axis)
