"""Convolutions: ``conv2d``, ``conv1d`` and ``conv_transpose2d`` (PyTorch layouts, NCHW).

A 2-D convolution (a cross-correlation, as in every framework) computes

    out[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*s + p*d, j*s + q*d]

over the zero-padded input. It runs as GEMMs over an *im2col* buffer: every
window of the input copied once into ``cols`` (``backend.kernels_conv.im2col``: a
numba loop, or a copy of an ``as_strided`` view), times the weight as a
``(C_out, C*kh*kw)`` matrix. The backward is two more GEMMs: the weight gradient
``grad @ cols^T``, and the input gradient ``w^T @ grad`` (gradient columns), added
back into the windows they came from (*col2im*, the adjoint of im2col).

The columns come in one of two layouts (``merges_batch`` picks):

- per sample, ``cols (N, C*kh*kw, Ho*Wo)``: one GEMM a sample giving
  ``(N, C_out, Ho*Wo)``, NCHW with no transpose; the weight gradient summed over
  the batch, the input gradient per sample.
- batch-merged, ``cols (C*kh*kw, N*Ho*Wo)``: each of the three products is ONE
  GEMM over the whole batch: ``out (C_out, N*Ho*Wo) = w @ cols`` (then one copy to
  NCHW, with the bias added on the way), ``dw = grad @ cols^T`` and
  ``grad_cols = w^T @ grad``, ``grad`` copied once to ``(C_out, N*Ho*Wo)`` for both.

Merging pays when each sample's products are small (few output positions) but
the rows are many; with few rows the merged GEMM is a long thin product that BLAS
packs at a loss, and with large outputs the per-sample products are big enough
already. So the merged layout is used with at least ``MERGE_MIN_ROWS`` rows per
group and at most ``MERGE_MAX_POSITIONS`` output positions a sample.

Stride-1 convolutions with very few rows (``runs_direct``: LeNet's first layer)
skip the columns: ``backend.kernels_direct`` convolves the zero-padded input in
place (parallel loops over output planes), and backward gets the padded input's
gradient from it and crops it.

Stride-1 convolutions with a few more rows and at most 16 output channels a group
(``runs_blocked``: LeNet's second layer, 150 rows) run forward and weight gradient
on ``backend.kernels_blocked``: register tiles of output positions (or weight rows)
times 16 output channels, the input read in place; their input gradient stays on
im2col's GEMMs and col2im (faster there than the blocked kernel on the padded
gradient).

Groups are the leading axis of a batched matmul: rows (and output channels) come
group by group in both layouts.

The transposed convolution is the same kernels in another order: its forward
is the input gradient of a convolution, its input gradient is a convolution,
and its weight gradient is a convolution's with input and gradient swapped.
"""
import math

from .._checks import check_int, check_positive_int, is_int
from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels_conv import col2im, im2col, output_size
from ..backend import kernels_blocked
from ..backend.kernels_direct import direct_forward, direct_input_gradient, \
    direct_weight_gradient
from ._operands import integer_as_float
from .shape import reshape

# im2col buffers up to this size are kept from forward for the weight gradient.
# Larger ones (many channels, where the GEMMs dominate anyway) are made a few
# samples at a time in forward and again in backward, from the saved input, so
# memory stays proportional to the activations.
KEEP_COLUMNS_BYTES = 32 * 2 ** 20
# Temporary columns are made about this many elements at a time (1 MB in float32):
# a buffer that size stays in cache, and the allocator reuses it instead of
# mapping fresh pages (which cost more than the arithmetic on LeNet's layers).
# In the merged layout each such chunk of samples is one GEMM.
CHUNK_ELEMENTS = 2 ** 18
# The batch-merged layout is used with at least this many rows (C/groups * kh * kw)
# and at most this many output positions (Ho * Wo); see the module docstring.
MERGE_MIN_ROWS = 256
MERGE_MAX_POSITIONS = 100
# Stride-1 convolutions with at most this many rows (C/groups * kh * kw) run on the
# direct kernels (backend.kernels_direct), no columns: with so few rows im2col's
# copies cost more than the products (LeNet's first layer: 25 rows, 6 outputs).
DIRECT_MAX_ROWS = 32
# Stride-1 convolutions with more rows, up to this many, and at most this many output
# channels a group run forward and weight gradient on the register-blocked kernels
# (backend.kernels_blocked; the input gradient stays on im2col's GEMMs, faster there):
# LeNet's conv2 (150 rows, 16 outputs). Measured in benchmarks/README.md.
BLOCKED_MAX_ROWS = 150
BLOCKED_MAX_OUTPUTS = 16


def runs_direct(rows, stride):
    """Whether a convolution with ``rows = C/groups * kh * kw`` and ``stride`` runs on the
    direct kernels rather than im2col and GEMMs."""
    return rows <= DIRECT_MAX_ROWS and tuple(stride) == (1, 1)


def runs_blocked(x, rows, stride, groups, c_out, out_width):
    """Whether a convolution runs forward and weight gradient on the register-blocked
    kernels (``backend.kernels_blocked``) rather than im2col and GEMMs."""
    return DIRECT_MAX_ROWS < rows <= BLOCKED_MAX_ROWS and tuple(stride) == (1, 1) and \
        c_out // groups <= BLOCKED_MAX_OUTPUTS and \
        kernels_blocked.applies(x, out_width)


def merges_batch(rows, positions):
    """Whether a convolution with ``rows = C/groups * kh * kw`` and ``positions = Ho * Wo``
    runs on batch-merged columns (one GEMM over the batch) rather than per sample."""
    return rows >= MERGE_MIN_ROWS and positions <= MERGE_MAX_POSITIONS


class Geometry:
    """Where a convolution's windows sit: stride, padding and dilation, per axis.

    ``padding`` is ``(top, bottom, left, right)`` (asymmetric for ``"same"``).
    """

    __slots__ = ("stride", "padding", "dilation")

    def __init__(self, stride, padding, dilation):
        self.stride = stride
        self.padding = padding
        self.dilation = dilation

    def output_size(self, in_hw, kernel_hw):
        """(Ho, Wo) of a convolution over an ``in_hw`` input with a ``kernel_hw`` kernel."""
        return output_size(in_hw, kernel_hw, self.stride, self.padding, self.dilation)

    def __repr__(self):
        return f"Geometry(stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation})"


def _batches(n, per_sample):
    """(start, stop) ranges of samples holding about CHUNK_ELEMENTS elements each."""
    step = max(1, CHUNK_ELEMENTS // max(per_sample, 1))
    return [(start, min(start + step, n)) for start in range(0, n, step)]


# -- the GEMMs every convolution here is made of ---------------------------------------------
# ``merged`` says which layout the columns have (see the module docstring).

def unfold(x, kernel_hw, geometry, merged):
    """im2col: every window of the padded ``x`` as a column.

    Shape: x (N, C, H, W) -> cols (N, C*kh*kw, Ho*Wo), or (C*kh*kw, N*Ho*Wo) merged;
    rows C-major then kernel row, column.
    """
    return im2col(x, kernel_hw, geometry.stride, geometry.padding, geometry.dilation, merged)


def merged_rows(array):
    """``(N, C, ...)`` as ``(C, N * ...)``: a gradient in the merged layout's order (one copy).

    Shape: (N, C, *spatial) -> (C, N * prod(spatial)).
    """
    (n, c), length = array.shape[:2], math.prod(array.shape[2:])
    flat = array.reshape(n, c, length)
    return xp_of(array).ascontiguousarray(flat.swapaxes(0, 1)).reshape(c, n * length)


def columns_times_weight(cols, weight, groups, length, merged, bias=None, out=None):
    """The forward GEMM(s): ``weight (C_out, C/g, kh, kw)`` times the columns, plus ``bias``.

    Args:
        length: the output positions a sample, L = Ho * Wo.
        out: an array of the result's shape to write into, or None.

    Shape: cols (n, C*kh*kw, L) or merged (C*kh*kw, n*L) -> (n, C_out, L).
    """
    c_out = weight.shape[0]
    if merged:
        rows, n = cols.shape[0], cols.shape[1] // max(length, 1)
        w = weight.reshape(groups, c_out // groups, rows // groups)
        product = (w @ cols.reshape(groups, rows // groups, n * length)).reshape(
            c_out, n, length).swapaxes(0, 1)
        xp = xp_of(cols)
        if out is None:
            out = xp.empty((n, c_out, length), cols.dtype)
        if bias is None:
            out[...] = product
        else:  # the copy to (n, C_out, L) and the bias in one pass
            xp.add(product, bias.reshape(-1, 1), out=out)
        return out
    n, rows = cols.shape[:2]
    w = weight.reshape(groups, c_out // groups, rows // groups)
    cols = cols.reshape(n, groups, rows // groups, length)
    if out is None:
        out = (w @ cols).reshape(n, c_out, length)
    else:
        xp_of(cols).matmul(w, cols, out=out.reshape(n, groups, c_out // groups, length))
    if bias is not None:
        out += bias.reshape(-1, 1)
    return out


def weight_gradient(cols, grad, weight_shape, groups, merged):
    """dL/dw = ``grad @ cols^T`` per group (computed as ``cols @ grad^T``, then transposed:
    faster, the large operand read row-wise); per sample, summed over the batch.

    Shape: cols (N, C*kh*kw, L) and grad (N, C_out, L), or merged cols (C*kh*kw, N*L)
    and grad (C_out, N*L) (``merged_rows``) -> weight_shape.
    """
    if merged:
        rows, total = cols.shape
        c_out = grad.shape[0]
        product = cols.reshape(groups, rows // groups, total) @ grad.reshape(
            groups, c_out // groups, total).swapaxes(-1, -2)
        return product.swapaxes(-1, -2).reshape(weight_shape)
    n, rows, length = cols.shape
    c_out = grad.shape[1]
    cols = cols.reshape(n, groups, rows // groups, length)
    grad = grad.reshape(n, groups, c_out // groups, length)
    total = xp_of(cols).zeros((groups, rows // groups, c_out // groups), cols.dtype)
    for start, stop in _batches(n, rows * c_out // groups):  # bounds the per-sample products
        total += (cols[start:stop] @ grad[start:stop].swapaxes(-1, -2)).sum(axis=0)
    return total.swapaxes(-1, -2).reshape(weight_shape)


def input_gradient(grad, weight, in_hw, geometry, groups, grad_rows=None):
    """dL/dx of a convolution: gradient columns ``w^T @ grad``, folded back (col2im),
    a few samples at a time (the columns are kh*kw times the input's size).

    Args:
        grad_rows: ``merged_rows(grad)`` when the caller has it (merged layout), or None.

    Shape: grad (N, C_out, Ho, Wo), weight (C_out, C/g, kh, kw) -> (N, C, H, W)
    with ``(H, W) = in_hw``.
    """
    n, c_out, ho, wo = grad.shape
    _, c_per_group, kh, kw = weight.shape
    rows, length = c_per_group * kh * kw, ho * wo
    merged = merges_batch(rows, length)
    w_t = weight.reshape(groups, c_out // groups, rows).swapaxes(-1, -2)
    if merged:
        grad = merged_rows(grad) if grad_rows is None else grad_rows
        grad = grad.reshape(groups, c_out // groups, n * length)
    else:
        grad = grad.reshape(n, groups, c_out // groups, length)
    x_shape = (n, c_per_group * groups) + tuple(in_hw)
    out = xp_of(grad).empty(x_shape, grad.dtype)
    for start, stop in _batches(n, groups * rows * length):
        if merged:
            grad_cols = (w_t @ grad[:, :, start * length:stop * length]).reshape(
                groups * rows, (stop - start) * length)
        else:
            grad_cols = (w_t @ grad[start:stop]).reshape(stop - start, groups * rows, length)
        col2im(grad_cols, (stop - start,) + x_shape[1:], (kh, kw), geometry.stride,
               geometry.padding, geometry.dilation, out=out[start:stop], merged=merged)
    return out


def pad_input(x, padding):
    """``x`` zero-padded by ``padding = (top, bottom, left, right)``, C-contiguous.

    Shape: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right).
    """
    xp = xp_of(x)
    top, bottom, left, right = padding
    if not (top or bottom or left or right):
        return xp.ascontiguousarray(x)
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + top + bottom, w + left + right), x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _bias_gradient(grad):
    n, c, h, w = grad.shape
    return grad.reshape(n, c, h * w).sum(axis=2).sum(axis=0)


# -- the ops ---------------------------------------------------------------------------------

class Conv2d(Function):
    """2-D convolution (cross-correlation) with stride, padding, dilation and groups.

    dL/dw = grad @ cols^T;  dL/dx = col2im(w^T @ grad);  dL/db = sum of grad.
    """

    def forward(ctx, x, weight, bias=None, geometry=None, groups=1):
        n, kernel_hw = x.shape[0], weight.shape[2:]
        ho, wo = geometry.output_size(x.shape[2:], kernel_hw)
        merged = merges_batch(weight[0].size, ho * wo)
        ctx.geometry, ctx.groups, ctx.in_hw, ctx.merged = geometry, groups, x.shape[2:], merged
        ctx.direct = runs_direct(weight[0].size, geometry.stride)
        if ctx.direct:  # the padded input is all backward needs (smaller than columns)
            padded = pad_input(x, geometry.padding)
            ctx.save_for_backward(padded, weight)
            return direct_forward(padded, weight, bias, geometry.dilation, (ho, wo), groups)
        ctx.blocked = runs_blocked(x, weight[0].size, geometry.stride, groups,
                                   weight.shape[0], wo)
        if ctx.blocked:  # forward and weight gradient blocked, the input gradient GEMMs
            padded = pad_input(x, geometry.padding)
            ctx.save_for_backward(padded, weight)
            top, h = geometry.padding[0], x.shape[2]
            return kernels_blocked.blocked_forward(padded, weight, bias, geometry.dilation,
                                                   (ho, wo), groups, rows=(top, top + h))
        per_sample = x.shape[1] * kernel_hw[0] * kernel_hw[1] * ho * wo
        if n * per_sample * x.itemsize <= KEEP_COLUMNS_BYTES:
            cols = unfold(x, kernel_hw, geometry, merged)
            out = columns_times_weight(cols, weight, groups, ho * wo, merged, bias)
            ctx.save_for_backward(cols, weight)
        else:  # large columns: made a few samples at a time, here and in backward
            out = xp_of(x).empty((n, weight.shape[0], ho * wo), x.dtype)
            for start, stop in _batches(n, per_sample):
                columns_times_weight(unfold(x[start:stop], kernel_hw, geometry, merged), weight,
                                     groups, ho * wo, merged, bias, out=out[start:stop])
            ctx.save_for_backward(x, weight)
        return out.reshape(n, weight.shape[0], ho, wo)

    def backward(ctx, grad):
        if ctx.direct:
            return ctx.direct_backward(grad)
        if ctx.blocked:
            return ctx.blocked_backward(grad)
        cols_or_x, weight = ctx.saved
        needs, merged = ctx.needs_input_grad, ctx.merged
        grad_x = grad_weight = grad_bias = None
        n, c_out, ho, wo = grad.shape
        length = ho * wo
        # the merged layout's products read grad as (C_out, N*Ho*Wo): copied once for both
        flat = merged_rows(grad) if merged and (needs[0] or needs[1]) else \
            grad.reshape(n, c_out, length)
        if needs[0]:
            grad_x = input_gradient(grad, weight, ctx.in_hw, ctx.geometry, ctx.groups,
                                    flat if merged else None)
        if needs[1]:
            if cols_or_x.ndim < 4:  # the columns, kept from forward
                grad_weight = weight_gradient(cols_or_x, flat, weight.shape, ctx.groups, merged)
            else:  # the input: rebuild its columns a few samples at a time
                grad_weight = xp_of(grad).zeros(weight.shape, grad.dtype)
                for start, stop in _batches(n, weight[0].size * ctx.groups * length):
                    cols = unfold(cols_or_x[start:stop], weight.shape[2:], ctx.geometry, merged)
                    part = flat[:, start * length:stop * length] if merged else flat[start:stop]
                    grad_weight += weight_gradient(cols, part, weight.shape, ctx.groups, merged)
        if len(needs) > 2 and needs[2]:
            grad_bias = _bias_gradient(grad)
        return (grad_x, grad_weight) + ((grad_bias,) if len(needs) > 2 else ())

    def blocked_backward(ctx, grad):
        """backward after a blocked forward: im2col's input gradient, the blocked weight
        gradient of the padded input."""
        padded, weight = ctx.saved
        needs, geometry = ctx.needs_input_grad, ctx.geometry
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            grad_x = input_gradient(grad, weight, ctx.in_hw, geometry, ctx.groups)
        if needs[1]:
            grad_weight = kernels_blocked.blocked_weight_gradient(
                padded, grad, weight.shape[2:], geometry.dilation, ctx.groups)
        if len(needs) > 2 and needs[2]:
            grad_bias = _bias_gradient(grad)
        return (grad_x, grad_weight) + ((grad_bias,) if len(needs) > 2 else ())

    def direct_backward(ctx, grad):
        """backward on the direct kernels: the padded input's gradient, cropped."""
        padded, weight = ctx.saved
        needs, geometry = ctx.needs_input_grad, ctx.geometry
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            grad_padded = direct_input_gradient(grad, weight, geometry.dilation,
                                                padded.shape[2:], ctx.groups)
            (h, w), (top, _, left, _) = ctx.in_hw, geometry.padding
            grad_x = xp_of(grad).ascontiguousarray(
                grad_padded[:, :, top:top + h, left:left + w])
        wants_bias = len(needs) > 2 and needs[2]
        if needs[1] and wants_bias:  # the kernel sums grad for the bias as it reads it
            grad_weight, grad_bias = direct_weight_gradient(
                padded, grad, weight.shape[2:], geometry.dilation, ctx.groups, bias=True)
        elif needs[1]:
            grad_weight = direct_weight_gradient(padded, grad, weight.shape[2:],
                                                 geometry.dilation, ctx.groups)
        elif wants_bias:
            grad_bias = _bias_gradient(grad)
        return (grad_x, grad_weight) + ((grad_bias,) if len(needs) > 2 else ())


class ConvTranspose2d(Function):
    """Transposed 2-D convolution: the input gradient of ``conv2d``, used as a layer.

    Its forward is conv2d's col2im, its input gradient is conv2d's forward on
    ``grad``, and its weight gradient is conv2d's with input and gradient swapped.
    """

    def forward(ctx, x, weight, bias=None, geometry=None, groups=1, out_hw=None):
        out = input_gradient(x, weight, out_hw, geometry, groups)
        if bias is not None:
            out += bias.reshape(-1, 1, 1)
        ctx.geometry, ctx.groups = geometry, groups
        ctx.save_for_backward(x, weight)
        return out

    def backward(ctx, grad):
        x, weight = ctx.saved
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if needs[0] or needs[1]:
            xp = xp_of(grad)
            n, c_in, h, w = x.shape
            length = h * w
            merged = merges_batch(weight[0].size, length)  # the layout input_gradient used
            x_flat = merged_rows(x) if merged and needs[1] else x.reshape(n, c_in, length)
            grad_x = xp.empty((n, c_in, length), x.dtype) if needs[0] else None
            grad_weight = xp.zeros(weight.shape, x.dtype) if needs[1] else None
            # The columns of grad are conv2d's of its input: a few samples at a time.
            for start, stop in _batches(n, weight[0].size * ctx.groups * length):
                cols = unfold(grad[start:stop], weight.shape[2:], ctx.geometry, merged)
                if needs[0]:
                    columns_times_weight(cols, weight, ctx.groups, length, merged,
                                         out=grad_x[start:stop])
                if needs[1]:
                    part = x_flat[:, start * length:stop * length] if merged else \
                        x_flat[start:stop]
                    grad_weight += weight_gradient(cols, part, weight.shape, ctx.groups, merged)
            grad_x = grad_x.reshape(x.shape) if needs[0] else None
        if len(needs) > 2 and needs[2]:
            grad_bias = _bias_gradient(grad)
        return (grad_x, grad_weight) + ((grad_bias,) if len(needs) > 2 else ())


# -- argument checking -----------------------------------------------------------------------

def int_pair(value, what, name, minimum=0):
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    pair = (value, value) if is_int(value) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = None
    if pair is None or len(pair) != 2 or not all(is_int(v) for v in pair):
        raise TypeError(f"{name}: {what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name}: {what} must be at least {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _same_padding(size, kernel, stride, dilation):
    """(before, after) that make the output ceil(size / stride) long, the extra
    one after when the total is odd (as Keras and TensorFlow do)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _conv_padding(padding, in_hw, kernel_hw, stride, dilation, name):
    """``padding`` (int, pair, "same", "valid") as (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            return _same_padding(in_hw[0], kernel_hw[0], stride[0], dilation[0]) + \
                _same_padding(in_hw[1], kernel_hw[1], stride[1], dilation[1])
        raise ValueError(f"{name}: padding must be an int, a pair of ints, 'same' or 'valid', "
                         f"got {padding!r}")
    ph, pw = int_pair(padding, "padding", name, 0)
    return (ph, ph, pw, pw)


def _check_tensors(x, weight, bias, groups, name, spatial, layout):
    """The checks every convolution shares: ranks, float dtypes, groups, bias."""
    rank = spatial + 2
    if x.ndim != rank:
        raise ValueError(f"{name}: expected a {rank}-D input {layout}, got shape "
                         f"{tuple(x.shape)}")
    if weight.ndim != rank:
        raise ValueError(f"{name}: expected a {rank}-D weight, got shape {tuple(weight.shape)}")
    for role, tensor in (("input", x), ("weight", weight)):
        if tensor.dtype.kind != "f":
            raise TypeError(f"{name}: the {role} must be a float tensor, got dtype "
                            f"{tensor.dtype}; cast it with .astype('float32')")
    check_positive_int(name, "groups", groups, what="a positive int")
    if bias is not None and bias.ndim != 1:
        raise ValueError(f"{name}: bias must be 1-D, got shape {tuple(bias.shape)}")


def _check_groups(channels, what, groups, name, x, weight):
    if channels % groups:
        raise ValueError(f"{name}: groups={groups} does not divide the {channels} {what} "
                         f"(input shape {tuple(x.shape)}, weight shape {tuple(weight.shape)})")


def _conv_nd(x, weight, bias, stride, padding, dilation, groups, name, spatial, layout):
    """Check the arguments of conv1d/conv2d and apply Conv2d to 4-D views."""
    x, weight = integer_as_float(x, weight), integer_as_float(weight, x)
    _check_tensors(x, weight, bias, groups, name, spatial, layout)
    c_out, c_per_group = weight.shape[:2]
    channels = x.shape[1]
    if channels != c_per_group * groups:
        raise ValueError(
            f"{name}: input of shape {tuple(x.shape)} has {channels} channels, but weight of "
            f"shape {tuple(weight.shape)} with groups={groups} expects {c_per_group * groups} "
            f"input channels (weight.shape[1] * groups)")
    _check_groups(channels, "input channels", groups, name, x, weight)
    _check_groups(c_out, "output channels (weight.shape[0])", groups, name, x, weight)
    if bias is not None and bias.shape[0] != c_out:
        raise ValueError(f"{name}: bias of shape {tuple(bias.shape)} does not fit weight of "
                         f"shape {tuple(weight.shape)}: expected ({c_out},)")
    if spatial == 1:  # a length-1 height, so the 2-D code does the work
        x4 = reshape(x, x.shape[:2] + (1,) + x.shape[2:])
        w4 = reshape(weight, weight.shape[:2] + (1,) + weight.shape[2:])
    else:
        x4, w4 = x, weight
    stride = int_pair(stride, "stride", name, 1)
    dilation = int_pair(dilation, "dilation", name, 1)
    in_hw, kernel_hw = x4.shape[2:], w4.shape[2:]
    geometry = Geometry(stride, _conv_padding(padding, in_hw, kernel_hw, stride, dilation, name),
                        dilation)
    top, bottom, left, right = geometry.padding
    padded = (in_hw[0] + top + bottom, in_hw[1] + left + right)
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel_hw))
    if span[0] > padded[0] or span[1] > padded[1]:
        shown = lambda pair: pair[1] if spatial == 1 else pair  # noqa: E731
        raise ValueError(
            f"{name}: the kernel (size {shown(kernel_hw)}, {shown(span)} with dilation) is "
            f"larger than the padded input ({shown(padded)}) for input shape "
            f"{tuple(x.shape)} and weight shape {tuple(weight.shape)}; pad more or use a "
            f"smaller kernel")
    inputs = (x4, w4) if bias is None else (x4, w4, bias)
    out = Conv2d.apply(*inputs, geometry=geometry, groups=groups)
    if spatial == 1:
        out = reshape(out, out.shape[:2] + out.shape[3:])
    return out


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), as PyTorch's ``conv2d``.

    ``out[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] * x_pad[n, c0 + c, i*s + p*d, j*s + q*d]``
    where ``c0`` is the first input channel of output channel ``o``'s group.

    Args:
        x: input Tensor.
        weight: filters, one ``(C_in/groups, kh, kw)`` block per output channel.
        bias: one value per output channel, or None.
        stride, dilation: an int or a pair (rows, columns).
        padding: an int or a pair of zero-padding widths, ``"valid"`` (none), or
            ``"same"``: output size ``ceil(input / stride)``, the input size for
            stride 1; when the total padding is odd the extra row/column goes at
            the bottom/right, as in Keras and TensorFlow.
        groups: split input and output channels into this many independent groups.

    Shape:
        x (N, C_in, H, W), weight (C_out, C_in/groups, kh, kw), bias (C_out,) ->
        (N, C_out, Ho, Wo) with ``Ho = (H + pad_top + pad_bottom - d*(kh-1) - 1) // s + 1``.

    Example:
        >>> import somanet as sn
        >>> x = sn.ones((1, 1, 4, 4))
        >>> sn.conv2d(x, sn.ones((2, 1, 3, 3)), padding="same").shape
        (1, 2, 4, 4)
    """
    return _conv_nd(x, weight, bias, stride, padding, dilation, groups, "conv2d", 2,
                    "(N, C, H, W)")


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) over the last axis, as PyTorch's ``conv1d``.

    Runs as ``conv2d`` on a height-1 view. ``stride``, ``padding`` and ``dilation``
    are ints (``padding`` also ``"same"`` or ``"valid"``); see ``conv2d``.

    Shape:
        x (N, C_in, L), weight (C_out, C_in/groups, k), bias (C_out,) -> (N, C_out, Lo)
        with ``Lo = (L + 2*padding - d*(k-1) - 1) // stride + 1``.

    Example:
        >>> import somanet as sn
        >>> sn.conv1d(sn.ones((2, 3, 10)), sn.ones((4, 3, 5))).shape
        (2, 4, 6)
    """
    for what, value, minimum in (("stride", stride, 1), ("dilation", dilation, 1),
                                 ("padding", padding, 0)):
        if what == "padding" and isinstance(value, str):
            continue  # checked with the 2-D code
        if what == "padding" and not is_int(value):
            raise TypeError(f"conv1d: padding must be an int, 'same' or 'valid', got {value!r}")
        check_int("conv1d", what, value, minimum=minimum)
    padding = padding if isinstance(padding, str) else (0, padding)
    return _conv_nd(x, weight, bias, (1, stride), padding, (1, dilation), groups, "conv1d", 1,
                    "(N, C, L)")


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution, as PyTorch's ``conv_transpose2d`` (the gradient of
    ``conv2d`` with respect to its input; upsamples in generators and decoders).

    Args:
        x: input Tensor.
        weight: ``(C_in, C_out/groups, kh, kw)``, PyTorch's layout.
        bias: one value per output channel, or None.
        stride, padding, dilation: an int or a pair, those of the convolution this
            transposes (``padding`` removes rows/columns from the output's borders).
        output_padding: extra rows/columns at the bottom/right of the output, to
            pick among the input sizes a strided convolution maps to one size;
            smaller than ``stride``.
        groups: independent channel groups.

    Shape:
        x (N, C_in, H, W) -> (N, C_out, Ho, Wo) with
        ``Ho = (H - 1)*s - 2*padding + d*(kh - 1) + output_padding + 1``.

    Example:
        >>> import somanet as sn
        >>> x = sn.ones((1, 4, 5, 5))
        >>> sn.conv_transpose2d(x, sn.ones((4, 2, 3, 3)), stride=2, padding=1,
        ...                     output_padding=1).shape
        (1, 2, 10, 10)
    """
    name = "conv_transpose2d"
    x, weight = integer_as_float(x, weight), integer_as_float(weight, x)
    _check_tensors(x, weight, bias, groups, name, 2, "(N, C, H, W)")
    c_in, c_out_per_group = weight.shape[:2]
    if x.shape[1] != c_in:
        raise ValueError(f"{name}: input of shape {tuple(x.shape)} has {x.shape[1]} channels, "
                         f"but weight of shape {tuple(weight.shape)} expects {c_in} input "
                         f"channels (weight.shape[0])")
    _check_groups(c_in, "input channels", groups, name, x, weight)
    c_out = c_out_per_group * groups
    if bias is not None and bias.shape[0] != c_out:
        raise ValueError(f"{name}: bias of shape {tuple(bias.shape)} does not fit weight of "
                         f"shape {tuple(weight.shape)} with groups={groups}: expected "
                         f"({c_out},)")
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or a pair of ints, got {padding!r}")
    stride = int_pair(stride, "stride", name, 1)
    dilation = int_pair(dilation, "dilation", name, 1)
    ph, pw = int_pair(padding, "padding", name, 0)
    extra = int_pair(output_padding, "output_padding", name, 0)
    if extra[0] >= stride[0] or extra[1] >= stride[1]:
        raise ValueError(f"{name}: output_padding {output_padding!r} must be smaller than "
                         f"the stride {stride}")
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + e + 1 for size, s, p, d, k, e in
                   zip(x.shape[2:], stride, (ph, pw), dilation, weight.shape[2:], extra))
    if min(out_hw) < 1:
        raise ValueError(f"{name}: padding {padding!r} crops the whole output (size {out_hw}) "
                         f"for input shape {tuple(x.shape)} and weight shape "
                         f"{tuple(weight.shape)}; use less padding")
    geometry = Geometry(stride, (ph, ph, pw, pw), dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*inputs, geometry=geometry, groups=groups, out_hw=out_hw)
