"""The fused optimiser kernels agree with the NumPy updates they replace."""
import numpy as np
import pytest

from somanet.backend import kernels_optim

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
        scratch = (np.empty_like(param), np.empty_like(param))
        kernels_optim.adam_xp(plain[0], grad, plain[1], plain[2], step, lr, *betas, eps, l2,
                              scratch=scratch)
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
        # the NumPy path: the same update in array operations
        kernels_optim.sgd_xp(plain[0], grad, plain[1], 0.05, 0.9, weight_decay, nesterov,
                             (np.empty_like(param), np.empty_like(param)))
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    for ours, theirs in zip(fused, plain):
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance)


def test_the_kernels_decline_what_they_cannot_do():
    param, grad, m, v = _arrays(np.float32)
    v = np.abs(v)  # the xp version then does the step: v is a mean of squares
    strided = np.ones((5, 7), np.float32).T  # not C-contiguous
    assert not kernels_optim.adam(param, strided, m, v, 1, 0.1, 0.9, 0.999, 1e-8)
    assert not kernels_optim.sgd(param, grad.astype(np.float64), m, 0.1, 0.9, 0.0, False)


def test_where_the_kernels_decline_the_xp_version_does_the_step():
    """The entry point always updates: a non-contiguous gradient takes adam_xp."""
    param, grad, m, v = _arrays(np.float64, seed=2)
    v = np.abs(v)
    strided = np.asfortranarray(grad)  # the same values, not C-contiguous
    fallback = [a.copy() for a in (param, m, v)]
    assert not kernels_optim.adam(fallback[0], strided, fallback[1], fallback[2], 1, 0.01,
                                  0.9, 0.999, 1e-8)
    want = [a.copy() for a in (param, m, v)]
    kernels_optim.adam_xp(want[0], grad, want[1], want[2], 1, 0.01, 0.9, 0.999, 1e-8)
    for ours, theirs in zip(fallback, want):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert not np.array_equal(fallback[0], param)  # it did move the weights


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("l2, decay", [(0.0, 1.0), (0.01, 1.0), (0.0, 0.999)])
def test_amsgrad_kernel_matches_the_numpy_update(dtype, l2, decay):
    param, grad, m, v = _arrays(dtype, seed=3)
    v = np.abs(v)
    v_max = np.abs(_arrays(dtype, seed=4)[0])  # some above v, some below
    fused = [a.copy() for a in (param, m, v, v_max)]
    plain = [a.copy() for a in (param, m, v, v_max)]
    lr, betas, eps = 0.01, (0.9, 0.999), 1e-8
    for step in (1, 2, 3):
        grad = grad * (0.5 if step == 2 else 1.5)  # moments that rise and fall
        assert kernels_optim.adam(fused[0], grad, fused[1], fused[2], step, lr, *betas, eps,
                                  l2=l2, decay=decay, max_exp_avg_sq=fused[3])
        kernels_optim.adam_xp(plain[0], grad, plain[1], plain[2], step, lr, *betas, eps, l2,
                              decay, (np.empty_like(param), np.empty_like(param)), plain[3])
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for ours, theirs in zip(fused, plain):
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance)
    assert (fused[3] >= fused[2]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_sgd_dampening_kernel_matches_the_numpy_update(dtype, weight_decay):
    param, grad, buffer, _ = _arrays(dtype, seed=5)
    fused = [param.copy(), buffer.copy()]
    plain = [param.copy(), buffer.copy()]
    for dampening in (0.0, 0.3, 0.3):  # the first step undampened, as SGD passes it
        assert kernels_optim.sgd(fused[0], grad, fused[1], 0.05, 0.9, weight_decay, False,
                                 dampening=dampening)
        kernels_optim.sgd_xp(plain[0], grad, plain[1], 0.05, 0.9, weight_decay, False,
                             (np.empty_like(param), np.empty_like(param)), dampening)
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    for ours, theirs in zip(fused, plain):
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance)


def test_where_amsgrad_declines_the_xp_version_does_the_same_step():
    param, grad, m, v = _arrays(np.float64, seed=6)
    v, v_max = np.abs(v), np.zeros_like(v)
    fallback = [a.copy() for a in (param, m, v, v_max)]
    assert not kernels_optim.adam(fallback[0], np.asfortranarray(grad), fallback[1],
                                  fallback[2], 1, 0.01, 0.9, 0.999, 1e-8,
                                  max_exp_avg_sq=fallback[3])
    fused = [a.copy() for a in (param, m, v, v_max)]
    assert kernels_optim.adam(fused[0], grad, fused[1], fused[2], 1, 0.01, 0.9, 0.999, 1e-8,
                              max_exp_avg_sq=fused[3])
    for ours, theirs in zip(fallback, fused):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_kernels_match_the_cpu_kernels(dtype):
    import somanet as sn
    if sn.gpu_count() == 0:
        pytest.skip("no GPU")
    import cupy
    param, grad, m, v = _arrays(dtype)
    v = np.abs(v)
    tolerance = 1e-6 if dtype == np.float32 else 1e-13
    for amsgrad in (False, True):
        for l2, decay in ((0.0, 1.0), (0.01, 0.999)):
            cpu = [a.copy() for a in (param, m, v, v)]
            gpu = [cupy.asarray(a) for a in cpu]
            for step in (1, 2, 3):
                for arrays, g in ((cpu, grad), (gpu, cupy.asarray(grad))):
                    assert kernels_optim.adam(arrays[0], g, arrays[1], arrays[2], step, 0.01,
                                              0.9, 0.999, 1e-8, l2=l2, decay=decay,
                                              max_exp_avg_sq=arrays[3] if amsgrad else None)
            for ours, theirs in zip(gpu, cpu):
                np.testing.assert_allclose(cupy.asnumpy(ours), theirs, rtol=tolerance,
                                           atol=tolerance)
    for nesterov in (False, True):
        cpu = [param.copy(), np.zeros_like(param)]
        gpu = [cupy.asarray(a) for a in cpu]
        for dampening in (0.0, 0.1):
            for arrays, g in ((cpu, grad), (gpu, cupy.asarray(grad))):
                assert kernels_optim.sgd(arrays[0], g, arrays[1], 0.1, 0.9, 0.01, nesterov,
                                         dampening=dampening)
        for ours, theirs in zip(gpu, cpu):
            np.testing.assert_allclose(cupy.asnumpy(ours), theirs, rtol=tolerance,
                                       atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_the_plain_sgd_loop_is_bitwise_the_numpy_update(dtype, weight_decay):
    """The loop that native steps call for SGD without momentum (no fused multiply-add)."""
    param, grad, _, _ = _arrays(dtype, seed=2)
    looped, plain = param.copy(), param.copy()
    sgd_loop = kernels_optim.numba_kernels()[3]
    for _ in range(3):
        sgd_loop(looped.reshape(-1), grad.reshape(-1), *(dtype(0.1), dtype(weight_decay)))
        kernels_optim.sgd_xp(plain, grad, None, 0.1, 0.0, weight_decay, False)
    np.testing.assert_array_equal(looped, plain)


def test_the_constants_are_those_of_the_entry_points():
    constants = kernels_optim.adam_constants(np.dtype(np.float32), 3, 0.01, 0.9, 0.999, 1e-8)
    assert all(type(value) is np.float32 for value in constants)
    assert constants[0] == np.float32(0.01 / (1 - 0.9 ** 3))
    sgd = kernels_optim.sgd_constants(np.dtype(np.float64), 0.1, 0.9, 0.0, True, 0.25)
    assert sgd == (0.1, 0.9, 0.0, True, 0.75, np.finfo(np.float64).tiny)
    assert type(sgd[0]) is np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_moments_below_the_smallest_normal_number_are_stored_as_zero(dtype):
    """A zero gradient's decaying moments end at 0 instead of crawling through the slow
    subnormal numbers; normal moments and the weights are those of the NumPy update."""
    tiny = np.finfo(dtype).tiny
    param = np.ones(6, dtype)
    grad = np.array([0, 0, 0, 1e-3, -1e-3, 0], dtype)
    m = np.array([tiny * 1.05, -tiny * 1.05, tiny * 4, 0.1, 0.1, 1.0], dtype)
    v = np.array([tiny * 1.0005, tiny * 4, tiny * 4, 0.1, 0.1, 1.0], dtype)
    plain = [a.copy() for a in (param, m, v)]
    assert kernels_optim.adam(param, grad, m, v, 5, 0.01, 0.9, 0.999, 1e-8)
    kernels_optim.adam_xp(*plain[:1], grad, *plain[1:], 5, 0.01, 0.9, 0.999, 1e-8)
    assert (m[:2] == 0).all() and v[0] == 0  # 0.9 * 1.05 tiny and 0.999 * 1.0005 tiny < tiny
    assert (0 < plain[1][:2] * [1, -1]).all() and 0 < plain[2][0] < tiny  # NumPy: subnormal
    np.testing.assert_array_equal(m[2:], plain[1][2:])  # 0.9 * 4 tiny is normal: kept
    np.testing.assert_array_equal(v[1:], plain[2][1:])
    np.testing.assert_allclose(param, plain[0], rtol=1e-6)
    buffer = np.array([tiny * 1.05, 0.5], dtype)
    assert kernels_optim.sgd(param[:2], np.zeros(2, dtype), buffer, 0.1, 0.9, 0.0, False)
    assert buffer[0] == 0 and buffer[1] == dtype(0.9) * dtype(0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_parameters_update_on_every_core_bitwise_as_in_one_loop(dtype):
    """From ``PARALLEL_MIN`` elements the loops run in chunks on all cores; cutting the
    arrays elsewhere (pieces below the threshold, one loop each) gives the same bits."""
    size = kernels_optim.PARALLEL_MIN + kernels_optim.CHUNK + 37
    rng = np.random.default_rng(3)
    param, grad, m, v, v_max, buffer = (rng.standard_normal(size).astype(dtype)
                                        for _ in range(6))
    v, v_max = np.abs(v), np.abs(v_max)
    cuts = (0, 1001, size // 2, size)
    adam, sgd_momentum, amsgrad, _ = kernels_optim.numba_kernels()
    adam_scalars = kernels_optim.adam_constants(np.dtype(dtype), 2, 0.01, 0.9, 0.999, 1e-8,
                                                0.01, 0.999)
    sgd_scalars = kernels_optim.sgd_constants(np.dtype(dtype), 0.1, 0.9, 0.01, True)
    cases = [(adam, (param, grad, m, v), adam_scalars),
             (amsgrad, (param, grad, m, v, v_max), adam_scalars),
             (sgd_momentum, (param, grad, buffer), sgd_scalars)]
    for kernel, arrays, scalars in cases:
        whole = [a.copy() for a in arrays]
        pieces = [a.copy() for a in arrays]
        kernel(*whole, *scalars)
        for start, stop in zip(cuts, cuts[1:]):
            kernel(*(a[start:stop] for a in pieces), *scalars)
        for ours, theirs in zip(whole, pieces):
            np.testing.assert_array_equal(ours, theirs)
        assert not np.array_equal(whole[0], arrays[0])  # the step did change the weights


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_nan_or_infinite_gradient_reaches_the_weights(dtype):
    """Flushing tiny moments must not flush NaN: a diverged step shows in the weights."""
    grad = np.zeros(40, dtype)
    grad[[3, 17, 33]] = np.nan, np.inf, -np.inf
    for amsgrad in (False, True):
        param, m, v = np.ones(40, dtype), np.zeros(40, dtype), np.zeros(40, dtype)
        maximum = dict(max_exp_avg_sq=np.zeros(40, dtype)) if amsgrad else {}
        assert kernels_optim.adam(param, grad, m, v, 1, 0.01, 0.9, 0.999, 1e-8, **maximum)
        assert np.isnan(param[[3, 17, 33]]).all()
        assert np.isfinite(np.delete(param, [3, 17, 33])).all()
        assert np.isnan(m[3]) and np.isnan(v[3]) and m[17] == np.inf and v[33] == np.inf
    param, buffer = np.ones(40, dtype), np.zeros(40, dtype)
    assert kernels_optim.sgd(param, grad, buffer, 0.1, 0.9, 0.0, False)
    assert np.isnan(param[3]) and param[17] == -np.inf and param[33] == np.inf
