"""Training on the strict device (tests/backend/strict.py): every loss and metric,
fit / evaluate / predict, checkpoints, model.save and ``to(device)`` round trips, with
the device's array module only, as on a GPU, and the CPU's numbers."""
import copy

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.backend import to_numpy
from somanet.train import losses, metrics

from .helpers import blobs, classifier, logits_loss, weights

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((6, 3)).astype(np.float32)
PROBABILITIES = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
LABELS = np.array([0, 2, 1, 1, 0, 2])
ONE_HOT = np.eye(3, dtype=np.float32)[LABELS]
BINARY = (RNG.random((6, 3)) > 0.5).astype(np.float32)
TARGETS = RNG.standard_normal((6, 3)).astype(np.float32)


def _loss_inputs(loss):
    """(y_true, y_pred) the loss takes: by the targets it declares."""
    kind = getattr(loss, "label_kind", None)
    if kind == "sparse":
        return LABELS, PROBABILITIES
    if kind in ("categorical", "sparse_or_categorical"):
        return ONE_HOT, PROBABILITIES
    if kind == "binary":
        return BINARY, 1 / (1 + np.exp(-LOGITS))
    if isinstance(loss, losses.KLDivergence):
        return PROBABILITIES[::-1].copy(), PROBABILITIES
    return TARGETS, LOGITS


LOSSES = sorted({cls.__name__: cls for cls in losses._BY_NAME.values()}.items())


@pytest.mark.parametrize("name", [name for name, _ in LOSSES])
def test_every_loss_on_the_strict_device(name, strict):
    loss = dict(LOSSES)[name]()
    y_true, y_pred = _loss_inputs(loss)
    values = []
    for device in (None, strict):
        pred = sn.tensor(y_pred, device=device, requires_grad=True)
        value = loss(sn.tensor(y_true, device=device), pred)
        value.backward()
        assert value.device is pred.grad.device is (device or sn.cpu())
        values.append((float(value.data), to_numpy(pred.grad.data)))
    assert values[1][0] == pytest.approx(values[0][0], rel=1e-5)
    np.testing.assert_allclose(values[1][1], values[0][1], rtol=1e-5, atol=1e-7)


METRICS = [(name, loss) for name in metrics.KNOWN_NAMES
           for loss in (["sparse_categorical_crossentropy", "categorical_crossentropy",
                         "binary_crossentropy"] if name in ("accuracy", "acc") else [None])]


def _metric_inputs(name, loss):
    if loss == "binary_crossentropy" or name in ("binary_accuracy", "precision", "recall"):
        return BINARY, 1 / (1 + np.exp(-LOGITS))
    if loss == "categorical_crossentropy" or name.startswith(("categorical",
                                                              "top_k_categorical")):
        return ONE_HOT, PROBABILITIES
    if name in ("mae", "mse", "mean_absolute_error", "mean_squared_error"):
        return TARGETS, LOGITS
    return LABELS, PROBABILITIES


@pytest.mark.parametrize(("name", "loss"), METRICS, ids=[f"{n}-{l}" for n, l in METRICS])
def test_every_metric_on_the_strict_device(name, loss, strict):
    y_true, y_pred = _metric_inputs(name, loss)
    results = []
    for device in (None, strict):
        metric = metrics.get(name, loss=loss)
        metric.update_state(sn.tensor(y_true, device=device), sn.tensor(y_pred, device=device))
        metric.update_state(sn.tensor(y_true[:3], device=device),
                            sn.tensor(y_pred[:3], device=device))
        result = metric.result()
        assert type(result) is float
        results.append(result)
    assert results[1] == pytest.approx(results[0], rel=1e-6)


def _model_pair(strict, dropout=0.0):
    cpu = classifier(dropout=dropout)
    cpu(sn.tensor(blobs(n=2)[0]))
    return cpu, copy.deepcopy(cpu).to(strict)


def test_fit_evaluate_predict_on_the_strict_device_match_the_cpu(strict):
    x, y = blobs(n=48)
    results = []
    for model in _model_pair(strict):
        model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"],
                      learning_rate=0.05)
        sn.manual_seed(1)  # the same shuffles for both
        history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
        evaluated = model.evaluate(x, y, verbose=0, return_dict=True)
        predicted = model.predict(x, batch_size=10)
        assert type(predicted) is np.ndarray  # predict hands back host arrays
        results.append((history.history, evaluated, predicted, weights(model)))
    (h_cpu, e_cpu, p_cpu, w_cpu), (h_dev, e_dev, p_dev, w_dev) = results
    assert h_dev.keys() == h_cpu.keys()
    for key in h_cpu:
        np.testing.assert_allclose(h_dev[key], h_cpu[key], rtol=1e-4, err_msg=key)
    assert e_dev == pytest.approx(e_cpu, rel=1e-4)
    np.testing.assert_allclose(p_dev, p_cpu, rtol=1e-4, atol=1e-5)
    for key in w_cpu:
        np.testing.assert_allclose(w_dev[key], w_cpu[key], rtol=1e-4, atol=1e-5)


def test_fit_with_dropout_and_batch_norm_trains_on_the_strict_device(strict):
    x, y = blobs(n=48)
    sn.manual_seed(0)
    model = sn.Sequential([sn.Input(shape=(4,)), nn.Dense(16, activation="relu"),
                           nn.BatchNorm1D(), nn.Dropout(0.2), nn.Dense(3)])
    model.to(strict)
    model.compile(optimizer="sgd", loss=logits_loss(), metrics=["accuracy"],
                  learning_rate=0.1)
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(p.device is strict for p in model.parameters())


def test_checkpoint_round_trip_between_the_strict_device_and_the_cpu(strict, tmp_path):
    x, y = blobs(n=32)
    cpu, model = _model_pair(strict)
    for each in (cpu, model):
        each.compile(optimizer="adam", loss=logits_loss(), learning_rate=0.05)
        each.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    sn.io.save_checkpoint(tmp_path / "strict", model, model.optimizer, epoch=1)
    sn.io.save_checkpoint(tmp_path / "cpu", cpu, cpu.optimizer, epoch=1)
    # written on the device, read on the CPU, and the reverse
    on_cpu, on_device = classifier(seed=7), classifier(seed=7).to(strict)
    on_cpu(sn.tensor(x[:2]))
    on_device(sn.tensor(x[:2], device=strict))
    for restored, folder in ((on_cpu, "strict"), (on_device, "cpu")):
        restored.compile(optimizer="adam", loss=logits_loss(), learning_rate=0.05)
        restored.optimizer.step()  # create its state, replaced by the checkpoint's
        info = sn.io.load_checkpoint(tmp_path / folder, restored, restored.optimizer)
        assert info["epoch"] == 1
    assert all(p.device is strict for p in on_device.parameters())
    for key, value in weights(model).items():
        np.testing.assert_allclose(weights(on_cpu)[key], value, rtol=1e-6)
        np.testing.assert_allclose(weights(on_device)[key], value, rtol=1e-6)
    for each in (on_cpu, on_device, model):  # training goes on the same from there
        each.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for key, value in weights(model).items():
        np.testing.assert_allclose(weights(on_cpu)[key], value, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(weights(on_device)[key], value, rtol=1e-4, atol=1e-6)


def test_model_save_and_load_on_the_strict_device(strict, tmp_path):
    x, y = blobs(n=32)
    _, model = _model_pair(strict)
    model.compile(optimizer="adam", loss=logits_loss(), learning_rate=0.05)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "model")
    loaded = sn.load_model(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-5, atol=1e-6)
    loaded.to(strict)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-5, atol=1e-6)


def test_to_device_round_trips(strict):
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = sn.tensor(host, requires_grad=True)
    there = t.to("strict")
    assert there.device is strict and t.to(strict).device is strict
    back = there.to("cpu")
    assert type(back.data) is np.ndarray and back.numpy().tolist() == host.tolist()
    (back * back).sum().backward()  # through both moves, back to the CPU leaf
    np.testing.assert_allclose(t.grad.numpy(), 2 * host)
    model = classifier()
    model(sn.tensor(host[:, :2].repeat(2, axis=1)))
    before = weights(model)
    model.to("strict")
    assert all(p.device is strict for p in model.parameters())
    model.to("cpu")
    assert all(type(p.data) is np.ndarray for p in model.parameters())
    after = weights(model)
    assert all(np.array_equal(before[key], after[key]) for key in before)
    with pytest.raises(ValueError, match="strict"):
        model(sn.tensor(host[:, :2].repeat(2, axis=1), device=strict))


def test_callbacks_and_gradient_clipping_on_the_strict_device(strict, tmp_path):
    from somanet.train import (CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
                               TerminateOnNaN)
    x, y = blobs(n=48)
    _, model = _model_pair(strict)
    model.compile(optimizer="sgd", loss=logits_loss(), metrics=["accuracy"],
                  learning_rate=0.05)
    callbacks = [ModelCheckpoint(str(tmp_path / "best.safetensors"), save_best_only=True),
                 EarlyStopping(patience=1, restore_best_weights=True),
                 ReduceLROnPlateau(patience=1), TerminateOnNaN(),
                 CSVLogger(str(tmp_path / "log.csv"))]
    model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, callbacks=callbacks,
              verbose=0)
    assert all(p.device is strict for p in model.parameters())
    model.load_weights(tmp_path / "best.safetensors")
    assert all(p.device is strict for p in model.parameters())
    loss = logits_loss()(sn.tensor(y, device=strict), model(sn.tensor(x, device=strict)))
    loss.backward()
    total = sn.optim.clip_grad_norm_(model.parameters(), 0.01)
    assert total.device is strict and float(total) > 0.01
    sn.optim.clip_grad_value_(model.parameters(), 1e-4)
    assert all(float(abs(p.grad).max()) <= 1e-4 for p in model.parameters())


def test_build_and_summary_of_a_model_on_the_strict_device(strict, capsys):
    model = sn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)])
    model(sn.tensor(blobs(n=2)[0]))
    model.to(strict)
    model.build((None, 4))  # its example batch is made on the model's device
    model.summary()
    assert "Trainable params: 67" in capsys.readouterr().out
    assert all(p.device is strict for p in model.parameters())


def test_numpy_data_called_on_a_model_goes_to_the_models_device(strict):
    x = blobs(n=4)[0]
    cpu, model = _model_pair(strict)
    out = model(x)  # host data at the model boundary, as fit and predict take it
    assert out.device is strict
    np.testing.assert_allclose(to_numpy(out.data), cpu(x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="cpu.*strict|strict.*cpu"):
        model(sn.tensor(x))  # a CPU tensor is another device's data: no silent copy
    dsn = sn.models.DSN(n_modules=2, n_hidden=8, ridge=0.01).to(strict)
    digits, labels = sn.datasets.mnist_small("train")
    dsn.fit(digits[:64], labels[:64], epochs=2, batch_size=32, verbose=0, seed=0)
    assert dsn(digits[:5]).device is strict
    assert len(dsn.module_accuracies(digits[:64], labels[:64])) == 2
