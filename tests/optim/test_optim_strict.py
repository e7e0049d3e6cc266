"""Every optimiser on the strict device (tests/backend/strict.py): the same steps as on
the CPU, state created and kept on the parameter's device, and its state dict moving
between devices. The fused kernels (backend.kernels_optim) are numba's on the CPU and
CuPy's on a GPU: on the strict device Adam and SGD take their plain-xp form (with
SOMANET_TEST_DEVICE=gpu:0 these tests see the CUDA kernels run)."""
import numpy as np
import pytest

import somanet as sn
from somanet.backend import kernels_optim, to_numpy
from somanet.nn.parameter import Parameter

from .helpers import ALL_IDS, ALL_OPTIMIZERS, make, random_grads


def _steps(name, options, device, grads, start):
    w = Parameter(sn.tensor(start, device=device))
    optimizer = make(name, [w], options)
    for g in grads:
        w.grad = sn.tensor(g, device=device)
        optimizer.step()
    return w, optimizer


@pytest.mark.parametrize(("name", "options"), ALL_OPTIMIZERS, ids=ALL_IDS)
def test_optimizer_on_the_strict_device_matches_the_cpu(name, options, strict):
    grads = random_grads((3, 4), 4)
    start = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    w, optimizer = _steps(name, options, strict, grads, start)
    want, cpu_optimizer = _steps(name, options, None, grads, start)
    assert w.device is strict and type(w.data) is strict.array_type
    np.testing.assert_allclose(to_numpy(w.data), want.numpy(), rtol=1e-5, atol=1e-6)
    state = optimizer.state_dict()
    assert all(type(a) is strict.array_type for a in state["arrays"].values())
    # the state dict written on one device resumes on the other
    cpu_optimizer.load_state_dict(state)
    optimizer.load_state_dict(cpu_optimizer.state_dict())
    for array in optimizer.state_dict()["arrays"].values():
        assert type(array) is strict.array_type
    next_grad = random_grads((3, 4), 1, seed=9)[0]
    w.grad = sn.tensor(next_grad, device=strict)
    want.grad = sn.tensor(next_grad)
    optimizer.step()
    cpu_optimizer.step()
    np.testing.assert_allclose(to_numpy(w.data), want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_fused_adam_on_a_device(strict, amsgrad):
    xp = strict.xp
    arrays = [xp.ones(5, dtype=np.float32) for _ in range(2)] + \
        [xp.zeros(5, dtype=np.float32) for _ in range(3)]
    state = arrays[2:4] + [arrays[4] if amsgrad else None]
    fused = kernels_optim.adam(arrays[0], arrays[1], state[0], state[1], 1, 0.1, 0.9, 0.999,
                               1e-8, max_exp_avg_sq=state[2])
    assert fused is (strict.type == "gpu")
    assert to_numpy(arrays[0]).tolist() == pytest.approx([0.9] * 5)


def test_fused_sgd_on_a_device(strict):
    xp = strict.xp
    param, grad, buffer = (xp.ones(4, dtype=np.float32) for _ in range(3))
    fused = kernels_optim.sgd(param, grad, buffer, 0.5, 0.9, 0.0, False)
    assert fused is (strict.type == "gpu")
    assert to_numpy(param).tolist() == pytest.approx([1 - 0.5 * 1.9] * 4)
