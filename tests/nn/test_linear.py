"""Linear / Dense: both constructor forms, lazy building, activation, errors."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn


def test_pytorch_form_builds_at_once():
    layer = nn.Linear(784, 128)
    assert layer.weight.shape == (784, 128) and layer.bias.shape == (128,)
    assert layer.in_features == 784 and layer.out_features == 128 and layer.is_built


def test_keras_form_infers_input_size_on_first_call():
    layer = nn.Dense(128)
    assert layer.weight is None and not layer.is_built
    out = layer(sn.ones(4, 20))
    assert out.shape == (4, 128) and layer.weight.shape == (20, 128)
    assert layer.in_features == 20
    assert layer(sn.ones(2, 3, 20)).shape == (2, 3, 128)  # leading axes broadcast
    with pytest.raises(ValueError, match=r"^Linear: expected input of shape \(\.\.\., 20\), "
                                         r"got shape \(4, 21\)"):
        layer(sn.ones(4, 21))


def test_keras_keywords():
    assert nn.Dense(units=8).out_features == 8
    assert nn.Dense(8, input_dim=3).weight.shape == (3, 8)
    assert nn.Dense(8, input_shape=(5,)).weight.shape == (5, 8)
    layer = nn.Dense(4, "relu")  # Keras's positional activation
    assert layer.activation is sn.ops.relu and layer.in_features is None
    assert nn.Dense(4, use_bias=False).use_bias is False
    with pytest.raises(TypeError, match="needs the number of output units"):
        nn.Linear()
    with pytest.raises(ValueError, match="out_features must be a positive int, got 0"):
        nn.Linear(3, 0)


def test_input_shape_is_kept_and_checked():
    assert nn.Dense(8, input_shape=(5,)).input_shape == (5,)
    assert nn.Dense(8, input_shape=(None, 5)).input_shape == (None, 5)
    assert nn.Dense(8, input_dim=3).input_shape == (3,)
    assert nn.Dense(8).input_shape is None and nn.Linear(3, 8).input_shape is None
    with pytest.raises(ValueError, match=r"Linear: input_shape must be the shape of one sample "
                                         r"without the batch axis, positive ints"):
        nn.Dense(8, input_shape=())
    with pytest.raises(ValueError, match=r"Linear: input_shape must be"):
        nn.Dense(8, input_shape=(5, None))
    with pytest.raises(TypeError, match=r"Linear: input_shape must be the shape of one sample "
                                        r"\(a tuple of ints"):
        nn.Dense(8, input_shape=object())
    with pytest.raises(ValueError, match=r"Linear: in_features=4, but input_shape=\(5,\) has "
                                         r"5 features"):
        nn.Linear(4, 8, input_shape=(5,))
    with pytest.raises(TypeError, match=r"give input_dim= or input_shape=, not both"):
        nn.Dense(8, input_dim=3, input_shape=(3,))


def test_sizes_may_be_numpy_integers_but_not_bools():
    # one notion of "an int" (somanet._checks): NumPy integers count, bools do not
    layer = nn.Linear(np.int64(3), np.int32(2))
    assert layer.weight.shape == (3, 2) and type(layer.out_features) is int
    conv = nn.Conv2D(np.int64(4), (np.int64(3), 3), stride=np.int32(2))
    assert conv.kernel_size == (3, 3) and conv.stride == (2, 2)
    assert nn.LSTM(np.int64(5)).hidden_size == 5
    with pytest.raises(TypeError, match=r"Linear: out_features must be a positive int, got "
                                        r"bool True"):
        nn.Linear(3, True)


def test_computes_x_w_plus_b_then_activation():
    layer = nn.Linear(3, 2, activation="sigmoid")
    x = sn.randn(5, 3)
    expected = 1 / (1 + np.exp(-(x.numpy() @ layer.weight.numpy() + layer.bias.numpy())))
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6)
    assert layer(x).dtype == np.float32


def test_seed_travel_perceptron_with_step_activation():
    # Seed 000: weights 6, 2, 2 and threshold 5, as a bias of -5 on a step unit.
    unit = nn.Linear(3, 1, activation="step")
    with sn.no_grad():
        unit.weight[...] = [[6.0], [2.0], [2.0]]
        unit.bias[...] = [-5.0]
    decisions = unit(sn.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]]))
    assert decisions.numpy().ravel().tolist() == [1.0, 0.0, 1.0]


def test_without_bias():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert "bias=False" in repr(layer)
    np.testing.assert_allclose(layer(sn.ones(1, 3)).numpy(), layer.weight.numpy().sum(0,
                               keepdims=True), rtol=1e-6)


def test_gradients_flow_to_weight_bias_and_input():
    layer = nn.Linear(3, 2)
    x = sn.randn(4, 3, requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.repeat(
        x.numpy().sum(0)[:, None], 2, axis=1), rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad.numpy(), [4.0, 4.0])
    assert x.grad.shape == (4, 3)


def test_lazy_layer_builds_in_the_input_dtype():
    layer = nn.Dense(2)
    layer(sn.ones(1, 3, dtype="float64"))
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64


def test_activation_module_is_registered_and_unknown_names_listed():
    layer = nn.Dense(2, activation=nn.LeakyReLU(0.2))
    assert [name for name, _ in layer.named_modules()] == ["", "activation"]
    with pytest.raises(ValueError, match=r"unknown activation 'rleu'\. .*Known activations: "
                                         r".*relu.*sigmoid"):
        nn.Dense(2, activation="rleu")


def test_repr_before_and_after_building():
    layer = nn.Dense(8, activation="relu")
    assert repr(layer) == "Linear(in_features=None, out_features=8, activation=relu)"
    layer(sn.ones(1, 3))
    assert repr(layer) == "Linear(in_features=3, out_features=8, activation=relu)"
