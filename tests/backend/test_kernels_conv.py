"""The numba im2col/col2im kernels agree with the plain array versions in both layouts
(per sample and batch-merged), and col2im is im2col's adjoint."""
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
    ((3, 2, 6, 9), (2, 3), (1, 1), (0, 1, 2, 0), (2, 2)),  # rows inside and beside the input
]
LAYOUTS = pytest.mark.parametrize("merged", [False, True], ids=["per_sample", "merged"])


@LAYOUTS
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation", GEOMETRIES)
def test_numba_kernels_match_the_array_versions(shape, kernel, stride, padding, dilation,
                                                dtype, merged):
    pytest.importorskip("numba")
    assert K._kernels(), "numba is installed, so the kernels must compile"
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    want = K.im2col_xp(x, kernel, stride, padding, dilation, merged)
    got = K.im2col(x, kernel, stride, padding, dilation, merged)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)

    cols = rng.standard_normal(want.shape).astype(dtype)
    want_x = K.col2im_xp(cols, shape, kernel, stride, padding, dilation, merged=merged)
    got_x = K.col2im(cols, shape, kernel, stride, padding, dilation, merged=merged)
    assert got_x.dtype == dtype and got_x.shape == shape
    np.testing.assert_allclose(got_x, want_x, rtol=1e-5, atol=1e-5)


@LAYOUTS
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(shape, kernel, stride, padding, dilation, merged):
    """<im2col(x), c> == <x, col2im(c)>, for both implementations."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    cols = rng.standard_normal(K.im2col_xp(x, kernel, stride, padding, dilation, merged).shape)
    for unfold, fold in ((K.im2col_xp, K.col2im_xp), (K.im2col, K.col2im)):
        left = (unfold(x, kernel, stride, padding, dilation, merged) * cols).sum()
        right = (x * fold(cols, shape, kernel, stride, padding, dilation, merged=merged)).sum()
        np.testing.assert_allclose(left, right, rtol=1e-10)


@pytest.mark.parametrize("im2col", [K.im2col, K.im2col_xp], ids=["numba", "xp"])
def test_the_merged_layout_is_the_per_sample_one_with_the_batch_in_the_columns(im2col):
    """cols[(c*kh + p)*kw + q, n*L + i*Wo + j] == x_pad[n, c, i*s + p*d, j*s + q*d]."""
    x = np.random.default_rng(2).standard_normal((3, 2, 7, 6))
    args = ((3, 2), (2, 1), (1, 0, 0, 1), (1, 2))
    per_sample = im2col(x, *args)
    n, rows, length = per_sample.shape
    merged = im2col(x, *args, merged=True)
    assert merged.shape == (rows, n * length) and merged.flags.c_contiguous
    np.testing.assert_array_equal(merged, per_sample.transpose(1, 0, 2).reshape(rows, -1))
    wo = K.output_size((7, 6), *args)[1]
    # row (c, p, q) = (1, 1, 1), column (n, i, j) = (1, 1, 2): x[1, 1, 2*1 + 1 - 1, 2 + 2*1]
    assert merged[(1 * 3 + 1) * 2 + 1, 1 * length + 1 * wo + 2] == x[1, 1, 2, 4]
    assert merged[0, length] == 0  # (0, 0, 0), (1, 0, 0): the top padding row


def test_the_merged_kernels_work_a_few_samples_at_a_time(monkeypatch):
    """Blocks of 2 samples over a batch of 5: the last block is short."""
    pytest.importorskip("numba")
    x = np.random.default_rng(3).standard_normal((5, 3, 6, 5)).astype(np.float32)
    args = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    cols = np.random.default_rng(4).standard_normal((27, 5 * 30)).astype(np.float32)
    want_cols = K.im2col(x, *args, merged=True)
    want_x = K.col2im(cols, x.shape, *args, merged=True)
    monkeypatch.setattr(K, "BLOCK_POSITIONS", 2 * 30)
    assert K._block(5, 30) == 2
    np.testing.assert_array_equal(K.im2col(x, *args, merged=True), want_cols)
    np.testing.assert_allclose(K.col2im(cols, x.shape, *args, merged=True), want_x, rtol=1e-6)


def test_non_contiguous_input_and_non_float_arrays_use_a_correct_path():
    x = np.arange(2 * 3 * 5 * 6, dtype=np.float32).reshape(2, 3, 6, 5).transpose(0, 1, 3, 2)
    args = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    np.testing.assert_array_equal(K.im2col(x, *args), K.im2col_xp(x, *args))
    ints = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)  # not a numba dtype: array path
    np.testing.assert_array_equal(K.im2col(ints, *args), K.im2col_xp(ints, *args))
