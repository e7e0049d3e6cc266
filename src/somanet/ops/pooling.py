"""Pooling: ``max_pool2d``, ``avg_pool2d``, ``global_avg_pool2d`` (PyTorch semantics, NCHW).

A pooling window of ``kh x kw`` slides with a stride; output ``(i, j)`` reduces

    x_pad[n, c, i*s + p*d, j*s + q*d]   for 0 <= p < kh, 0 <= q < kw

(``d`` the dilation, max pooling only). ``ceil_mode`` may add a last window that runs
past the padded input: the padding grows on the bottom and right for it.

This module works out the geometry (output size, padding, divisors) and the argument
checks; the loops are ``backend.kernels_pool``'s (numba on the CPU, one array operation
per kernel offset elsewhere). Max pooling keeps, per output, the index of the offset
that won (uint8): the first maximum in row-major window order, as PyTorch, so ties
(common after ReLU) send the gradient to one element only.
"""
from .._checks import check_flag
from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels_pool import avg_pool, avg_pool_backward, max_pool, max_pool_backward
from .convolution import int_pair


def output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """The number of windows along one axis, PyTorch's rule: ``(size + 2 padding -
    dilation (kernel - 1) - 1) / stride + 1``, rounded down, or up with ``ceil_mode`` --
    except that a last window starting past the input and the left padding is dropped."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    count = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + padding:
        count -= 1
    return count


def _setup(ctx, x, kernel, stride, padding, dilation, ceil_mode):
    """Keep the geometry on ctx; returns the output's (Ho, Wo). ``ctx.pads`` is the
    padding on each side: the right/bottom one grows where ``ceil_mode`` adds a window
    that runs past the padded input."""
    out_hw, pads = [], []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        count = output_size(size, k, s, p, d, ceil_mode)
        out_hw.append(count)
        pads.append((p, max(p, (count - 1) * s + d * (k - 1) + 1 - size - p)))
    ctx.kernel, ctx.stride, ctx.dilation, ctx.in_hw = kernel, stride, dilation, x.shape[2:]
    ctx.pads = tuple(pads)
    return tuple(out_hw)


class MaxPool2d(Function):
    """Max over each window (padding counts as -inf); ``dilation`` spaces the window's
    elements apart (PyTorch's).

    dL/dx[window's argmax] += dL/dout; every other element of the window gets 0.
    """

    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode):
        out_hw = _setup(ctx, x, kernel, stride, padding, dilation, ceil_mode)
        out, index = max_pool(x, kernel, stride, ctx.pads, dilation, out_hw)
        ctx.save_for_backward(index)
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved
        return max_pool_backward(grad, index, ctx.in_hw, ctx.kernel, ctx.stride, ctx.pads,
                                 ctx.dilation)


class AvgPool2d(Function):
    """Mean over each window, PyTorch's divisor: with ``count_include_pad`` (the default)
    the window's size clipped to the padded input (kh*kw unless ``ceil_mode`` runs a
    window past the padding), else the number of input elements in the window.

    dL/dx[each element of a window] += dL/dout / divisor.
    """

    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad):
        out_hw = _setup(ctx, x, kernel, stride, padding, (1, 1), ceil_mode)
        ctx.divisor = _divisor(xp_of(x), out_hw, x.shape[2:], kernel, stride, padding,
                               count_include_pad, x.dtype)
        return avg_pool(x, kernel, stride, ctx.pads, out_hw, ctx.divisor)

    def backward(ctx, grad):
        return avg_pool_backward(grad, ctx.in_hw, ctx.kernel, ctx.stride, ctx.pads,
                                 ctx.divisor)


def _divisor(xp, out_hw, in_hw, kernel, stride, padding, count_include_pad, dtype):
    """kh*kw (an int) when every window counts all of it, else an (Ho, Wo) array of each
    window's count (see ``AvgPool2d``)."""
    counts = []
    for count, size, k, s, p in zip(out_hw, in_hw, kernel, stride, padding):
        starts = [i * s - p for i in range(count)]  # in input coordinates
        if count_include_pad:
            counts.append([min(start + k, size + p) - start for start in starts])
        else:
            counts.append([min(start + k, size) - max(start, 0) for start in starts])
    if all(c == k for row, k in zip(counts, kernel) for c in row):
        return kernel[0] * kernel[1]
    rows = xp.asarray(counts[0], dtype=dtype).reshape(-1, 1)
    return rows * xp.asarray(counts[1], dtype=dtype).reshape(1, -1)


class GlobalAvgPool2d(Function):
    """Mean over all of H and W; dL/dx = dL/dout / (H*W), spread over the plane."""

    def forward(ctx, x):
        ctx.in_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(ctx, grad):
        n, c, h, w = ctx.in_shape
        out = xp_of(grad).empty(ctx.in_shape, grad.dtype)
        out[...] = (grad * (1 / (h * w))).reshape(n, c, 1, 1)
        return out


def _pool_arguments(x, kernel_size, stride, padding, dilation, ceil_mode, name):
    """Check a pooling call's arguments; returns (kernel, stride, padding, dilation) as
    pairs and ``ceil_mode`` as a bool."""
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape "
                         f"{tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: the input must be a float tensor, got dtype {x.dtype}; "
                        f"cast it with .astype('float32')")
    kernel = int_pair(kernel_size, "kernel_size", name, 1)
    stride = kernel if stride is None else int_pair(stride, "stride", name, 1)
    padding = int_pair(padding, "padding", name, 0)
    dilation = int_pair(dilation, "dilation", name, 1)
    ceil_mode = check_flag(name, "ceil_mode", ceil_mode)
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if padding[0] >= kernel[0] or padding[1] >= kernel[1]:
        raise ValueError(f"{name}: padding {padding} must be smaller than the kernel size "
                         f"{kernel}, as ONNX's pooling allows (PyTorch allows at most half the "
                         f"kernel size)")
    h, w = x.shape[2:]
    if spans[0] > h + 2 * padding[0] or spans[1] > w + 2 * padding[1]:
        what = "kernel size" if dilation == (1, 1) else "dilated kernel size"
        raise ValueError(f"{name}: {what} {spans} is larger than the padded input "
                         f"({h + 2 * padding[0]}, {w + 2 * padding[1]}) for input shape "
                         f"{tuple(x.shape)}")
    return kernel, stride, padding, dilation, ceil_mode


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling, as PyTorch's ``max_pool2d`` (and ONNX's ``MaxPool``).

    ``out[n, c, i, j] = max_{p, q} x_pad[n, c, i*s + p*d, j*s + q*d]`` with -inf padding.

    Args:
        x: input Tensor.
        kernel_size: the window, an int or a pair (rows, columns).
        stride: an int or a pair; defaults to ``kernel_size`` (non-overlapping windows).
        padding: an int or a pair, on both sides, at most ``kernel_size - 1``: ONNX's
            ``MaxPool`` rule (PyTorch's is at most ``kernel_size // 2``, so every padding
            PyTorch accepts is accepted here too).
        dilation: an int or a pair: the spacing of the window's elements.
        ceil_mode: round the output size up, not down, so a last partial window at the
            bottom and right counts too (one that would start in the right padding is
            dropped, as PyTorch does).

    Shape:
        x (N, C, H, W) -> (N, C, Ho, Wo),
        ``Ho = floor((H + 2*padding - dilation*(kh - 1) - 1) / stride) + 1`` (ceil with
        ``ceil_mode``).

    Example:
        >>> import somanet as sn
        >>> sn.max_pool2d(sn.arange(16.0).reshape(1, 1, 4, 4), 2).numpy()[0, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
        >>> sn.max_pool2d(sn.arange(25.0).reshape(1, 1, 5, 5), 2, ceil_mode=True).shape
        (1, 1, 3, 3)
    """
    kernel, stride, padding, dilation, ceil_mode = _pool_arguments(
        x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    return MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                           ceil_mode=ceil_mode)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """2-D average pooling, as PyTorch's ``avg_pool2d`` (and ONNX's ``AveragePool``).

    ``out[n, c, i, j] = sum_{p, q} x_pad[n, c, i*s + p, j*s + q] / divisor``: with
    ``count_include_pad=True`` (PyTorch's default) the divisor is kh*kw, padding zeros
    counted -- except for a ``ceil_mode`` window that runs past the padding, which counts
    only what lies inside the padded input; with ``count_include_pad=False`` it is the
    number of input elements in the window.

    Args:
        x, kernel_size, stride, padding, ceil_mode: as ``max_pool2d``.
        count_include_pad: count the padding zeros in the divisor.

    Shape: as ``max_pool2d`` (dilation 1).

    Example:
        >>> import somanet as sn
        >>> sn.avg_pool2d(sn.arange(16.0).reshape(1, 1, 4, 4), 2).numpy()[0, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
        >>> sn.avg_pool2d(sn.ones((1, 1, 2, 2)), 3, 1, 1, count_include_pad=False).numpy()[0, 0]
        array([[1., 1.],
               [1., 1.]], dtype=float32)
    """
    kernel, stride, padding, _, ceil_mode = _pool_arguments(
        x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    count_include_pad = check_flag("avg_pool2d", "count_include_pad", count_include_pad)
    return AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding,
                           ceil_mode=ceil_mode, count_include_pad=count_include_pad)


def global_avg_pool2d(x):
    """The mean of each channel over the whole plane (Keras' ``GlobalAveragePooling2D``).

    Shape: x (N, C, H, W) -> (N, C).

    Example:
        >>> import somanet as sn
        >>> sn.global_avg_pool2d(sn.ones((2, 3, 4, 4))).shape
        (2, 3)
    """
    if x.ndim != 4:
        raise ValueError(f"global_avg_pool2d: expected a 4-D input (N, C, H, W), got shape "
                         f"{tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"global_avg_pool2d: the input must be a float tensor, got dtype "
                        f"{x.dtype}; cast it with .astype('float32')")
    return GlobalAvgPool2d.apply(x)
