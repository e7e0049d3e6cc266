"""The merge layers (nn.Add, nn.Concatenate...) and their functional forms on placeholders."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn

RNG = np.random.default_rng(0)
A, B, C = (RNG.normal(size=(4, 3)).astype("float32") for _ in range(3))


@pytest.mark.parametrize("layer, expected", [
    (nn.Add(), A + B + C),
    (nn.Multiply(), A * B * C),
    (nn.Average(), (A + B + C) / 3),
    (nn.Maximum(), np.maximum(np.maximum(A, B), C)),
    (nn.Minimum(), np.minimum(np.minimum(A, B), C)),
    (nn.Concatenate(), np.concatenate([A, B, C], axis=-1)),
    (nn.Concatenate(axis=0), np.concatenate([A, B, C], axis=0)),
])
def test_each_layer_against_numpy(layer, expected):
    out = layer([sn.tensor(A), sn.tensor(B), sn.tensor(C)])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_subtract_and_gradients_flow():
    a, b = sn.tensor(A, requires_grad=True), sn.tensor(B, requires_grad=True)
    out = nn.Subtract()([a, b])
    np.testing.assert_allclose(out.numpy(), A - B)
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones_like(A))
    np.testing.assert_allclose(b.grad.numpy(), -np.ones_like(B))


def test_bad_inputs():
    with pytest.raises(TypeError, match=r"Add takes a list of at least 2 tensors, "
                                        r"Add\(\)\(\[a, b\]\); got a Tensor"):
        nn.Add()(sn.tensor(A))
    with pytest.raises(TypeError, match=r"Multiply takes a list of at least 2 tensors.*got "
                                        r"1 tensor\(s\)"):
        nn.Multiply()([sn.tensor(A)])
    with pytest.raises(ValueError, match=r"Add: all tensors must have one shape, got "
                                         r"\[\(4, 3\), \(4, 2\)\]"):
        nn.Add()([sn.tensor(A), sn.tensor(B[:, :2])])
    with pytest.raises(TypeError, match=r"Subtract takes exactly two tensors, got 3"):
        nn.Subtract()([sn.tensor(A)] * 3)


def test_train_keeps_the_same_classes():
    assert sn.train.Add is nn.Add and sn.train.Concatenate is nn.Concatenate
    from somanet.train.functional import Add, Concatenate
    assert Add is nn.Add and Concatenate is nn.Concatenate


def test_functional_forms_build_the_layers_on_placeholders():
    left, right = sn.Input(shape=(3,)), sn.Input(shape=(2,))
    joined = sn.concatenate([left, right])  # Keras's default: the last axis
    assert joined.shape == (None, 5) and isinstance(joined.node.module, nn.Concatenate)
    projected = nn.Dense(3)(right)
    total = sn.add(left, projected)
    assert isinstance(total.node.module, nn.Add) and total.shape == (None, 3)
    assert isinstance(sn.maximum(left, projected).node.module, nn.Maximum)
    assert isinstance(sn.minimum(left, projected).node.module, nn.Minimum)
    model = sn.Model([left, right], [joined, total])
    x, y = np.ones((2, 3), "float32"), np.ones((2, 2), "float32")
    out_joined, out_total = model(x, y)
    assert out_joined.shape == (2, 5)
    np.testing.assert_allclose(out_total.numpy(), x + model.linear(sn.tensor(y)).numpy(),
                               rtol=1e-6)
    stacked = sn.concatenate([left, left], axis=1)
    assert stacked.node.module.axis == 1


def test_on_tensors_they_stay_the_ops():
    assert sn.concatenate([sn.tensor(A), sn.tensor(B)]).shape == (8, 3)  # NumPy's axis 0
    assert sn.concatenate([sn.tensor(A), sn.tensor(B)], axis=1).shape == (4, 6)
    np.testing.assert_allclose(sn.add(sn.tensor(A), 1.0).numpy(), A + 1)


def test_a_placeholder_with_a_tensor_is_an_error():
    left = sn.Input(shape=(3,))
    with pytest.raises(TypeError, match=r"add\(\): in the functional API every input must "
                                        r"be a placeholder"):
        sn.add(left, sn.tensor(A))
    with pytest.raises(TypeError, match=r"KerasTensor .* has no value to compute with yet; "
                                        r".*sn.add\(a, b\)"):
        left + left
