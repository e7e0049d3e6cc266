"""Indexing with gradient: ``x[index]`` for basic (ints, slices, ``None``, ``...``),
integer-array and boolean indices, exactly as NumPy indexes.

The backward scatters the gradient into zeros of the input's shape; with
integer arrays, repeated indices add up.
"""
from ..autograd.function import Function
from ..backend import scatter_add, xp_of
from ..tensor import Tensor


class GetItem(Function):
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        try:
            return x[index]
        except IndexError as error:
            raise IndexError(f"index {_describe(index)} is invalid for a tensor of shape "
                             f"{x.shape}: {error}") from None

    def backward(ctx, grad):
        out = xp_of(grad).zeros(ctx.shape, grad.dtype)
        if _is_basic(ctx.index):
            out[ctx.index] = grad
        else:
            scatter_add(out, ctx.index, grad)
        return out


def getitem(x, index):
    """``x[index]``; differentiable with respect to ``x``."""
    return GetItem.apply(x, index=unwrap_index(index))


def unwrap_index(index):
    """An index with any Tensors in it replaced by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(part.data if isinstance(part, Tensor) else part for part in index)
    return index


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(part is None or part is Ellipsis or isinstance(part, (int, slice))
               or (hasattr(part, "dtype") and part.dtype.kind == "b") for part in parts)


def _describe(index):
    if hasattr(index, "shape"):
        return f"<array of shape {index.shape}, dtype {index.dtype}>"
    return repr(index)
