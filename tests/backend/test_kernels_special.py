"""The special-function kernels (the exact GELU's erf, float32 tanh): numba and plain
versions agree with each other and with the C library's erf and float64's tanh."""
import math

import numpy as np
import pytest

from somanet.backend import kernels_special as K

X = np.concatenate([np.linspace(-40, 40, 4001), np.linspace(-1.5, 1.5, 3001),
                    [0.0, -0.0, 1.0, -1.0, np.sqrt(2), -np.sqrt(2), np.inf, -np.inf]])
EXPECTED = np.array([0.5 + 0.5 * math.erf(v / math.sqrt(2)) for v in X])


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 4e-16), (np.float32, 3e-7)])
@pytest.mark.parametrize("function", [K.normal_cdf, K.normal_cdf_xp], ids=["entry", "xp"])
def test_normal_cdf_matches_math_erf(function, dtype, tolerance):
    got = function(X.astype(dtype))
    assert got.dtype == dtype and got.shape == X.shape
    np.testing.assert_allclose(got, EXPECTED, rtol=0, atol=tolerance)
    assert np.isnan(function(np.array([np.nan], dtype)))[0]


def test_numba_and_xp_versions_agree_on_any_layout():
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        values = (rng.standard_normal((6, 7)) * 3).astype(dtype)
        for array in (values, values.T, values[::2], np.array(1.5, dtype)):
            fused, plain = K.normal_cdf(array), K.normal_cdf_xp(array)
            assert fused.shape == plain.shape == array.shape
            np.testing.assert_allclose(fused, plain, rtol=0,
                                       atol=2e-7 if dtype == np.float32 else 4e-16)


def test_float32_tanh_is_within_five_ulps_and_keeps_nan_and_inf():
    pytest.importorskip("numba")
    grid = np.linspace(-10, 10, 2 ** 22, dtype=np.float32)
    special = np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -3e-4, 8.5, -20.0])
    x = np.concatenate([grid, special])
    got = K.tanh(x)
    want = np.tanh(x.astype(np.float64))
    finite = np.isfinite(x)
    error = np.abs(got[finite] - want[finite])
    ulp = np.spacing(np.abs(want[finite]).astype(np.float32)).astype(np.float64)
    assert got.dtype == np.float32
    assert error.max() <= 3e-7 and (error / ulp)[np.abs(want[finite]) > 1e-30].max() <= 5
    assert np.isnan(got[np.isnan(x)]).all()
    assert got[x == np.inf].tolist() == [1.0] and got[x == -np.inf].tolist() == [-1.0]
    assert np.signbit(got[(x == 0) & np.signbit(x)]).all()


def test_tanh_in_place_strided_and_float64():
    pytest.importorskip("numba")
    x = np.random.default_rng(0).normal(0, 3, (6, 8)).astype(np.float32)
    expected = K.tanh(x)
    np.testing.assert_allclose(expected, np.tanh(x), atol=3e-7)
    np.testing.assert_array_equal(K.tanh(x.T), expected.T)  # non-contiguous
    inplace = x.copy()
    assert K.tanh(inplace, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, expected)
    wide = x.astype(np.float64)
    np.testing.assert_array_equal(K.tanh(wide), np.tanh(wide))
    np.testing.assert_array_equal(K.tanh_xp(x), np.tanh(x))
