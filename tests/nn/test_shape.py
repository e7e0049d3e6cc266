"""Flatten and Reshape."""
import pytest

import somanet as sn
from somanet import nn


def test_flatten_keeps_the_batch_axis():
    assert nn.Flatten()(sn.zeros(32, 28, 28)).shape == (32, 784)
    assert nn.Flatten(0)(sn.zeros(2, 3)).shape == (6,)
    assert nn.Flatten(1, 2)(sn.zeros(2, 3, 4, 5)).shape == (2, 12, 5)
    assert repr(nn.Flatten()) == "Flatten()"


def test_flatten_keras_input_shape_is_checked():
    layer = nn.Flatten(input_shape=(28, 28))
    assert layer(sn.zeros(1, 28, 28)).shape == (1, 784)
    with pytest.raises(ValueError, match=r"^Flatten: expected input of shape \(N, 28, 28\), "
                                         r"got shape \(1, 27, 28\)"):
        layer(sn.zeros(1, 27, 28))


def test_reshape():
    assert nn.Reshape(1, 28, 28)(sn.zeros(2, 784)).shape == (2, 1, 28, 28)
    assert nn.Reshape((-1, 4))(sn.zeros(3, 8)).shape == (3, 2, 4)
    x = sn.randn(2, 6, requires_grad=True)
    nn.Reshape(2, 3)(x).sum().backward()
    assert x.grad.shape == (2, 6)
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape input of shape \(2, 5\)"):
        nn.Reshape(2, 3)(sn.zeros(2, 5))
    with pytest.raises(ValueError, match="one of them may be -1"):
        nn.Reshape(-1, -1)
