"""The numba LSTM step kernels agree with the plain array versions (and with the formulas)."""
import numpy as np
import pytest

from somanet.backend import kernels_recurrent as K

B, H = 5, 7


def _step(rng, dtype):
    """One step's arrays: activations in (0, 1) (tanh block in (-1, 1)), states, gradients."""
    act = rng.uniform(0.01, 0.99, (B, 4 * H))
    act[:, 2 * H:3 * H] = rng.uniform(-0.99, 0.99, (B, H))
    arrays = dict(act=act, tanh_c=rng.uniform(-0.99, 0.99, (B, H)),
                  c_prev=rng.standard_normal((B, H)), grad_out=rng.standard_normal((B, H)),
                  grad_h=rng.standard_normal((B, H)), grad_c=rng.standard_normal((B, H)))
    return {name: value.astype(dtype) for name, value in arrays.items()}


def _affine(dtype):
    scale = np.full(4 * H, 0.5, dtype)
    shift = np.full(4 * H, 0.5, dtype)
    scale[2 * H:3 * H], shift[2 * H:3 * H] = 1, 0
    return scale, shift


def _run_forward(function, step, dtype):
    act, c = step["act"].copy(), np.empty((B, H), dtype)
    function(act, step["c_prev"], c, *_affine(dtype))
    return act, c


def _run_backward(function, step, grad_out=None):
    grad_h, grad_c = step["grad_h"].copy(), step["grad_c"].copy()
    grad = np.empty_like(step["act"])
    function(step["act"], step["tanh_c"], step["c_prev"],
             step["grad_out"] if grad_out is None else grad_out, grad_h, grad_c, grad)
    return grad_h, grad_c, grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_kernels_match_the_array_versions(dtype):
    pytest.importorskip("numba")
    assert K._kernels(), "numba is installed, so the kernels must compile"
    step = _step(np.random.default_rng(0), dtype)
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12)
    for got, want in zip(_run_forward(K.lstm_cell_forward, step, dtype),
                         _run_forward(K.lstm_cell_forward_xp, step, dtype)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tolerance)
    for got, want in zip(_run_backward(K.lstm_cell_backward, step),
                         _run_backward(K.lstm_cell_backward_xp, step)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tolerance)


def test_the_array_versions_compute_the_documented_formulas():
    step = _step(np.random.default_rng(1), np.float64)
    a = step["act"]
    i, f, g, o = (a[:, k * H:(k + 1) * H] for k in range(4))
    act, c = _run_forward(K.lstm_cell_forward_xp, step, np.float64)
    np.testing.assert_allclose(act, a * _affine(np.float64)[0] + _affine(np.float64)[1])
    si, sf, sg = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H]
    np.testing.assert_allclose(c, sf * step["c_prev"] + si * sg)

    grad_h, grad_c, grad = _run_backward(K.lstm_cell_backward_xp, step)
    dh = step["grad_h"] + step["grad_out"]
    tc = step["tanh_c"]
    dc = step["grad_c"] + dh * o * (1 - tc * tc)
    np.testing.assert_allclose(grad_h, dh)
    np.testing.assert_allclose(grad_c, dc * f)
    np.testing.assert_allclose(grad, np.concatenate(
        [dc * g * i * (1 - i), dc * step["c_prev"] * f * (1 - f), dc * i * (1 - g * g),
         dh * tc * o * (1 - o)], axis=1))


def test_a_broadcast_output_gradient_is_accepted():
    """The gradient of ``out.sum()`` arrives as a broadcast (zero-stride) array."""
    step = _step(np.random.default_rng(2), np.float32)
    ones = np.broadcast_to(np.float32(1), (B, H))
    got = _run_backward(K.lstm_cell_backward, step, ones)
    want = _run_backward(K.lstm_cell_backward_xp, step, np.ones((B, H), np.float32))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
