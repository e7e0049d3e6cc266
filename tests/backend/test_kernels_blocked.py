"""The register-blocked convolution kernels agree with the plain array versions of
``kernels_direct`` (groups, dilation, channel counts that leave lanes empty, skipped
padding rows), and apply to float32 NumPy arrays only. The cases share output width 10
(one tile width, so the suite compiles two generated kernels)."""
import numpy as np
import pytest

from somanet.backend import kernels_blocked as K
from somanet.backend import kernels_direct as D

from .test_kernels_direct import _operands

# (padded input shape, C_out, kernel, dilation, groups); output width 10
CASES = [
    ((3, 6, 14, 14), 16, (5, 5), (1, 1), 1),   # LeNet's conv2, smaller batch
    ((2, 4, 12, 12), 6, (2, 3), (2, 1), 2),    # dilation, groups, 3 of 16 lanes
    ((2, 5, 9, 12), 20, (3, 3), (1, 1), 1),    # two blocks of lanes, the second partial
    ((0, 2, 10, 12), 4, (3, 3), (1, 1), 1),    # an empty batch
]


@pytest.mark.parametrize("shape,c_out,kernel,dilation,groups", CASES)
def test_blocked_kernels_match_the_array_versions(shape, c_out, kernel, dilation, groups):
    pytest.importorskip("numba")
    dtype = np.float32
    xp, w, b, out_hw, grad = _operands(shape, c_out, kernel, dilation, groups, dtype)
    assert K.applies(xp, out_hw[1])
    tol = dict(rtol=1e-4, atol=1e-4)
    for bias in (b, None):
        got = K.blocked_forward(xp, w, bias, dilation, out_hw, groups)
        assert got.dtype == dtype and got.shape == (shape[0], c_out) + out_hw
        np.testing.assert_allclose(got, D.direct_forward_xp(xp, w, bias, dilation, out_hw,
                                                            groups), **tol)
    got = K.blocked_weight_gradient(xp, grad, kernel, dilation, groups)
    assert got.dtype == dtype and got.shape == w.shape
    np.testing.assert_allclose(got, D.direct_weight_gradient_xp(xp, grad, kernel, dilation,
                                                                groups), **tol)


def test_skipped_padding_rows_change_nothing():
    """``rows`` skips kernel rows over zero padding: the same result as computing them."""
    pytest.importorskip("numba")
    xp, w, b, out_hw, _ = _operands((2, 3, 12, 12), 10, (3, 3), (1, 1), 1, np.float32)
    assert out_hw == (10, 10)
    xp[:, :, :2] = 0
    xp[:, :, -3:] = 0
    np.testing.assert_allclose(K.blocked_forward(xp, w, b, (1, 1), out_hw, 1, rows=(2, 9)),
                               K.blocked_forward(xp, w, b, (1, 1), out_hw, 1),
                               rtol=1e-5, atol=1e-5)


def test_tile_width_covers_a_row_with_the_least_work():
    assert K.tile_width(10) == 10
    assert K.tile_width(16) == 8
    assert K.tile_width(11) == 8  # two tiles of 8 (16 columns) beat two of 10
    assert K.tile_width(7) is None


def test_only_float32_numpy_arrays_take_the_blocked_kernels():
    pytest.importorskip("numba")
    x = np.zeros((1, 2, 12, 12), np.float32)
    assert K.applies(x, 10)
    assert not K.applies(x, 7)  # narrower than any tile
    assert not K.applies(x.astype(np.float64), 10)  # float64 layers run im2col
    assert not K.applies(x.astype(np.int32), 10)
