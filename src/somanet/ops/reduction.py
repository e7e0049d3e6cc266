"""Reductions along axes: sum, prod, mean, max, min, var, std, logsumexp; argmax and
argmin (no gradient).

``axis`` is ``None`` (all axes), an int, or a tuple of ints; ``keepdims``
keeps the reduced axes with size 1. The backward of a reduction broadcasts
the gradient back over the reduced axes.

Over an empty axis a reduction with an identity gives it, as NumPy, PyTorch and
ONNX do: ``sum`` 0, ``prod`` 1, ``logsumexp`` -inf (``mean`` is 0/0, nan). ``max``,
``min``, ``argmax`` and ``argmin`` have none: reducing an empty axis is an error.
"""
import builtins

from ..autograd.function import Function
from ..backend import xp_of
from .elementwise import sqrt


def _normalise_axes(axis, ndim, name):
    """``axis`` as a sorted tuple of non-negative axes (``None`` means all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalised = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{name}: axis {a} is out of range for a tensor with {ndim} "
                             f"dimension(s)")
        normalised.append(a % ndim if ndim else 0)
    return tuple(sorted(set(normalised)))


def _expand(grad, in_shape, axes, keepdims):
    """A gradient of the reduced shape, repeated back over ``in_shape``.

    A new contiguous array rather than a broadcast view: cheaper to make than
    ``broadcast_to`` for small tensors, and the ops downstream (a matmul's backward
    above all) run their fast paths on it."""
    if not keepdims and axes:  # None (every axis) needs no reshape: grad is 0-d
        kept = list(grad.shape)
        for a in axes:
            kept.insert(a, 1)
        grad = grad.reshape(kept)
    out = xp_of(grad).empty(in_shape, grad.dtype)
    out[...] = grad
    return out


class Sum(Function):
    def forward(ctx, x, axes, keepdims):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(ctx, grad):
        return _expand(grad, ctx.shape, ctx.axes, ctx.keepdims)


class Mean(Function):
    def forward(ctx, x, axes, keepdims):
        ctx.shape, ctx.axes, ctx.keepdims = x.shape, axes, keepdims
        ctx.count = _count(x.shape, axes)
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(ctx, grad):
        return _expand(grad / grad.dtype.type(builtins.max(ctx.count, 1)), ctx.shape, ctx.axes,
                       ctx.keepdims)


def _count(shape, axes):
    count = 1
    for a in range(len(shape)) if axes is None else axes:
        count *= shape[a]
    return count


class Prod(Function):
    """Product along axes; d/dx_i = the product of the other elements, computed from
    exclusive running products from both ends (exact with zeros among the elements)."""

    def forward(ctx, x, axes, keepdims):
        ctx.save_for_backward(x)
        ctx.axes, ctx.keepdims = axes, keepdims
        return x.prod(axis=axes, keepdims=keepdims)

    def backward(ctx, grad):
        (x,) = ctx.saved
        xp = xp_of(x)
        axes = tuple(range(x.ndim)) if ctx.axes is None else ctx.axes
        kept = [a for a in range(x.ndim) if a not in axes]
        order = kept + list(axes)
        moved = xp.transpose(x, order)
        lead = moved.shape[:len(kept)]
        rows = moved.reshape(lead + (-1,))
        before = xp.ones_like(rows)
        after = xp.ones_like(rows)
        if rows.shape[-1] > 1:
            xp.cumprod(rows[..., :-1], axis=-1, out=before[..., 1:])
            xp.cumprod(rows[..., :0:-1], axis=-1, out=after[..., -2::-1])
        before *= after  # the product of every element but this one
        others = xp.transpose(before.reshape(moved.shape), _inverse(order))
        return _expand(grad, x.shape, ctx.axes, ctx.keepdims) * others


def _inverse(order):
    inverse = [0] * len(order)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return inverse


class Max(Function):
    """Maximum along axes; ties share the gradient equally."""

    def forward(ctx, x, axes, keepdims):
        out = x.max(axis=axes, keepdims=True)
        ctx.save_for_backward(x == out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else out.reshape(_drop(x.shape, axes))

    def backward(ctx, grad):
        (winners,) = ctx.saved
        return _share(grad, winners, ctx.axes, ctx.keepdims)


class Min(Function):
    """Minimum along axes; ties share the gradient equally."""

    def forward(ctx, x, axes, keepdims):
        out = x.min(axis=axes, keepdims=True)
        ctx.save_for_backward(x == out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else out.reshape(_drop(x.shape, axes))

    def backward(ctx, grad):
        (winners,) = ctx.saved
        return _share(grad, winners, ctx.axes, ctx.keepdims)


def _drop(shape, axes):
    return tuple(size for i, size in enumerate(shape) if i not in axes)


def _share(grad, winners, axes, keepdims):
    """The gradient of max/min: split evenly between the elements that won."""
    count = winners.sum(axis=axes, keepdims=True).astype(grad.dtype)
    return _expand(grad, winners.shape, axes, keepdims) * winners / count


class Var(Function):
    """var(x) = sum (x - mean)^2 / (n - ddof); d/dx = 2 (x - mean) / (n - ddof)."""

    def forward(ctx, x, axes, keepdims, ddof):
        centred = x - x.mean(axis=axes, keepdims=True)
        ctx.denominator = builtins.max(_count(x.shape, axes) - ddof, 0)
        ctx.save_for_backward(centred)
        ctx.axes, ctx.keepdims = axes, keepdims
        squares = (centred * centred).sum(axis=axes, keepdims=keepdims)
        return squares / x.dtype.type(ctx.denominator)

    def backward(ctx, grad):
        (centred,) = ctx.saved
        scale = grad.dtype.type(2 / ctx.denominator) if ctx.denominator else grad.dtype.type(
            "nan")
        return _expand(grad, centred.shape, ctx.axes, ctx.keepdims) * centred * scale


class LogSumExp(Function):
    """log sum_i e^{x_i}, computed as m + log sum e^{x_i - m} with m the max;
    d/dx_i = e^{x_i - out} (the softmax)."""

    def forward(ctx, x, axes, keepdims):
        xp = xp_of(x)
        if _empty_axis(x.shape, axes):  # log(0): the identity of logsumexp
            ctx.save_for_backward(x, None)
            ctx.axes, ctx.keepdims = axes, keepdims
            return xp.full(_reduced_shape(x.shape, axes, keepdims), -xp.inf, x.dtype)
        peak = x.max(axis=axes, keepdims=True)
        peak = xp.where(xp.isfinite(peak), peak, 0)
        out = xp.log(xp.exp(x - peak).sum(axis=axes, keepdims=True)) + peak
        ctx.save_for_backward(x, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else out.reshape(_drop(x.shape, axes))

    def backward(ctx, grad):
        x, out = ctx.saved
        if out is None:
            return xp_of(x).zeros_like(x)
        softmax = xp_of(x).exp(x - out)
        return _expand(grad, x.shape, ctx.axes, ctx.keepdims) * softmax


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (all axes by default)."""
    axes = None if axis is None else _normalise_axes(axis, x.ndim, "sum")
    return Sum.apply(x, axes=axes, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    """Product over ``axis`` (all axes by default); 1 over an empty axis.

        >>> import somanet as sn
        >>> sn.prod(sn.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1)
        tensor([ 2., 12.])
    """
    axes = None if axis is None else _normalise_axes(axis, x.ndim, "prod")
    return Prod.apply(x, axes=axes, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``."""
    axes = None if axis is None else _normalise_axes(axis, x.ndim, "mean")
    return Mean.apply(x, axes=axes, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``."""
    _check_not_empty(x, axis, "max")
    return Max.apply(x, axes=_normalise_axes(axis, x.ndim, "max"), keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``."""
    _check_not_empty(x, axis, "min")
    return Min.apply(x, axes=_normalise_axes(axis, x.ndim, "min"), keepdims=keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis``: sum (x - mean)^2 / (n - ddof) (ddof=0: population)."""
    return Var.apply(x, axes=_normalise_axes(axis, x.ndim, "var"), keepdims=keepdims,
                     ddof=ddof)


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation over ``axis``: sqrt(var)."""
    return sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, without overflow."""
    return LogSumExp.apply(x, axes=_normalise_axes(axis, x.ndim, "logsumexp"),
                           keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum (flat index when ``axis`` is None); int64, no gradient."""
    return _arg(x, axis, keepdims, "argmax")


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum (flat index when ``axis`` is None); int64, no gradient."""
    return _arg(x, axis, keepdims, "argmin")


def _arg(x, axis, keepdims, name):
    _check_not_empty(x, axis, name)
    if axis is not None:
        axis = _normalise_axes(axis, x.ndim, name)
        if len(axis) != 1:
            raise ValueError(f"{name}: axis must be one int or None, got {axis}")
        axis = axis[0]
    return ArgReduce.apply(x, name=name, axis=axis, keepdims=keepdims)


class ArgReduce(Function):
    """``argmax`` / ``argmin`` (``name``) along ``axis``: int64 indices, no gradient."""

    differentiable = False

    def forward(ctx, x, name, axis, keepdims):
        found = getattr(x, name)(axis=axis, keepdims=keepdims)
        return xp_of(x).asarray(found, dtype="int64")


def _check_not_empty(x, axis, name):
    """An error when ``axis`` (``None``: every axis) of ``x`` is empty: max, min and their
    args have no identity. A non-empty axis of an empty tensor is fine (the result is
    empty)."""
    if x.size != 0:
        return
    axes = _normalise_axes(axis, x.ndim, name) if axis is not None else None
    if axis is None or _empty_axis(x.shape, axes):
        raise ValueError(f"{name}: the tensor of shape {x.shape} is empty along the reduced "
                         f"axis {'(all axes)' if axis is None else axis}, so it has no "
                         f"{name.removeprefix('arg')} (unlike sum or prod, {name} has no "
                         f"identity)")


def _empty_axis(shape, axes):
    """Whether a reduction over ``axes`` (``None``: all) of ``shape`` reduces nothing."""
    return any(shape[a] == 0 for a in (range(len(shape)) if axes is None else axes))


def _reduced_shape(shape, axes, keepdims):
    axes = range(len(shape)) if axes is None else axes
    if keepdims:
        return tuple(1 if i in axes else size for i, size in enumerate(shape))
    return tuple(size for i, size in enumerate(shape) if i not in axes)
