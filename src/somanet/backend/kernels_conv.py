"""im2col and col2im, the memory-bound halves of a convolution: a numba kernel on the
CPU when numba is installed, a CUDA kernel on GPUs (CuPy), plain ``xp`` code otherwise.

Both implementations have one contract, checked against each other in
``tests/backend/test_kernels_conv.py``:

- ``im2col(x, kernel_hw, stride, padding, dilation, merged)``: every window of the
  zero-padded ``x (N, C, H, W)`` as a column, rows ordered channel, kernel row,
  kernel column. Two layouts: per sample, ``cols (N, C*kh*kw, Ho*Wo)`` (one matrix
  a sample), or with ``merged=True`` the batch merged into the columns,
  ``cols (C*kh*kw, N*Ho*Wo)``, columns ordered sample, output row, output column
  (one matrix for the whole batch, so a convolution is one large GEMM).
- ``col2im(cols, x_shape, kernel_hw, stride, padding, dilation, merged=...)``: the
  adjoint, each column added back into the window it came from; ``(N, C, H, W)``.

``padding`` is ``(top, bottom, left, right)``; ``stride`` and ``dilation`` are pairs.

Why numba here: the NumPy versions copy or add one kernel offset at a time on
strided views and pay per contiguous run (one output row), which compiled loops do
not. The kernels are parallel between BLAS calls (see ``_build``) and
compile on first use (cached on disk afterwards); the merged layout's walk a block of
samples at a time (``_block``), so their input planes stay in cache. On a GPU one
thread computes one element of the result (``_build_cuda``), col2im as a gather (each
input element sums the columns that read it), so no two threads write one element.
"""
import numpy

from .arrays import xp_of
from .cuda import cuda_compiled, lazy_cuda_kernels
from .jit import compiled, lazy_kernels, parallel


def _build(numba):
    """Compile the kernels (on first use; numba caches them on disk).

    A window row whose columns all fall inside the input with stride 1 (``inside``)
    is a plain contiguous copy (add), which LLVM vectorises; the other rows test each
    column.

    The loops are parallel (``prange``, ``jit.parallel``) over what each iteration
    writes alone: (sample, channel) planes per sample, so that a single large sample
    still uses every core; channels in the merged layout (within a block).
    They run before or after a GEMM, never during one, so BLAS's threads are idle.
    """
    prange = numba.prange
    options = dict(cache=True, nogil=True, parallel=parallel(numba))

    @numba.njit(**options)
    def im2col_kernel(x, kh, kw, sh, sw, dh, dw, top, left, cols):
        """cols (N, C, kh, kw, Ho, Wo): per sample."""
        n_batch, channels, h, w = x.shape
        ho, wo = cols.shape[4], cols.shape[5]
        for task in prange(n_batch * channels):
            n, c = task // channels, task % channels
            for p in range(kh):
                for q in range(kw):
                    off = q * dw - left
                    inside = sw == 1 and off >= 0 and off + wo <= w
                    for i in range(ho):
                        r = i * sh + p * dh - top
                        if r < 0 or r >= h:
                            for j in range(wo):
                                cols[n, c, p, q, i, j] = 0
                        elif inside:
                            for j in range(wo):
                                cols[n, c, p, q, i, j] = x[n, c, r, off + j]
                        else:
                            for j in range(wo):
                                s = j * sw + off
                                cols[n, c, p, q, i, j] = x[n, c, r, s] if 0 <= s < w else 0

    @numba.njit(**options)
    def im2col_merged_kernel(x, kh, kw, sh, sw, dh, dw, top, left, block, cols):
        """cols (C, kh, kw, N, Ho, Wo): the batch merged, ``block`` samples at a time."""
        n_batch, channels, h, w = x.shape
        ho, wo = cols.shape[4], cols.shape[5]
        for first in range(0, n_batch, block):
            last = min(first + block, n_batch)
            for c in prange(channels):
                for p in range(kh):
                    for q in range(kw):
                        off = q * dw - left
                        inside = sw == 1 and off >= 0 and off + wo <= w
                        for n in range(first, last):
                            for i in range(ho):
                                r = i * sh + p * dh - top
                                if r < 0 or r >= h:
                                    for j in range(wo):
                                        cols[c, p, q, n, i, j] = 0
                                elif inside:
                                    for j in range(wo):
                                        cols[c, p, q, n, i, j] = x[n, c, r, off + j]
                                else:
                                    for j in range(wo):
                                        s = j * sw + off
                                        cols[c, p, q, n, i, j] = \
                                            x[n, c, r, s] if 0 <= s < w else 0

    @numba.njit(**options)
    def col2im_kernel(cols, kh, kw, sh, sw, dh, dw, top, left, out):
        """cols (N, C, kh, kw, Ho, Wo): per sample."""
        n_batch, channels, h, w = out.shape
        ho, wo = cols.shape[4], cols.shape[5]
        for task in prange(n_batch * channels):
            n, c = task // channels, task % channels
            plane = out[n, c]
            plane[...] = 0
            for p in range(kh):
                for q in range(kw):
                    off = q * dw - left
                    inside = sw == 1 and off >= 0 and off + wo <= w
                    for i in range(ho):
                        r = i * sh + p * dh - top
                        if r < 0 or r >= h:
                            continue
                        if inside:
                            for j in range(wo):
                                plane[r, off + j] += cols[n, c, p, q, i, j]
                        else:
                            for j in range(wo):
                                s = j * sw + off
                                if 0 <= s < w:
                                    plane[r, s] += cols[n, c, p, q, i, j]

    @numba.njit(**options)
    def col2im_merged_kernel(cols, kh, kw, sh, sw, dh, dw, top, left, block, out):
        """cols (C, kh, kw, N, Ho, Wo): the batch merged, ``block`` samples at a time."""
        n_batch, channels, h, w = out.shape
        ho, wo = cols.shape[4], cols.shape[5]
        for first in range(0, n_batch, block):
            last = min(first + block, n_batch)
            for c in prange(channels):
                for n in range(first, last):
                    out[n, c] = 0
                for p in range(kh):
                    for q in range(kw):
                        off = q * dw - left
                        inside = sw == 1 and off >= 0 and off + wo <= w
                        for n in range(first, last):
                            for i in range(ho):
                                r = i * sh + p * dh - top
                                if r < 0 or r >= h:
                                    continue
                                if inside:
                                    for j in range(wo):
                                        out[n, c, r, off + j] += cols[c, p, q, n, i, j]
                                else:
                                    for j in range(wo):
                                        s = j * sw + off
                                        if 0 <= s < w:
                                            out[n, c, r, s] += cols[c, p, q, n, i, j]

    return (im2col_kernel, col2im_kernel, im2col_merged_kernel, col2im_merged_kernel)


# The merged kernels handle about this many output positions (samples * Ho * Wo) of a
# row at a time: their input planes stay in L1/L2 (see the module docstring).
BLOCK_POSITIONS = 4096


# The geometry every CUDA kernel here takes after its input, as int32 scalars.
_GEOMETRY = ("int32 batch, int32 channels, int32 h, int32 w, int32 kh, int32 kw, int32 sh, "
             "int32 sw, int32 dh, int32 dw, int32 top, int32 left, int32 ho, int32 wo, "
             "bool merged")


def _build_cuda(cupy):
    """The CUDA kernels (CuPy compiles them on first launch): one thread an element of
    the columns (im2col) or of the image (col2im). Index arithmetic is in ptrdiff_t:
    a column array can pass 2**31 elements."""
    im2col = cupy.ElementwiseKernel(
        "raw T x, " + _GEOMETRY, "T col",
        """
        ptrdiff_t rest = i;
        const int oj = rest % wo; rest /= wo;
        const int oi = rest % ho; rest /= ho;
        int n, c, p, q;
        if (merged) {  // (C, kh, kw, N, Ho, Wo)
            n = rest % batch; rest /= batch;
            q = rest % kw; rest /= kw;
            p = rest % kh; c = rest / kh;
        } else {  // (N, C, kh, kw, Ho, Wo)
            q = rest % kw; rest /= kw;
            p = rest % kh; rest /= kh;
            c = rest % channels; n = rest / channels;
        }
        const int y = oi * sh + p * dh - top, xx = oj * sw + q * dw - left;
        col = (0 <= y && y < h && 0 <= xx && xx < w)
            ? x[((ptrdiff_t)n * channels + c) * h * w + (ptrdiff_t)y * w + xx] : (T)0;
        """, "somanet_im2col")
    col2im = cupy.ElementwiseKernel(
        "raw T cols, " + _GEOMETRY, "T image",
        """
        ptrdiff_t rest = i;
        const int xx = rest % w + left; rest /= w;
        const int y = rest % h + top; rest /= h;
        const int c = rest % channels, n = rest / channels;
        T sum = 0;
        for (int p = 0; p < kh; ++p) {
            const int ty = y - p * dh;  // the window row oi = ty / sh reads y
            if (ty < 0 || ty % sh != 0 || ty / sh >= ho) continue;
            const int oi = ty / sh;
            for (int q = 0; q < kw; ++q) {
                const int tx = xx - q * dw;
                if (tx < 0 || tx % sw != 0 || tx / sw >= wo) continue;
                const ptrdiff_t row = merged
                    ? (((ptrdiff_t)c * kh + p) * kw + q) * batch + n
                    : (((ptrdiff_t)n * channels + c) * kh + p) * kw + q;
                sum += cols[(row * ho + oi) * wo + tx / sw];
            }
        }
        image = sum;
        """, "somanet_col2im")
    return im2col, col2im


def _geometry(x_shape, kernel_hw, stride, padding, dilation, out_hw, merged):
    """The ``_GEOMETRY`` scalars."""
    return (*x_shape, *kernel_hw, *stride, *dilation, padding[0], padding[2], *out_hw,
            bool(merged))


def _block(n, positions):
    """Samples per block of the merged kernels."""
    return max(1, min(n, BLOCK_POSITIONS // max(positions, 1)))


_kernels = lazy_kernels(_build)
_cuda_kernels = lazy_cuda_kernels(_build_cuda)


def output_size(in_hw, kernel_hw, stride, padding, dilation):
    """(Ho, Wo) of the windows: ``(H + top + bottom - d*(k-1) - 1) // s + 1`` per axis."""
    return tuple((in_hw[a] + padding[2 * a] + padding[2 * a + 1]
                  - dilation[a] * (kernel_hw[a] - 1) - 1) // stride[a] + 1 for a in (0, 1))


def im2col(x, kernel_hw, stride, padding, dilation, merged=False):
    """Every window of the padded ``x`` as a column (see the module docstring).

    Args:
        merged: the batch merged into the columns (one matrix) instead of one
            matrix per sample.

    Shape: x (N, C, H, W) -> (N, C*kh*kw, Ho*Wo), or (C*kh*kw, N*Ho*Wo) when ``merged``.
    """
    kernels = compiled(_kernels, x, contiguous=False)
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = kernel_hw, output_size(x.shape[2:], kernel_hw, stride, padding,
                                                dilation)
    if kernels is None:
        cuda = cuda_compiled(_cuda_kernels, x, contiguous=False)
        if cuda is None:
            return im2col_xp(x, kernel_hw, stride, padding, dilation, merged)
        xp = xp_of(x)
        cols = xp.empty((c * kh * kw, n * ho * wo) if merged else (n, c * kh * kw, ho * wo),
                        x.dtype)
        cuda[0](xp.ascontiguousarray(x), *_geometry(x.shape, kernel_hw, stride, padding,
                                                    dilation, (ho, wo), merged), cols)
        return cols
    x = numpy.ascontiguousarray(x)
    if merged:
        cols = numpy.empty((c, kh, kw, n, ho, wo), x.dtype)
        kernels[2](x, kh, kw, *stride, *dilation, padding[0], padding[2], _block(n, ho * wo),
                   cols)
        return cols.reshape(c * kh * kw, n * ho * wo)
    cols = numpy.empty((n, c, kh, kw, ho, wo), x.dtype)
    kernels[0](x, kh, kw, *stride, *dilation, padding[0], padding[2], cols)
    return cols.reshape(n, c * kh * kw, ho * wo)


def col2im(cols, x_shape, kernel_hw, stride, padding, dilation, out=None, merged=False):
    """Add each column back into its window: the adjoint of ``im2col``.

    Args:
        out: a C-contiguous array of ``x_shape`` to write the result into, or None.
        merged: ``cols`` has the batch merged into its columns (see ``im2col``).

    Shape: cols (N, C*kh*kw, Ho*Wo), or (C*kh*kw, N*Ho*Wo) when ``merged``,
    -> x_shape (N, C, H, W).
    """
    kernels = compiled(_kernels, cols, contiguous=False)
    n, c = x_shape[:2]
    (kh, kw), (ho, wo) = kernel_hw, output_size(x_shape[2:], kernel_hw, stride, padding,
                                                dilation)
    if kernels is None:
        cuda = cuda_compiled(_cuda_kernels, cols, contiguous=False)
        if cuda is None or out is not None and not out.flags.c_contiguous:
            return col2im_xp(cols, x_shape, kernel_hw, stride, padding, dilation, out, merged)
        xp = xp_of(cols)
        if out is None:
            out = xp.empty(x_shape, cols.dtype)
        cuda[1](xp.ascontiguousarray(cols), *_geometry(x_shape, kernel_hw, stride, padding,
                                                       dilation, (ho, wo), merged), out)
        return out
    if out is None:
        out = numpy.empty(x_shape, cols.dtype)
    cols = numpy.ascontiguousarray(cols)
    if merged:
        kernels[3](cols.reshape(c, kh, kw, n, ho, wo), kh, kw, *stride, *dilation, padding[0],
                   padding[2], _block(n, ho * wo), out)
    else:
        kernels[1](cols.reshape(n, c, kh, kw, ho, wo), kh, kw, *stride, *dilation, padding[0],
                   padding[2], out)
    return out


def im2col_xp(x, kernel_hw, stride, padding, dilation, merged=False):
    """``im2col`` in array operations: a strided view of every window, copied once."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    kh, kw = kernel_hw
    top, bottom, left, right = padding
    if top or bottom or left or right:
        padded = xp.zeros((n, c, h + top + bottom, w + left + right), x.dtype)
        padded[:, :, top:top + h, left:left + w] = x
    else:
        padded = x
    ho, wo = output_size((h, w), kernel_hw, stride, padding, dilation)
    (sh, sw), (dh, dw) = stride, dilation
    s = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, (n, c, kh, kw, ho, wo), (s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw))
    if merged:
        return xp.ascontiguousarray(windows.transpose(1, 2, 3, 0, 4, 5)).reshape(
            c * kh * kw, n * ho * wo)
    return xp.ascontiguousarray(windows).reshape(n, c * kh * kw, ho * wo)


def col2im_xp(cols, x_shape, kernel_hw, stride, padding, dilation, out=None, merged=False):
    """``col2im`` in array operations: one strided ``+=`` per kernel offset (kh*kw)."""
    xp = xp_of(cols)
    n, c, h, w = x_shape
    kh, kw = kernel_hw
    top, bottom, left, right = padding
    ho, wo = output_size((h, w), kernel_hw, stride, padding, dilation)
    (sh, sw), (dh, dw) = stride, dilation
    if merged:  # (c, kh, kw, n, ho, wo), viewed per sample
        cols = cols.reshape(c, kh, kw, n, ho, wo).transpose(3, 0, 1, 2, 4, 5)
    else:
        cols = cols.reshape(n, c, kh, kw, ho, wo)
    padded = xp.zeros((n, c, h + top + bottom, w + left + right), cols.dtype)
    for p in range(kh):
        rows = slice(p * dh, p * dh + sh * (ho - 1) + 1, sh)
        for q in range(kw):
            padded[:, :, rows, q * dw:q * dw + sw * (wo - 1) + 1:sw] += cols[:, :, p, q]
    if out is None:
        return xp.ascontiguousarray(padded[:, :, top:top + h, left:left + w])
    out[...] = padded[:, :, top:top + h, left:left + w]
    return out
