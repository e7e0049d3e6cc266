"""The model zoo: architectures, parameter counts, input shapes, the registry."""
import numpy as np
import pytest

import somanet as sn
from somanet import models, nn


def images(n=3, seed=0, channel=False):
    shape = (n, 1, 28, 28) if channel else (n, 28, 28)
    return sn.tensor(np.random.default_rng(seed).random(shape, dtype=np.float32))


def test_quickstart_is_seed_004s_keras_model():
    model = models.quickstart()
    assert [type(layer).__name__ for layer in model] == ["Flatten", "Linear", "Dropout",
                                                         "Linear"]
    flatten, hidden, dropout, out = model
    assert flatten.input_shape == (28, 28)
    assert (hidden.in_features, hidden.out_features) == (784, 128)
    assert hidden.activation is sn.ops.relu
    assert dropout.p == 0.2
    assert (out.in_features, out.out_features) == (128, 10) and out.activation is None
    assert model.num_parameters() == 101_770
    assert model.is_built  # built at once: summary() and load_weights need no first batch


@pytest.mark.parametrize("name, count", [("mlp", 101_770), ("lenet", 61_706),
                                         ("lstm", 81_674)])
def test_registry_builds_each_model_with_its_documented_size(name, count):
    model = models.get(name)
    assert model.num_parameters() == count and model.is_built
    model.eval()
    out = model(images())
    assert out.shape == (3, 10) and out.dtype == np.float32


@pytest.mark.parametrize("name", ["lenet", "lstm"])
def test_image_models_take_images_with_or_without_the_channel_axis(name):
    model = models.get(name).eval()
    plain, channel = model(images()), model(images(channel=True))
    np.testing.assert_array_equal(plain.numpy(), channel.numpy())


def test_lenet_layers_and_shapes():
    model = models.lenet()
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Reshape", "Conv2D", "MaxPool2D", "Conv2D", "MaxPool2D", "Flatten",
                     "Linear", "Linear", "Linear"]
    x = images(2)
    shapes = []
    for layer in model:
        x = layer(x)
        shapes.append(x.shape)
    assert shapes == [(2, 1, 28, 28), (2, 6, 28, 28), (2, 6, 14, 14), (2, 16, 10, 10),
                      (2, 16, 5, 5), (2, 400), (2, 120), (2, 84), (2, 10)]


def test_lenet_other_sizes_and_too_small_images():
    model = models.lenet(num_classes=3, in_channels=3, image_size=32)
    x = sn.tensor(np.zeros((2, 3, 32, 32), dtype=np.float32))
    assert model(x).shape == (2, 3)
    with pytest.raises(ValueError, match="image_size=8 is too small"):
        models.lenet(image_size=8)


def test_lstm_classifier_uses_the_last_hidden_state():
    model = models.lstm_classifier(hidden_size=16).eval()
    x = images(2)
    _, (h_n, _) = model.lstm(x)
    expected = model.head(h_n[-1])
    np.testing.assert_allclose(model(x).numpy(), expected.numpy())
    output, _ = model.lstm(x)  # batch_first: the last row's output is the final state
    np.testing.assert_allclose(output.numpy()[:, -1], h_n.numpy()[-1], rtol=1e-6)


def test_mlp_options():
    model = models.mlp(input_shape=(4,), hidden=(8, 6), num_classes=3, dropout=0)
    assert [type(layer).__name__ for layer in model] == ["Flatten", "Linear", "Linear",
                                                         "Linear"]
    assert model.num_parameters() == (4 * 8 + 8) + (8 * 6 + 6) + (6 * 3 + 3)
    with pytest.raises(ValueError, match="models.mlp: hidden must be a positive int, got 0"):
        models.mlp(hidden=0)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        models.mlp(num_classes=-1)


def test_mlp_tabular():
    model = models.mlp_tabular(100, 3)
    assert model.num_parameters() == 8_643  # as its docstring says
    assert model(sn.ones(5, 100)).shape == (5, 3)
    linear = models.mlp_tabular(4, 2, hidden=())
    assert len(linear) == 1 and linear.num_parameters() == 10
    with pytest.raises(ValueError, match="n_features must be a positive int, got 0"):
        models.mlp_tabular(0, 2)


def test_get_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown model 'resnet'\. .*Known models: "
                                         r"char-lstm, lenet, lstm, mlp"):
        models.get("resnet")
    assert models.names() == ["char-lstm", "lenet", "lstm", "mlp"]
    assert models.get("char-lstm", num_classes=20)(sn.tensor([[1, 2]])).shape == (1, 2, 20)
    assert models.get("LeNet").num_parameters() == 61_706
    assert models.get("mlp", hidden=32).num_parameters() == 784 * 32 + 32 + 330


def test_register(monkeypatch):
    monkeypatch.setattr(models.registry, "_BUILDERS", dict(models.registry._BUILDERS))
    models.register("tiny", lambda num_classes=10: models.mlp(hidden=4,
                                                              num_classes=num_classes))
    assert "tiny" in models.names() and models.get("tiny").num_parameters() == 3190
    with pytest.raises(ValueError, match="a model named 'mlp' exists already"):
        models.register("mlp", models.mlp)
    with pytest.raises(TypeError, match="builder must be callable"):
        models.register("x", 3)


def test_zoo_models_are_training_models():
    for name in models.names():
        model = models.get(name, num_classes=10)
        assert isinstance(model, sn.train.Model) and isinstance(model, nn.Module)
