"""float32 <-> float16 conversion kernels against NumPy's casts, bit for bit."""
import warnings

import numpy as np
import pytest

from somanet.backend import kernels_half


def _float16_boundaries():
    """Every finite float16, the float32 numbers next to each, the midpoints between
    neighbours (where ties round to even) and the float32 numbers next to those."""
    halves = np.arange(2 ** 16, dtype=np.uint16).view(np.float16).astype(np.float32)
    halves = np.sort(halves[np.isfinite(halves)])
    mids = ((halves[:-1].astype(np.float64) + halves[1:]) / 2).astype(np.float32)
    near = [np.nextafter(values, direction, dtype=np.float32)
            for values in (halves, mids) for direction in (np.inf, -np.inf)]
    extremes = np.array([65504, 65519.996, 65520, 1e9, np.inf, -np.inf, np.nan, 0.0, -0.0,
                         1e-30, 2.98e-8, 2.99e-8, 5.96e-8, 6.1e-5], np.float32)
    return np.concatenate([halves, mids, *near, extremes, -extremes])


@pytest.mark.parametrize("values", ["boundaries", "random bits"])
@pytest.mark.parametrize("implementation", ["kernel", "xp"])
def test_float_to_half_rounds_as_numpy_does(values, implementation):
    if values == "boundaries":
        x = _float16_boundaries()
    else:
        bits = np.random.default_rng(0).integers(0, 2 ** 32, 300_000, dtype=np.uint64)
        x = bits.astype(np.uint32).view(np.float32)
    convert = kernels_half.float_to_half if implementation == "kernel" else \
        kernels_half.float_to_half_xp
    out = np.empty(x.size, np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow to inf
        expected = x.astype(np.float16)
        assert convert(x, out) is out
    nan = np.isnan(expected)
    np.testing.assert_array_equal(out.view(np.uint16)[~nan], expected.view(np.uint16)[~nan])
    assert np.isnan(out[nan]).all()


def test_half_to_float_is_exact_for_every_float16():
    halves = np.arange(2 ** 16, dtype=np.uint16).view(np.float16)
    for convert in (kernels_half.half_to_float, kernels_half.half_to_float_xp):
        out = convert(halves, np.empty(halves.size, np.float32))
        expected = halves.astype(np.float32)
        nan = np.isnan(expected)
        np.testing.assert_array_equal(out[~nan].view(np.uint32),
                                      expected[~nan].view(np.uint32))
        assert np.isnan(out[nan]).all()


def test_other_layouts_take_numpys_casts():
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    out = np.empty((3, 4), np.float16)
    np.testing.assert_array_equal(kernels_half.float_to_half(x, out), x.astype(np.float16))
    strided = np.empty(24, np.float32)[::2]
    np.testing.assert_array_equal(kernels_half.half_to_float(out.ravel(), strided),
                                  x.ravel().astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("ufunc", [np.add, np.maximum, np.minimum])
def test_half_reduce_is_numpys_float16_arithmetic(ufunc):
    # every float16 against shuffled partners, so sums overflow, cancel, round at ties
    # and land among the subnormals; NaN and inf included
    a = np.arange(2 ** 16, dtype=np.uint16).view(np.float16)
    b = np.random.default_rng(0).permutation(a)
    with np.errstate(all="ignore"):
        expected = ufunc(a, b)
        out = kernels_half.half_reduce(ufunc, a.copy(), b)
    nan = np.isnan(expected)
    assert out.dtype == np.float16 and np.array_equal(np.isnan(out), nan)
    np.testing.assert_array_equal(out[~nan].view(np.uint16), expected[~nan].view(np.uint16))
