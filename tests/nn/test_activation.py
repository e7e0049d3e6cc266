"""Activation layers and the activation registry."""
import math

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.nn import activation

X = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)
_ERF = np.vectorize(math.erf)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


@pytest.mark.parametrize("layer, reference", [
    (nn.Identity(), lambda x: x),
    (nn.Step(), lambda x: (x > 0).astype(np.float32)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.ELU(1.0), lambda x: np.where(x > 0, x, np.expm1(x))),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x))),
    (nn.GELU(), lambda x: 0.5 * x * (1 + _ERF(x / np.sqrt(2)))),  # exact, the default
    (nn.GELU(approximate="tanh"), _gelu_tanh),
    (nn.GELU(approximate=True), _gelu_tanh),  # Keras's spelling
    (nn.Softplus(beta=2.0, threshold=1.0), lambda x: np.where(2 * x > 1, x,
                                                              np.log1p(np.exp(2 * x)) / 2)),
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


def test_gelu_and_softplus_options_are_checked():
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Softplus(beta=2)) == "Softplus(beta=2.0, threshold=20.0)"
    with pytest.raises(ValueError, match=r"GELU: approximate must be one of 'none', 'tanh', got "
                                         r"'tan'\. Did you mean 'tanh'\?"):
        nn.GELU(approximate="tan")
    with pytest.raises(ValueError, match=r"gelu: approximate must be one of 'none', 'tanh'"):
        sn.gelu(sn.zeros(2), approximate="exact")
    for beta in (0, -1.0):
        with pytest.raises(ValueError, match=r"Softplus: beta must be a finite number > 0, got"):
            nn.Softplus(beta=beta)
        with pytest.raises(ValueError, match=r"softplus: beta must be a finite number > 0"):
            sn.softplus(sn.zeros(2), beta=beta)
    with pytest.raises(ValueError, match=r"softplus: threshold must be a number, got nan"):
        sn.softplus(sn.zeros(2), threshold=float("nan"))


@pytest.mark.parametrize("make, torch_make", [
    (lambda: nn.GELU(), lambda torch: torch.nn.GELU()),
    (lambda: nn.GELU(approximate="tanh"), lambda torch: torch.nn.GELU(approximate="tanh")),
    (lambda: nn.Softplus(), lambda torch: torch.nn.Softplus()),
    (lambda: nn.Softplus(beta=0.5, threshold=3.0),
     lambda torch: torch.nn.Softplus(beta=0.5, threshold=3.0)),
    (lambda: nn.Softplus(beta=3.0, threshold=10.0),
     lambda torch: torch.nn.Softplus(beta=3.0, threshold=10.0)),
], ids=["gelu", "gelu_tanh", "softplus", "softplus_beta_half", "softplus_beta_3"])
def test_gelu_and_softplus_match_torch(make, torch_make):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).uniform(-12, 12, (64, 33)).astype(np.float32)
    ours = sn.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    out, expected = make()(ours), torch_make(torch)(theirs)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-6)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=2e-6)
