"""``erf``, the one op ONNX files use that ``somanet.ops`` lacks (exact GELU is written as
``x / 2 (1 + erf(x / sqrt 2))`` before opset 20, by PyTorch and by somanet's export).

It is the standard normal CDF rescaled, ``erf(x) = 2 Phi(x sqrt 2) - 1``, on the kernel
that ``somanet.ops.gelu`` uses; d/dx erf(x) = 2 / sqrt(pi) e^(-x^2).
"""
import math

from ..autograd.function import Function
from ..backend import kernels_special, xp_of


class Erf(Function):
    """The error function ``erf(x) = 2 / sqrt(pi) int_0^x e^(-t^2) dt``, elementwise."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        # in float64: 2 Phi - 1 cancels near 0, where float32 would lose the digits
        wide = x.astype("float64") * math.sqrt(2)
        out = kernels_special.normal_cdf(wide)
        out *= 2
        out -= 1
        return out.astype(x.dtype, copy=False)

    def backward(ctx, grad):
        (x,) = ctx.saved
        xp = xp_of(x)
        return grad * (xp.exp(-(x * x)) * x.dtype.type(2 / math.sqrt(math.pi)))


def erf(x):
    """The error function of a float tensor, elementwise."""
    return Erf.apply(x)
