"""Casts between dtypes and moves between devices, both differentiable."""
from ..autograd.function import Function
from ..backend import as_dtype, device_of, to_device as move


class AsType(Function):
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(ctx, grad):
        return grad.astype(ctx.in_dtype)


class ToDevice(Function):
    moves_device = True  # backward moves the gradient back to the input's device

    def forward(ctx, x, device):
        ctx.source = device_of(x)
        return move(x, device)

    def backward(ctx, grad):
        return move(grad, ctx.source)


def astype(x, dtype):
    """``x`` cast to ``dtype`` (returns ``x`` itself when it already has it). The
    gradient is cast back to ``x``'s dtype."""
    dtype = as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return AsType.apply(x, dtype=dtype)


def to_device(x, device):
    """``x`` copied to ``device`` (returns ``x`` itself when it is already there)."""
    if x.device is device:
        return x
    return ToDevice.apply(x, device=device)
