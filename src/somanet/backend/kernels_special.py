"""The standard normal CDF ``Phi(x) = (1 + erf(x / sqrt 2)) / 2`` on raw arrays, for the
exact GELU: the C library's ``erf`` in a numba loop on the CPU when numba is installed,
a rational approximation in plain ``xp`` code otherwise (and on GPUs).

Both implementations have one contract, checked against each other and against
``math.erf`` in ``tests/backend/test_kernels_special.py``:

- ``normal_cdf(x)``: a new array of ``x``'s shape and dtype holding ``Phi(x)``.

The ``xp`` version is Cephes' ``erf``/``erfc`` (S. L. Moshier, public domain; the
rational approximations SciPy's ``erf`` also uses), accurate to a few units in the last
place of float64: ``erf(a) = a T(a^2) / U(a^2)`` for ``|a| < 1``, else
``1 - e^{-a^2} P(|a|) / Q(|a|)``. Beyond ``|a| = 6`` ``erf`` is 1 in float64, so the
argument is clamped there (which also keeps the polynomials finite in float32).
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


def _build(numba):
    """Compile the kernel (on first use; numba caches it on disk)."""

    @numba.njit(cache=True, nogil=True)
    def normal_cdf_kernel(x, out, scale, half):
        for i in range(x.size):
            out[i] = half + half * math.erf(x[i] * scale)

    return normal_cdf_kernel


_kernels = lazy_kernels(_build)


def normal_cdf(x):
    """``Phi(x)``, the standard normal CDF, as a new array (see the module docstring)."""
    kernel = compiled(_kernels, x, contiguous=False)
    if kernel is None:
        return normal_cdf_xp(x)
    source = numpy.ascontiguousarray(x)
    out = numpy.empty(x.shape, x.dtype)
    number = x.dtype.type
    kernel(source.reshape(-1), out.reshape(-1), number(_INV_SQRT2), number(0.5))
    return out


def normal_cdf_xp(x):
    """``normal_cdf`` in array operations (any device)."""
    xp = xp_of(x)
    number = x.dtype.type
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
