"""Seed 004's quickstart, end to end, on the bundled 5,000 MNIST digits."""
import time

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.train import Callback, losses


class EpochTimer(Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.started)


@pytest.mark.slow
def test_seed_004_quickstart_on_mnist_small_reaches_90_percent():
    (x_train, y_train) = sn.datasets.mnist_small("train")
    (x_test, y_test) = sn.datasets.mnist_small("test")
    sn.manual_seed(0)
    model = sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
                           nn.Dropout(0.2), nn.Dense(10)])
    predictions = model(x_train[:1]).numpy()
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert abs(float(loss_fn(y_train[:1], predictions)) - np.log(10)) < 1.0
    model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    timer = EpochTimer()
    history = model.fit(x_train, y_train, epochs=5, callbacks=[timer], verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\nmnist_small quickstart: test accuracy {accuracy:.4f}, test loss {loss:.4f}, "
          f"seconds per epoch {[round(t, 3) for t in timer.times]}")
    assert accuracy >= 0.90
    assert history.history["loss"][-1] < history.history["loss"][0]
    probability_model = sn.Sequential([model, nn.Softmax()])
    probabilities = probability_model(x_test[:5]).numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert (probabilities.argmax(1) == model.predict(x_test[:5]).argmax(1)).all()
