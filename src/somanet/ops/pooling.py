"""Pooling: ``max_pool2d``, ``avg_pool2d``, ``global_avg_pool2d`` (PyTorch semantics, NCHW).

A pooling window of ``kh x kw`` slides with a stride; output ``(i, j)`` reduces

    x_pad[n, c, i*s + p, j*s + q]   for 0 <= p < kh, 0 <= q < kw.

Forward and backward loop over the kh*kw kernel offsets ``(p, q)``, each a
whole-array operation on the strided view ``x_pad[:, :, p::s, q::s]`` (the
offset's element of every window at once); nothing loops over elements. This is
faster than reshaping to ``(..., kh, ..., kw)`` and reducing (NumPy is slow on short
inner axes), an argmax over a windowed copy, or a numba loop. Max pooling keeps, per
output, the index of the offset that won (uint8): the first maximum in row-major
window order, as PyTorch, so ties (common after ReLU) send the gradient to one
element only.
"""
import math

from ..autograd.function import Function
from ..backend import xp_of
from .convolution import int_pair


def _window(array, p, q, out_hw, stride):
    """Element (p, q) of every window: ``array[:, :, p::sh, q::sw]`` cut to out_hw."""
    (ho, wo), (sh, sw) = out_hw, stride
    return array[:, :, p:p + sh * (ho - 1) + 1:sh, q:q + sw * (wo - 1) + 1:sw]


def _padded(x, padding, value):
    ph, pw = padding
    if not (ph or pw):
        return x
    return xp_of(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="constant",
                        constant_values=value)


def _gradient_buffer(ctx, grad):
    """A zeroed (or, when every element is written once, empty) input-sized gradient."""
    xp = xp_of(grad)
    (ph, pw), (h, w) = ctx.padding, ctx.in_hw
    shape = grad.shape[:2] + (h + 2 * ph, w + 2 * pw)
    (kh, kw), (sh, sw), (ho, wo) = ctx.kernel, ctx.stride, grad.shape[2:]
    covered = (sh, sw) == (kh, kw) and (ho * kh, wo * kw) == shape[2:]
    return xp.empty(shape, grad.dtype) if covered else xp.zeros(shape, grad.dtype)


def _unpadded(ctx, grad_padded):
    (ph, pw), (h, w) = ctx.padding, ctx.in_hw
    return grad_padded[:, :, ph:ph + h, pw:pw + w]


def _disjoint(ctx):
    """True when no two windows share an element (stride >= kernel on both axes)."""
    return ctx.stride[0] >= ctx.kernel[0] and ctx.stride[1] >= ctx.kernel[1]


def _setup(ctx, x, kernel, stride, padding):
    """Keep the geometry on ctx; returns the output's (Ho, Wo)."""
    ctx.kernel, ctx.stride, ctx.padding, ctx.in_hw = kernel, stride, padding, x.shape[2:]
    h, w = x.shape[2:]
    return ((h + 2 * padding[0] - kernel[0]) // stride[0] + 1,
            (w + 2 * padding[1] - kernel[1]) // stride[1] + 1)


def _offsets(kernel):
    """The kernel offsets (p, q) in row-major order."""
    return [(p, q) for p in range(kernel[0]) for q in range(kernel[1])]


class MaxPool2d(Function):
    """Max over each window (padding counts as -inf).

    dL/dx[window's argmax] += dL/dout; every other element of the window gets 0.
    """

    def forward(ctx, x, kernel, stride, padding):
        xp = xp_of(x)
        out_hw = _setup(ctx, x, kernel, stride, padding)
        padded = _padded(x, padding, -math.inf)
        offsets = _offsets(kernel)
        index_type = xp.uint8 if len(offsets) <= 256 else xp.int32
        out = index = None
        for t, (p, q) in enumerate(offsets):
            window = _window(padded, p, q, out_hw, stride)
            if out is None:
                out = window.copy()
                index = xp.zeros(out.shape, index_type)
                continue
            # Offsets come in increasing t, so the last t that beat the running
            # maximum is the largest such t: the argmax is a running maximum of t*better.
            better = window > out
            xp.maximum(out, window, out=out)
            xp.maximum(index, xp.multiply(better, index_type(t)), out=index)
        ctx.save_for_backward(index)
        return out

    def backward(ctx, grad):
        (index,) = ctx.saved
        xp = xp_of(grad)
        grad_padded = _gradient_buffer(ctx, grad)
        disjoint = _disjoint(ctx)
        for t, (p, q) in enumerate(_offsets(ctx.kernel)):
            window = _window(grad_padded, p, q, grad.shape[2:], ctx.stride)
            if disjoint:  # each element is in one window: write, don't add
                xp.multiply(grad, index == t, out=window)
            else:
                window += grad * (index == t)
        return _unpadded(ctx, grad_padded)


class AvgPool2d(Function):
    """Mean over each window; padding counts as zeros and the divisor is always
    kh*kw (PyTorch's default ``count_include_pad=True``).

    dL/dx[each element of a window] += dL/dout / (kh*kw).
    """

    def forward(ctx, x, kernel, stride, padding):
        out_hw = _setup(ctx, x, kernel, stride, padding)
        padded = _padded(x, padding, 0)
        out = None
        for p, q in _offsets(kernel):
            window = _window(padded, p, q, out_hw, stride)
            if out is None:
                out = window.copy()
            else:
                out += window
        out *= 1 / (kernel[0] * kernel[1])
        return out

    def backward(ctx, grad):
        share = grad * (1 / (ctx.kernel[0] * ctx.kernel[1]))
        grad_padded = _gradient_buffer(ctx, grad)
        disjoint = _disjoint(ctx)
        for p, q in _offsets(ctx.kernel):
            window = _window(grad_padded, p, q, grad.shape[2:], ctx.stride)
            if disjoint:
                window[...] = share
            else:
                window += share
        return _unpadded(ctx, grad_padded)


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


def _pool_arguments(x, kernel_size, stride, padding, name):
    """Check a pooling call's arguments; returns (kernel, stride, padding) as pairs."""
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape "
                         f"{tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: the input must be a float tensor, got dtype {x.dtype}; "
                        f"cast it with .astype('float32')")
    kernel = int_pair(kernel_size, "kernel_size", name, 1)
    stride = kernel if stride is None else int_pair(stride, "stride", name, 1)
    padding = int_pair(padding, "padding", name, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size "
                         f"{kernel}")
    h, w = x.shape[2:]
    if kernel[0] > h + 2 * padding[0] or kernel[1] > w + 2 * padding[1]:
        raise ValueError(f"{name}: kernel size {kernel} is larger than the padded input "
                         f"({h + 2 * padding[0]}, {w + 2 * padding[1]}) for input shape "
                         f"{tuple(x.shape)}")
    return kernel, stride, padding


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """2-D max pooling, as PyTorch's ``max_pool2d``.

    ``out[n, c, i, j] = max_{p, q} x_pad[n, c, i*s + p, j*s + q]`` with -inf padding.

    Args:
        x: input Tensor.
        kernel_size: the window, an int or a pair (rows, columns).
        stride: an int or a pair; defaults to ``kernel_size`` (non-overlapping windows).
        padding: an int or a pair, at most half the kernel size.

    Shape:
        x (N, C, H, W) -> (N, C, Ho, Wo), ``Ho = (H + 2*padding - kh) // stride + 1``.

    Example:
        >>> import somanet as sn
        >>> sn.max_pool2d(sn.arange(16.0).reshape(1, 1, 4, 4), 2).numpy()[0, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    kernel, stride, padding = _pool_arguments(x, kernel_size, stride, padding, "max_pool2d")
    return MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """2-D average pooling, as PyTorch's ``avg_pool2d`` (padding zeros are counted).

    ``out[n, c, i, j] = sum_{p, q} x_pad[n, c, i*s + p, j*s + q] / (kh*kw)``.

    Args and Shape: as ``max_pool2d``.

    Example:
        >>> import somanet as sn
        >>> sn.avg_pool2d(sn.arange(16.0).reshape(1, 1, 4, 4), 2).numpy()[0, 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
    """
    kernel, stride, padding = _pool_arguments(x, kernel_size, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


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
