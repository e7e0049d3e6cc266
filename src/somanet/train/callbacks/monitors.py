"""Watching a logged value: ``EarlyStopping`` and ``ReduceLROnPlateau`` (when it stops
improving), ``TerminateOnNaN`` (when the loss stops being a number)."""
import math
import warnings

from ..._checks import check_non_negative, check_non_negative_int, check_real, suggestion
from ...optim.schedules import ReduceLROnPlateau as _PlateauSchedule
from ...tensor import Tensor
from .base import Callback, check_state, optimizer_of, saved_number

_EPOCHS = "an int >= 0 (a number of epochs)"
_DELTA = "a number >= 0"


def resolve_mode(owner, monitor, mode):
    """``"min"`` or ``"max"`` for ``monitor``: ``mode`` itself, or for ``"auto"``, ``min``
    for losses and errors and ``max`` for accuracies, precision, recall and AUC."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.lower()
    base = name[4:] if name.startswith("val_") else name
    if base.endswith("loss") or "error" in base or base in ("mae", "mse", "lr"):
        return "min"
    if "acc" in base or base.startswith(("precision", "recall", "auc")):
        return "max"
    raise ValueError(f"{owner}: cannot tell whether {monitor!r} should go down or up; pass "
                     f"mode='min' (a loss, an error) or mode='max' (an accuracy)")


def check_monitor(owner, monitor):
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"{owner}: monitor must be the name of a logged value, e.g. "
                        f"'val_loss', got {monitor!r:.40}")
    return monitor


def monitor_value(owner, monitor, logs, callback=None):
    """``logs[monitor]`` as a float, or ``None`` with a warning that lists the keys there:
    once per fit for ``callback`` (its ``on_train_begin`` calls ``reset_missing``)."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        if callback is not None:
            if callback.__dict__.get("_missing_warned"):
                return None
            callback._missing_warned = True
        keys = [key for key in logs]
        hint = suggestion(monitor, keys)
        if monitor.startswith("val_") and not any(key.startswith("val_") for key in keys):
            hint += " (no validation values: pass validation_data or validation_split to fit)"
        once = " (said once per fit)" if callback is not None else ""
        warnings.warn(f"{owner} monitors {monitor!r}, which is not in the logs; available "
                      f"keys: {', '.join(keys) if keys else '(none)'}.{hint}{once}",
                      RuntimeWarning, stacklevel=3)
        return None
    return float(value)


def reset_missing(callback):
    """Let ``monitor_value`` warn ``callback`` about a missing key again (a new fit)."""
    callback._missing_warned = False


def _copy_state(state):
    """A snapshot of a state dict: every array copied, not referenced."""
    snapshot = {}
    for key, value in state.items():
        if isinstance(value, Tensor):
            value = value.data
        snapshot[key] = value.copy() if hasattr(value, "copy") else value
    return snapshot


class EarlyStopping(Callback):
    """Stop training when a monitored value has stopped improving: typically the
    validation loss, which starts to rise once the model overfits.

    After each epoch, the value is an improvement when it beats the best so far by more
    than ``min_delta``. After ``patience`` epochs in a row without one, it sets
    ``model.stop_training``. Keras's rule, including ``baseline`` and
    ``start_from_epoch``.

    Args:
        monitor: the key in the epoch's logs (default ``"val_loss"``).
        min_delta: the smallest change that counts as an improvement, >= 0.
        patience: epochs without improvement before stopping, an int >= 0.
        verbose: 1 prints the epoch at which training stopped.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (from the name: losses go down,
            accuracies up).
        baseline: stop unless the value beats this within ``patience`` epochs
            (improvements that stay short of the baseline do not reset the count, as the
            Keras documentation says; Keras 3's code only stops on a worse epoch).
        restore_best_weights: at the end of training, load the weights of the best epoch
            (a copy is kept each time the value improves).
        start_from_epoch: epochs to let pass before monitoring (a warm-up).

    Attributes:
        stopped_epoch: the epoch (from 0) at which training was stopped, 0 if it was not.
        best, best_epoch: the best value and its epoch.
        wait: epochs since the last improvement.

    Its state (``state_dict()``: ``wait``, ``stopped_epoch``, ``best``, ``best_epoch``
    and with ``restore_best_weights`` the best weights) is part of fit's checkpoint, so a
    resumed run stops at the epoch the uninterrupted one would.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        owner = "EarlyStopping"
        self.monitor = check_monitor(owner, monitor)
        self.min_delta = check_non_negative(owner, "min_delta", min_delta, what=_DELTA)
        self.patience = check_non_negative_int(owner, "patience", patience, what=_EPOCHS)
        self.start_from_epoch = check_non_negative_int(owner, "start_from_epoch",
                                                       start_from_epoch, what=_EPOCHS)
        self.mode = resolve_mode(owner, monitor, mode)
        self.baseline = None if baseline is None else check_real(
            owner, "baseline", baseline, finite=False, what="a number or None")
        self.verbose = verbose
        self.restore_best_weights = bool(restore_best_weights)
        self.on_train_begin()

    def _improves(self, value, reference):
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        reset_missing(self)
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = monitor_value("EarlyStopping", self.monitor, logs, self)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _copy_state(self.model.state_dict())  # better than none
            self.best_epoch = epoch
        self.wait += 1
        if self._improves(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _copy_state(self.model.state_dict())
            # The count restarts only when the value also beats the baseline.
            if self.baseline is None or self._improves(value, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    _STATE = ("wait", "stopped_epoch", "best", "best_epoch", "best_weights")

    def state_dict(self):
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        owner = "EarlyStopping"
        check_state(owner, state, self._STATE)
        counters = {key: saved_number(owner, state, key, integer=True)
                    for key in ("wait", "stopped_epoch", "best_epoch")}
        best = saved_number(owner, state, "best")
        weights = state["best_weights"]
        if weights is not None and not isinstance(weights, dict):
            raise ValueError(f"{owner}.load_state_dict: best_weights must be a dict of arrays "
                             f"or None, got {type(weights).__name__}")
        self.wait, self.stopped_epoch = counters["wait"], counters["stopped_epoch"]
        self.best, self.best_epoch = best, counters["best_epoch"]
        self.best_weights = weights

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping ({self.monitor} has not "
                  f"improved for {self.wait} epochs; best {self.best:.4f} at epoch "
                  f"{self.best_epoch + 1})")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.load_state_dict(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Lower the learning rate when a monitored value has stopped improving.

    After ``patience`` epochs in a row in which the value did not beat the best so far by
    more than ``min_delta``, every group's ``lr`` becomes ``max(lr * factor, min_lr)``;
    the next ``cooldown`` epochs are not counted. The bookkeeping is
    ``somanet.optim.ReduceLROnPlateau``'s (with an absolute ``min_delta``, and Keras's
    count: ``patience=2`` lowers the rate on the second epoch without improvement).

    Args:
        monitor: the key in the epoch's logs (default ``"val_loss"``).
        factor: the factor of each reduction, in [0, 1).
        patience: epochs without improvement before reducing, an int >= 0.
        verbose: 1 prints each reduction.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
        min_delta: the smallest change that counts as an improvement, >= 0.
        cooldown: epochs after a reduction in which bad epochs are not counted.
        min_lr: the learning rate is never lowered below this.

    Its state (the schedule's best value, bad epochs and cooldown) is part of fit's
    checkpoint, so a resumed run lowers the rate at the epochs the uninterrupted one
    would.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        owner = "ReduceLROnPlateau"
        self.monitor = check_monitor(owner, monitor)
        self.mode = resolve_mode(owner, monitor, mode)
        self.min_delta = check_non_negative(owner, "min_delta", min_delta, what=_DELTA)
        self.patience = check_non_negative_int(owner, "patience", patience, what=_EPOCHS)
        self.verbose = verbose
        self._options = {"mode": self.mode, "factor": factor,
                         "patience": max(self.patience - 1, 0), "cooldown": cooldown,
                         "min_lr": min_lr}
        # Check the options now (an error at construction, not after the first epoch).
        _PlateauSchedule(None, threshold=self.min_delta, threshold_mode="abs", base_lr=1.0,
                         **self._options)
        self.factor, self.cooldown, self.min_lr = factor, cooldown, min_lr
        self.schedule = None

    def on_train_begin(self, logs=None):
        reset_missing(self)
        optimizer = optimizer_of("ReduceLROnPlateau", self.model)
        self.schedule = _PlateauSchedule(optimizer, threshold=self.min_delta,
                                         threshold_mode="abs", **self._options)

    def state_dict(self):
        return None if self.schedule is None else {"schedule": self.schedule.state_dict()}

    def load_state_dict(self, state):
        check_state("ReduceLROnPlateau", state, ("schedule",))
        if self.schedule is None:
            self.on_train_begin()
        try:
            self.schedule.load_state_dict(state["schedule"])
        except TypeError as error:
            raise ValueError(str(error)) from None

    def on_epoch_end(self, epoch, logs=None):
        value = monitor_value("ReduceLROnPlateau", self.monitor, logs, self)
        if value is None:
            return
        if self.schedule is None:
            self.on_train_begin()
        before = self.schedule.get_last_lr()
        self.schedule.step(value)
        after = self.schedule.get_last_lr()
        if self.verbose and after != before:
            print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                  f"{after[0]:g}.")


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss is NaN or infinite, naming the epoch and batch:
    ``Batch 12 of epoch 3: invalid loss nan, terminating training`` (both counted from 1).

    Attributes:
        message: the message printed, ``None`` while the loss is finite.
    """

    def __init__(self):
        super().__init__()
        self.message = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.message = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if not math.isfinite(loss):
            self.message = (f"Batch {batch + 1} of epoch {self._epoch + 1}: invalid loss "
                            f"{loss}, terminating training")
            print(self.message)
            self.model.stop_training = True
