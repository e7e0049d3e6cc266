"""The callbacks of somanet.train.callbacks driven by a real fit (the integration of the
two halves of the training API)."""
import csv
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet.train import (CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint,
                           ReduceLROnPlateau)

from .helpers import blobs, classifier, logits_loss


def test_early_stopping_restores_the_best_weights_and_stops():
    x, y = blobs(n=40)
    model = classifier()
    model.compile(optimizer="sgd", loss=logits_loss(), learning_rate=0.0)  # nothing improves
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=10, validation_split=0.25, callbacks=[stopper],
                        verbose=0)
    assert history.epoch == [0, 1, 2] and stopper.stopped_epoch == 2


def test_schedulers_change_the_learning_rate_seen_in_the_logs():
    x, y = blobs(n=40)
    model = classifier()
    model.compile(optimizer="sgd", loss=logits_loss(), learning_rate=0.1)
    history = model.fit(x, y, epochs=3, verbose=0,
                        callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.05, 0.1 / 3])
    model.compile(optimizer="sgd", loss=logits_loss(), learning_rate=0.0)
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1.0)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[plateau])
    assert model.optimizer.param_groups[0]["lr"] == 0.0  # 0 * 0.5 stays 0
    assert plateau.schedule is not None


def test_csv_logger_and_model_checkpoint(tmp_path):
    x, y = blobs(n=40)
    model = classifier()
    model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    best = tmp_path / "best.safetensors"
    model.fit(x, y, epochs=3, validation_split=0.25, verbose=0,
              callbacks=[CSVLogger(tmp_path / "log.csv"),
                         ModelCheckpoint(best, monitor="val_loss", save_best_only=True)])
    with open(tmp_path / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    restored = classifier(seed=9)
    sn.io.load_weights(best, restored)
    assert restored.state_dict().keys() == model.state_dict().keys()


@pytest.mark.parametrize("make_callback", [
    lambda path: EarlyStopping(monitor="val_loss", patience=1),
    lambda path: sn.train.ReduceLROnPlateau(monitor="val_loss"),
    lambda path: ModelCheckpoint(str(path / "best.safetensors"), monitor="val_loss",
                                 save_best_only=True),
], ids=["EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"])
def test_a_missing_monitored_key_is_said_once_per_fit(make_callback, tmp_path):
    x, y = blobs(n=32)
    model = classifier()
    model.compile(optimizer="sgd", loss=logits_loss())
    callback = make_callback(tmp_path)
    for _ in range(2):  # each fit says it once, however many epochs
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[callback])
        missing = [w for w in caught if "which is not in the logs" in str(w.message)]
        assert len(missing) == 1, [str(w.message) for w in caught]
        assert "(no validation values: pass validation_data or validation_split to fit) " \
               "(said once per fit)" in str(missing[0].message)
