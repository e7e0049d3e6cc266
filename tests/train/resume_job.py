"""A small training run for the resume tests, run in-process or as a subprocess:

    python resume_job.py MODE CHECKPOINT_DIR LOG_FILE WEIGHTS_FILE [SETUP [FILES_DIR]]

MODE: "plain" (no checkpoints), "checkpointed", or "slow" (checkpointed, sleeping after
each batch so the test can kill it part-way). Each training batch appends one JSON line
``[epoch, batch, loss, accuracy, lr]`` (the running logs and the learning rate) to
LOG_FILE; at the end the weights go to WEIGHTS_FILE (.npz). The run has everything that
must be restored exactly: dropout (the RNG), shuffling (the loader's order), Adam's
moments, metrics' running sums, validation.

SETUP adds callbacks whose own state must come back too (``SETUPS``; "all" is every one
of them at once); FILES_DIR is where the callbacks that write files write them.
"""
import json
import os
import sys
import time

import numpy as np

import somanet as sn
from somanet import nn
from somanet.train import (Callback, CSVLogger, EarlyStopping, LearningRateScheduler,
                           ModelCheckpoint, ReduceLROnPlateau)

EPOCHS = 3
BATCH_SIZE = 8
CHECKPOINT_EVERY = 3
BIG = 10.0  # a min_delta no epoch beats: every epoch after the first is "no improvement"


def _early_stopping(files):
    # Stops at epoch 1 (counted from 0); started afresh, it would stop at epoch 2 or later.
    return [EarlyStopping(monitor="val_loss", patience=1, min_delta=BIG,
                          restore_best_weights=True)]


def _plateau(files):
    # Halves the rate after every epoch but the first.
    return [ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=BIG)]


def _best_file(files):
    # mode="max" on a falling val_loss: only epoch 0 is "best"; a later save overwrites it.
    return [ModelCheckpoint(os.path.join(files, "best.safetensors"), monitor="val_loss",
                            mode="max", save_best_only=True)]


def _exponential(files):
    return [LearningRateScheduler(sn.optim.ExponentialLR(None, gamma=0.5))]


def _lambda(files):
    return [LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)]


def _csv(files):
    return [CSVLogger(os.path.join(files, "log.csv"))]


SETUPS = {"none": lambda files: [], "early_stopping": _early_stopping, "plateau": _plateau,
          "best_file": _best_file, "exponential": _exponential, "lambda": _lambda, "csv": _csv}


def callbacks_of(setup, files):
    if setup == "all":
        return [callback for name in ("exponential", "plateau", "best_file", "csv",
                                      "early_stopping") for callback in SETUPS[name](files)]
    return SETUPS[setup](files)


class Recorder(Callback):
    def __init__(self, path, sleep=0.0, interrupt_at=None):
        super().__init__()
        self.path, self.sleep, self.interrupt_at = path, sleep, interrupt_at
        self.epoch = 0
        self.steps = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        lr = self.model.optimizer.param_groups[0]["lr"]
        with open(self.path, "a") as handle:
            handle.write(json.dumps([self.epoch, batch, logs["loss"], logs["accuracy"], lr])
                         + "\n")
        self.steps += 1
        if self.interrupt_at is not None and self.steps == self.interrupt_at:
            raise KeyboardInterrupt  # like a kill: later callbacks never see this batch
        if self.sleep:
            time.sleep(self.sleep)


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)).astype("float32")
    y = (np.argmax(x[:, :3] + 0.5 * x[:, 3:], axis=1)).astype("int64")
    return x, y


def build():
    sn.manual_seed(0)
    model = sn.Sequential([sn.Input(shape=(6,)), nn.Dense(16, activation="relu"),
                           nn.Dropout(0.3), nn.Dense(3)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def run(mode, folder, log_path, weights_path=None, interrupt_at=None, setup="none",
        files=None, extra_callbacks=(), epochs=EPOCHS):
    x, y = data()
    model = build()
    recorder = Recorder(log_path, sleep=0.1 if mode == "slow" else 0.0,
                        interrupt_at=interrupt_at)
    checkpointed = mode != "plain"
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, validation_split=0.2,
                        callbacks=[recorder, *callbacks_of(setup, files), *extra_callbacks],
                        verbose=0, seed=1,
                        checkpoint_dir=folder if checkpointed else None,
                        checkpoint_every=CHECKPOINT_EVERY if checkpointed else None,
                        resume=checkpointed)
    state = {key: value.numpy() for key, value in model.state_dict().items()}
    if weights_path is not None:
        np.savez(weights_path, **state)
    return state, history


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


if __name__ == "__main__":
    arguments = sys.argv[1:]
    run(*arguments[:4], setup=arguments[4] if len(arguments) > 4 else "none",
        files=arguments[5] if len(arguments) > 5 else None)
