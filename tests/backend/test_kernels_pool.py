"""The numba pooling kernels agree with the plain array versions: max (output and the
argmax index, ties and NaNs included) and average, forward and backward, over strides,
padding, dilation, ceil_mode and both divisor rules. (The max pooling forward of a
window other than 2x2 stride 2 runs the array version itself: see kernels_pool.)"""
import numpy as np
import pytest

from somanet.backend import kernels_pool as K
from somanet.ops.pooling import _divisor, output_size

# (x shape, kernel, stride, padding, dilation, ceil_mode)
GEOMETRIES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),  # the specialised 2x2 case
    ((2, 3, 7, 9), (2, 2), (2, 2), (0, 0), (1, 1), False),  # 2x2, a row and column left over
    ((2, 3, 7, 9), (2, 2), (2, 2), (0, 0), (1, 1), True),  # 2x2, a last partial window
    ((2, 2, 8, 8), (2, 2), (2, 2), (1, 1), (1, 1), False),  # 2x2 with padding: general
    ((2, 3, 7, 9), (3, 3), (1, 1), (1, 1), (1, 1), False),  # overlapping windows
    ((1, 2, 9, 7), (3, 2), (2, 1), (1, 0), (1, 1), False),
    ((2, 2, 9, 11), (3, 3), (2, 3), (2, 1), (1, 1), True),
    ((3, 2, 10, 9), (3, 2), (2, 2), (1, 1), (2, 3), False),  # dilation
    ((3, 2, 10, 9), (3, 3), (3, 2), (2, 1), (2, 2), True),  # dilation and ceil_mode
    ((1, 1, 5, 5), (1, 1), (1, 1), (0, 0), (1, 1), False),
    ((2, 2, 4, 6), (4, 6), (1, 1), (0, 0), (1, 1), False),  # one window: the whole plane
    ((1, 2, 6, 6), (3, 3), (3, 3), (0, 0), (1, 1), False),  # disjoint, not 2x2
]
IDS = [f"{g[0]}-k{g[1]}-s{g[2]}-p{g[3]}-d{g[4]}-{'ceil' if g[5] else 'floor'}"
       for g in GEOMETRIES]


def _geometry(shape, kernel, stride, padding, dilation, ceil_mode):
    """(out_hw, pads) as ops.pooling works them out."""
    out_hw, pads = [], []
    for size, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation):
        count = output_size(size, k, s, p, d, ceil_mode)
        out_hw.append(count)
        pads.append((p, max(p, (count - 1) * s + d * (k - 1) + 1 - size - p)))
    return tuple(out_hw), tuple(pads)


def _inputs(shape, dtype, kind, rng):
    if kind == "random":
        return rng.standard_normal(shape).astype(dtype)
    if kind == "tied":  # a few distinct values: most windows hold ties
        return rng.integers(0, 3, shape).astype(dtype)
    return np.maximum(rng.standard_normal(shape), 0).astype(dtype)  # "relu": ties at 0


@pytest.fixture(autouse=True)
def _numba():
    pytest.importorskip("numba")
    assert K._kernels(), "numba is installed, so the kernels must compile"


@pytest.mark.parametrize("kind", ["random", "tied", "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", GEOMETRIES, ids=IDS)
def test_max_pool_kernels_match_the_array_versions(shape, kernel, stride, padding, dilation,
                                                   ceil_mode, dtype, kind):
    rng = np.random.default_rng(0)
    x = _inputs(shape, dtype, kind, rng)
    out_hw, pads = _geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    want, want_index = K.max_pool_xp(x, kernel, stride, pads, dilation, out_hw)
    got, index = K.max_pool(x, kernel, stride, pads, dilation, out_hw)
    assert got.dtype == dtype and index.dtype == np.uint8 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(index, want_index)

    grad = rng.standard_normal(got.shape).astype(dtype)
    want_dx = K.max_pool_backward_xp(grad, index, shape[2:], kernel, stride, pads, dilation)
    got_dx = K.max_pool_backward(grad, index, shape[2:], kernel, stride, pads, dilation)
    assert got_dx.dtype == dtype and got_dx.shape == shape
    np.testing.assert_allclose(got_dx, want_dx, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode",
                         [g for g in GEOMETRIES if g[4] == (1, 1)],
                         ids=[i for i, g in zip(IDS, GEOMETRIES) if g[4] == (1, 1)])
def test_avg_pool_kernels_match_the_array_versions(shape, kernel, stride, padding, dilation,
                                                   ceil_mode, dtype, count_include_pad):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    out_hw, pads = _geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    divisor = _divisor(np, out_hw, shape[2:], kernel, stride, padding, count_include_pad,
                       dtype)
    want = K.avg_pool_xp(x, kernel, stride, pads, out_hw, divisor)
    got = K.avg_pool(x, kernel, stride, pads, out_hw, divisor)
    assert got.dtype == dtype and got.shape == want.shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)

    grad = rng.standard_normal(got.shape).astype(dtype)
    want_dx = K.avg_pool_backward_xp(grad, shape[2:], kernel, stride, pads, divisor)
    got_dx = K.avg_pool_backward(grad, shape[2:], kernel, stride, pads, divisor)
    assert got_dx.dtype == dtype and got_dx.shape == shape
    np.testing.assert_allclose(got_dx, want_dx, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode",
                         [GEOMETRIES[0], GEOMETRIES[4], GEOMETRIES[8]],
                         ids=[IDS[0], IDS[4], IDS[8]])
def test_nan_and_infinity_behave_as_the_array_version(shape, kernel, stride, padding,
                                                      dilation, ceil_mode):
    """A NaN makes its windows' maximum NaN and keeps the index of the maximum before it;
    -inf inputs lose to everything and tie with the padding."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    x[rng.random(shape) < 0.1] = np.nan
    x[rng.random(shape) < 0.1] = -np.inf
    x[0, 0] = -np.inf
    out_hw, pads = _geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    want, want_index = K.max_pool_xp(x, kernel, stride, pads, dilation, out_hw)
    got, index = K.max_pool(x, kernel, stride, pads, dilation, out_hw)
    assert np.isnan(got).any()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(index, want_index)


def test_more_than_256_kernel_offsets_keep_an_int32_index():
    x = np.random.default_rng(3).standard_normal((2, 2, 20, 19)).astype(np.float32)
    args = ((17, 17), (1, 2), ((0, 0), (0, 0)), (1, 1))
    out_hw = (4, 2)
    want, want_index = K.max_pool_xp(x, *args, out_hw)
    got, index = K.max_pool(x, *args, out_hw)
    assert index.dtype == want_index.dtype == np.int32
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(index, want_index)
    grad = np.ones(got.shape, np.float32)
    np.testing.assert_array_equal(K.max_pool_backward(grad, index, (20, 19), *args),
                                  K.max_pool_backward_xp(grad, index, (20, 19), *args))


def test_non_contiguous_and_non_float_arrays_use_a_correct_path():
    x = np.arange(2 * 3 * 7 * 8, dtype=np.float32).reshape(2, 3, 8, 7).transpose(0, 1, 3, 2)
    args = ((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1), (3, 4))
    for got, want in zip(K.max_pool(x, *args), K.max_pool_xp(x, *args)):
        np.testing.assert_array_equal(got, want)
    ints = np.arange(2 * 3 * 8 * 8).reshape(2, 3, 8, 8)  # not a numba dtype: array path
    for got, want in zip(K.max_pool(ints, *args), K.max_pool_xp(ints, *args)):
        np.testing.assert_array_equal(got, want)
    grad = np.ones((2, 3, 3, 4), np.float32)[:, :, ::-1]
    np.testing.assert_array_equal(
        K.avg_pool_backward(grad, (7, 8), (2, 2), (2, 2), ((0, 0), (0, 0)), 4),
        K.avg_pool_backward_xp(grad, (7, 8), (2, 2), (2, 2), ((0, 0), (0, 0)), 4))


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode",
                         [GEOMETRIES[0], GEOMETRIES[4], GEOMETRIES[6]],
                         ids=[IDS[0], IDS[4], IDS[6]])
def test_average_pooling_propagates_nan_and_infinity_as_the_array_version(
        shape, kernel, stride, padding, dilation, ceil_mode):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(np.float32)
    x[rng.random(shape) < 0.05] = np.nan
    x[rng.random(shape) < 0.05] = np.inf
    out_hw, pads = _geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    divisor = _divisor(np, out_hw, shape[2:], kernel, stride, padding, True, np.float32)
    want = K.avg_pool_xp(x, kernel, stride, pads, out_hw, divisor)
    got = K.avg_pool(x, kernel, stride, pads, out_hw, divisor)
    assert np.isnan(got).any() and np.isfinite(got).any()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    grad = rng.standard_normal(got.shape).astype(np.float32)
    grad[0, 0, 0, 0] = np.nan
    np.testing.assert_allclose(
        K.avg_pool_backward(grad, shape[2:], kernel, stride, pads, divisor),
        K.avg_pool_backward_xp(grad, shape[2:], kernel, stride, pads, divisor),
        rtol=1e-6, atol=1e-6)
