"""A small training run for the resume tests, run in-process or as a subprocess:

    python resume_job.py MODE CHECKPOINT_DIR LOG_FILE WEIGHTS_FILE

MODE: "plain" (no checkpoints), "checkpointed", or "slow" (checkpointed, sleeping after
each batch so the test can kill it part-way). Each training batch appends one JSON line
``[epoch, batch, loss, accuracy]`` (the running logs) to LOG_FILE; at the end the weights
go to WEIGHTS_FILE (.npz). The run has everything that must be restored exactly:
dropout (the RNG), shuffling (the loader's order), Adam's moments, metrics' running sums,
validation.
"""
import json
import sys
import time

import numpy as np

import somanet as sn
from somanet import nn
from somanet.train import Callback

EPOCHS = 3
BATCH_SIZE = 8
CHECKPOINT_EVERY = 3


class Recorder(Callback):
    def __init__(self, path, sleep=0.0, interrupt_at=None):
        super().__init__()
        self.path, self.sleep, self.interrupt_at = path, sleep, interrupt_at
        self.epoch = 0
        self.steps = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        with open(self.path, "a") as handle:
            handle.write(json.dumps([self.epoch, batch, logs["loss"], logs["accuracy"]]) + "\n")
        self.steps += 1
        if self.interrupt_at is not None and self.steps == self.interrupt_at:
            raise KeyboardInterrupt
        if self.sleep:
            time.sleep(self.sleep)


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)).astype("float32")
    y = (np.argmax(x[:, :3] + 0.5 * x[:, 3:], axis=1)).astype("int64")
    return x, y


def run(mode, folder, log_path, weights_path=None, interrupt_at=None):
    x, y = data()
    sn.manual_seed(0)
    model = sn.Sequential([sn.Input(shape=(6,)), nn.Dense(16, activation="relu"),
                           nn.Dropout(0.3), nn.Dense(3)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True))
    recorder = Recorder(log_path, sleep=0.05 if mode == "slow" else 0.0,
                        interrupt_at=interrupt_at)
    checkpointed = mode != "plain"
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_split=0.2,
                        callbacks=[recorder], verbose=0, seed=1,
                        checkpoint_dir=folder if checkpointed else None,
                        checkpoint_every=CHECKPOINT_EVERY if checkpointed else None,
                        resume=checkpointed)
    state = {key: value.numpy() for key, value in model.state_dict().items()}
    if weights_path is not None:
        np.savez(weights_path, **state)
    return state, history


def read_log(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
