"""Checkpoints and resume: a killed (SIGKILL) or interrupted (Ctrl-C) run, resumed, ends
bitwise where an uninterrupted run ends, with the same per-step logs."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import somanet as sn

from . import resume_job
from .helpers import blobs, classifier, logits_loss, same_weights, weights

pytestmark = pytest.mark.filterwarnings("ignore::somanet.train.LossIncreasingWarning")

JOB = os.path.join(os.path.dirname(__file__), "resume_job.py")
STEPS_PER_EPOCH = 10  # 80 training samples (validation_split=0.2) in batches of 8


def reference(tmp_path):
    log = tmp_path / "reference.log"
    state, history = resume_job.run("plain", None, log)
    return state, resume_job.read_log(log), history


def read_index(folder):
    with open(folder / "checkpoint.json") as handle:
        return json.load(handle)


def test_resume_after_sigkill_is_bitwise_identical(tmp_path):
    expected_state, expected_log, _ = reference(tmp_path)
    assert len(expected_log) == resume_job.EPOCHS * STEPS_PER_EPOCH
    folder = tmp_path / "checkpoint"
    killed_log, resumed_log = tmp_path / "killed.log", tmp_path / "resumed.log"
    env = dict(os.environ, PYTHONHASHSEED="0")
    process = subprocess.Popen([sys.executable, JOB, "slow", str(folder), str(killed_log),
                                str(tmp_path / "killed.npz")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if (folder / "checkpoint.json").exists():
                index = read_index(folder)
                if index["step"] >= 3 and index["extra"]["fit"]["batch"] > 0:
                    break  # a mid-epoch checkpoint is on disk
            time.sleep(0.01)
        time.sleep(0.08)  # let it train a batch or two past the checkpoint
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    assert not (tmp_path / "killed.npz").exists()  # it really died part-way
    saved_step = read_index(folder)["step"]
    assert 3 <= saved_step < resume_job.EPOCHS * STEPS_PER_EPOCH

    completed = subprocess.run([sys.executable, JOB, "checkpointed", str(folder),
                                str(resumed_log), str(tmp_path / "resumed.npz")], env=env,
                               capture_output=True, timeout=120)
    assert completed.returncode == 0, completed.stderr.decode()
    killed, resumed = resume_job.read_log(killed_log), resume_job.read_log(resumed_log)
    # Steps logged before the kill, and the resumed run's steps, match the reference exactly.
    assert killed == expected_log[:len(killed)] and len(killed) >= saved_step
    assert resumed == expected_log[saved_step:]
    final = np.load(tmp_path / "resumed.npz")
    assert set(final.files) == set(expected_state)
    for key, value in expected_state.items():
        np.testing.assert_array_equal(final[key], value)


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
