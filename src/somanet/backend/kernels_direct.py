"""Direct (window) convolution kernels for stride 1: forward, input gradient and weight
gradient without im2col columns; numba loops on the CPU, im2col and batched matmuls
otherwise (on a GPU: CUDA im2col/col2im and cuBLAS).

For few rows (``C/groups * kh * kw``, LeNet's layers) im2col+GEMM spends its time
writing and reading columns kh*kw times the input's size, and BLAS gets a thin
product. These kernels read the padded input in place instead. With stride 1 each
kernel offset ``(p, q)`` is a shift of the flattened padded plane: output position
``(i, j)`` at flat index ``k = i*Wp + j`` reads input ``k + p*dh*Wp + q*dw``. So a
whole plane's contribution of one weight is ONE contiguous loop over
``k < L = (Ho-1)*Wp + Wo`` (vectorised by LLVM), on *wide* rows of ``Wp`` columns of
which the last ``Wp - Wo`` are discarded (forward) or zero (gradients). Each row
``(c, p, q)`` of the weight is such a shift (an offset into the flattened sample);
forward and weight gradient take eight rows a pass, so that one load (and store) of
an accumulator plane, or one load of the gradient, serves eight multiply-adds
(measured on LeNet's first layer: weight gradient 1.54 -> 0.78 ms, with the float32
dot products now vectorised).

The contract, checked against the ``_xp`` versions in ``tests/backend``:

- ``direct_forward(xp, weight, bias, dilation, out_hw, groups)``:
  ``out[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] * xp[n, g*C/g + c, i + p*dh, j + q*dw]``
  with ``g`` the group of ``o``; ``xp (N, C, Hp, Wp)`` already padded ->
  ``(N, C_out, Ho, Wo)``.
- ``direct_input_gradient(grad, weight, dilation, padded_hw, groups)``: its adjoint in
  ``xp``, ``(N, C_out, Ho, Wo) -> (N, C, Hp, Wp)`` (the padded input's gradient).
- ``direct_weight_gradient(xp, grad, kernel_hw, dilation, groups, bias=False)``:
  ``dw[o, c, p, q] = sum_{n,i,j} grad[n, o, i, j] * xp[n, g*C/g + c, i + p*dh, j + q*dw]``,
  and with ``bias=True`` also ``db[o] = sum_{n,i,j} grad[n, o, i, j]`` (a pair).

The loops are parallel (``prange``, see ``jit.parallel``) over independent outputs:
(sample, output channel) planes, (sample, input channel) planes, (output, input
channel) weight blocks. They run between BLAS calls, never inside one.
"""
import functools

import numpy

from .jit import compiled, lazy_kernels, parallel
from .kernels_conv import col2im, im2col


def _build(numba):
    """Compile the kernels (on first use; numba caches them on disk)."""
    prange = numba.prange
    options = dict(cache=True, nogil=True, parallel=parallel(numba))

    @numba.njit(**options)
    def forward_kernel(x, w, b, offs, o_group, wp, ho, wo, out):
        """x (N, S) flattened padded samples, w (O, R), b (O,), offs (G, R) each row's
        offset in a sample -> out (N, O, Ho, Wo)."""
        n_batch = x.shape[0]
        o_count, rows = w.shape
        length = (ho - 1) * wp + wo
        for task in prange(n_batch * o_count):
            n, o = task // o_count, task % o_count
            xs, ws, go = x[n], w[o], offs[o // o_group]
            acc = numpy.empty(length, out.dtype)  # one wide output plane, in L1
            acc[:] = b[o]
            # eight rows a pass: one load and store of acc per eight multiply-adds
            for r in range(0, rows - 7, 8):
                w0, w1, w2, w3 = ws[r], ws[r + 1], ws[r + 2], ws[r + 3]
                w4, w5, w6, w7 = ws[r + 4], ws[r + 5], ws[r + 6], ws[r + 7]
                # slices from unsigned offsets, indexed from 0: LLVM vectorises
                x0, x1, x2, x3 = xs[go[r]:], xs[go[r + 1]:], xs[go[r + 2]:], xs[go[r + 3]:]
                x4, x5, x6, x7 = xs[go[r + 4]:], xs[go[r + 5]:], xs[go[r + 6]:], xs[go[r + 7]:]
                for k in range(length):
                    acc[k] += (w0 * x0[k] + w1 * x1[k] + w2 * x2[k] + w3 * x3[k]) + (
                        w4 * x4[k] + w5 * x5[k] + w6 * x6[k] + w7 * x7[k])
            for r in range(rows - rows % 8, rows):
                weight, src = ws[r], xs[go[r]:]
                for k in range(length):
                    acc[k] += weight * src[k]
            plane = out[n, o].reshape(ho * wo)
            for i in range(ho):  # flat slices indexed from 0: LLVM vectorises the copy
                dst, src = plane[i * wo:], acc[i * wp:]
                for j in range(wo):
                    dst[j] = src[j]

    @numba.njit(**options)
    def widen_kernel(grad, wp, wide):
        """grad (N, O, Ho, Wo) -> wide (N, O, L): rows of Wp columns, the extra ones 0."""
        n_batch, o_count, ho, wo = grad.shape
        for task in prange(n_batch * o_count):
            n, o = task // o_count, task % o_count
            row, plane = wide[n, o], grad[n, o].reshape(ho * wo)
            row[:] = 0
            for i in range(ho):  # flat slices indexed from 0: LLVM vectorises the copy
                dst, src = row[i * wp:], plane[i * wo:]
                for j in range(wo):
                    dst[j] = src[j]

    @numba.njit(**options)
    def input_gradient_kernel(wide, w, dh, dw, wp, out):
        """wide (N, O, L), w (O, C/g, kh, kw) -> out (N, C, Hp*Wp)."""
        n_batch, channels, size = out.shape
        o_count, c_group, kh, kw = w.shape
        o_group = o_count // (channels // c_group)
        length = wide.shape[2]
        for task in prange(n_batch * channels):
            n, c = task // channels, task % channels
            group, local = c // c_group, c % c_group
            acc = out[n, c]
            acc[:] = 0
            for o in range(group * o_group, (group + 1) * o_group):
                g = wide[n, o]
                for p in range(kh):
                    for q in range(kw):
                        weight, start = w[o, local, p, q], p * dh * wp + q * dw
                        dst = acc[start:start + length]
                        for k in range(length):
                            dst[k] += weight * g[k]

    # reassociation lets LLVM vectorise the dot products (partial sums per lane)
    @numba.njit(fastmath={"reassoc", "nsz", "contract"}, **options)
    def weight_gradient_kernel(x, grad, offs, o_group, wp, out, bias):
        """x (N, S), grad (N, O, Ho, Wo), offs (G, R8) with R8 a multiple of 8 -> out
        (O, R8), and bias (O,) the sums of grad when it has O elements: float32 sums over
        each sample's positions, float64 over the samples."""
        n_batch, _, ho, wo = grad.shape
        o_count, rows = out.shape
        length = (ho - 1) * wp + wo
        chunks = rows // 8
        for task in prange(o_count * chunks):
            o, r = task // chunks, (task % chunks) * 8
            go = offs[o // o_group]
            sums_bias = r == 0 and bias.shape[0] == o_count
            # each sample's gradient plane as rows of wp columns (the extra ones 0), in L1:
            # copied here once per task (four times a plane for 32 rows) rather than
            # widened in a pass of its own through memory (conv1's weight and bias
            # gradients: 0.78-0.87 -> 0.51-0.53 ms in one run)
            g = numpy.zeros(length, out.dtype)
            totals = numpy.zeros(8)
            bias_total = 0.0
            for n in range(n_batch):
                plane = grad[n, o].reshape(ho * wo)
                for i in range(ho):  # flat slices indexed from 0: LLVM vectorises
                    dst, src = g[i * wp:], plane[i * wo:]
                    for j in range(wo):
                        dst[j] = src[j]
                xs = x[n]
                x0, x1, x2, x3 = xs[go[r]:], xs[go[r + 1]:], xs[go[r + 2]:], xs[go[r + 3]:]
                x4, x5, x6, x7 = xs[go[r + 4]:], xs[go[r + 5]:], xs[go[r + 6]:], xs[go[r + 7]:]
                zero = g[0] - g[0]  # the dtype's zero (g[0] * 0 is float64: ints promote)
                s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
                for k in range(length):  # eight dot products share each load of g
                    gk = g[k]
                    s0 += gk * x0[k]
                    s1 += gk * x1[k]
                    s2 += gk * x2[k]
                    s3 += gk * x3[k]
                    s4 += gk * x4[k]
                    s5 += gk * x5[k]
                    s6 += gk * x6[k]
                    s7 += gk * x7[k]
                totals[0] += s0
                totals[1] += s1
                totals[2] += s2
                totals[3] += s3
                totals[4] += s4
                totals[5] += s5
                totals[6] += s6
                totals[7] += s7
                if sums_bias:
                    plane_sum = zero
                    for k in range(length):
                        plane_sum += g[k]
                    bias_total += plane_sum
            for i in range(8):
                out[o, r + i] = totals[i]
            if sums_bias:
                bias[o] = bias_total

    return forward_kernel, widen_kernel, input_gradient_kernel, weight_gradient_kernel


_kernels = lazy_kernels(_build)


def direct_forward(xp, weight, bias, dilation, out_hw, groups):
    """The convolution of the padded ``xp`` (see the module docstring).

    Shape: xp (N, C, Hp, Wp), weight (C_out, C/groups, kh, kw), bias (C_out,) or None
    -> (N, C_out, Ho, Wo) with ``(Ho, Wo) = out_hw``.
    """
    kernels = compiled(_kernels, xp, weight, *(() if bias is None else (bias,)),
                       contiguous=False)
    if kernels is None:
        return direct_forward_xp(xp, weight, bias, dilation, out_hw, groups)
    xp, weight = numpy.ascontiguousarray(xp), numpy.ascontiguousarray(weight)
    n, c, hp, wp = xp.shape
    c_out = weight.shape[0]
    out = numpy.empty((n, c_out) + tuple(out_hw), xp.dtype)
    if bias is None:
        bias = numpy.zeros(c_out, xp.dtype)
    offsets = _row_offsets(groups, weight.shape[1:], tuple(dilation), (hp, wp))
    kernels[0](xp.reshape(n, c * hp * wp), weight.reshape(c_out, -1), bias, offsets,
               c_out // groups, wp, *out_hw, out)
    return out


@functools.lru_cache(maxsize=64)
def _row_offsets(groups, kernel_shape, dilation, padded_hw, multiple=1):
    """Each group's rows ``(c, p, q)`` as offsets into a flattened padded sample:
    ``(g*C/g + c) * Hp*Wp + p*dh*Wp + q*dw``, (groups, R) int64, R rounded up to a
    ``multiple`` (the extra rows at offset 0). Cached per layer shape (read-only)."""
    c_group, kh, kw = kernel_shape
    (hp, wp), (dh, dw) = padded_hw, dilation
    channel = numpy.arange(groups * c_group).reshape(groups, c_group, 1, 1) * (hp * wp)
    offsets = (channel + numpy.arange(kh).reshape(1, 1, kh, 1) * (dh * wp)
               + numpy.arange(kw).reshape(1, 1, 1, kw) * dw).reshape(groups, -1)
    extra = -offsets.shape[1] % multiple
    offsets = numpy.ascontiguousarray(numpy.pad(offsets, ((0, 0), (0, extra))), numpy.int64)
    offsets.flags.writeable = False
    return offsets


def _wide(kernels, grad, wp):
    """grad (N, O, Ho, Wo) as rows of ``wp`` columns, (N, O, L), the extra columns 0."""
    n, o, ho, wo = grad.shape
    wide = numpy.empty((n, o, (ho - 1) * wp + wo), grad.dtype)
    kernels[1](grad, wp, wide)
    return wide


def direct_input_gradient(grad, weight, dilation, padded_hw, groups):
    """The gradient of ``direct_forward`` with respect to ``xp``.

    Shape: grad (N, C_out, Ho, Wo), weight (C_out, C/groups, kh, kw) -> (N, C, Hp, Wp)
    with ``(Hp, Wp) = padded_hw``.
    """
    kernels = compiled(_kernels, grad, weight, contiguous=False)
    if kernels is None:
        return direct_input_gradient_xp(grad, weight, dilation, padded_hw, groups)
    grad, weight = numpy.ascontiguousarray(grad), numpy.ascontiguousarray(weight)
    (hp, wp), n = padded_hw, grad.shape[0]
    out = numpy.empty((n, weight.shape[1] * groups, hp * wp), grad.dtype)
    kernels[2](_wide(kernels, grad, wp), weight, *dilation, wp, out)
    return out.reshape(n, out.shape[1], hp, wp)


def direct_weight_gradient(xp, grad, kernel_hw, dilation, groups, bias=False):
    """The gradient of ``direct_forward`` with respect to ``weight``, and with ``bias=True``
    with respect to the bias too (``grad`` summed over all but its channel axis), as a
    pair: the kernel reads ``grad`` once for both.

    Shape: xp (N, C, Hp, Wp), grad (N, C_out, Ho, Wo) -> (C_out, C/groups, kh, kw)
    [and (C_out,)].
    """
    kernels = compiled(_kernels, xp, grad, contiguous=False)
    if kernels is None:
        return direct_weight_gradient_xp(xp, grad, kernel_hw, dilation, groups, bias)
    xp, grad = numpy.ascontiguousarray(xp), numpy.ascontiguousarray(grad)
    n, c, hp, wp = xp.shape
    shape = (grad.shape[1], c // groups) + tuple(kernel_hw)
    offsets = _row_offsets(groups, shape[1:], tuple(dilation), (hp, wp), multiple=8)
    out = numpy.empty((shape[0], offsets.shape[1]), xp.dtype)
    bias_grad = numpy.empty(shape[0] if bias else 0, xp.dtype)
    kernels[3](xp.reshape(n, c * hp * wp), grad, offsets, shape[0] // groups, wp, out,
               bias_grad)
    weight_grad = numpy.ascontiguousarray(out[:, :numpy.prod(shape[1:])]).reshape(shape)
    return (weight_grad, bias_grad) if bias else weight_grad


# -- plain xp versions: im2col of the padded input, then the GEMMs (im2col and col2im are
# kernels_conv's entry points: its CUDA kernels on a GPU) ----------------------------------

def _columns(xp, kernel_hw, dilation):
    return im2col(xp, kernel_hw, (1, 1), (0, 0, 0, 0), dilation)


def direct_forward_xp(xp, weight, bias, dilation, out_hw, groups):
    """``direct_forward`` as im2col and a batched matmul (any device)."""
    n, c_out = xp.shape[0], weight.shape[0]
    cols = _columns(xp, weight.shape[2:], dilation)  # (N, C*kh*kw, L)
    rows, length = cols.shape[1:]
    w = weight.reshape(groups, c_out // groups, rows // groups)
    out = (w @ cols.reshape(n, groups, rows // groups, length)).reshape(n, c_out, length)
    if bias is not None:
        out = out + bias.reshape(-1, 1)
    return out.reshape((n, c_out) + tuple(out_hw))


def direct_input_gradient_xp(grad, weight, dilation, padded_hw, groups):
    """``direct_input_gradient`` as a batched matmul and col2im (any device)."""
    n, c_out, ho, wo = grad.shape
    c_group, kh, kw = weight.shape[1:]
    w_t = weight.reshape(groups, c_out // groups, -1).swapaxes(-1, -2)
    cols = (w_t @ grad.reshape(n, groups, c_out // groups, ho * wo)).reshape(
        n, c_group * kh * kw * groups, ho * wo)
    return col2im(cols, (n, c_group * groups) + tuple(padded_hw), (kh, kw), (1, 1),
                  (0, 0, 0, 0), dilation)


def direct_weight_gradient_xp(xp, grad, kernel_hw, dilation, groups, bias=False):
    """``direct_weight_gradient`` as im2col and a batched matmul summed over the batch."""
    n, c_out, ho, wo = grad.shape
    cols = _columns(xp, kernel_hw, dilation)
    rows = cols.shape[1]
    cols = cols.reshape(n, groups, rows // groups, ho * wo)
    g = grad.reshape(n, groups, c_out // groups, ho * wo)
    total = (g @ cols.swapaxes(-1, -2)).sum(axis=0)  # (groups, C_out/g, rows/g)
    weight_grad = total.reshape((c_out, xp.shape[1] // groups) + tuple(kernel_hw))
    return (weight_grad, grad.sum(axis=(0, 2, 3))) if bias else weight_grad
