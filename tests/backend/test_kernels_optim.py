"""The fused optimiser kernels agree with the NumPy updates they replace."""
import numpy as np
import pytest

from somanet.backend import kernels_optim
from somanet.optim import adam as adam_module
from somanet.optim import sgd as sgd_module

pytest.importorskip("numba")


def _arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((7, 5)).astype(dtype) for _ in range(4)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("l2, decay", [(0.0, 1.0), (0.01, 1.0), (0.0, 0.999)])
def test_adam_kernel_matches_the_numpy_update(dtype, l2, decay):
    param, grad, m, v = _arrays(dtype)
    v = np.abs(v)
    fused = [a.copy() for a in (param, m, v)]
    plain = [a.copy() for a in (param, m, v)]
    lr, betas, eps = 0.01, (0.9, 0.999), 1e-8
    for step in (1, 2, 3):
        assert kernels_optim.adam(fused[0], grad, fused[1], fused[2], step, lr, *betas, eps,
                                  l2=l2, decay=decay)
        plain[0] *= decay
        state = {"step": step, "exp_avg": plain[1], "exp_avg_sq": plain[2]}
        scratch = (np.empty_like(param), np.empty_like(param))
        adam_module._adam(plain[0], grad, state, scratch, lr, betas, eps, l2)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for ours, theirs in zip(fused, plain):
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay, nesterov", [(0.0, False), (0.01, False), (0.0, True)])
def test_sgd_kernel_matches_the_numpy_update(dtype, weight_decay, nesterov):
    param, grad, buffer, _ = _arrays(dtype, seed=1)
    fused = [param.copy(), buffer.copy()]
    plain = [param.copy(), buffer.copy()]
    for _ in range(3):
        assert kernels_optim.sgd(fused[0], grad, fused[1], 0.05, 0.9, weight_decay, nesterov)
        # the NumPy path: the same update with the kernels switched off
        original = kernels_optim.sgd
        kernels_optim.sgd = lambda *args: False
        try:
            sgd_module.sgd_update(plain[0], grad, {"momentum_buffer": plain[1]},
                                  (np.empty_like(param), np.empty_like(param)), lr=0.05,
                                  momentum=0.9, weight_decay=weight_decay, nesterov=nesterov)
        finally:
            kernels_optim.sgd = original
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    for ours, theirs in zip(fused, plain):
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance)


def test_the_kernels_decline_what_they_cannot_do():
    param, grad, m, v = _arrays(np.float32)
    strided = np.ones((5, 7), np.float32).T  # not C-contiguous
    assert not kernels_optim.adam(param, strided, m, v, 1, 0.1, 0.9, 0.999, 1e-8)
    assert not kernels_optim.sgd(param, grad.astype(np.float64), m, 0.1, 0.9, 0.0, False)
