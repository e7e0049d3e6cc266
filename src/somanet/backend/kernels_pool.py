"""Max and average pooling, forward and backward: a numba kernel on the CPU when numba
is installed, a CUDA kernel on GPUs (CuPy), plain ``xp`` code otherwise.

Both implementations have one contract, checked against each other in
``tests/backend/test_kernels_pool.py``. A ``kh x kw`` window (its elements ``d`` apart)
slides with stride ``s`` over ``x (N, C, H, W)`` padded by ``pads = ((top, bottom),
(left, right))`` (bottom/right may include the extra padding of a ``ceil_mode`` window);
output ``(i, j)`` reduces ``x_pad[n, c, i*s + p*d, j*s + q*d]`` over ``0 <= p < kh,
0 <= q < kw``:

- ``max_pool(x, kernel, stride, pads, dilation, out_hw)``: ``(out, index)``, both
  ``(N, C, Ho, Wo)``; padding counts as -inf; ``index`` (uint8, int32 past 256 kernel
  offsets) is the winning offset ``p*kw + q``: the first maximum in row-major window
  order (as PyTorch), so ties send the gradient to one element. A NaN makes the output
  NaN and freezes the index at the maximum before it (NumPy's ``maximum`` and ``>``).
- ``max_pool_backward(grad, index, in_hw, kernel, stride, pads, dilation)``:
  ``dx[window's argmax] += grad``; ``(N, C, H, W)``.
- ``avg_pool(x, kernel, stride, pads, out_hw, divisor)``: the window's sum (padding 0)
  over ``divisor``, an int or an ``(Ho, Wo)`` array.
- ``avg_pool_backward(grad, in_hw, kernel, stride, pads, divisor)``: ``dx[each element
  of a window] += grad / divisor``.

Why numba here, and where: the NumPy versions make one whole-array pass per kernel
offset on strided views (kh*kw passes over the output, each paying per contiguous
run). The 2x2 stride-2 window that fits the input (LeNet's, most CNNs') has compiled
loops forward and backward, which read each input element once and write each
gradient element once (after zeroing its two rows in cache, for max). Other windows:
average pooling is separable, so an output row is two passes, the window's input rows
summed into one row with a contiguous (vectorised) loop, then kw of its columns per
output (backward the same reversed); max pooling backward is a scatter of each
gradient to its argmax. Max pooling forward of other windows stays on the array
version: compiled loops (per window, or separable with the first-maximum rule) measured
no faster, their compares on random data being unpredictable branches. The kernels are
sequential (threads would fight BLAS's for the cores) and compile on first use (cached
on disk afterwards). On a GPU one thread computes one output element (``_build_cuda``),
and the backward kernels gather (each input element sums the windows that hold it), so
no two threads write one element.
"""
import math

import numpy

from .arrays import xp_of
from .cuda import cuda_compiled, lazy_cuda_kernels
from .jit import compiled, lazy_kernels


def _build(numba):
    """Compile the kernels (on first use; numba caches them on disk)."""

    @numba.njit(cache=True, nogil=True, inline="always")
    def step(m, t, v, u):
        """The running maximum m (at offset t) after element v (at u), NaN included."""
        if v > m:
            return v, u
        if v != v:  # NaN: taken, then kept (nothing is > NaN)
            return v, t
        return m, t

    @numba.njit(cache=True, nogil=True)
    def max_2x2_kernel(x, out, index):
        """2x2 windows, stride 2, every window inside x. Selects without the NaN test
        (which stops LLVM turning the branches into selects: 3x slower on random data),
        and ``step`` for a window whose sum is NaN (a NaN, or inf - inf)."""
        n_batch, channels = x.shape[:2]
        ho, wo = out.shape[2], out.shape[3]
        for n in range(n_batch):
            for c in range(channels):
                for i in range(ho):
                    top_row, bottom_row = x[n, c, 2 * i], x[n, c, 2 * i + 1]
                    best, at = out[n, c, i], index[n, c, i]
                    for j in range(wo):
                        x00, x01 = top_row[2 * j], top_row[2 * j + 1]
                        x10, x11 = bottom_row[2 * j], bottom_row[2 * j + 1]
                        total = x00 + x01 + x10 + x11
                        if total != total:
                            m, t = step(x00, 0, x01, 1)
                            m, t = step(m, t, x10, 2)
                            m, t = step(m, t, x11, 3)
                        else:
                            m, t = x00, 0
                            m, t = (x01, 1) if x01 > m else (m, t)
                            m, t = (x10, 2) if x10 > m else (m, t)
                            m, t = (x11, 3) if x11 > m else (m, t)
                        best[j] = m
                        at[j] = t

    @numba.njit(cache=True, nogil=True)
    def max_backward_kernel(grad, index, kh, kw, sh, sw, dh, dw, top, left, dx):
        """Any window: dx zeroed, then each gradient added at its argmax."""
        n_batch, channels, h, w = dx.shape
        ho, wo = grad.shape[2], grad.shape[3]
        for n in range(n_batch):
            for c in range(channels):
                plane = dx[n, c]
                plane[...] = 0
                for i in range(ho):
                    for j in range(wo):
                        t = index[n, c, i, j]
                        r = i * sh + (t // kw) * dh - top
                        s = j * sw + (t % kw) * dw - left
                        if 0 <= r < h and 0 <= s < w:  # else a window of padding only
                            plane[r, s] += grad[n, c, i, j]

    @numba.njit(cache=True, nogil=True)
    def max_2x2_backward_kernel(grad, index, dx):
        """2x2 windows, stride 2, every window inside dx. The window's two rows are
        zeroed (in cache) and the gradient stored at the argmax: selecting per element
        instead is 4x slower."""
        n_batch, channels, h, w = dx.shape
        ho, wo = grad.shape[2], grad.shape[3]
        for n in range(n_batch):
            for c in range(channels):
                plane = dx[n, c]
                for i in range(ho):
                    plane[2 * i:2 * i + 2] = 0
                    g, at = grad[n, c, i], index[n, c, i]
                    for j in range(wo):
                        t = at[j]
                        plane[2 * i + (t >> 1), 2 * j + (t & 1)] = g[j]
                plane[2 * ho:] = 0

    @numba.njit(cache=True, nogil=True)
    def avg_kernel(x, kh, kw, sh, sw, top, left, scale, out):
        """Any window, in two passes an output row: the window rows summed into
        ``column`` (contiguous, vectorised), then kw of its columns per output."""
        n_batch, channels, h, w = x.shape
        ho, wo = out.shape[2], out.shape[3]
        column = numpy.empty(w, x.dtype)
        zero = numpy.zeros(1, x.dtype)[0]  # of x's dtype, so the sum stays in it
        for n in range(n_batch):
            for c in range(channels):
                for i in range(ho):
                    column[:] = 0
                    for p in range(kh):
                        r = i * sh + p - top
                        if 0 <= r < h:
                            row = x[n, c, r]
                            for s in range(w):
                                column[s] += row[s]
                    total = out[n, c, i]
                    for j in range(wo):
                        start = j * sw - left
                        acc = zero
                        for q in range(max(0, -start), min(kw, w - start)):
                            acc += column[start + q]
                        total[j] = acc * scale[i, j]

    @numba.njit(cache=True, nogil=True)
    def avg_backward_kernel(grad, kh, kw, sh, sw, top, left, scale, dx):
        """Any window: ``avg_kernel``'s passes reversed, per output row."""
        n_batch, channels, h, w = dx.shape
        ho, wo = grad.shape[2], grad.shape[3]
        column = numpy.empty(w, dx.dtype)
        for n in range(n_batch):
            for c in range(channels):
                plane = dx[n, c]
                plane[...] = 0
                for i in range(ho):
                    column[:] = 0
                    for j in range(wo):
                        start, share = j * sw - left, grad[n, c, i, j] * scale[i, j]
                        for q in range(max(0, -start), min(kw, w - start)):
                            column[start + q] += share
                    for p in range(kh):
                        r = i * sh + p - top
                        if 0 <= r < h:
                            row = plane[r]
                            for s in range(w):
                                row[s] += column[s]

    @numba.njit(cache=True, nogil=True)
    def avg_2x2_kernel(x, scale, out):
        """2x2 windows, stride 2, every window inside x."""
        n_batch, channels = x.shape[:2]
        ho, wo = out.shape[2], out.shape[3]
        for n in range(n_batch):
            for c in range(channels):
                for i in range(ho):
                    top_row, bottom_row = x[n, c, 2 * i], x[n, c, 2 * i + 1]
                    total = out[n, c, i]
                    for j in range(wo):
                        total[j] = (top_row[2 * j] + top_row[2 * j + 1] + bottom_row[2 * j]
                                    + bottom_row[2 * j + 1]) * scale[i, j]

    @numba.njit(cache=True, nogil=True)
    def avg_2x2_backward_kernel(grad, scale, dx):
        """2x2 windows, stride 2, every window inside dx: each element written once."""
        n_batch, channels, h, w = dx.shape
        ho, wo = grad.shape[2], grad.shape[3]
        for n in range(n_batch):
            for c in range(channels):
                plane = dx[n, c]
                for i in range(ho):
                    top_row, bottom_row = plane[2 * i], plane[2 * i + 1]
                    g = grad[n, c, i]
                    for j in range(wo):
                        v = g[j] * scale[i, j]
                        top_row[2 * j] = top_row[2 * j + 1] = v
                        bottom_row[2 * j] = bottom_row[2 * j + 1] = v
                    top_row[2 * wo:] = 0
                    bottom_row[2 * wo:] = 0
                plane[2 * ho:] = 0

    return max_2x2_kernel, max_2x2_backward_kernel, max_backward_kernel, avg_2x2_kernel, \
        avg_2x2_backward_kernel, avg_kernel, avg_backward_kernel


# What every CUDA kernel here takes after its arrays: the window's geometry
_GEOMETRY = ("int32 h, int32 w, int32 kh, int32 kw, int32 sh, int32 sw, int32 dh, int32 dw, "
             "int32 top, int32 left, int32 ho, int32 wo")

# The windows (i, j) whose element (p, q) is input (y, x), for a backward thread: row
# i*sh + p*dh - top == y for some 0 <= i < ho, likewise the column.
_WINDOWS_OF_ELEMENT = """
        ptrdiff_t rest = i;
        const int xx = rest % w; rest /= w;
        const int y = rest % h;
        const ptrdiff_t plane = rest / h;
        T sum = 0;
        for (int p = 0; p < kh; ++p) {
            const int ty = y + top - p * dh;
            if (ty < 0 || ty % sh != 0 || ty / sh >= ho) continue;
            for (int q = 0; q < kw; ++q) {
                const int tx = xx + left - q * dw;
                if (tx < 0 || tx % sw != 0 || tx / sw >= wo) continue;
                const ptrdiff_t at = (plane * ho + ty / sh) * wo + tx / sw;
"""


def _build_cuda(cupy):
    """The CUDA kernels (CuPy compiles them on first launch): forward, one thread an
    output; backward, one thread an input element, summing over the windows that hold
    it. ``lowest`` is -inf (padding's value for max)."""
    window = """
        ptrdiff_t rest = i;
        const int oj = rest % wo; rest /= wo;
        const int oi = rest % ho;
        const T* const source = &x[(rest / ho) * h * w];
    """
    max_pool = cupy.ElementwiseKernel(
        "raw T x, T lowest, " + _GEOMETRY, "T out, I index",
        window + """
        T m = lowest;
        int t = 0;
        for (int p = 0; p < kh; ++p) {
            const int y = oi * sh + p * dh - top;
            for (int q = 0; q < kw; ++q) {
                const int xx = oj * sw + q * dw - left;
                const T v = (0 <= y && y < h && 0 <= xx && xx < w) ? source[y * w + xx]
                                                                   : lowest;
                if (v > m) { m = v; t = p * kw + q; }
                else if (v != v) { m = v; }  // NaN: taken, then kept (nothing is > NaN)
            }
        }
        out = m;
        index = t;
        """, "somanet_max_pool")
    max_pool_backward = cupy.ElementwiseKernel(
        "raw T grad, raw I index, " + _GEOMETRY, "T dx",
        _WINDOWS_OF_ELEMENT + """
                if (index[at] == p * kw + q) sum += grad[at];
            }
        }
        dx = sum;
        """, "somanet_max_pool_backward")
    avg_pool = cupy.ElementwiseKernel(
        "raw T x, raw T scale, " + _GEOMETRY, "T out",
        window + """
        T sum = 0;
        for (int p = 0; p < kh; ++p) {
            const int y = oi * sh + p * dh - top;
            if (y < 0 || y >= h) continue;
            for (int q = 0; q < kw; ++q) {
                const int xx = oj * sw + q * dw - left;
                if (0 <= xx && xx < w) sum += source[y * w + xx];
            }
        }
        out = sum * scale[oi * wo + oj];
        """, "somanet_avg_pool")
    avg_pool_backward = cupy.ElementwiseKernel(
        "raw T grad, raw T scale, " + _GEOMETRY, "T dx",
        _WINDOWS_OF_ELEMENT + """
                sum += grad[at] * scale[at % (ho * wo)];
            }
        }
        dx = sum;
        """, "somanet_avg_pool_backward")
    return max_pool, max_pool_backward, avg_pool, avg_pool_backward


_kernels = lazy_kernels(_build)
_cuda_kernels = lazy_cuda_kernels(_build_cuda)


def _cuda_geometry(in_hw, kernel, stride, pads, dilation, out_hw):
    """The ``_GEOMETRY`` scalars."""
    return (*in_hw, *kernel, *stride, *dilation, pads[0][0], pads[1][0], *out_hw)


def _is_2x2(kernel, stride, pads, dilation, in_hw, out_hw):
    """The specialised case: 2x2 windows, stride 2, no dilation, all inside the input."""
    ((top, _), (left, _)), (h, w), (ho, wo) = pads, in_hw, out_hw
    return (kernel == (2, 2) and stride == (2, 2) and dilation == (1, 1) and top == left == 0
            and 2 * ho <= h and 2 * wo <= w)


def _index_type(kernel):
    return numpy.uint8 if kernel[0] * kernel[1] <= 256 else numpy.int32


def _scale(divisor, out_hw, dtype, xp=numpy):
    """1 / divisor for each output, an (Ho, Wo) array of ``dtype`` on ``xp``."""
    if isinstance(divisor, int):
        return xp.full(out_hw, 1 / divisor, dtype)
    return (1 / xp.asarray(divisor, dtype)).astype(dtype, copy=False)


def max_pool(x, kernel, stride, pads, dilation, out_hw):
    """The maximum of each window and the offset that holds it (see the module docstring).

    Shape: x (N, C, H, W) -> out (N, C, Ho, Wo), index (N, C, Ho, Wo).
    """
    kernels = compiled(_kernels, x, contiguous=False)
    cuda = kernels is None and cuda_compiled(_cuda_kernels, x, contiguous=False)
    if cuda:
        xp = xp_of(x)
        out = xp.empty(x.shape[:2] + tuple(out_hw), x.dtype)
        index = xp.empty(out.shape, _index_type(kernel))
        cuda[0](xp.ascontiguousarray(x), x.dtype.type(-math.inf),
                *_cuda_geometry(x.shape[2:], kernel, stride, pads, dilation, out_hw), out, index)
        return out, index
    if kernels is None or not _is_2x2(kernel, stride, pads, dilation, x.shape[2:], out_hw):
        return max_pool_xp(x, kernel, stride, pads, dilation, out_hw)
    x = numpy.ascontiguousarray(x)
    out = numpy.empty(x.shape[:2] + tuple(out_hw), x.dtype)
    index = numpy.empty(out.shape, _index_type(kernel))
    kernels[0](x, out, index)
    return out, index


def max_pool_backward(grad, index, in_hw, kernel, stride, pads, dilation):
    """Each output's gradient added to its window's maximum.

    Shape: grad, index (N, C, Ho, Wo) -> (N, C, H, W).
    """
    kernels = compiled(_kernels, grad, contiguous=False)
    cuda = kernels is None and cuda_compiled(_cuda_kernels, grad, contiguous=False)
    if cuda:
        xp = xp_of(grad)
        dx = xp.empty(grad.shape[:2] + tuple(in_hw), grad.dtype)
        cuda[1](xp.ascontiguousarray(grad), xp.ascontiguousarray(index),
                *_cuda_geometry(in_hw, kernel, stride, pads, dilation, grad.shape[2:]), dx)
        return dx
    if kernels is None:
        return max_pool_backward_xp(grad, index, in_hw, kernel, stride, pads, dilation)
    grad, index = numpy.ascontiguousarray(grad), numpy.ascontiguousarray(index)
    dx = numpy.empty(grad.shape[:2] + tuple(in_hw), grad.dtype)
    if _is_2x2(kernel, stride, pads, dilation, in_hw, grad.shape[2:]):
        kernels[1](grad, index, dx)
    else:
        kernels[2](grad, index, *kernel, *stride, *dilation, pads[0][0], pads[1][0], dx)
    return dx


def avg_pool(x, kernel, stride, pads, out_hw, divisor):
    """Each window's sum over ``divisor`` (an int or an (Ho, Wo) array).

    Shape: x (N, C, H, W) -> (N, C, Ho, Wo).
    """
    kernels = compiled(_kernels, x, contiguous=False)
    cuda = kernels is None and cuda_compiled(_cuda_kernels, x, contiguous=False)
    if cuda:
        xp = xp_of(x)
        out = xp.empty(x.shape[:2] + tuple(out_hw), x.dtype)
        cuda[2](xp.ascontiguousarray(x), _scale(divisor, out_hw, x.dtype, xp),
                *_cuda_geometry(x.shape[2:], kernel, stride, pads, (1, 1), out_hw), out)
        return out
    if kernels is None:
        return avg_pool_xp(x, kernel, stride, pads, out_hw, divisor)
    x = numpy.ascontiguousarray(x)
    out = numpy.empty(x.shape[:2] + tuple(out_hw), x.dtype)
    scale = _scale(divisor, out_hw, x.dtype)
    if _is_2x2(kernel, stride, pads, (1, 1), x.shape[2:], out_hw):
        kernels[3](x, scale, out)
    else:
        kernels[5](x, *kernel, *stride, pads[0][0], pads[1][0], scale, out)
    return out


def avg_pool_backward(grad, in_hw, kernel, stride, pads, divisor):
    """Each output's gradient over ``divisor``, spread over its window.

    Shape: grad (N, C, Ho, Wo) -> (N, C, H, W).
    """
    kernels = compiled(_kernels, grad, contiguous=False)
    cuda = kernels is None and cuda_compiled(_cuda_kernels, grad, contiguous=False)
    if cuda:
        xp = xp_of(grad)
        dx = xp.empty(grad.shape[:2] + tuple(in_hw), grad.dtype)
        cuda[3](xp.ascontiguousarray(grad), _scale(divisor, grad.shape[2:], grad.dtype, xp),
                *_cuda_geometry(in_hw, kernel, stride, pads, (1, 1), grad.shape[2:]), dx)
        return dx
    if kernels is None:
        return avg_pool_backward_xp(grad, in_hw, kernel, stride, pads, divisor)
    grad = numpy.ascontiguousarray(grad)
    dx = numpy.empty(grad.shape[:2] + tuple(in_hw), grad.dtype)
    scale = _scale(divisor, grad.shape[2:], grad.dtype)
    if _is_2x2(kernel, stride, pads, (1, 1), in_hw, grad.shape[2:]):
        kernels[4](grad, scale, dx)
    else:
        kernels[6](grad, *kernel, *stride, pads[0][0], pads[1][0], scale, dx)
    return dx


# The array versions: one whole-array operation per kernel offset (p, q), each on the
# strided view x_pad[:, :, p::s, q::s] (the offset's element of every window at once).
# This is faster than reshaping to (..., kh, ..., kw) and reducing (NumPy is slow on
# short inner axes) or an argmax over a windowed copy.


def _window(array, p, q, out_hw, stride):
    """Element (p, q) of every window: ``array[:, :, p::sh, q::sw]`` cut to out_hw (p and q
    are offsets in the padded array: the kernel offset times the dilation)."""
    (ho, wo), (sh, sw) = out_hw, stride
    return array[:, :, p:p + sh * (ho - 1) + 1:sh, q:q + sw * (wo - 1) + 1:sw]


def _padded(x, pads, value):
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right):
        return x
    return xp_of(x).pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="constant",
                        constant_values=value)


def _offsets(kernel, dilation=(1, 1)):
    """The kernel offsets (p, q) in row-major order, times the dilation."""
    return [(p * dilation[0], q * dilation[1]) for p in range(kernel[0])
            for q in range(kernel[1])]


def _disjoint(kernel, stride, dilation):
    """True when no two windows share an element (stride >= the dilated kernel)."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def _gradient_buffer(grad, in_hw, kernel, stride, pads, dilation):
    """A zeroed (or, when every element is written once, empty) padded-input-sized
    gradient."""
    xp = xp_of(grad)
    ((top, bottom), (left, right)), (h, w) = pads, in_hw
    shape = grad.shape[:2] + (h + top + bottom, w + left + right)
    (kh, kw), (ho, wo) = kernel, grad.shape[2:]
    covered = tuple(stride) == tuple(kernel) and tuple(dilation) == (1, 1) and \
        (ho * kh, wo * kw) == shape[2:]
    return xp.empty(shape, grad.dtype) if covered else xp.zeros(shape, grad.dtype)


def _unpadded(grad_padded, in_hw, pads):
    ((top, _), (left, _)), (h, w) = pads, in_hw
    return grad_padded[:, :, top:top + h, left:left + w]


def max_pool_xp(x, kernel, stride, pads, dilation, out_hw):
    """``max_pool`` in array operations (kh*kw passes)."""
    xp = xp_of(x)
    padded = _padded(x, pads, -math.inf)
    offsets = _offsets(kernel, dilation)
    index_type = xp.uint8 if len(offsets) <= 256 else xp.int32
    out = index = None
    for t, (p, q) in enumerate(offsets):
        window = _window(padded, p, q, out_hw, stride)
        if out is None:
            out = window.copy()
            index = xp.zeros(out.shape, index_type)
            continue
        # Offsets come in increasing t, so the last t that beat the running maximum
        # is the largest such t: the argmax is a running maximum of t*better.
        better = window > out
        xp.maximum(out, window, out=out)
        xp.maximum(index, xp.multiply(better, index_type(t)), out=index)
    return out, index


def max_pool_backward_xp(grad, index, in_hw, kernel, stride, pads, dilation):
    """``max_pool_backward`` in array operations (kh*kw passes)."""
    xp = xp_of(grad)
    grad_padded = _gradient_buffer(grad, in_hw, kernel, stride, pads, dilation)
    disjoint = _disjoint(kernel, stride, dilation)
    for t, (p, q) in enumerate(_offsets(kernel, dilation)):
        window = _window(grad_padded, p, q, grad.shape[2:], stride)
        if disjoint:  # each element is in one window: write, don't add
            xp.multiply(grad, index == t, out=window)
        else:
            window += grad * (index == t)
    return _unpadded(grad_padded, in_hw, pads)


def avg_pool_xp(x, kernel, stride, pads, out_hw, divisor):
    """``avg_pool`` in array operations (kh*kw passes)."""
    padded = _padded(x, pads, 0)
    out = None
    for p, q in _offsets(kernel):
        window = _window(padded, p, q, out_hw, stride)
        if out is None:
            out = window.copy()
        else:
            out += window
    if isinstance(divisor, int):
        out *= 1 / divisor
    else:
        out /= divisor
    return out


def avg_pool_backward_xp(grad, in_hw, kernel, stride, pads, divisor):
    """``avg_pool_backward`` in array operations (kh*kw passes)."""
    share = grad * (1 / divisor) if isinstance(divisor, int) else grad / divisor
    grad_padded = _gradient_buffer(grad, in_hw, kernel, stride, pads, (1, 1))
    disjoint = _disjoint(kernel, stride, (1, 1))
    for p, q in _offsets(kernel):
        window = _window(grad_padded, p, q, grad.shape[2:], stride)
        if disjoint:
            window[...] = share
        else:
            window += share
    return _unpadded(grad_padded, in_hw, pads)
