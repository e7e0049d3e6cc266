"""Loops that native training steps call (``somanet.graph``'s compiled steps lowered to
one numba function): what NumPy would do in several passes, or with more call overhead
than work, written once here for the generated code to call. CPU only; no ``xp``
versions, since generated native code exists only where numba does.

``kernels()`` gives them (``None`` without numba), compiled on first use and cached:

- ``matmul_small(a, b)``: ``a @ b`` for 2-D arrays of any layout, (m, k) @ (k, n) ->
  (m, n), summing over k in order. For tiny products, where BLAS's call costs more
  than the arithmetic.
- ``gemm(a, b, trans_a, trans_b)``: ``op(a) @ op(b)`` (``op`` transposes when its flag is
  set) by the BLAS NumPy itself uses, or ``None`` where it cannot be found (then
  ``numpy.dot``, which numba runs on SciPy's BLAS). Why: two OpenBLAS libraries in one
  process are two thread pools spinning on the same cores; and the same library gives
  eager mode's products.
- ``softmax_cross_entropy(logits, labels)``: per row ``n`` of (N, C) logits,
  ``loss[n] = logsumexp(x_n) - x_n[labels[n]]`` and ``probs[n] = softmax(x_n)``,
  computed as ``somanet.ops``' fused loss does (shift by the row's maximum, exponentiate,
  sum, log). Returns ``(loss, probs)``: (N,) and (N, C).
- ``softmax_cross_entropy_backward(probs, labels, g)``: the gradient of ``sum_n g *
  loss[n]`` with respect to the logits, ``g * (probs - onehot(labels))`` (``g`` is
  ``1/N`` times the upstream gradient for a mean).
- ``softmax_rows(x)``, ``log_softmax_rows(x)``: the softmax and log-softmax of each row
  of a 2-D array (its maximum subtracted first).
- ``pick_rows(x, labels)``: ``x[n, labels[n]]`` for each row, (N,);
  ``place_rows(like, labels, g)``: zeros shaped like ``like`` with ``g`` at ``[n, labels[n]]``
  (the negative log-likelihood's forward and backward, up to the sign).
"""
import ctypes
import glob
import os

import numpy

from .jit import lazy_kernels

# CBLAS row-major, no transpose, transpose
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def numpy_cblas():
    """``(path, sgemm name, dgemm name, 64-bit ints)`` of the CBLAS in the OpenBLAS that
    NumPy's wheels bundle (``numpy.libs`` or ``numpy/.dylibs``), or ``None``."""
    root = os.path.dirname(numpy.__file__)
    for path in sorted(glob.glob(os.path.join(root + ".libs", "*openblas*")) +
                       glob.glob(os.path.join(root, ".dylibs", "*openblas*"))):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, wide in (("scipy_cblas_", "64_", True), ("scipy_cblas_", "", False),
                                     ("cblas_", "64_", True), ("cblas_", "", False)):
            names = (f"{prefix}sgemm{suffix}", f"{prefix}dgemm{suffix}")
            if all(hasattr(library, name) for name in names):
                return path, names[0], names[1], wide
    return None


class _Kernels:
    def __init__(self, **kernels):
        self.__dict__.update(kernels)


def _build(numba):
    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def matmul_small(a, b):
        m, k = a.shape
        n = b.shape[1]
        out = numpy.empty((m, n), a.dtype)
        for i in range(m):
            for j in range(n):
                total = a.dtype.type(0)
                for p in range(k):
                    total += a[i, p] * b[p, j]
                out[i, j] = total
        return out

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def softmax_cross_entropy(logits, labels):
        rows, classes = logits.shape
        loss = numpy.empty(rows, logits.dtype)
        probs = numpy.empty((rows, classes), logits.dtype)
        for n in range(rows):
            top = logits[n, 0]
            for c in range(1, classes):
                top = max(top, logits[n, c])
            total = logits.dtype.type(0)
            for c in range(classes):
                value = numpy.exp(logits[n, c] - top)
                probs[n, c] = value
                total += value
            loss[n] = numpy.log(total) - (logits[n, labels[n]] - top)
            for c in range(classes):
                probs[n, c] /= total
        return loss, probs

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def softmax_cross_entropy_backward(probs, labels, g):
        rows, classes = probs.shape
        grad = numpy.empty((rows, classes), probs.dtype)
        for n in range(rows):
            for c in range(classes):
                grad[n, c] = probs[n, c] * g
            grad[n, labels[n]] -= g
        return grad

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def softmax_rows(x):
        rows, classes = x.shape
        out = numpy.empty((rows, classes), x.dtype)
        for n in range(rows):
            top = x[n, 0]
            for c in range(1, classes):
                top = max(top, x[n, c])
            total = x.dtype.type(0)
            for c in range(classes):
                out[n, c] = numpy.exp(x[n, c] - top)
                total += out[n, c]
            for c in range(classes):
                out[n, c] /= total
        return out

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def log_softmax_rows(x):
        rows, classes = x.shape
        out = numpy.empty((rows, classes), x.dtype)
        for n in range(rows):
            top = x[n, 0]
            for c in range(1, classes):
                top = max(top, x[n, c])
            total = x.dtype.type(0)
            for c in range(classes):
                out[n, c] = x[n, c] - top
                total += numpy.exp(out[n, c])
            log_total = numpy.log(total)
            for c in range(classes):
                out[n, c] -= log_total
        return out

    @numba.njit(cache=True, nogil=True)
    def pick_rows(x, labels):
        out = numpy.empty(x.shape[0], x.dtype)
        for n in range(x.shape[0]):
            out[n] = x[n, labels[n]]
        return out

    @numba.njit(cache=True, nogil=True)
    def place_rows(like, labels, g):
        out = numpy.zeros(like.shape, like.dtype)
        for n in range(like.shape[0]):
            out[n, labels[n]] = g
        return out

    return _Kernels(gemm=_build_gemm(numba), matmul_small=matmul_small, softmax_cross_entropy=softmax_cross_entropy,
                    softmax_cross_entropy_backward=softmax_cross_entropy_backward,
                    softmax_rows=softmax_rows, log_softmax_rows=log_softmax_rows,
                    pick_rows=pick_rows, place_rows=place_rows)


def _build_gemm(numba):
    """``gemm`` on NumPy's own BLAS: its library loaded globally, so that numba links
    the symbols by name (and its disk cache keeps working), or None."""
    found = numpy_cblas()
    if found is None:
        return None
    path, sgemm_name, dgemm_name, wide = found
    import llvmlite.binding
    llvmlite.binding.load_library_permanently(path)
    types = numba.types
    size = types.int64 if wide else types.int32

    def signature(real):  # pointers travel as integers: the same registers
        return types.void(types.int32, types.int32, types.int32, size, size, size, real,
                          types.intp, size, types.intp, size, real, types.intp, size)

    sgemm = types.ExternalFunction(sgemm_name, signature(types.float32))
    dgemm = types.ExternalFunction(dgemm_name, signature(types.float64))
    row_major, no_trans, trans = _ROW_MAJOR, _NO_TRANS, _TRANS

    @numba.njit(cache=True, nogil=True)
    def gemm(a, b, trans_a, trans_b):
        a = numpy.ascontiguousarray(a)
        b = numpy.ascontiguousarray(b)
        m = a.shape[1] if trans_a else a.shape[0]
        k = a.shape[0] if trans_a else a.shape[1]
        n = b.shape[0] if trans_b else b.shape[1]
        out = numpy.empty((m, n), a.dtype)
        flag_a = trans if trans_a else no_trans
        flag_b = trans if trans_b else no_trans
        if a.itemsize == 4:  # float32
            sgemm(row_major, flag_a, flag_b, m, n, k, 1.0, a.ctypes.data, a.shape[1],
                  b.ctypes.data, b.shape[1], 0.0, out.ctypes.data, n)
        else:
            dgemm(row_major, flag_a, flag_b, m, n, k, 1.0, a.ctypes.data, a.shape[1],
                  b.ctypes.data, b.shape[1], 0.0, out.ctypes.data, n)
        return out

    return gemm


kernels = lazy_kernels(_build)
