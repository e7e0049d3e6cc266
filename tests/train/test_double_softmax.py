"""A loss that takes logits after a softmax: one DoubleSoftmaxWarning, and none otherwise."""
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.train import DoubleSoftmaxWarning, losses


def data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x.sum(1) > 0).astype("int64")


def fit_warnings(model, loss, epochs=2, fits=1):
    model.compile(optimizer="sgd", loss=loss)
    x, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(fits):
            model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    return [w for w in caught if issubclass(w.category, DoubleSoftmaxWarning)]


@pytest.mark.parametrize("make_model", [
    lambda: sn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3), nn.Softmax()]),
    lambda: sn.Sequential([nn.Dense(3, activation="softmax")]),
], ids=["Softmax layer", "activation='softmax'"])
@pytest.mark.parametrize("make_loss", [
    lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
    lambda: nn.CrossEntropyLoss(),
], ids=["keras loss", "nn loss"])
def test_a_softmax_before_a_loss_on_logits_warns_once(make_model, make_loss):
    caught = fit_warnings(make_model(), make_loss(), epochs=3, fits=2)
    assert len(caught) == 1
    assert "takes logits (from_logits=True), but the model's output is already a softmax" \
        in str(caught[0].message)
    assert "a double softmax trains badly" in str(caught[0].message)


def test_a_functional_output_is_named():
    inputs = sn.Input(shape=(4,))
    model = sn.Model(inputs, [nn.Dense(1)(inputs), nn.Dense(2, activation="softmax")(inputs)])
    model.compile(optimizer="sgd", loss=["mse", losses.CategoricalCrossentropy(
        from_logits=True)])
    x, y = data()
    with pytest.warns(DoubleSoftmaxWarning, match=r"output 1 of the model is already"):
        model.fit(x, [x[:, :1], np.eye(2, dtype="float32")[y]], epochs=1, verbose=0)


@pytest.mark.parametrize("make_model, loss", [
    (lambda: sn.Sequential([nn.Dense(3)]),
     losses.SparseCategoricalCrossentropy(from_logits=True)),
    (lambda: sn.Sequential([nn.Dense(3), nn.Softmax()]),
     losses.SparseCategoricalCrossentropy()),  # probabilities, as declared
    (lambda: sn.Sequential([nn.Dense(3), nn.Softmax()]), "sparse_categorical_crossentropy"),
    (lambda: sn.Sequential([nn.Dense(1, activation="sigmoid")]), "mse"),
], ids=["logits", "from_logits=False", "by name", "regression"])
def test_no_warning_otherwise(make_model, loss):
    assert fit_warnings(make_model(), loss) == []


def test_the_warning_is_exported():
    assert sn.train.DoubleSoftmaxWarning is DoubleSoftmaxWarning
    assert issubclass(DoubleSoftmaxWarning, UserWarning)
