"""Loops that native training steps call (``somanet.graph``'s compiled steps lowered to
one numba function): what NumPy would do in several passes, or with more call overhead
than work, written once here for the generated code to call. CPU only; no ``xp``
versions, since generated native code exists only where numba does.

``kernels()`` gives them (``None`` without numba), compiled on first use and cached:

- ``matmul_small(a, b)``: ``a @ b`` for 2-D arrays of any layout, (m, k) @ (k, n) ->
  (m, n), summing over k in order. For tiny products, where BLAS's call costs more
  than the arithmetic.
- ``softmax_cross_entropy(logits, labels)``: per row ``n`` of (N, C) logits,
  ``loss[n] = logsumexp(x_n) - x_n[labels[n]]`` and ``probs[n] = softmax(x_n)``,
  computed as ``somanet.ops``' fused loss does (shift by the row's maximum, exponentiate,
  sum, log). Returns ``(loss, probs)``: (N,) and (N, C).
- ``softmax_cross_entropy_backward(probs, labels, g)``: the gradient of ``sum_n g *
  loss[n]`` with respect to the logits, ``g * (probs - onehot(labels))`` (``g`` is
  ``1/N`` times the upstream gradient for a mean).
- ``softmax_rows(x)``: the softmax of each row of a 2-D array (its maximum subtracted
  first).
- ``pick_rows(x, labels)``: ``x[n, labels[n]]`` for each row, (N,);
  ``place_rows(like, labels, g)``: zeros shaped like ``like`` with ``g`` at ``[n, labels[n]]``
  (the negative log-likelihood's forward and backward, up to the sign).
"""
import numpy

from .jit import lazy_kernels


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

    return _Kernels(matmul_small=matmul_small, softmax_cross_entropy=softmax_cross_entropy,
                    softmax_cross_entropy_backward=softmax_cross_entropy_backward,
                    softmax_rows=softmax_rows, pick_rows=pick_rows, place_rows=place_rows)


kernels = lazy_kernels(_build)
