"""Dropout: the mask's statistics, reproducibility, eval mode and p validation
(its forward and gradient are in the registry, cases_normalization.py)."""
import numpy as np
import pytest

import somanet as sn
from somanet.backend import generator


def test_eval_mode_and_p_zero_are_the_identity():
    x = sn.randn(3, 4)
    assert sn.dropout(x, 0.5, training=False) is x
    assert sn.dropout(x, 0.0) is x


def test_kept_values_are_scaled_and_the_expectation_is_kept():
    p = 0.3
    x = sn.ones(200_000)
    out = sn.dropout(x, p).numpy()
    assert out.dtype == np.float32
    kept = out != 0
    np.testing.assert_allclose(out[kept], np.float32(1 / (1 - p)), rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.01
    assert abs(out.mean() - 1.0) < 0.02


def test_float64_stays_float64():
    out = sn.dropout(sn.ones(10, dtype="float64"), 0.5)
    assert out.dtype == np.float64


def test_mask_is_the_documented_float32_draw_of_the_device_generator():
    sn.manual_seed(11)
    out = sn.dropout(sn.ones((5, 7)), 0.4).numpy()
    sn.manual_seed(11)
    keep = generator(sn.cpu()).random((5, 7), dtype=np.float32) >= 0.4
    np.testing.assert_array_equal(out != 0, keep)


def test_reproducible_under_manual_seed():
    x = sn.randn(6, 8)
    sn.manual_seed(5)
    first = sn.dropout(x, 0.5).numpy()
    sn.manual_seed(5)
    second = sn.dropout(x, 0.5).numpy()
    third = sn.dropout(x, 0.5).numpy()  # the stream moved on: another mask
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first != 0, third != 0)


def test_backward_uses_the_forward_mask():
    x = sn.ones((4, 50), requires_grad=True)
    out = sn.dropout(x, 0.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())
    assert set(np.unique(x.grad.numpy())) <= {0.0, 2.0}


def test_drops_under_no_grad_too():
    with sn.no_grad():
        out = sn.dropout(sn.ones(1000), 0.5).numpy()
    assert (out == 0).any()


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, "0.5", True, None])
def test_p_outside_zero_one_is_an_error(p):
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\), got"):
        sn.dropout(sn.ones(3), p)


def test_integer_input_is_an_error():
    with pytest.raises(TypeError, match="dropout: expected a float input, got dtype int64"):
        sn.dropout(sn.tensor([1, 2, 3]), 0.5)


def test_non_tensor_input_is_an_error():
    with pytest.raises(TypeError, match="dropout: expected a Tensor input, got list"):
        sn.dropout([1.0, 2.0], 0.5)
