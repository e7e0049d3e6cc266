"""The numba direct-convolution kernels agree with the plain array versions (groups,
dilation, float32 and float64), and their parallel loops survive a forked process and
concurrent calls from two threads (numba's TBB threading layer, ``jit.parallel``)."""
import os
import threading
import time

import numpy as np
import pytest

from somanet.backend import kernels_direct as D

# (padded input shape, C_out, kernel, dilation, groups)
CASES = [
    ((2, 3, 8, 9), 4, (3, 3), (1, 1), 1),
    ((3, 4, 9, 9), 6, (2, 3), (2, 1), 2),
    ((2, 1, 12, 12), 6, (5, 5), (1, 1), 1),
    ((1, 6, 7, 5), 6, (1, 2), (1, 2), 6),  # depthwise
    ((0, 2, 5, 5), 2, (3, 3), (1, 1), 1),  # an empty batch
]


def _operands(shape, c_out, kernel, dilation, groups, dtype, seed=0):
    rng = np.random.default_rng(seed)
    xp = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((c_out, shape[1] // groups) + kernel).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    out_hw = tuple(s - d * (k - 1) for s, d, k in zip(shape[2:], dilation, kernel))
    grad = rng.standard_normal((shape[0], c_out) + out_hw).astype(dtype)
    return xp, w, b, out_hw, grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,c_out,kernel,dilation,groups", CASES)
def test_numba_kernels_match_the_array_versions(shape, c_out, kernel, dilation, groups,
                                                dtype):
    pytest.importorskip("numba")
    assert D._kernels(), "numba is installed, so the kernels must compile"
    xp, w, b, out_hw, grad = _operands(shape, c_out, kernel, dilation, groups, dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for bias in (b, None):
        got = D.direct_forward(xp, w, bias, dilation, out_hw, groups)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, D.direct_forward_xp(xp, w, bias, dilation, out_hw,
                                                            groups), **tol)
    got = D.direct_input_gradient(grad, w, dilation, shape[2:], groups)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_allclose(got, D.direct_input_gradient_xp(grad, w, dilation, shape[2:],
                                                               groups), **tol)
    got = D.direct_weight_gradient(xp, grad, kernel, dilation, groups)
    assert got.dtype == dtype and got.shape == w.shape
    np.testing.assert_allclose(got, D.direct_weight_gradient_xp(xp, grad, kernel, dilation,
                                                                groups), **tol)
    got, got_bias = D.direct_weight_gradient(xp, grad, kernel, dilation, groups, bias=True)
    want, want_bias = D.direct_weight_gradient_xp(xp, grad, kernel, dilation, groups, bias=True)
    assert got_bias.dtype == dtype and got_bias.shape == (c_out,)
    np.testing.assert_allclose(got, want, **tol)
    np.testing.assert_allclose(got_bias, want_bias, **tol)
    np.testing.assert_allclose(want_bias, grad.sum(axis=(0, 2, 3)), **tol)


def _run_all(seed):
    """Forward and both gradients of a LeNet-sized layer, checked against the xp versions."""
    xp, w, b, out_hw, grad = _operands((16, 1, 32, 32), 6, (5, 5), (1, 1), 1, np.float32, seed)
    np.testing.assert_allclose(D.direct_forward(xp, w, b, (1, 1), out_hw, 1),
                               D.direct_forward_xp(xp, w, b, (1, 1), out_hw, 1),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(D.direct_weight_gradient(xp, grad, (5, 5), (1, 1), 1),
                               D.direct_weight_gradient_xp(xp, grad, (5, 5), (1, 1), 1),
                               rtol=1e-3, atol=1e-3)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_parallel_kernels_survive_a_fork_and_two_threads():
    pytest.importorskip("numba")
    _run_all(0)  # the parent starts the threading layer's pool first
    pid = os.fork()
    if pid == 0:  # the child: a DataLoader worker would be forked like this
        try:
            _run_all(1)
            code = 0
        except BaseException:
            code = 1
        os._exit(code)
    deadline = time.monotonic() + 120
    while True:  # a hung child (GNU OpenMP after fork) fails instead of hanging the tests
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("a parallel kernel hung in a forked child")
        time.sleep(0.05)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    errors = []

    def worker(seed):
        try:
            for _ in range(5):
                _run_all(seed)
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "concurrent calls hung"
    assert not errors, errors


def test_the_threading_layer_is_tbb_when_available():
    numba = pytest.importorskip("numba")
    from somanet.backend.jit import parallel
    if not parallel(numba):
        pytest.skip("TBB is not installed (pip install tbb): the kernels run sequentially")
    _run_all(0)
    assert numba.threading_layer() == "tbb"
