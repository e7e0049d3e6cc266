"""Callbacks, driven by hand with synthetic logs and a small model (no ``fit``)."""
import csv
import math
import os
import sys

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.train.callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping, History,
                                     LambdaCallback, LearningRateScheduler, ModelCheckpoint,
                                     ProgbarLogger, ProgressBar, ReduceLROnPlateau,
                                     TerminateOnNaN, format_logs, resolve_mode)


class FakeModel:
    """The parts of a model a callback touches: ``stop_training``, ``optimizer``,
    ``state_dict()`` / ``load_state_dict()`` (a real Linear and a real SGD)."""

    def __init__(self, lr=0.1):
        sn.manual_seed(0)
        self.net = nn.Linear(2, 1)
        self.optimizer = sn.optim.SGD(self.net.parameters(), lr=lr)
        self.stop_training = False

    def state_dict(self):
        return self.net.state_dict()

    def load_state_dict(self, state_dict):
        return self.net.load_state_dict(state_dict)

    @property
    def lr(self):
        return self.optimizer.param_groups[0]["lr"]


def run(callbacks, values, model=None, key="val_loss", steps=2, verbose=0, on_epoch=None):
    """A fit loop in miniature: epochs whose logs hold ``key = values[epoch]``. Returns the
    last epoch run and the CallbackList."""
    model = model if model is not None else FakeModel()
    callback_list = CallbackList(callbacks, model=model,
                                 params={"epochs": len(values), "steps": steps,
                                         "verbose": verbose})
    callback_list.on_train_begin()
    epoch = -1
    for epoch, value in enumerate(values):
        callback_list.on_epoch_begin(epoch)
        for batch in range(steps):
            callback_list.on_train_batch_begin(batch)
            callback_list.on_train_batch_end(batch, {"loss": 1.0 / (epoch + batch + 1)})
        if on_epoch is not None:
            on_epoch(epoch, model)
        logs = {"loss": 1.0 / (epoch + 1), key: value, "lr": model.lr}
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    return epoch, callback_list


# -- CallbackList and History -------------------------------------------------------------------

def test_history_records_every_epoch_and_attaches_to_the_model():
    model = FakeModel()
    _, callbacks = run([], [0.9, 0.7, 0.8], model=model)
    history = callbacks.history
    assert history.epoch == [0, 1, 2]
    assert history.history["val_loss"] == [0.9, 0.7, 0.8]
    assert history.history["loss"] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert history.history["lr"] == [0.1, 0.1, 0.1]
    assert history.params == {"epochs": 3, "steps": 2, "verbose": 0}
    assert model.history is history


def test_logs_with_tensors_become_floats_in_place():
    seen = []
    callbacks = CallbackList([LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        dict(logs)))], model=FakeModel())
    logs = {"loss": sn.tensor(0.25), "accuracy": np.float32(0.5), "name": "x"}
    callbacks.on_epoch_end(0, logs)
    assert logs == {"loss": 0.25, "accuracy": 0.5, "name": "x"}
    assert type(logs["loss"]) is float and type(logs["accuracy"]) is float
    assert seen == [logs]
    assert callbacks.history.history["loss"] == [0.25]


def test_callback_list_order_and_forwarding():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append(("train_begin", self.model is model, self.params["epochs"]))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch))

        def on_batch_end(self, batch, logs=None):  # Keras's old name still works
            events.append(("batch_end", batch))

        def on_test_batch_end(self, batch, logs=None):
            events.append(("test_batch_end", batch))

        def on_predict_end(self, logs=None):
            events.append(("predict_end",))

    model = FakeModel()
    recorder = Recorder()
    callbacks = CallbackList([recorder], model=model, add_progbar=True,
                             params={"epochs": 1, "steps": 1}, verbose=0)
    assert isinstance(callbacks.callbacks[0], History)
    assert callbacks.callbacks[1] is recorder
    assert isinstance(callbacks.callbacks[-1], ProgressBar)
    assert callbacks.params == {"epochs": 1, "steps": 1, "verbose": 0}
    callbacks.on_train_begin()
    callbacks.on_train_batch_end(0, {"loss": 1.0})
    callbacks.on_epoch_end(0, {"loss": 1.0})
    callbacks.on_test_batch_end(3)
    callbacks.on_predict_begin()
    callbacks.on_predict_end()
    assert events == [("train_begin", True, 1), ("batch_end", 0), ("epoch_end", 0),
                      ("test_batch_end", 3), ("predict_end",)]
    assert len(callbacks) == 3


def test_callback_list_reuses_given_history_and_progress_bar():
    history, bar = History(), ProgbarLogger(verbose=0)
    callbacks = CallbackList([bar, history], add_progbar=True)
    assert callbacks.history is history and callbacks.progress_bar is bar
    assert callbacks.callbacks == [bar, history]
    assert CallbackList(add_history=False).history is None
    assert ProgbarLogger is ProgressBar


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match=r"callbacks\[1\] is a function, not a Callback; .*"
                                        r"LambdaCallback\(on_epoch_end=fn\)"):
        CallbackList([History(), lambda epoch, logs: None])
    with pytest.raises(TypeError, match="callbacks must be a list of Callback objects, got int"):
        CallbackList(3)


def test_lambda_callback():
    calls = []
    callback = LambdaCallback(on_train_begin=lambda logs: calls.append("begin"),
                              on_batch_end=lambda batch, logs: calls.append(batch))
    run([callback], [1.0])
    assert calls == ["begin", 0, 1]
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_ends'. Did you mean "
                                        "'on_epoch_end'?"):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="on_epoch_end must be a function, got int"):
        LambdaCallback(on_epoch_end=3)


# -- EarlyStopping ------------------------------------------------------------------------------

def test_early_stopping_patience():
    stopped, _ = run([EarlyStopping(patience=0)], [0.9, 0.7, 0.8, 0.6])
    assert stopped == 2  # epoch 2 does not improve on 0.7
    stopper = EarlyStopping(patience=2)
    stopped, callbacks = run([stopper], [0.9, 0.7, 0.8, 0.75, 0.6])
    assert stopped == 3 and stopper.stopped_epoch == 3
    assert stopper.best == 0.7 and stopper.best_epoch == 1
    assert callbacks.history.history["val_loss"] == [0.9, 0.7, 0.8, 0.75]
    stopped, _ = run([EarlyStopping(patience=2)], [0.9, 0.7, 0.8, 0.6, 0.65, 0.5])
    assert stopped == 5  # the improvement at epoch 3 restarted the count


def test_early_stopping_min_delta():
    # 0.69 improves on 0.7 by less than min_delta = 0.05: not an improvement
    stopped, _ = run([EarlyStopping(patience=1, min_delta=0.05)], [0.9, 0.7, 0.69, 0.68])
    assert stopped == 2
    stopped, callbacks = run([EarlyStopping(patience=1)], [0.9, 0.7, 0.69, 0.68])
    assert stopped == 3 and callbacks.history.history["val_loss"][-1] == 0.68  # to the end


def test_early_stopping_mode_max_and_auto():
    assert resolve_mode("X", "val_accuracy", "auto") == "max"
    assert resolve_mode("X", "val_loss", "auto") == "min"
    assert resolve_mode("X", "mae", "auto") == "min"
    assert resolve_mode("X", "val_precision", "auto") == "max"
    stopped, _ = run([EarlyStopping(monitor="val_accuracy", patience=0)], [0.5, 0.7, 0.6, 0.8],
                     key="val_accuracy")
    assert stopped == 2
    stopped, _ = run([EarlyStopping(monitor="val_f", mode="max", patience=0)],
                     [0.5, 0.7, 0.6], key="val_f")
    assert stopped == 2
    with pytest.raises(ValueError, match="cannot tell whether 'val_f' should go down or up; "
                                         "pass mode='min'"):
        EarlyStopping(monitor="val_f")
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max', got 'up'"):
        EarlyStopping(mode="up")


def test_early_stopping_baseline():
    # improving, but never better than the baseline 0.5: stops after `patience` epochs
    stopper = EarlyStopping(patience=2, baseline=0.5)
    stopped, _ = run([stopper], [0.9, 0.8, 0.7, 0.6, 0.55])
    assert stopped == 1 and stopper.best == 0.8
    stopped, _ = run([EarlyStopping(patience=2, baseline=0.85)], [0.9, 0.8, 0.7, 0.6, 0.55])
    assert stopped == 4  # beats the baseline from epoch 1 on: no stop


def test_early_stopping_start_from_epoch():
    stopped, _ = run([EarlyStopping(patience=0, start_from_epoch=3)], [0.9, 1.0, 1.1, 1.2, 1.3])
    assert stopped == 4  # epochs 0-2 are not watched; 3 sets the best, 4 is worse


def test_early_stopping_restores_a_copy_of_the_best_weights():
    model = FakeModel()

    def change_weights(epoch, model):
        model.net.weight.data[...] = epoch  # in place: a referenced snapshot would follow
        model.net.bias.data[...] = -epoch

    stopper = EarlyStopping(patience=1, restore_best_weights=True)
    stopped, _ = run([stopper], [0.9, 0.5, 0.8, 0.7], model=model, on_epoch=change_weights)
    assert stopped == 2 and stopper.best_epoch == 1
    np.testing.assert_array_equal(model.net.weight.numpy(), np.ones((2, 1), np.float32))
    np.testing.assert_array_equal(model.net.bias.numpy(), -np.ones(1, np.float32))
    assert model.net.weight.dtype == sn.float32


def test_early_stopping_restores_even_without_stopping_keras3():
    model = FakeModel()

    def change_weights(epoch, model):
        model.net.weight.data[...] = epoch

    run([EarlyStopping(patience=5, restore_best_weights=True)], [0.9, 0.5, 0.8], model=model,
        on_epoch=change_weights)
    assert (model.net.weight.numpy() == 1).all()


def test_early_stopping_missing_key_lists_the_available_ones():
    with pytest.warns(RuntimeWarning, match=r"EarlyStopping monitors 'val_loss', which is not "
                                            r"in the logs; available keys: loss, accuracy, lr\. "
                                            r".*no validation values: pass validation_data"):
        stopped, _ = run([EarlyStopping()], [0.5, 0.6, 0.7], key="accuracy")
    assert stopped == 2  # not stopped
    with pytest.warns(RuntimeWarning, match="Did you mean 'val_accuracy'"):
        run([EarlyStopping(monitor="val_acuracy", mode="max")], [0.5], key="val_accuracy")


def test_early_stopping_verbose_and_argument_errors(capsys):
    run([EarlyStopping(patience=0, verbose=1)], [0.9, 1.0])
    assert "Epoch 2: early stopping" in capsys.readouterr().out
    with pytest.raises(ValueError, match="patience must be an int >= 0"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="min_delta must be a number >= 0, got -0.1"):
        EarlyStopping(min_delta=-0.1)
    with pytest.raises(TypeError, match="monitor must be the name of a logged value"):
        EarlyStopping(monitor=None)


# -- ModelCheckpoint ----------------------------------------------------------------------------

def test_checkpoint_best_only_with_formatted_names(tmp_path):
    pattern = str(tmp_path / "weights-{epoch:02d}-{val_loss:.2f}.safetensors")
    checkpoint = ModelCheckpoint(pattern, save_best_only=True)
    run([checkpoint], [0.9, 0.7, 0.8, 0.6])
    assert sorted(os.listdir(tmp_path)) == ["weights-01-0.90.safetensors",
                                            "weights-02-0.70.safetensors",
                                            "weights-04-0.60.safetensors"]
    assert checkpoint.best == 0.6
    assert checkpoint.last_saved == str(tmp_path / "weights-04-0.60.safetensors")
    restored = nn.Linear(2, 1)
    sn.io.load_weights(checkpoint.last_saved, restored)
    np.testing.assert_array_equal(restored.weight.numpy(), FakeModel().net.weight.numpy())


def test_checkpoint_every_epoch_overwrites_one_file_and_mode_max(tmp_path):
    run([ModelCheckpoint(tmp_path / "sub" / "last.safetensors")], [0.9, 0.7, 0.8])
    assert os.listdir(tmp_path / "sub") == ["last.safetensors"]
    checkpoint = ModelCheckpoint(str(tmp_path / "acc-{epoch}.safetensors"),
                                 monitor="val_accuracy", save_best_only=True)
    run([checkpoint], [0.5, 0.4, 0.6], key="val_accuracy")
    assert sorted(os.listdir(tmp_path))[:2] == ["acc-1.safetensors", "acc-3.safetensors"]


def test_checkpoint_full_state_every_n_batches(tmp_path):
    model = FakeModel()
    checkpoint = ModelCheckpoint(str(tmp_path / "ckpt-e{epoch}-b{batch}"),
                                 save_weights_only=False, save_freq=3)
    run([checkpoint], [0.9, 0.7], model=model, steps=2)  # batches 1, 2 | 3, 4: one save
    assert os.listdir(tmp_path) == ["ckpt-e2-b1"]
    info = sn.io.load_checkpoint(tmp_path / "ckpt-e2-b1", nn.Linear(2, 1))
    assert info["epoch"] == 1
    assert info["history"]["val_loss"] == [0.9]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(KeyError, match=r"names the field 'val_acc', which this save does not "
                                       r"have; available fields: loss, val_loss, lr, epoch"):
        run([ModelCheckpoint(str(tmp_path / "w-{val_acc}.safetensors"))], [0.5])
    with pytest.raises(ValueError, match="is not a valid format string"):
        ModelCheckpoint(str(tmp_path / "w-{epoch.safetensors"))
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or a number of batches"):
        ModelCheckpoint("w.safetensors", save_freq="batch")
    with pytest.raises(TypeError, match="filepath must be a path"):
        ModelCheckpoint(3)
    with pytest.warns(RuntimeWarning, match="ModelCheckpoint monitors 'val_loss'.*available "
                                            "keys: loss, accuracy, lr"):
        run([ModelCheckpoint(str(tmp_path / "b.safetensors"), save_best_only=True)], [0.5],
            key="accuracy")
    assert not (tmp_path / "b.safetensors").exists()


def test_checkpoint_verbose(tmp_path, capsys):
    run([ModelCheckpoint(str(tmp_path / "w.safetensors"), save_best_only=True, verbose=1)],
        [0.9, 1.0])
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to 0.90000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 0.90000" in out


# -- learning rate ------------------------------------------------------------------------------

def test_lr_scheduler_with_a_function():
    model = FakeModel(lr=0.1)
    seen = []
    scheduler = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    probe = LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(model.lr))
    _, callbacks = run([scheduler, probe], [1, 1, 1, 1], model=model)
    assert seen == [0.1, 0.1, 0.05, 0.025]
    assert callbacks.history.history["lr"] == [0.1, 0.1, 0.05, 0.025]


def test_lr_scheduler_with_epoch_only_function_and_every_group():
    model = FakeModel(lr=0.1)
    model.optimizer.param_groups.append(dict(model.optimizer.param_groups[0], params=[],
                                             lr=0.01))
    run([LearningRateScheduler(lambda epoch: 0.1 ** (epoch + 1))], [1, 1], model=model)
    assert [group["lr"] for group in model.optimizer.param_groups] == [
        pytest.approx(0.01), pytest.approx(0.01)]


def test_lr_scheduler_with_a_schedule_object():
    model = FakeModel(lr=0.2)
    schedule = sn.optim.StepLR(None, step_size=2, gamma=0.5)
    run([LearningRateScheduler(schedule)], [1, 1, 1, 1, 1], model=model)
    assert model.lr == pytest.approx(0.2 * 0.5 ** 2)  # epoch 4
    bound_model = FakeModel(lr=1.0)
    warmup = sn.optim.LinearWarmup(bound_model.optimizer, warmup_epochs=2, start_factor=0.5)
    assert bound_model.lr == 0.5  # the schedule set epoch 0's rate; its base stays 1.0
    run([LearningRateScheduler(warmup)], [1, 1], model=bound_model)
    assert bound_model.lr == pytest.approx(0.75)


def test_lr_scheduler_errors(capsys):
    with pytest.raises(ValueError, match=r"the schedule returned -1 for epoch 0; expected a "
                                         r"finite learning rate >= 0"):
        run([LearningRateScheduler(lambda epoch, lr: -1)], [1])
    with pytest.raises(TypeError, match="use the callback somanet.train.ReduceLROnPlateau"):
        LearningRateScheduler(sn.optim.ReduceLROnPlateau(None, base_lr=0.1))
    with pytest.raises(TypeError, match="schedule must be a function"):
        LearningRateScheduler(0.1)

    class NoOptimizer:
        stop_training = False

    with pytest.raises(ValueError, match=r"the model has no optimizer with param_groups; "
                                         r"compile the model"):
        CallbackList([LearningRateScheduler(lambda e, lr: lr)],
                     model=NoOptimizer()).on_train_begin()
    run([LearningRateScheduler(lambda epoch, lr: lr, verbose=1)], [1])
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.1." in \
        capsys.readouterr().out


def test_reduce_lr_on_plateau_keras_patience_and_min_lr(capsys):
    model = FakeModel(lr=1.0)
    lrs = []
    probe = LambdaCallback(on_epoch_end=lambda epoch, logs: lrs.append(model.lr))
    reducer = ReduceLROnPlateau(patience=2, factor=0.5, min_lr=0.2, verbose=1)
    run([reducer, probe], [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95], model=model)
    # bad epochs 2, 3 -> reduce at 3; 4, 5 -> reduce at 5; 6, 7 -> floor 0.2 at 7
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]
    assert "Epoch 4: ReduceLROnPlateau reducing learning rate to 0.5." in capsys.readouterr().out


def test_reduce_lr_on_plateau_absolute_min_delta_and_mode_max():
    model = FakeModel(lr=1.0)
    # every later epoch is within min_delta = 0.01 of the best, 1.0: none counts
    run([ReduceLROnPlateau(patience=1, factor=0.1, min_delta=0.01)],
        [1.0, 0.995, 0.992, 0.991], model=model)
    assert model.lr == pytest.approx(1e-3)  # reduced at epochs 1, 2, 3
    model = FakeModel(lr=1.0)
    run([ReduceLROnPlateau(monitor="val_accuracy", patience=1, factor=0.5)],
        [0.5, 0.6, 0.7, 0.65], model=model, key="val_accuracy")
    assert model.lr == 0.5


def test_reduce_lr_on_plateau_cooldown():
    model = FakeModel(lr=1.0)
    lrs = []
    probe = LambdaCallback(on_epoch_end=lambda epoch, logs: lrs.append(model.lr))
    run([ReduceLROnPlateau(patience=1, factor=0.5, cooldown=2), probe], [1.0] * 6, model=model)
    assert lrs == [1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_reduce_lr_on_plateau_errors():
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="cannot tell whether 'val_thing'"):
        ReduceLROnPlateau(monitor="val_thing")
    with pytest.warns(RuntimeWarning, match="available keys: loss, accuracy, lr"):
        run([ReduceLROnPlateau()], [0.5], key="accuracy")


# -- CSVLogger and TerminateOnNaN ---------------------------------------------------------------

def read_csv(path, separator=","):
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=separator))


def test_csv_logger_writes_a_row_per_epoch_and_appends(tmp_path):
    path = tmp_path / "logs" / "train.csv"
    run([CSVLogger(path)], [0.9, 0.7])
    rows = read_csv(path)
    assert rows[0] == ["epoch", "loss", "lr", "val_loss"]
    assert rows[1] == ["0", "1.0", "0.1", "0.9"]
    assert rows[2] == ["1", "0.5", "0.1", "0.7"]
    run([CSVLogger(path, append=True)], [0.6])
    rows = read_csv(path)
    assert len(rows) == 4 and rows[0] == ["epoch", "loss", "lr", "val_loss"]
    assert rows[3] == ["0", "1.0", "0.1", "0.6"]
    run([CSVLogger(path)], [0.5])  # without append: a fresh file
    assert len(read_csv(path)) == 2


def test_csv_logger_missing_values_and_separator(tmp_path):
    path = tmp_path / "train.tsv"
    logger = CSVLogger(path, separator="\t")
    model = FakeModel()
    callbacks = CallbackList([logger], model=model)
    callbacks.on_train_begin()
    callbacks.on_epoch_end(0, {"loss": 0.5, "val_loss": float("nan")})
    callbacks.on_epoch_end(1, {"loss": 0.25})
    assert read_csv(path, "\t") == [["epoch", "loss", "val_loss"], ["0", "0.5", "nan"],
                                    ["1", "0.25", "NA"]]
    with pytest.raises(ValueError, match="separator must be one character"):
        CSVLogger(path, separator="::")


def test_terminate_on_nan_names_the_epoch_and_batch(capsys):
    model = FakeModel()
    terminator = TerminateOnNaN()
    callbacks = CallbackList([terminator], model=model, params={"epochs": 5, "steps": 20})
    callbacks.on_train_begin()
    for epoch in range(3):
        callbacks.on_epoch_begin(epoch)
        for batch in range(20):
            loss = math.nan if (epoch, batch) == (2, 11) else 0.5
            callbacks.on_train_batch_end(batch, {"loss": loss, "accuracy": 0.5})
            if model.stop_training:
                break
        if model.stop_training:
            break
    assert (epoch, batch) == (2, 11)
    assert terminator.message == "Batch 12 of epoch 3: invalid loss nan, terminating training"
    assert terminator.message in capsys.readouterr().out
    callbacks.on_train_batch_end(0, {"loss": math.inf})
    assert "invalid loss inf" in terminator.message


# -- progress -----------------------------------------------------------------------------------

def test_format_logs_keras_style():
    assert format_logs({"loss": 0.31204, "accuracy": 0.91, "lr": 1e-4, "size": 32,
                        "name": "x"}) == "loss: 0.3120 - accuracy: 0.9100 - lr: 1.0000e-04"
    assert format_logs({"loss": float("nan")}) == "loss: nan"


def test_progress_verbose_0_is_silent(capsys):
    callbacks = CallbackList(model=FakeModel(), add_progbar=True,
                             params={"epochs": 2, "steps": 3}, verbose=0)
    drive_epochs(callbacks, 2)
    assert capsys.readouterr() == ("", "")


def drive_epochs(callbacks, epochs, steps=3, validate=True):
    callbacks.on_train_begin()
    for epoch in range(epochs):
        callbacks.on_epoch_begin(epoch)
        for batch in range(steps):
            callbacks.on_train_batch_end(batch, {"loss": 0.5 - 0.01 * batch, "accuracy": 0.9})
        logs = {"loss": 0.3120, "accuracy": 0.91}
        if validate:  # validation inside fit runs the test hooks: they stay quiet
            callbacks.on_test_begin()
            callbacks.on_test_batch_end(0, {"loss": 0.4})
            callbacks.on_test_end({"loss": 0.4, "accuracy": 0.88})
            logs.update(val_loss=0.4, val_accuracy=0.88)
        callbacks.on_epoch_end(epoch, logs)
    callbacks.on_train_end()


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_one_line_per_epoch_off_a_terminal_or_verbose_2(capsys, verbose):
    callbacks = CallbackList(model=FakeModel(), add_progbar=True,
                             params={"epochs": 2, "steps": 3}, verbose=verbose)
    drive_epochs(callbacks, 2)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2 and err == ""
    assert lines[0].startswith("Epoch 1/2 - ") and lines[1].startswith("Epoch 2/2 - ")
    assert lines[0].split(" - ", 2)[1].endswith("s")  # the epoch's time, "0.00s"
    assert lines[1].endswith("loss: 0.3120 - accuracy: 0.9100 - val_loss: 0.4000 - "
                             "val_accuracy: 0.8800")


def test_progress_bar_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    callbacks = CallbackList(model=FakeModel(), add_progbar=True,
                             params={"epochs": 2, "steps": 3}, verbose=1)
    drive_epochs(callbacks, 2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "3/3" in out  # tqdm's counter
    assert "val_loss: 0.4000" in out  # the epoch's values stay on the finished bar
    assert callbacks.progress_bar._bar is None


def test_progress_evaluate_and_predict(capsys, monkeypatch):
    bar = ProgressBar(verbose=2)
    callbacks = CallbackList([bar], params={"steps": 2})
    callbacks.on_test_begin()
    callbacks.on_test_batch_end(0, {"loss": 0.5})
    callbacks.on_test_batch_end(1, {"loss": 0.4})
    callbacks.on_test_end({"loss": 0.45, "accuracy": 0.875})
    callbacks.on_predict_begin()
    callbacks.on_predict_batch_end(0)
    callbacks.on_predict_end()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Evaluate - ") and lines[0].endswith(
        "loss: 0.4500 - accuracy: 0.8750")
    assert lines[1].startswith("Predict - 1 batches - ")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    quiet = CallbackList([ProgressBar(verbose=0)], params={"steps": 2})
    quiet.on_test_begin()
    quiet.on_test_end({"loss": 0.45})
    assert capsys.readouterr().out == ""
    shown = CallbackList([ProgressBar()], params={"steps": 2, "verbose": 1})
    shown.on_test_begin()
    shown.on_test_batch_end(0, {"loss": 0.5})
    shown.on_test_batch_end(1, {"loss": 0.4})
    shown.on_test_end({"loss": 0.45})
    out = capsys.readouterr().out
    assert "Evaluate" in out and "2/2" in out and "loss: 0.4500" in out


def test_progress_bar_argument_error():
    with pytest.raises(ValueError, match="verbose must be 0 \\(silent\\), 1 \\(a bar\\) or 2"):
        ProgressBar(verbose=3)


def test_callback_list_leaves_chief_only_callbacks_out_off_the_chief(tmp_path):
    csv_logger = CSVLogger(str(tmp_path / "log.csv"))
    checkpoint = ModelCheckpoint(str(tmp_path / "w.safetensors"))
    stopper = EarlyStopping(monitor="loss")
    callbacks = CallbackList([csv_logger, stopper, checkpoint], chief=False)
    assert stopper in callbacks.callbacks
    assert csv_logger not in callbacks.callbacks and checkpoint not in callbacks.callbacks
    callbacks.append(CSVLogger(str(tmp_path / "other.csv")))
    assert len(callbacks) == 2  # History and the EarlyStopping
    chief = CallbackList([csv_logger, stopper, checkpoint])
    assert [type(cb).__name__ for cb in chief] == ["History", "CSVLogger", "EarlyStopping",
                                                  "ModelCheckpoint"]
