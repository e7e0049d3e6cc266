"""The loops native training steps call agree with NumPy and with the ops they stand for."""
import numpy as np
import pytest

import somanet as sn
from somanet.backend import kernels_native

pytest.importorskip("numba")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_small_of_any_layout(dtype):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)).astype(dtype), rng.normal(size=(4, 3)).astype(dtype)
    kernels = kernels_native.kernels()
    for left, right in [(a, b.T), (a.T.copy().T, b.T.copy()), (b, a.T)]:
        out = kernels.matmul_small(left, right)
        assert out.dtype == dtype and out.flags.c_contiguous
        np.testing.assert_allclose(out, left @ right, rtol=1e-6 if dtype == np.float32
                                   else 1e-14)


def test_softmax_cross_entropy_and_its_gradient_match_the_op():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 4)).astype(np.float32) * 5
    labels = rng.integers(0, 4, size=6)
    kernels = kernels_native.kernels()
    loss, probs = kernels.softmax_cross_entropy(logits, labels)
    x = sn.tensor(logits, requires_grad=True)
    expected = sn.cross_entropy(x, sn.tensor(labels), reduction="sum")
    expected.backward()
    np.testing.assert_allclose(loss.sum(), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(probs, sn.softmax(sn.tensor(logits), axis=1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(kernels.softmax_rows(logits), probs, rtol=1e-7)
    np.testing.assert_allclose(kernels.log_softmax_rows(logits),
                               sn.log_softmax(sn.tensor(logits), axis=1).numpy(),
                               rtol=1e-6, atol=1e-6)
    grad = kernels.softmax_cross_entropy_backward(probs, labels, np.float32(1))
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_pick_rows_and_place_rows():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    labels = np.array([3, 0, 2])
    kernels = kernels_native.kernels()
    np.testing.assert_array_equal(kernels.pick_rows(x, labels), [3, 4, 10])
    placed = kernels.place_rows(x, labels, np.float32(-2))
    expected = np.zeros_like(x)
    expected[[0, 1, 2], labels] = -2
    np.testing.assert_array_equal(placed, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_is_numpys_own_product(dtype):
    gemm = kernels_native.kernels().gemm
    if gemm is None:
        pytest.skip("NumPy's BLAS exports no CBLAS gemm here (np.dot is used instead)")
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(70, 50)).astype(dtype), rng.normal(size=(60, 50)).astype(dtype)
    np.testing.assert_array_equal(gemm(a, b, False, True), a @ b.T)  # the same library
    np.testing.assert_allclose(gemm(a, a, True, False), a.T @ a, rtol=1e-5)
    np.testing.assert_allclose(gemm(b.T, a.T.copy(), True, False), b @ a.T, rtol=1e-5)
    assert gemm(a, b, False, True).dtype == dtype
