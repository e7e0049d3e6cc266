"""Gradient clipping by total norm and by value."""
import math

import numpy as np
import pytest

import somanet as sn
from somanet.nn.parameter import Parameter

from .helpers import param


def with_grads(*grads, dtype="float64"):
    params = []
    for g in grads:
        p = param(np.zeros(len(g)).tolist(), dtype=dtype)
        p.grad = sn.tensor(g, dtype=dtype)
        params.append(p)
    return params


def test_clip_grad_norm_scales_to_max_norm():
    a, b = with_grads([3.0, 4.0], [12.0])
    total = sn.optim.clip_grad_norm_([a, b], max_norm=6.5)
    # |g| = sqrt(9 + 16 + 144) = 13 ; scale = 6.5 / (13 + 1e-6)
    assert float(total) == 13.0
    scale = 6.5 / (13 + 1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [3 * scale, 4 * scale], rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), [12 * scale], rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients():
    a, b = with_grads([3.0, 4.0], [12.0])
    total = sn.optim.clip_grad_norm_([a, b], max_norm=100.0)
    assert float(total) == 13.0
    assert a.grad.tolist() == [3.0, 4.0] and b.grad.tolist() == [12.0]


@pytest.mark.parametrize("norm_type, expected", [
    (1, 3 + 4 + 12),                              # sum |g|
    (math.inf, 12.0),                             # max |g|
    (3, (27 + 64 + 1728) ** (1 / 3)),             # (sum |g|^3)^(1/3)
])
def test_clip_grad_norm_other_norms(norm_type, expected):
    a, b = with_grads([3.0, -4.0], [12.0])
    total = sn.optim.clip_grad_norm_([a, b], max_norm=1.0, norm_type=norm_type)
    assert float(total) == pytest.approx(expected, rel=1e-12)
    scale = 1.0 / (expected + 1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [12 * scale], rtol=1e-12)


def test_clip_grad_norm_float32_and_skips_params_without_grad():
    a, b = with_grads([3.0, 4.0], [0.0], dtype="float32")
    b.grad = None
    total = sn.optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.dtype == np.float32 and a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert b.grad is None


def test_clip_grad_norm_accepts_a_single_parameter_and_no_grads():
    (a,) = with_grads([3.0, 4.0])
    assert float(sn.optim.clip_grad_norm_(a, 1.0)) == 5.0
    assert float(sn.optim.clip_grad_norm_([Parameter(sn.zeros(2))], 1.0)) == 0.0


def shared_grads():
    """Two parameters whose .grad share one array, as autograd may leave them."""
    a, b = param([0.0, 0.0]), param([0.0, 0.0])
    a.grad, b.grad = sn.zeros(2), sn.zeros(2)
    shared = np.array([3.0, 4.0])
    a.grad.data = b.grad.data = shared
    return a, b, shared


def test_clip_grad_norm_does_not_corrupt_a_shared_gradient():
    a, b, shared = shared_grads()
    sn.optim.clip_grad_norm_([a], max_norm=1.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert shared.tolist() == [3.0, 4.0] and b.grad.tolist() == [3.0, 4.0]


def test_clip_grad_norm_scales_a_shared_gradient_once_per_parameter():
    a, b, shared = shared_grads()
    total = sn.optim.clip_grad_norm_([a, b], max_norm=5.0)  # |(3, 4, 3, 4)| = sqrt(50)
    assert float(total) == pytest.approx(math.sqrt(50), rel=1e-12)
    scale = 5.0 / (math.sqrt(50) + 1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [3 * scale, 4 * scale], rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), [3 * scale, 4 * scale], rtol=1e-12)
    assert shared.tolist() == [3.0, 4.0]


def test_clip_grad_norm_of_gradients_autograd_shares():
    a, b = param([1.0, 2.0]), param([3.0, 4.0])
    (a + b).sum().backward()  # Add hands one gradient array to both leaves
    sn.optim.clip_grad_norm_([a], max_norm=0.5)
    assert b.grad.tolist() == [1.0, 1.0]


def test_clip_grad_value():
    a, b = with_grads([-3.0, 0.5, 2.0], [0.25])
    sn.optim.clip_grad_value_([a, b], clip_value=1.0)
    assert a.grad.tolist() == [-1.0, 0.5, 1.0] and b.grad.tolist() == [0.25]


def test_clip_grad_value_does_not_corrupt_a_shared_gradient():
    a, b, shared = shared_grads()
    sn.optim.clip_grad_value_([a], clip_value=3.5)
    assert a.grad.tolist() == [3.0, 3.5]
    assert shared.tolist() == [3.0, 4.0] and b.grad.tolist() == [3.0, 4.0]


def test_clip_keeps_float32():
    (a,) = with_grads([-3.0, 0.5, 2.0], dtype="float32")
    sn.optim.clip_grad_value_(a, 1.0)
    assert a.grad.dtype == np.float32


@pytest.mark.parametrize("call, error, message", [
    (lambda p: sn.optim.clip_grad_norm_(p, 0.0), ValueError,
     r"clip_grad_norm_: max_norm must be a positive finite number, got 0.0"),
    (lambda p: sn.optim.clip_grad_norm_(p, math.nan), ValueError,
     r"max_norm must be a positive finite number, got nan"),
    (lambda p: sn.optim.clip_grad_norm_(p, 1.0, norm_type=0), ValueError,
     r"norm_type must be a positive number \(or inf\), got 0.0"),
    (lambda p: sn.optim.clip_grad_norm_(p, "1"), TypeError, r"max_norm must be a number"),
    (lambda p: sn.optim.clip_grad_value_(p, -1.0), ValueError,
     r"clip_grad_value_: clip_value must be a positive finite number, got -1.0"),
    (lambda p: sn.optim.clip_grad_value_([np.zeros(2)], 1.0), TypeError,
     r"clip_grad_value_: parameter 0 is a ndarray, not a Parameter"),
])
def test_clip_errors(call, error, message):
    params = with_grads([1.0, 2.0])
    with pytest.raises(error, match=message):
        call(params)
