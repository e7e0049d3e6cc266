"""Special functions on raw arrays: the standard normal CDF ``Phi(x) = (1 + erf(x /
sqrt 2)) / 2`` (for the exact GELU) and float32 ``tanh``: numba loops on the CPU when
numba is installed, plain ``xp`` code otherwise (and on GPUs).

Both implementations have one contract, checked against each other and against
``math.erf`` / float64's ``tanh`` in ``tests/backend/test_kernels_special.py``:

- ``normal_cdf(x)``: a new array of ``x``'s shape and dtype holding ``Phi(x)``.
- ``tanh(x, out=None)``: ``tanh(x)``, into ``out`` (which may be ``x``) or a new array.
  In float32 the kernel is Eigen's
  rational approximation, ``tanh(x) = x P(x^2) / Q(x^2)`` (odd degree 13 over even
  degree 6) with ``x`` clamped to +-7.9053, +-1 beyond 9 and ``x`` itself below 4e-4:
  at most 3e-7 from the true tanh (5 float32 ulps), NaN and infinities kept. It
  vectorises: 20 us for 32k numbers where NumPy's float32 tanh (scalar code on CPUs
  without AVX-512) takes 140 us. ``scalar_tanh32(numba)`` is the same function for
  other kernels' loops (the LSTM step). float64 (and the ``xp`` version): ``xp.tanh``.

Which ``erf``:

- float32: Eigen's (and XLA's) single-precision rational approximation,
  ``erf(a) = a P(a^2) / Q(a^2)`` with ``a`` clamped to [-4, 4] (beyond, erf is +-1 in
  float32), absolute error below 2e-7: one division and no exponential, so the loop
  vectorises (the C library's scalar ``erf`` is several times slower).
- float64: the C library's ``erf`` (numba), or Cephes' ``erf``/``erfc`` in ``xp``
  (S. L. Moshier, public domain; the rational approximations SciPy's ``erf`` also
  uses), accurate to a few units in the last place: ``erf(a) = a T(a^2) / U(a^2)`` for
  ``|a| < 1``, else ``1 - e^{-a^2} P(|a|) / Q(|a|)``, with ``a`` clamped to [-6, 6]
  (beyond, erf is +-1 in float64).
"""
import math

import numpy

from .arrays import xp_of
from .jit import compiled, lazy_kernels

_INV_SQRT2 = 1 / math.sqrt(2)

# erf(a) = a T(a^2) / U(a^2) on |a| < 1 (U's leading coefficient 1 left out).
_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
      7.00332514112805075473e3, 5.55923013010394962768e4)
_U = (3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4)
# erfc(a) = e^{-a^2} P(a) / Q(a) on 1 <= a < 8 (Q's leading coefficient 1 left out).
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
      4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
      9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_Q = (1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
      1.65666309194161350182e3, 5.57535340817727675546e2)
_CLAMP = 6.0  # erfc(6) ~ 2e-17: 1 - erfc rounds to 1 in float64
# float32: erf(a) = a ALPHA(a^2) / BETA(a^2) on [-4, 4] (Eigen's, highest power first).
_ALPHA = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
          -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
          -1.60960333262415e-02)
_BETA = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
         -7.37332916720468e-03, -1.42647390514189e-02)
_CLAMP32 = 4.0
# float32 tanh(x) = x ALPHA(x^2) / BETA(x^2) (Eigen's, lowest power first)
_TANH_ALPHA = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
               5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
               -2.76076847742355e-16)
_TANH_BETA = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
              1.19825839466702e-06)
# fastmath without "nnan"/"ninf": NaN and infinities keep their meaning
_FASTMATH = {"contract", "reassoc", "arcp", "nsz"}
_scalar_tanh = []


def scalar_tanh32(numba):
    """Eigen's float32 tanh (module docstring) as an inlined numba function, to call in
    other kernels' loops; made once."""
    if _scalar_tanh:
        return _scalar_tanh[0]
    a1, a3, a5, a7, a9, a11, a13 = (numpy.float32(c) for c in _TANH_ALPHA)
    b0, b2, b4, b6 = (numpy.float32(c) for c in _TANH_BETA)
    clamp, tiny, one, saturated = (numpy.float32(c) for c in (7.90531110763549805, 4e-4,
                                                               1, 9))

    @numba.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
    def tanh32(x):
        y = min(max(x, -clamp), clamp)
        y2 = y * y
        p = y * (a1 + y2 * (a3 + y2 * (a5 + y2 * (a7 + y2 * (a9 + y2 * (a11 + y2 * a13))))))
        r = p / (b0 + y2 * (b2 + y2 * (b4 + y2 * b6)))
        r = x if abs(x) < tiny else r
        r = (one if x > 0 else -one) if abs(x) >= saturated else r
        return r if x == x else x

    _scalar_tanh.append(tanh32)
    return tanh32


def _build(numba):
    """Compile the kernel (on first use; numba caches it on disk)."""

    @numba.njit(cache=True, nogil=True)
    def erf_cdf_kernel(x, out, scale, half):
        for i in range(x.size):
            out[i] = half + half * math.erf(x[i] * scale)

    # float32 constants, frozen into the compiled loop (so it stays in float32, unrolled)
    a6, a5, a4, a3, a2, a1, a0 = (numpy.float32(c) for c in _ALPHA)
    b4, b3, b2, b1, b0 = (numpy.float32(c) for c in _BETA)
    scale, half, clamp = (numpy.float32(c) for c in (_INV_SQRT2, 0.5, _CLAMP32))

    # fastmath without "nnan"/"ninf": NaN and infinities keep their meaning (erf(nan) = nan)
    @numba.njit(cache=True, nogil=True, fastmath={"contract", "reassoc", "arcp"},
                error_model="numpy")
    def rational_cdf_kernel(x, out):
        for i in range(x.size):
            a = min(max(x[i] * scale, -clamp), clamp)
            z = a * a
            p = ((((((a6 * z + a5) * z + a4) * z + a3) * z + a2) * z + a1) * z + a0)
            q = ((((b4 * z + b3) * z + b2) * z + b1) * z + b0)
            out[i] = half + half * (a * p / q)

    tanh32 = scalar_tanh32(numba)

    @numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
    def tanh_kernel(x, out):
        for i in range(x.size):
            out[i] = tanh32(x[i])

    return erf_cdf_kernel, rational_cdf_kernel, tanh_kernel


_kernels = lazy_kernels(_build)


def tanh(x, out=None):
    """``tanh(x)``, into ``out`` (C-contiguous, ``x``'s shape and dtype; may be ``x``) or
    a new array (see the module docstring)."""
    kernel = None
    if x.dtype == numpy.float32 and (out is None or out.flags.c_contiguous):
        kernel = compiled(_kernels, x, *(() if out is None else (out,)), contiguous=False)
    if kernel is None:
        return tanh_xp(x, out)
    if out is None:
        out = numpy.empty(x.shape, x.dtype)
    kernel[2](numpy.ascontiguousarray(x).reshape(-1), out.reshape(-1))
    return out


def tanh_xp(x, out=None):
    """``tanh`` in array operations (any device)."""
    return xp_of(x).tanh(x, out=out)


def normal_cdf(x):
    """``Phi(x)``, the standard normal CDF, as a new array (see the module docstring)."""
    kernel = compiled(_kernels, x, contiguous=False)
    if kernel is None:
        return normal_cdf_xp(x)
    source = numpy.ascontiguousarray(x).reshape(-1)
    out = numpy.empty(x.shape, x.dtype)
    number = x.dtype.type
    if x.dtype == numpy.float32:
        kernel[1](source, out.reshape(-1))
    else:
        kernel[0](source, out.reshape(-1), number(_INV_SQRT2), number(0.5))
    return out


def normal_cdf_xp(x):
    """``normal_cdf`` in array operations (any device)."""
    xp = xp_of(x)
    number = x.dtype.type
    if x.dtype == numpy.float32:
        a = xp.clip(x * number(_INV_SQRT2), number(-_CLAMP32), number(_CLAMP32))
        square = a * a
        erf = a * _polynomial(square, _ALPHA, number, leading_one=False)
        erf /= _polynomial(square, _BETA, number, leading_one=False)
        erf += 1
        erf *= number(0.5)
        return erf
    a = xp.clip(x * number(_INV_SQRT2), number(-_CLAMP), number(_CLAMP))
    size = xp.abs(a)
    square = a * a
    inner = a * _polynomial(square, _T, number, leading_one=False) / _polynomial(
        square, _U, number, leading_one=True)
    tail = xp.exp(-square) * _polynomial(size, _P, number, leading_one=False) / _polynomial(
        size, _Q, number, leading_one=True)
    outer = xp.where(a < 0, tail - 1, 1 - tail)
    erf = xp.where(size < 1, inner, outer)
    erf += 1
    erf *= number(0.5)
    return erf


def _polynomial(z, coefficients, number, leading_one):
    """Horner's rule, highest power first (``leading_one``: an implicit leading 1)."""
    if leading_one:
        value = z + number(coefficients[0])
    else:
        value = xp_of(z).full(z.shape, number(coefficients[0]), z.dtype)
    for coefficient in coefficients[1:]:
        value *= z
        value += number(coefficient)
    return value
