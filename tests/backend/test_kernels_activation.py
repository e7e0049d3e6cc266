"""The numba ReLU gradient is NumPy's ``grad * (out > 0)`` bit for bit: signed zeros,
NaN and infinite gradients, ties at 0, both float dtypes, any layout."""
import numpy as np
import pytest

from somanet.backend import kernels_activation as K


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_kernel_is_the_masked_product_bit_for_bit(dtype):
    pytest.importorskip("numba")
    assert K._kernels(), "numba is installed, so the kernel must compile"
    rng = np.random.default_rng(0)
    out = np.maximum(rng.standard_normal((4, 3, 5, 6)), 0).astype(dtype)
    out.flat[:3] = (np.inf, 0.0, -0.0)
    grad = rng.standard_normal(out.shape).astype(dtype)
    grad.flat[3:9] = (np.nan, np.inf, -np.inf, -0.0, np.nan, -1.0)
    out.flat[7:9] = (0.0, 2.0)  # NaN gradient where the mask is off, and on
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, as it should be
        got, want = K.relu_backward(grad, out), K.relu_backward_xp(grad, out)
    assert got.dtype == dtype and got.shape == out.shape
    np.testing.assert_array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))


def test_other_layouts_and_dtypes_take_the_array_version():
    rng = np.random.default_rng(1)
    out = np.maximum(rng.standard_normal((6, 8)), 0).astype(np.float32)
    grad = rng.standard_normal((8, 6)).astype(np.float32).T  # not contiguous
    np.testing.assert_array_equal(K.relu_backward(grad, out), grad * (out > 0))
    mixed = K.relu_backward(grad.astype(np.float64), out)  # NumPy's promotion
    assert mixed.dtype == np.float64
    np.testing.assert_array_equal(mixed, grad.astype(np.float64) * (out > 0))
    broadcast = K.relu_backward(np.ones((1, 8), np.float32), out)
    np.testing.assert_array_equal(broadcast, 1 * (out > 0))
