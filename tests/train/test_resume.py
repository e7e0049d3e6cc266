"""Checkpoints and resume: a killed (SIGKILL) or interrupted (Ctrl-C) run, resumed, ends
bitwise where an uninterrupted run ends, with the same per-step logs and learning rates,
its callbacks' state included (the epoch it stops at, the files they write)."""
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet.train import Callback, LearningRateScheduler, ModelCheckpoint
from somanet.train.trainer import ScheduleNotSteppedWarning

from . import resume_job
from .helpers import blobs, classifier, logits_loss, same_weights, weights

pytestmark = pytest.mark.filterwarnings("ignore::somanet.train.LossIncreasingWarning")

JOB = os.path.join(os.path.dirname(__file__), "resume_job.py")
STEPS_PER_EPOCH = 10  # 80 training samples (validation_split=0.2) in batches of 8


def reference(tmp_path, setup="none"):
    log = tmp_path / "reference.log"
    files = tmp_path / "reference-files"
    files.mkdir()
    state, history = resume_job.run("plain", None, log, setup=setup, files=str(files))
    return state, resume_job.read_log(log), history


def same_files(expected, actual):
    """The files the callbacks wrote, byte for byte."""
    names = sorted(os.listdir(expected))
    assert sorted(os.listdir(actual)) == names
    for name in names:
        assert (expected / name).read_bytes() == (actual / name).read_bytes(), name


def read_index(folder):
    with open(folder / "checkpoint.json") as handle:
        return json.load(handle)


def test_resume_after_sigkill_is_bitwise_identical(tmp_path):
    """Every stateful callback at once (schedules, plateau, best file, CSV log, early
    stopping), killed with SIGKILL just after a mid-epoch checkpoint."""
    expected_state, expected_log, expected_history = reference(tmp_path, "all")
    assert expected_history.epoch == [0, 1]  # EarlyStopping stops it at epoch 1
    assert len(expected_log) == 2 * STEPS_PER_EPOCH
    folder = tmp_path / "checkpoint"
    files = tmp_path / "files"
    files.mkdir()
    killed_log, resumed_log = tmp_path / "killed.log", tmp_path / "resumed.log"
    env = dict(os.environ, PYTHONHASHSEED="0")
    process = subprocess.Popen([sys.executable, JOB, "slow", str(folder), str(killed_log),
                                str(tmp_path / "killed.npz"), "all", str(files)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if (folder / "checkpoint.json").exists():
                index = read_index(folder)
                if index["step"] > STEPS_PER_EPOCH and index["extra"]["fit"]["batch"] > 0:
                    break  # a checkpoint in the middle of epoch 1 is on disk: the callbacks
                    # have state from epoch 0 by then
            time.sleep(0.01)
        time.sleep(0.15)  # let it train a batch or two past the checkpoint
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    assert not (tmp_path / "killed.npz").exists()  # it really died part-way
    saved_step = read_index(folder)["step"]
    assert STEPS_PER_EPOCH < saved_step < len(expected_log)

    completed = subprocess.run([sys.executable, JOB, "checkpointed", str(folder),
                                str(resumed_log), str(tmp_path / "resumed.npz"), "all",
                                str(files)], env=env, capture_output=True, timeout=120)
    assert completed.returncode == 0, completed.stderr.decode()
    killed, resumed = resume_job.read_log(killed_log), resume_job.read_log(resumed_log)
    # Steps logged before the kill, and the resumed run's steps, match the reference exactly.
    assert killed == expected_log[:len(killed)] and len(killed) >= saved_step
    assert resumed == expected_log[saved_step:]
    final = np.load(tmp_path / "resumed.npz")
    assert set(final.files) == set(expected_state)
    for key, value in expected_state.items():
        np.testing.assert_array_equal(final[key], value)
    same_files(tmp_path / "reference-files", files)


INTERRUPT_AT = 15  # epoch 1, batch 4 (from 0); the last checkpoint is at step 13


@pytest.mark.parametrize("setup", ["early_stopping", "plateau", "best_file", "exponential",
                                   "lambda", "csv"])
def test_callbacks_resume_bitwise_from_mid_epoch(tmp_path, setup):
    """Killed mid-epoch (a KeyboardInterrupt before any later callback or the checkpoint
    sees the batch), then resumed: the same steps, learning rates, weights, history,
    stopping epoch and files as a run never interrupted."""
    expected_state, expected_log, expected_history = reference(tmp_path, setup)
    folder, files = tmp_path / "checkpoint", tmp_path / "files"
    files.mkdir()
    killed_log, resumed_log = tmp_path / "killed.log", tmp_path / "resumed.log"
    with pytest.raises(KeyboardInterrupt):
        resume_job.run("checkpointed", folder, killed_log, interrupt_at=INTERRUPT_AT,
                       setup=setup, files=str(files))
    index = read_index(folder)
    saved_step = index["step"]
    assert saved_step == 13 and index["extra"]["fit"]["batch"] == 3  # mid-epoch 1
    assert resume_job.read_log(killed_log) == expected_log[:INTERRUPT_AT]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # every callback found its state
        state, history = resume_job.run("checkpointed", folder, resumed_log, setup=setup,
                                        files=str(files))
    assert resume_job.read_log(resumed_log) == expected_log[saved_step:]
    assert same_weights(state, expected_state)
    assert history.history == expected_history.history
    assert history.epoch == expected_history.epoch
    same_files(tmp_path / "reference-files", files)


def test_an_early_stopped_run_resumed_stays_stopped(tmp_path):
    folder, log = tmp_path / "checkpoint", tmp_path / "run.log"
    state, history = resume_job.run("checkpointed", folder, log, setup="early_stopping",
                                    epochs=6)
    assert history.epoch == [0, 1]
    assert read_index(folder)["extra"]["fit"]["stopped"] is True
    os.remove(log)
    again, resumed = resume_job.run("checkpointed", folder, log, setup="early_stopping",
                                    epochs=6)
    assert resume_job.read_log(log) == []  # not one batch more
    assert same_weights(again, state)  # the best epoch's weights, restored at the end again
    assert resumed.history == history.history and resumed.epoch == [0, 1]


def test_a_model_checkpoint_folder_resumes_with_fit(tmp_path):
    """ModelCheckpoint(save_weights_only=False) writes fit's resumable checkpoint."""
    _, expected_log, expected_history = reference(tmp_path)
    expected_state = reference_state = resume_job.run("plain", None, tmp_path / "r2.log")[0]
    folder = tmp_path / "saved"
    with pytest.raises(KeyboardInterrupt):
        resume_job.run("plain", None, tmp_path / "killed.log", interrupt_at=INTERRUPT_AT,
                       extra_callbacks=[ModelCheckpoint(str(folder), save_weights_only=False)])
    assert read_index(folder)["epoch"] == 1  # saved at the end of epoch 0
    log = tmp_path / "resumed.log"
    state, history = resume_job.run(
        "checkpointed", folder, log,
        extra_callbacks=[ModelCheckpoint(str(folder), save_weights_only=False)])
    assert resume_job.read_log(log) == expected_log[STEPS_PER_EPOCH:]
    assert same_weights(state, expected_state) and same_weights(state, reference_state)
    assert history.history == expected_history.history


class CountBatches(Callback):
    """A user callback with state of its own: batches seen over the whole run."""

    def on_train_begin(self, logs=None):
        self.count = 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1

    def state_dict(self):
        return {"count": self.count, "kept": np.arange(3.0) * self.count}

    def load_state_dict(self, state):
        assert float(state["kept"][1]) == state["count"]  # arrays come back as arrays
        self.count = state["count"]


def test_a_user_callback_declares_its_state(tmp_path):
    folder = tmp_path / "checkpoint"
    with pytest.raises(KeyboardInterrupt):
        resume_job.run("checkpointed", folder, tmp_path / "a.log", interrupt_at=INTERRUPT_AT,
                       extra_callbacks=[CountBatches()])
    counter = CountBatches()
    resume_job.run("checkpointed", folder, tmp_path / "b.log", extra_callbacks=[counter])
    assert counter.count == resume_job.EPOCHS * STEPS_PER_EPOCH
    # Resumed without it, or with a new stateful callback: said, not silently dropped.
    with pytest.raises(KeyboardInterrupt):
        resume_job.run("checkpointed", tmp_path / "c2", tmp_path / "c.log",
                       interrupt_at=INTERRUPT_AT, extra_callbacks=[CountBatches()])
    with pytest.warns(RuntimeWarning, match=r"holds the state of CountBatches, which this fit "
                                            r"call does not have"):
        resume_job.run("checkpointed", tmp_path / "c2", tmp_path / "d.log")


def test_a_schedule_on_the_optimizer_is_stepped_or_fit_says_it_is_not():
    x, y = blobs(n=24)
    model = classifier()
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1)
    model.compile(optimizer=optimizer, loss=logits_loss())
    schedule = sn.optim.ExponentialLR(optimizer, gamma=0.5)
    with pytest.warns(ScheduleNotSteppedWarning, match=r"the ExponentialLR built on this "
                                                        r"model's optimizer is not stepped by "
                                                        r"fit.*LearningRateScheduler"):
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert history.history["lr"] == [0.1, 0.1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScheduleNotSteppedWarning)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0,
                            callbacks=[LearningRateScheduler(schedule)])
    assert history.history["lr"] == [0.1, 0.05, 0.025]
    plateau = sn.optim.ReduceLROnPlateau(optimizer)
    with pytest.warns(ScheduleNotSteppedWarning, match=r"ReduceLROnPlateau.*use the callback"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(schedule)])
    del plateau


def test_ctrl_c_leaves_a_resumable_checkpoint(tmp_path):
    expected_state, expected_log, expected_history = reference(tmp_path)
    folder = tmp_path / "checkpoint"
    log = tmp_path / "interrupted.log"
    with pytest.raises(KeyboardInterrupt) as caught:
        resume_job.run("checkpointed", folder, log, interrupt_at=17)
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert "fit was interrupted at epoch 2, batch 7" in notes
    assert "is intact: call fit(..., checkpoint_dir=" in notes and "resume=True" in notes
    index = read_index(folder)
    assert index["step"] == 16 and index["epoch"] == 1 and index["extra"]["fit"]["batch"] == 6
    interrupted = resume_job.read_log(log)
    assert interrupted == expected_log[:17]
    os.remove(log)
    state, history = resume_job.run("checkpointed", folder, log)
    assert resume_job.read_log(log) == expected_log[16:]
    assert same_weights(state, expected_state)
    assert history.history == expected_history.history
    assert history.epoch == expected_history.epoch == [0, 1, 2]


def test_checkpoint_contents_and_resuming_a_finished_run(tmp_path):
    x, y = blobs(n=24)
    model = classifier()
    model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, checkpoint_dir=tmp_path)
    info = sn.io.load_checkpoint(tmp_path)
    assert info["epoch"] == 2 and info["step"] == 6
    assert info["history"] == history.history
    again = classifier(seed=5)
    again.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    calls = []
    resumed = again.fit(x, y, batch_size=8, epochs=2, verbose=0, checkpoint_dir=tmp_path,
                        resume=True, callbacks=[sn.train.LambdaCallback(
                            on_train_batch_end=lambda batch, logs: calls.append(batch))])
    assert calls == []  # nothing left to train
    assert resumed.history == history.history
    assert same_weights(weights(again), weights(model))
    # Asking for more epochs continues from there.
    more = again.fit(x, y, batch_size=8, epochs=3, verbose=0, checkpoint_dir=tmp_path,
                     resume=True)
    assert more.epoch == [0, 1, 2] and len(more.history["loss"]) == 3


def test_resume_without_a_checkpoint_starts_afresh(tmp_path):
    x, y = blobs(n=24)
    runs = []
    for folder in (None, tmp_path / "new"):
        model = classifier()
        model.compile(optimizer="adam", loss=logits_loss())
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=3, checkpoint_dir=folder,
                  resume=folder is not None)
        runs.append(weights(model))
    assert same_weights(*runs)
    assert (tmp_path / "new" / "checkpoint.json").exists()


@pytest.mark.parametrize("edit, match", [
    (lambda fit: fit["callbacks"]["EarlyStopping"].update(wait="2"),
     r"the saved state of EarlyStopping does not fit it: EarlyStopping.load_state_dict: wait"),
    (lambda fit: fit.update(batch="3"), r"extra\['fit'\]\['batch'\] is '3', expected a number"),
    (lambda fit: fit.update(stopped=1), r"extra\['fit'\]\['stopped'\] is 1, expected true or "
                                        r"false"),
])
def test_a_damaged_fit_state_is_an_error_naming_it(tmp_path, edit, match):
    folder = tmp_path / "checkpoint"
    with pytest.raises(KeyboardInterrupt):
        resume_job.run("checkpointed", folder, tmp_path / "a.log", interrupt_at=INTERRUPT_AT,
                       setup="early_stopping")
    index = read_index(folder)
    edit(index["extra"]["fit"])
    (folder / "checkpoint.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=match):
        resume_job.run("checkpointed", folder, tmp_path / "b.log", setup="early_stopping")


def test_a_batch_checkpoint_waits_for_the_accumulated_update(tmp_path):
    """ModelCheckpoint(save_freq=4, save_weights_only=False) with accumulate_steps=3: the
    checkpoint asked for at batch 4 is written after the update of batch 6 (accumulated
    gradients are not saved), so the run resumes from it exactly."""
    x, y = blobs(n=96)

    def train(folder=None, interrupt_at=None, resume=False):
        model = classifier(dropout=0.2)
        model.compile(optimizer="adam", loss=logits_loss())
        steps = []

        def count(batch, logs):
            steps.append(batch)
            if len(steps) == interrupt_at:
                raise KeyboardInterrupt

        callbacks = [sn.train.LambdaCallback(on_train_batch_end=count)]
        if folder is not None:
            callbacks.append(ModelCheckpoint(str(folder), save_freq=4, save_weights_only=False))
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=1, accumulate_steps=3,
                  callbacks=callbacks, checkpoint_dir=folder if resume else None, resume=resume)
        return weights(model)

    expected = train()
    folder = tmp_path / "saved"
    with pytest.raises(KeyboardInterrupt):
        train(folder, interrupt_at=10)
    assert read_index(folder)["step"] == 9  # asked for at batch 8, written after update 9
    assert same_weights(train(folder, resume=True), expected)
