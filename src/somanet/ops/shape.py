"""Shape ops: reshape, transpose/permute, flatten, squeeze, unsqueeze,
broadcast_to, concatenate, stack, split, pad.

None of these changes a value, so each backward only moves the gradient back
into the input's layout.
"""
import builtins

from ..autograd.function import Function
from ..backend import sum_to, xp_of
from ..tensor import Tensor
from ._operands import placeholder_call


class Reshape(Function):
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None

    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Transpose(Function):
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    def backward(ctx, grad):
        if ctx.axes is None:
            return grad.transpose()
        inverse = [0] * len(ctx.axes)
        for position, axis in enumerate(ctx.axes):
            inverse[axis] = position
        return grad.transpose(inverse)


class BroadcastTo(Function):
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return xp_of(x).broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to "
                             f"{tuple(shape)}") from None

    def backward(ctx, grad):
        return sum_to(grad, ctx.in_shape)


class Concatenate(Function):
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        return xp_of(arrays[0]).concatenate(arrays, axis=axis)

    def backward(ctx, grad):
        xp = xp_of(grad)
        boundaries = []
        total = 0
        for size in ctx.sizes[:-1]:
            total += size
            boundaries.append(total)
        return tuple(xp.split(grad, boundaries, axis=ctx.axis))


class Stack(Function):
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        return xp_of(arrays[0]).stack(arrays, axis=axis)

    def backward(ctx, grad):
        count = grad.shape[ctx.axis]
        return tuple(grad.take(i, axis=ctx.axis) for i in range(count))


class Split(Function):
    """Several outputs: the pieces of the input along ``axis``."""

    def forward(ctx, x, boundaries, axis):
        ctx.axis = axis
        return tuple(xp_of(x).split(x, boundaries, axis=axis))

    def backward(ctx, *grads):
        return xp_of(grads[0]).concatenate(grads, axis=ctx.axis)


class Pad(Function):
    """Constant padding; ``widths`` is one ``(before, after)`` pair per axis."""

    def forward(ctx, x, widths, value):
        ctx.widths = widths
        return xp_of(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(ctx, grad):
        index = tuple(slice(before, grad.shape[i] - after)
                      for i, (before, after) in enumerate(ctx.widths))
        return grad[index]


def reshape(x, shape):
    """The same values in a new shape (one dimension may be -1)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Reshape.apply(x, shape=shape)


def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    if axes is not None:
        axes = tuple(a % x.ndim for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{x.ndim} axes of a tensor of shape {x.shape}")
    return Transpose.apply(x, axes=axes)


def permute(x, *axes):
    """Reorder the axes: ``permute(x, 0, 2, 1)``."""
    return transpose(x, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes)


def swapaxes(x, first, second):
    """Exchange two axes."""
    axes = list(range(x.ndim))
    axes[first], axes[second] = axes[second], axes[first]
    return transpose(x, axes)


def flatten(x, start_axis=0, end_axis=-1):
    """Merge the axes ``start_axis..end_axis`` into one (all of them by default)."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = start_axis % x.ndim, end_axis % x.ndim
    merged = 1
    for size in x.shape[start:end + 1]:
        merged *= size
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def squeeze(x, axis=None):
    """Remove axes of size 1 (all of them, or the given one(s))."""
    if axis is None:
        axes = [i for i, size in enumerate(x.shape) if size == 1]
    else:
        axes = [a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has size "
                                 f"{x.shape[a]}, not 1")
    return reshape(x, tuple(size for i, size in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis):
    """Insert an axis of size 1 at ``axis``."""
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def broadcast_to(x, shape):
    """``x`` repeated (without copying) to ``shape``, NumPy's broadcasting rules."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def concatenate(tensors, axis=None):
    """Join tensors along an existing axis: ``axis`` (default 0, NumPy's).

    On functional-API placeholders (``Input`` and what layers make of it) it builds
    ``nn.Concatenate(axis)`` and calls it on them, as Keras's ``concatenate``: there the
    default axis is -1, the features."""
    tensors = _non_empty_list(tensors, "concatenate")
    if type(tensors[0]) is not Tensor:
        merged = placeholder_call("concatenate", tensors, {"axis": -1 if axis is None
                                                           else axis})
        if merged is not None:
            return merged
    axis = 0 if axis is None else axis
    return Concatenate.apply(*tensors, axis=axis % tensors[0].ndim)


def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis."""
    tensors = _non_empty_list(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
    return Stack.apply(*tensors, axis=axis % (tensors[0].ndim + 1))


def split(x, sections, axis=0):
    """Split along ``axis`` into ``sections`` equal pieces (an int), or pieces of the
    given sizes (a list of ints). Returns a list of tensors."""
    axis = axis % x.ndim
    length = x.shape[axis]
    if isinstance(sections, int):
        if sections <= 0 or length % sections:
            raise ValueError(f"split: axis {axis} of size {length} does not divide into "
                             f"{sections} equal pieces")
        sizes = [length // sections] * sections
    else:
        sizes = list(sections)
        if builtins.sum(sizes) != length:
            raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, but axis "
                             f"{axis} has size {length}")
    boundaries, total = [], 0
    for size in sizes[:-1]:
        total += size
        boundaries.append(total)
    return list(Split.apply(x, boundaries=boundaries, axis=axis))


def pad(x, widths, value=0.0):
    """Pad with a constant. ``widths``: an int (every side of every axis), or one
    ``(before, after)`` pair per axis."""
    if isinstance(widths, int):
        widths = [(widths, widths)] * x.ndim
    widths = tuple((int(before), int(after)) for before, after in widths)
    if len(widths) != x.ndim:
        raise ValueError(f"pad: got {len(widths)} (before, after) pairs for a tensor with "
                         f"{x.ndim} axes")
    return Pad.apply(x, widths=widths, value=value)


def _non_empty_list(tensors, name):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    return tensors
