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
which the last ``Wp - Wo`` are discarded (forward) or zero (gradients).

The contract, checked against the ``_xp`` versions in ``tests/backend``:

- ``direct_forward(xp, weight, bias, dilation, out_hw, groups)``:
  ``out[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] * xp[n, g*C/g + c, i + p*dh, j + q*dw]``
  with ``g`` the group of ``o``; ``xp (N, C, Hp, Wp)`` already padded ->
  ``(N, C_out, Ho, Wo)``.
- ``direct_input_gradient(grad, weight, dilation, padded_hw, groups)``: its adjoint in
  ``xp``, ``(N, C_out, Ho, Wo) -> (N, C, Hp, Wp)`` (the padded input's gradient).
- ``direct_weight_gradient(xp, grad, kernel_hw, dilation, groups)``:
  ``dw[o, c, p, q] = sum_{n,i,j} grad[n, o, i, j] * xp[n, g*C/g + c, i + p*dh, j + q*dw]``.

The loops are parallel (``prange``, see ``jit.parallel``) over independent outputs:
(sample, output channel) planes, (sample, input channel) planes, (output, input
channel) weight blocks. They run between BLAS calls, never inside one.
"""
import numpy

from .jit import compiled, lazy_kernels, parallel
from .kernels_conv import col2im, im2col


def _build(numba):
    """Compile the kernels (on first use; numba caches them on disk)."""
    prange = numba.prange
    options = dict(cache=True, nogil=True, parallel=parallel(numba))

    @numba.njit(**options)
    def forward_kernel(xp, w, b, dh, dw, wp, ho, wo, out):
        """xp (N, C, Hp*Wp), w (O, C/g, kh, kw), b (O,) -> out (N, O, Ho, Wo)."""
        n_batch, channels = xp.shape[:2]
        o_count, c_group, kh, kw = w.shape
        o_group = o_count // (channels // c_group)
        length = (ho - 1) * wp + wo
        for task in prange(n_batch * o_count):
            n, o = task // o_count, task % o_count
            first = (o // o_group) * c_group
            acc = numpy.empty(length, out.dtype)  # one wide output plane, in L1
            acc[:] = b[o]
            for c in range(c_group):
                plane = xp[n, first + c]
                for p in range(kh):
                    # kernel columns two at a time: one load and store of acc per two
                    for q in range(0, kw - 1, 2):
                        w0, w1, start = w[o, c, p, q], w[o, c, p, q + 1], p * dh * wp + q * dw
                        src0 = plane[start:start + length]  # indices from 0: LLVM vectorises
                        src1 = plane[start + dw:start + dw + length]
                        for k in range(length):
                            acc[k] += w0 * src0[k] + w1 * src1[k]
                    if kw % 2:
                        weight, start = w[o, c, p, kw - 1], p * dh * wp + (kw - 1) * dw
                        src = plane[start:start + length]
                        for k in range(length):
                            acc[k] += weight * src[k]
            for i in range(ho):
                for j in range(wo):
                    out[n, o, i, j] = acc[i * wp + j]

    @numba.njit(**options)
    def widen_kernel(grad, wp, wide):
        """grad (N, O, Ho, Wo) -> wide (N, O, L): rows of Wp columns, the extra ones 0."""
        n_batch, o_count, ho, wo = grad.shape
        for task in prange(n_batch * o_count):
            n, o = task // o_count, task % o_count
            row = wide[n, o]
            row[:] = 0
            for i in range(ho):
                for j in range(wo):
                    row[i * wp + j] = grad[n, o, i, j]

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
    @numba.njit(fastmath={"reassoc", "nsz"}, **options)
    def weight_gradient_kernel(xp, wide, dh, dw, wp, out):
        """xp (N, C, Hp*Wp), wide (N, O, L) -> out (O, C/g, kh, kw), float64 sums."""
        n_batch, channels = xp.shape[:2]
        o_count, c_group, kh, kw = out.shape
        o_group = o_count // (channels // c_group)
        length = wide.shape[2]
        for task in prange(o_count * c_group):
            o, c = task // c_group, task % c_group
            plane_c = (o // o_group) * c_group + c
            for p in range(kh):
                for q in range(kw):
                    start = p * dh * wp + q * dw
                    total = 0.0
                    for n in range(n_batch):
                        g, plane = wide[n, o], xp[n, plane_c]
                        src = plane[start:start + length]
                        part = g[0] * 0  # the dtype's zero: a float32 sum LLVM vectorises
                        for k in range(length):
                            part += g[k] * src[k]
                        total += part
                    out[o, c, p, q] = total

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
    out = numpy.empty((n, weight.shape[0]) + tuple(out_hw), xp.dtype)
    if bias is None:
        bias = numpy.zeros(weight.shape[0], xp.dtype)
    kernels[0](xp.reshape(n, c, hp * wp), weight, bias, *dilation, wp, *out_hw, out)
    return out


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


def direct_weight_gradient(xp, grad, kernel_hw, dilation, groups):
    """The gradient of ``direct_forward`` with respect to ``weight``.

    Shape: xp (N, C, Hp, Wp), grad (N, C_out, Ho, Wo) -> (C_out, C/groups, kh, kw).
    """
    kernels = compiled(_kernels, xp, grad, contiguous=False)
    if kernels is None:
        return direct_weight_gradient_xp(xp, grad, kernel_hw, dilation, groups)
    xp, grad = numpy.ascontiguousarray(xp), numpy.ascontiguousarray(grad)
    n, c, hp, wp = xp.shape
    out = numpy.empty((grad.shape[1], c // groups) + tuple(kernel_hw), xp.dtype)
    kernels[3](xp.reshape(n, c, hp * wp), _wide(kernels, grad, wp), *dilation, wp, out)
    return out


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
    cols = (w_t @ grad.reshape(n, groups, c_out // groups, ho * wo)).reshape(n, c_group * kh * kw * groups, ho * wo)
    return col2im(cols, (n, c_group * groups) + tuple(padded_hw), (kh, kw), (1, 1),
                  (0, 0, 0, 0), dilation)


def direct_weight_gradient_xp(xp, grad, kernel_hw, dilation, groups):
    """``direct_weight_gradient`` as im2col and a batched matmul summed over the batch."""
    n, c_out, ho, wo = grad.shape
    cols = _columns(xp, kernel_hw, dilation)
    rows = cols.shape[1]
    cols = cols.reshape(n, groups, rows // groups, ho * wo)
    g = grad.reshape(n, groups, c_out // groups, ho * wo)
    total = (g @ cols.swapaxes(-1, -2)).sum(axis=0)  # (groups, C_out/g, rows/g)
    return total.reshape((c_out, xp.shape[1] // groups) + tuple(kernel_hw))
