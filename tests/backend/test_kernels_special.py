"""The normal CDF kernel (the exact GELU's erf): numba and plain versions agree with each
other and with the C library's erf."""
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
