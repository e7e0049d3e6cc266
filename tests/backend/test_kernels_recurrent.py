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
    """``act`` (the scaled input pre-activations) and ``recurrent`` drawn so their sum
    spans the tanh's range; returns the gates, c, tanh(c) and h."""
    rng = np.random.default_rng(3)
    act = rng.normal(0, 2, (B, 4 * H)).astype(dtype)
    recurrent = rng.normal(0, 1, (B, 4 * H)).astype(dtype)
    c, tanh_c, h = (np.empty((B, H), dtype) for _ in range(3))
    function(act, recurrent, step["c_prev"], c, tanh_c, h, *_affine(dtype))
    return act, c, tanh_c, h


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
    for got, want in zip(_run_forward(K.lstm_step_forward, step, dtype),
                         _run_forward(K.lstm_step_forward_xp, step, dtype)):
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
    act, c, tanh_c, h = _run_forward(K.lstm_step_forward_xp, step, np.float64)
    rng = np.random.default_rng(3)
    pre = rng.normal(0, 2, (B, 4 * H)) + rng.normal(0, 1, (B, 4 * H))
    scale, shift = _affine(np.float64)
    np.testing.assert_allclose(act, np.tanh(pre) * scale + shift)
    si, sf, sg, so = (act[:, k * H:(k + 1) * H] for k in range(4))
    np.testing.assert_allclose(c, sf * step["c_prev"] + si * sg)
    np.testing.assert_allclose(tanh_c, np.tanh(c))
    np.testing.assert_allclose(h, so * np.tanh(c))

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


def test_the_float32_tanh_is_within_five_ulps():
    """The forward kernel's float32 tanh (a rational approximation) against float64's,
    over a dense grid of [-10, 10], the tiny and saturated ends, and NaN / inf."""
    pytest.importorskip("numba")
    grid = np.linspace(-10, 10, 2 ** 20 * 4, dtype=np.float32)
    special = np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -3e-4, 8.5, -20.0])
    values = np.concatenate([grid, special, np.zeros(-(grid.size + special.size) % (4 * H),
                                                     np.float32)]).reshape(-1, 4 * H)
    out = values.copy()
    scale, shift = np.ones(4 * H, np.float32), np.zeros(4 * H, np.float32)
    rows = len(values)
    c, tanh_c, h = (np.empty((rows, H), np.float32) for _ in range(3))
    K.lstm_step_forward(out, np.zeros_like(out), np.zeros((rows, H), np.float32), c, tanh_c,
                        h, scale, shift)
    want = np.tanh(values.astype(np.float64))
    finite = np.isfinite(values)
    error = np.abs(out[finite] - want[finite])
    ulp = np.spacing(np.abs(want[finite]).astype(np.float32)).astype(np.float64)
    assert error.max() <= 3e-7 and (error / ulp)[np.abs(want[finite]) > 1e-30].max() <= 5
    assert np.isnan(out[np.isnan(values)]).all()
    assert out[values == np.inf].tolist() == [1.0] and out[values == -np.inf].tolist() == [-1.0]
    assert out[values == np.float32(1e-30)].tolist() == [np.float32(1e-30)]
