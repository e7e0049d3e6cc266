"""Activation layers and the activation registry."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.nn import activation

X = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)


@pytest.mark.parametrize("layer, reference", [
    (nn.Identity(), lambda x: x),
    (nn.Step(), lambda x: (x > 0).astype(np.float32)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.ELU(1.0), lambda x: np.where(x > 0, x, np.expm1(x))),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.GELU(), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    (nn.Softmax(), lambda x: np.exp(x) / np.exp(x).sum()),
    (nn.LogSoftmax(), lambda x: x - np.log(np.exp(x).sum())),
])
def test_layers_match_reference(layer, reference):
    out = layer(sn.tensor(X))
    np.testing.assert_allclose(out.numpy(), reference(X), rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32 and list(layer.parameters()) == []


def test_softmax_axis_and_repr():
    x = sn.randn(3, 4)
    assert np.allclose(nn.Softmax(axis=0)(x).numpy().sum(0), 1)
    assert repr(nn.Softmax(axis=0)) == "Softmax(axis=0)"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


def test_registry():
    assert activation.get("ReLU") is sn.ops.relu
    assert activation.get(None) is None and activation.get("linear") is None
    assert activation.get(np.tanh) is np.tanh
    assert isinstance(activation.layer("tanh"), nn.Tanh)
    assert isinstance(activation.layer("linear"), nn.Identity)
    assert "step" in activation.known() and "linear" in activation.known()
    with pytest.raises(ValueError, match=r"unknown activation 'swish'\. Known activations: "
                                         r"elu, gelu"):
        activation.get("swish")
    with pytest.raises(TypeError, match="a name, a callable or None"):
        activation.get(3)
