"""train.Sequential: an nn.Sequential that is also a Model; seed 004's probability model."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn

from .helpers import blobs, logits_loss


def quickstart_model():
    sn.manual_seed(0)
    return sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
                          nn.Dropout(0.2), nn.Dense(10)])


def test_top_level_sequential_is_the_training_one_and_keeps_nn_behaviour():
    assert sn.Sequential is sn.train.Sequential
    model = quickstart_model()
    assert isinstance(model, nn.Sequential) and isinstance(model, sn.Model)
    assert model.is_built  # input_shape on the first layer: built at construction
    assert model.num_parameters() == 784 * 128 + 128 + 128 * 10 + 10
    assert len(model) == 4 and isinstance(model[1], nn.Linear) and len(model[:2]) == 2
    assert list(model.state_dict())[:2] == ["1.weight", "1.bias"]
    pytorch_style = sn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    assert len(pytorch_style) == 3 and pytorch_style(sn.ones(2, 3)).shape == (2, 1)


def test_seed_004_quickstart_calls_and_probability_model():
    model = quickstart_model()
    x = np.random.default_rng(0).random((5, 28, 28))  # float64, as x_train / 255.0 is
    predictions = model(x[:1]).numpy()
    assert predictions.shape == (1, 10) and predictions.dtype == np.float32
    loss_fn = sn.train.losses.SparseCategoricalCrossentropy(from_logits=True)
    initial = float(loss_fn(np.array([3]), predictions).numpy())
    assert 1.0 < initial < 4.0  # close to -log(1/10) for an untrained model
    model.eval()
    probability_model = sn.Sequential([model, nn.Softmax()])
    probabilities = probability_model(x).numpy()
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    logits = model(x).numpy()
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(1, keepdims=True),
                               rtol=1e-5)


def test_input_first_add_and_lazy_build():
    model = sn.Sequential([sn.Input(shape=(4,)), nn.Dense(5)])
    assert model.is_built and len(model) == 1
    model.add(nn.Dense(2))
    assert model.is_built and model[1].weight.shape == (5, 2)
    lazy = sn.Sequential()
    lazy.add(sn.Input(shape=(3,)))
    lazy.add(nn.Dense(2))
    assert lazy.is_built
    with pytest.raises(ValueError, match="an Input can only come first"):
        lazy.add(sn.Input(shape=(3,)))


def test_lazy_sequential_is_built_by_fit():
    x, y = blobs(n=16)
    model = sn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)])
    assert not model.is_built
    model.compile(optimizer="adam", loss=logits_loss())
    assert model.optimizer is None  # its parameters do not exist yet
    model.fit(x, y, epochs=1, verbose=0)
    assert model.is_built and model.optimizer is not None
    assert model._input_specs[0][0] == (4,)
