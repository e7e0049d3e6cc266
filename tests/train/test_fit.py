"""compile / fit / evaluate / predict on small synthetic data."""
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.data import DataLoader, TensorDataset
from somanet.train import LambdaCallback, LossIncreasingWarning, TerminateOnNaN

from .helpers import blobs, classifier, logits_loss, regression, same_weights, weights


def test_fit_evaluate_predict_keras_workflow():
    x, y = blobs()
    model = classifier()
    model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"], learning_rate=0.05)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history is model.history
    assert set(history.history) == {"loss", "accuracy", "lr"}
    assert history.epoch == [0, 1, 2, 3, 4]
    assert all(len(values) == 5 for values in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["lr"] == [0.05] * 5
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9 and loss < history.history["loss"][0]
    assert model.metrics_names == ["loss", "accuracy"]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs == {"loss": loss, "accuracy": accuracy}
    predictions = model.predict(x, batch_size=10)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (96, 3)
    assert np.mean(predictions.argmax(1) == y) == pytest.approx(accuracy)


def test_evaluate_without_metrics_returns_a_float():
    x, y = regression()
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    value = model.evaluate(x, y, verbose=0)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, np.mean((model.predict(x) - y) ** 2), rtol=1e-5)


def test_arrays_dataset_and_dataloader_train_identically():
    x, y = blobs(n=40)
    results = []
    for data in ("arrays", "dataset", "loader"):
        model = classifier(seed=3)
        model.compile(optimizer="sgd", loss=logits_loss())
        if data == "arrays":
            model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        elif data == "dataset":
            model.fit(TensorDataset(x, y), batch_size=8, epochs=2, shuffle=False, verbose=0)
        else:
            model.fit(DataLoader(TensorDataset(x, y), batch_size=8), epochs=2, verbose=0)
        results.append(weights(model))
    assert same_weights(results[0], results[1]) and same_weights(results[0], results[2])


def test_subclassed_model_and_overridden_train_step():
    calls = []

    class Net(sn.Model):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Dense(8, activation="relu")
            self.out = nn.Dense(3)

        def forward(self, x):
            return self.out(self.hidden(x))

        def train_step(self, batch):
            calls.append(len(batch[0]))
            return super().train_step(batch)

    sn.manual_seed(0)
    x, y = blobs(n=32)
    model = Net()
    model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    assert calls == [10, 10, 10, 2] * 2
    assert len(history.history["loss"]) == 2
    assert model.predict(x).shape == (32, 3)


@pytest.mark.filterwarnings("ignore::somanet.train.LossIncreasingWarning")
def test_seed_makes_fit_reproducible_and_dropout_is_off_after_fit():
    x, y = blobs(n=48)
    runs = []
    for _ in range(2):
        model = classifier(dropout=0.5, seed=1)
        model.compile(optimizer="adam", loss=logits_loss())
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=7)
        runs.append(weights(model))
    assert same_weights(*runs)
    assert not model.training  # fit leaves the model ready for predictions, as Keras
    first, second = model(x[:4]).numpy(), model(x[:4]).numpy()
    np.testing.assert_array_equal(first, second)


def test_validation_split_holds_out_the_last_fraction_before_shuffling():
    x, y = blobs(n=50)
    model = classifier()
    model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    probe = LambdaCallback()
    history = model.fit(x, y, batch_size=10, epochs=2, validation_split=0.2, shuffle=True,
                        callbacks=[probe], verbose=0)
    assert probe.params["steps"] == 4  # 40 training samples, batches of 10
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    loss, accuracy = model.evaluate(x[40:], y[40:], batch_size=10, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(accuracy)


def test_validation_data_as_arrays_or_dataset():
    x, y = blobs(n=40)
    x_val, y_val = blobs(n=20, seed=1)
    for validation in ((x_val, y_val), TensorDataset(x_val, y_val)):
        model = classifier()
        model.compile(optimizer="adam", loss=logits_loss())
        history = model.fit(x, y, epochs=1, validation_data=validation, verbose=0)
        assert history.history["val_loss"][0] == pytest.approx(
            model.evaluate(x_val, y_val, verbose=0), rel=1e-6)


def test_batch_logs_are_running_means_and_epoch_logs_have_lr():
    x, y = regression(n=30)
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer=sn.optim.SGD, loss="mse", learning_rate=0.0)  # lr 0: fixed weights
    batch_logs, epoch_logs = [], []
    callback = LambdaCallback(on_train_batch_end=lambda batch, logs: batch_logs.append(
                                  dict(logs)),
                              on_epoch_end=lambda epoch, logs: epoch_logs.append(dict(logs)))
    model.fit(x, y, batch_size=10, epochs=1, shuffle=False, callbacks=[callback], verbose=0)
    errors = (model.predict(x) - y) ** 2
    for number, logs in enumerate(batch_logs):
        np.testing.assert_allclose(logs["loss"], errors[:10 * (number + 1)].mean(), rtol=1e-5)
    assert epoch_logs[0]["lr"] == 0.0 and set(epoch_logs[0]) == {"loss", "lr"}


def test_accumulate_steps_matches_a_k_times_larger_batch():
    for samples in (64, 40):  # 40: the last group is one batch of 8 (cut short by the epoch)
        x, y = blobs(n=samples)
        results = []
        for batch_size, steps in ((8, 4), (32, 1)):
            model = classifier(seed=2)
            model.compile(optimizer="sgd", loss=logits_loss(), learning_rate=0.5)
            model.fit(x, y, batch_size=batch_size, accumulate_steps=steps, epochs=3,
                      shuffle=False, verbose=0)
            results.append(weights(model))
        for key in results[0]:
            np.testing.assert_allclose(results[0][key], results[1][key], rtol=1e-5, atol=1e-6)


def test_stop_training_from_a_callback_ends_fit():
    x, y = blobs(n=40)
    model = classifier()
    model.compile(optimizer="adam", loss=logits_loss())

    def stop(batch, logs):
        if batch == 1:
            model.stop_training = True

    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0,
                        callbacks=[LambdaCallback(on_train_batch_end=stop)])
    assert history.epoch == [0]


def test_loss_increasing_warning():
    x, y = regression()
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", learning_rate=1.5)  # diverges
    with pytest.warns(LossIncreasingWarning, match=r"epoch 2: the training loss .* higher "
                                                   r"than the previous epoch's .*Loss Increasing"):
        model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", learning_rate=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LossIncreasingWarning)
        model.fit(x, y, epochs=3, batch_size=64, verbose=0)


def test_nan_loss_is_an_error_naming_epoch_and_batch_unless_terminate_on_nan():
    x, y = regression(n=40)
    x[25] = np.nan  # in the third batch of 10
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(FloatingPointError, match=r"the loss is nan at epoch 1, batch 3 of 4"):
        model.fit(x, y, batch_size=10, shuffle=False, epochs=2, verbose=0)
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    stopper = TerminateOnNaN()
    history = model.fit(x, y, batch_size=10, shuffle=False, epochs=2, verbose=0,
                        callbacks=[stopper])
    assert stopper.message.startswith("Batch 3 of epoch 1")
    assert history.epoch == [0]


def test_verbose_two_prints_one_line_per_epoch_and_zero_prints_nothing(capsys):
    x, y = blobs(n=20)
    model = classifier()
    model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, epochs=2, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]
    assert "loss: " in lines[0] and "accuracy: " in lines[0] and "lr: " in lines[0]


def test_initial_epoch_continues_the_count():
    x, y = blobs(n=20)
    model = classifier()
    model.compile(optimizer="adam", loss=logits_loss())
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3]


def test_compiling_with_an_optimizer_instance_of_a_built_model():
    x, y = blobs(n=20)
    model = classifier()
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.compile(optimizer=optimizer, loss=nn.CrossEntropyLoss())  # PyTorch-order loss
    assert model.optimizer is optimizer
    before = weights(model)
    model.fit(x, y, epochs=1, verbose=0)
    assert not same_weights(before, weights(model))
    assert optimizer.state  # it was the optimiser that stepped


@pytest.mark.parametrize("loss, target", [
    ("mse", "regression"), ("mae", "regression"), ("huber", "regression"),
    ("sse", "regression"), ("binary_crossentropy", "binary"),
    ("categorical_crossentropy", "onehot"), ("sparse_categorical_crossentropy", "labels")])
def test_every_loss_name_trains(loss, target):
    x, labels = blobs(n=24, classes=2)
    if target == "regression":
        y, last = x.sum(axis=1, keepdims=True), [nn.Dense(1)]
    elif target == "binary":
        y, last = labels.astype("float32"), [nn.Dense(1), nn.Sigmoid()]
    elif target == "onehot":
        y, last = np.eye(2, dtype="float32")[labels], [nn.Dense(2), nn.Softmax()]
    else:
        y, last = labels, [nn.Dense(2), nn.Softmax()]
    model = sn.Sequential([sn.Input(shape=(4,)), nn.Dense(4, activation="relu"), *last])
    model.compile(optimizer="adam", loss=loss)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "rprop",
                                  "manhattan"])
def test_every_optimizer_name_trains(name):
    x, y = blobs(n=16)
    model = classifier()
    model.compile(optimizer=name, loss=logits_loss())
    before = weights(model)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert not same_weights(before, weights(model))


def test_logits_given_to_a_probability_loss_warn():
    x, y = blobs(n=16)
    model = classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.warns(UserWarning, match="expects probabilities .* looks like logits"):
        model.fit(x, y, epochs=1, verbose=0)
    model.compile(optimizer="adam", loss=nn.CrossEntropyLoss(from_logits=False))
    with pytest.warns(UserWarning, match="expects probabilities .* looks like logits"):
        model.fit(x, y, epochs=1, verbose=0)
    from somanet.train.compile_utils import CompiledLoss
    assert CompiledLoss(nn.BCELoss()).expects_probabilities
    for loss in (nn.BCEWithLogitsLoss(), nn.NLLLoss(), nn.CrossEntropyLoss(), "mse",
                 sn.binary_cross_entropy):
        assert not CompiledLoss(loss).expects_probabilities


def test_keras_call_and_two_argument_forward_fed_by_a_dataset():
    class KerasStyle(sn.Model):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(3)

        def call(self, inputs):
            return self.dense(inputs)

    class TwoInputs(sn.Model):
        def __init__(self):
            super().__init__()
            self.left, self.right = nn.Dense(3), nn.Dense(3)

        def forward(self, a, b):
            return self.left(a) + self.right(b)

    x, y = blobs(n=24)
    model = KerasStyle()
    model.compile(optimizer="adam", loss=logits_loss())
    assert len(model.fit(x, y, epochs=1, verbose=0).history["loss"]) == 1
    two = TwoInputs()
    two.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    data = TensorDataset(x, x * 2, y)  # two inputs, then the target
    history = two.fit(data, epochs=2, batch_size=8, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "lr"}
    assert two.predict(data).shape == (24, 3)  # the Dataset's targets are ignored
    assert two.predict([x, x * 2]).shape == (24, 3)


def test_loss_increasing_warning_is_said_once_per_fit():
    x, y = regression()
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", learning_rate=1.5)  # diverges: rises every epoch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LossIncreasingWarning)
        history = model.fit(x, y, epochs=4, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert sum(b > a for a, b in zip(losses, losses[1:])) >= 2
    assert sum(issubclass(w.category, LossIncreasingWarning) for w in caught) == 1
