"""The four recurrent shapes (models.one_to_one ... many_to_many): shapes, and each learns."""
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet import models
from somanet.train import losses


def _fit(model, x, y, epochs, loss=None, learning_rate=0.01, batch_size=32):
    sn.manual_seed(0)
    model.compile(optimizer="adam", learning_rate=learning_rate,
                  loss=loss or losses.SparseCategoricalCrossentropy(from_logits=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sn.train.LossIncreasingWarning)  # a wobble is no failure
        return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, seed=0)


def test_shapes_and_layers():
    assert models.one_to_one(5, 3)(sn.ones(4, 5)).shape == (4, 3)
    assert models.one_to_many(num_classes=4, steps=6, features=3, hidden=8)(
        sn.tensor([0, 3])).shape == (2, 6, 3)
    assert models.many_to_one(features=7, num_classes=3, hidden=8)(sn.ones(2, 5, 7)).shape \
        == (2, 3)
    assert models.many_to_many(features=2, num_classes=4, hidden=8)(sn.ones(3, 9, 2)).shape \
        == (3, 9, 4)
    kinds = [type(layer).__name__ for layer in models.one_to_many()]
    assert kinds == ["Embedding", "RepeatVector", "LSTM", "TimeDistributed"]
    assert models.many_to_one().num_parameters() == models.lstm_classifier().num_parameters()


@pytest.mark.parametrize("builder, name, value", [
    (models.one_to_one, "features", 0), (models.one_to_many, "steps", -1),
    (models.many_to_one, "hidden", 2.5), (models.many_to_many, "num_classes", "2")])
def test_bad_sizes_name_the_argument(builder, name, value):
    with pytest.raises((TypeError, ValueError), match=name):
        builder(**{name: value}) if builder is not models.one_to_one else \
            builder(value, 2)


def test_one_to_one_learns_a_disc():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (400, 2)).astype(np.float32)
    y = ((x ** 2).sum(axis=1) < 0.49).astype(np.int64)
    model = models.one_to_one(2, 2, hidden=32)
    _fit(model, x[:300], y[:300], epochs=15, learning_rate=0.03)
    accuracy = (model.predict(x[300:]).argmax(axis=1) == y[300:]).mean()
    assert accuracy > 0.9


def test_one_to_many_draws_each_class_its_own_sequence():
    rng = np.random.default_rng(0)
    patterns = (rng.random((3, 5, 4)) > 0.5).astype(np.float32)  # class -> 5 steps x 4
    labels = rng.integers(0, 3, 300)
    model = models.one_to_many(num_classes=3, steps=5, features=4, hidden=16,
                               embedding_dim=4)
    history = _fit(model, labels, patterns[labels], epochs=20, loss="binary_crossentropy",
                   learning_rate=0.03)
    drawn = model.predict(np.arange(3))
    assert drawn.shape == (3, 5, 4)
    assert ((drawn > 0.5) == patterns.astype(bool)).mean() == 1.0
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]


def test_many_to_one_remembers_the_first_step():
    # The label is the sign of the first step only: the last state must carry it.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6, 2)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.int64)
    model = models.many_to_one(features=2, num_classes=2, hidden=16)
    _fit(model, x[:300], y[:300], epochs=15)
    accuracy = (model.predict(x[300:]).argmax(axis=1) == y[300:]).mean()
    assert accuracy > 0.9


def test_many_to_many_learns_running_parity():
    x, y = models.running_parity(1000, steps=6, seed=0)
    x_test, y_test = models.running_parity(200, steps=6, seed=1)
    model = models.many_to_many(hidden=16)
    _fit(model, x, y, epochs=20, learning_rate=0.02)
    per_step = (model.predict(x_test).argmax(axis=-1) == y_test).mean(axis=0)
    assert per_step.shape == (6,)
    assert per_step.min() > 0.95


def test_running_parity_data():
    x, y = models.running_parity(50, steps=7, seed=3)
    assert x.shape == (50, 7, 1) and x.dtype == np.float32
    assert y.shape == (50, 7) and y.dtype == np.int64
    np.testing.assert_array_equal(y, x[:, :, 0].cumsum(axis=1).astype(np.int64) % 2)
    again, _ = models.running_parity(50, steps=7, seed=3)
    np.testing.assert_array_equal(x, again)
    with pytest.raises(ValueError, match="steps"):
        models.running_parity(5, steps=0)
