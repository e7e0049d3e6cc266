"""Initialisers: statistics on big draws, bounds, orthogonality, lookup, reproducibility."""
import functools
import math

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.nn import init

SHAPE = (400, 500)  # 200,000 draws: sample statistics within ~1% of the truth


def stats(tensor):
    values = tensor.numpy().astype(np.float64)
    return values.mean(), values.std()


def test_constants():
    assert not init.zeros((2, 3)).numpy().any()
    assert (init.ones(4).numpy() == 1).all()
    assert (init.constant((2,), 0.25).numpy() == 0.25).all()
    assert init.zeros((2, 3)).dtype == np.float32


def test_normal_statistics():
    mean, std = stats(init.normal(SHAPE, mean=1.0, std=2.0))
    assert mean == pytest.approx(1.0, abs=0.02) and std == pytest.approx(2.0, rel=0.01)


def test_uniform_bounds_and_statistics():
    values = init.uniform(SHAPE, low=-2.0, high=3.0).numpy()
    assert values.min() >= -2.0 and values.max() < 3.0
    assert values.mean() == pytest.approx(0.5, abs=0.02)
    assert values.std() == pytest.approx(5 / math.sqrt(12), rel=0.01)
    with pytest.raises(ValueError, match="need low < high"):
        init.uniform((2,), 1.0, 1.0)


def test_truncated_normal_never_beyond_two_std():
    values = init.truncated_normal(SHAPE, mean=0.5, std=0.1).numpy()
    assert np.abs(values - 0.5).max() <= 0.2 + 1e-6
    # a normal truncated at +-2 sigma has std 0.8796 sigma
    assert values.std() == pytest.approx(0.08796, rel=0.02)
    assert values.mean() == pytest.approx(0.5, abs=0.002)


@pytest.mark.parametrize("name, std", [
    ("glorot_normal", math.sqrt(2 / (400 + 500))),
    ("he_normal", math.sqrt(2 / 400)),
    ("lecun_normal", math.sqrt(1 / 400)),
])
def test_variance_scaling_normal(name, std):
    mean, measured = stats(init.get(name)(SHAPE))
    assert mean == pytest.approx(0, abs=0.01 * std) and measured == pytest.approx(std, rel=0.01)


@pytest.mark.parametrize("name, limit", [
    ("glorot_uniform", math.sqrt(6 / (400 + 500))),
    ("he_uniform", math.sqrt(6 / 400)),
    ("lecun_uniform", math.sqrt(3 / 400)),
])
def test_variance_scaling_uniform(name, limit):
    values = init.get(name)(SHAPE).numpy()
    assert np.abs(values).max() <= limit
    assert values.std() == pytest.approx(limit / math.sqrt(3), rel=0.01)


def test_fans_of_dense_and_conv_shapes():
    assert init.compute_fans((784, 128)) == (784, 128)
    assert init.compute_fans((6, 3, 5, 5)) == (75, 150)
    assert init.compute_fans((10,)) == (10, 10)
    values = init.he_normal((64, 32, 3, 3)).numpy()
    assert values.std() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.02)
    assert init.glorot_uniform((4, 4), fan_in=1, fan_out=1).numpy().max() <= math.sqrt(3)


@pytest.mark.parametrize("shape", [(50, 50), (80, 30), (30, 80), (8, 4, 3, 3)])
def test_orthogonal(shape):
    w = init.orthogonal(shape, gain=2.0).numpy().astype(np.float64)
    assert w.dtype == np.float64 and w.shape == shape
    matrix = w.reshape(shape[0], -1) / 2.0
    rows, cols = matrix.shape
    gram = matrix.T @ matrix if rows >= cols else matrix @ matrix.T
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.orthogonal((5,))


def test_reproducible_under_manual_seed_and_float64_on_request():
    sn.manual_seed(3)
    a = init.glorot_uniform((5, 5)).numpy()
    sn.manual_seed(3)
    b = init.glorot_uniform((5, 5)).numpy()
    np.testing.assert_array_equal(a, b)
    assert init.normal((3,), dtype="float64").dtype == np.float64
    with pytest.raises(TypeError, match="initialisers draw floats"):
        init.normal((3,), dtype="int32")


def test_lookup_by_name_and_errors():
    assert init.get("xavier_uniform") is init.glorot_uniform
    assert init.get("He_Normal") is init.he_normal
    with pytest.raises(ValueError, match=r"unknown initialiser 'glorot'\. .*Known initialisers: "
                                         r".*glorot_normal"):
        init.get("glorot")
    with pytest.raises(TypeError, match="a name or a callable"):
        init.get(3)


def test_initialize_in_place():
    layer = nn.Linear(3, 2)
    weight = layer.weight
    init.initialize_(layer.weight, "constant", value=0.5)
    assert layer.weight is weight and (weight.numpy() == 0.5).all()
    init.initialize_(layer.bias, init.ones)
    assert (layer.bias.numpy() == 1).all()


def test_layers_accept_initialisers_by_name_and_callable():
    layer = nn.Dense(10, 5, kernel_initializer="ones",
                     bias_initializer=functools.partial(init.constant, value=0.1))
    assert (layer.weight.numpy() == 1).all()
    np.testing.assert_allclose(layer.bias.numpy(), 0.1)
    numpy_init = lambda shape, dtype=None, device=None: np.full(shape, 2.0)  # noqa: E731
    layer = nn.Dense(2, 3, kernel_initializer=numpy_init)
    assert layer.weight.dtype == np.float32 and (layer.weight.numpy() == 2).all()
    with pytest.raises(ValueError, match=r"returned shape \(2,\), expected \(2, 3\)"):
        nn.Dense(2, 3, kernel_initializer=lambda shape, **kw: np.zeros(2))
    with pytest.raises(ValueError, match="unknown initialiser 'nope'"):
        nn.Dense(2, 3, kernel_initializer="nope")


def test_default_initialisers_glorot_kernel_zero_bias():
    layer = nn.Dense(400, 500)
    assert not layer.bias.numpy().any()
    assert np.abs(layer.weight.numpy()).max() <= math.sqrt(6 / 900)
