"""The numba im2col/col2im kernels agree with the plain array versions, and col2im is
im2col's adjoint."""
import numpy as np
import pytest

from somanet.backend import kernels_conv as K

# (x shape, kernel, stride, padding (top, bottom, left, right), dilation)
GEOMETRIES = [
    ((2, 3, 6, 7), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1)),
    ((2, 1, 8, 8), (5, 5), (1, 1), (2, 2, 2, 2), (1, 1)),
    ((1, 2, 9, 7), (3, 2), (2, 3), (1, 0, 2, 1), (1, 1)),
    ((3, 2, 9, 9), (3, 3), (2, 1), (1, 2, 0, 1), (2, 3)),
    ((1, 4, 5, 5), (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)),
    ((2, 2, 4, 4), (4, 4), (3, 3), (3, 3, 3, 3), (1, 1)),  # windows of padding only
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation", GEOMETRIES)
def test_numba_kernels_match_the_array_versions(shape, kernel, stride, padding, dilation,
                                                dtype):
    pytest.importorskip("numba")
    assert K._kernels(), "numba is installed, so the kernels must compile"
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    want = K.im2col_xp(x, kernel, stride, padding, dilation)
    got = K.im2col(x, kernel, stride, padding, dilation)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)

    cols = rng.standard_normal(want.shape).astype(dtype)
    want_x = K.col2im_xp(cols, shape, kernel, stride, padding, dilation)
    got_x = K.col2im(cols, shape, kernel, stride, padding, dilation)
    assert got_x.dtype == dtype and got_x.shape == shape
    np.testing.assert_allclose(got_x, want_x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,kernel,stride,padding,dilation", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(shape, kernel, stride, padding, dilation):
    """<im2col(x), c> == <x, col2im(c)>, for both implementations."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    cols = rng.standard_normal(K.im2col_xp(x, kernel, stride, padding, dilation).shape)
    for unfold, fold in ((K.im2col_xp, K.col2im_xp), (K.im2col, K.col2im)):
        left = (unfold(x, kernel, stride, padding, dilation) * cols).sum()
        right = (x * fold(cols, shape, kernel, stride, padding, dilation)).sum()
        np.testing.assert_allclose(left, right, rtol=1e-10)


def test_non_contiguous_input_and_non_float_arrays_use_a_correct_path():
    x = np.arange(2 * 3 * 5 * 6, dtype=np.float32).reshape(2, 3, 6, 5).transpose(0, 1, 3, 2)
    args = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    np.testing.assert_array_equal(K.im2col(x, *args), K.im2col_xp(x, *args))
    ints = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)  # not a numba dtype: array path
    np.testing.assert_array_equal(K.im2col(ints, *args), K.im2col_xp(ints, *args))
