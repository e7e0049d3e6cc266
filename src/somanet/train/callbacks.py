"""Callbacks: code that ``fit``, ``evaluate`` and ``predict`` call at fixed points.

Keras's contract (STYLE.md, habit 12). A ``Callback`` has ``model`` and ``params``
(``{"epochs", "steps", "verbose"}``) and hooks ``on_<train|test|predict>_begin/end`` and
``on_<train|test|predict>_batch_begin/end``, ``on_epoch_begin/end``, each taking a
``logs`` dict:

- after a training batch: ``{"loss": the epoch's running mean, "<metric>": running}``;
- at the end of an epoch: ``{"loss", "<metric>"..., "val_loss", "val_<metric>"..., "lr"}``.

A callback changes training through the model: ``model.stop_training = True`` ends
``fit`` after the current epoch (or batch); ``model.optimizer.param_groups[i]["lr"]`` is
the learning rate; ``model.state_dict()`` / ``load_state_dict()`` the weights.

    >>> import somanet as sn
    >>> from somanet.train.callbacks import CallbackList, EarlyStopping
    >>> class Model:  # the parts of a model a callback touches
    ...     stop_training = False
    >>> model = Model()
    >>> callbacks = CallbackList([EarlyStopping(monitor="val_loss", patience=1)], model=model)
    >>> callbacks.on_train_begin()
    >>> for epoch, val_loss in enumerate([0.9, 0.7, 0.8, 0.75]):
    ...     callbacks.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
    ...     if model.stop_training:
    ...         break
    >>> epoch, callbacks.history.history["val_loss"]   # no better than 0.7 at epoch 2
    (2, [0.9, 0.7, 0.8])
"""
import csv
import difflib
import inspect
import math
import os
import string
import sys
import time
import warnings
from numbers import Real

from ..io import save_checkpoint, save_weights
from ..optim.schedules import LRSchedule
from ..optim.schedules import ReduceLROnPlateau as _PlateauSchedule
from ..tensor import Tensor

__all__ = ["Callback", "CallbackList", "History", "ProgressBar", "ProgbarLogger",
           "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
           "CSVLogger", "TerminateOnNaN", "LambdaCallback"]

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class of the callbacks: every hook does nothing; override the ones you need.

    Attributes:
        model: the model being trained (set by ``set_model``).
        params: ``{"epochs", "steps", "verbose"}`` of the run (set by ``set_params``).
        chief_only: ``True`` for callbacks that write files (ModelCheckpoint, CSVLogger):
            under MPI only rank 0 runs them.

    ``on_batch_begin`` / ``on_batch_end`` are Keras's older names of the training-batch
    hooks: overriding them works too.

        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(f"epoch {epoch + 1}: loss {logs['loss']:.3f}")
        >>> PrintLoss().on_epoch_end(0, {"loss": 0.25})
        epoch 1: loss 0.250
    """

    chief_only = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        """Before the first epoch of ``fit``."""

    def on_train_end(self, logs=None):
        """After ``fit``'s last epoch (also when a callback stopped it)."""

    def on_epoch_begin(self, epoch, logs=None):
        """At the start of epoch ``epoch`` (counted from 0)."""

    def on_epoch_end(self, epoch, logs=None):
        """At the end of an epoch, after validation; ``logs`` has the epoch's values."""

    def on_batch_begin(self, batch, logs=None):
        """Keras's old name of ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """Keras's old name of ``on_train_batch_end``."""

    def on_train_batch_begin(self, batch, logs=None):
        """Before training batch ``batch`` (counted from 0 in each epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """After a training batch; ``logs`` has the epoch's running loss and metrics."""
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None):
        """Before ``evaluate`` (and before validation inside ``fit``)."""

    def on_test_end(self, logs=None):
        """After ``evaluate``; ``logs`` has the loss and metrics."""

    def on_test_batch_begin(self, batch, logs=None):
        """Before an evaluation batch."""

    def on_test_batch_end(self, batch, logs=None):
        """After an evaluation batch; ``logs`` has the running loss and metrics."""

    def on_predict_begin(self, logs=None):
        """Before ``predict``."""

    def on_predict_end(self, logs=None):
        """After ``predict``."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Before a prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """After a prediction batch."""


def _plain_logs(logs):
    """``logs`` (a new dict if None) with one-element Tensors / arrays made Python floats, in
    place so that every callback (and the caller) sees one dict."""
    if logs is None:
        return {}
    for key, value in logs.items():
        if isinstance(value, Tensor):
            value = value.data
        if hasattr(value, "item") and getattr(value, "size", 0) == 1 \
                and not isinstance(value, (int, float)):
            value = value.item()
            logs[key] = float(value) if isinstance(value, Real) else value
    return logs


class CallbackList:
    """The callbacks of one ``fit`` / ``evaluate`` / ``predict`` call, called in order.

    Args:
        callbacks: a list of ``Callback`` objects (or one).
        model: the model, given to each callback.
        add_history: put a ``History`` first unless the list has one (``.history``).
        add_progbar: put a ``ProgressBar`` last unless the list has one.
        params: ``{"epochs", "steps", "verbose"}``, given to each callback.
        verbose: ``params["verbose"]`` when ``params`` does not set it.

    Every hook converts one-element tensors in ``logs`` to floats (in place) and passes
    the same dict to each callback, so a callback can add to it.

    Attributes:
        callbacks: the list, History first and the progress bar last.
        history: the ``History`` in the list (``None`` without one).
        progress_bar: the ``ProgressBar`` in the list (``None`` without one).
    """

    def __init__(self, callbacks=None, model=None, add_history=True, add_progbar=False,
                 params=None, verbose=1):
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        elif isinstance(callbacks, CallbackList):
            callbacks = list(callbacks.callbacks)
        try:
            callbacks = list(callbacks)
        except TypeError:
            raise TypeError(f"CallbackList: callbacks must be a list of Callback objects, got "
                            f"{type(callbacks).__name__}") from None
        for index, callback in enumerate(callbacks):
            if not isinstance(callback, Callback):
                raise TypeError(f"CallbackList: callbacks[{index}] is a "
                                f"{type(callback).__name__}, not a Callback; subclass "
                                f"somanet.train.Callback, or wrap a function: "
                                f"LambdaCallback(on_epoch_end=fn)")
        self.history = next((cb for cb in callbacks if isinstance(cb, History)), None)
        self.progress_bar = next((cb for cb in callbacks if isinstance(cb, ProgressBar)), None)
        if self.history is None and add_history:
            self.history = History()
            callbacks.insert(0, self.history)
        if self.progress_bar is None and add_progbar:
            self.progress_bar = ProgressBar()
            callbacks.append(self.progress_bar)
        self.callbacks = callbacks
        self.model = None
        self.params = {"epochs": None, "steps": None, "verbose": verbose}
        self.params.update(params or {})
        self.set_params(self.params)
        if model is not None:
            self.set_model(model)

    def append(self, callback):
        if not isinstance(callback, Callback):
            raise TypeError(f"CallbackList.append: expected a Callback, got "
                            f"{type(callback).__name__}")
        callback.set_params(self.params)
        if self.model is not None:
            callback.set_model(self.model)
        self.callbacks.append(callback)

    def set_model(self, model):
        self.model = model
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def __repr__(self):
        return f"CallbackList([{', '.join(type(cb).__name__ for cb in self.callbacks)}])"

    def _call(self, hook, logs):
        logs = _plain_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(logs=logs)

    def _call_at(self, hook, index, logs):
        logs = _plain_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(index, logs=logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call_at("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call_at("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_at("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_at("on_train_batch_end", batch, logs)

    on_batch_begin = on_train_batch_begin
    on_batch_end = on_train_batch_end

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_at("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_at("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_at("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_at("on_predict_batch_end", batch, logs)


# -- History ------------------------------------------------------------------------------------

class History(Callback):
    """Records the logs of every epoch; ``fit`` returns it (and sets ``model.history``).

    Attributes:
        history: ``{"loss": [per epoch], "val_loss": [...], ...}``.
        epoch: the epoch numbers recorded (from 0).
        params: the run's ``{"epochs", "steps", "verbose"}``.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self._attach()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self._attach()

    def _attach(self):
        if self.model is not None:
            self.model.history = self

    def plot(self, path=None, metrics=None):
        """Loss and metrics per epoch, training against validation (``somanet.viz``).

        Args:
            path: save the figure there as a PNG (optional).
            metrics: the names to draw (default: all but ``lr``), e.g. ``["loss"]``.

        Returns:
            The matplotlib Figure.
        """
        from ..viz import plot_history
        return plot_history(self, path=path, metrics=metrics)

    def __repr__(self):
        return f"History(epochs {len(self.epoch)}, keys {list(self.history)})"


# -- progress -----------------------------------------------------------------------------------

def format_logs(logs):
    """``"loss: 0.3120 - accuracy: 0.9100"``: the numbers in ``logs``, Keras's format
    (``.4f``, or ``.4e`` below 1e-3)."""
    parts = []
    for key, value in (logs or {}).items():
        if key in ("batch", "size") or isinstance(value, bool) or not isinstance(value, Real):
            continue
        value = float(value)
        text = f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 or not math.isfinite(value) \
            else f"{value:.4e}"
        parts.append(f"{key}: {text}")
    return " - ".join(parts)


class ProgressBar(Callback):
    """Training progress on standard output (Keras's ``ProgbarLogger``).

    - ``verbose=1`` on a terminal: a tqdm bar per epoch with the running loss and
      metrics, left on screen with the epoch's values (validation included);
    - ``verbose=1`` when standard output is not a terminal (a log file, a notebook
      capture), or ``verbose=2``: one line per epoch,
      ``Epoch 3/5 - 0.21s - loss: 0.3120 - accuracy: 0.9100 - val_loss: ...``;
    - ``verbose=0``: nothing.

    ``evaluate`` (the test hooks outside ``fit``) shows a bar or one ``Evaluate`` line the
    same way; ``predict`` a bar or one line. Validation inside ``fit`` is quiet.

    Args:
        verbose: 0, 1 or 2 (``"auto"`` is 1); ``None`` (default) takes
            ``params["verbose"]``.
        file: where to write (default: ``sys.stdout`` at the time of writing).
    """

    def __init__(self, verbose=None, file=None):
        super().__init__()
        if verbose not in (None, 0, 1, 2, "auto") or isinstance(verbose, bool):
            raise ValueError(f"ProgressBar: verbose must be 0 (silent), 1 (a bar) or 2 (a "
                             f"line per epoch), got {verbose!r}")
        self.verbose = verbose
        self.file = file
        self._bar = None
        self._in_fit = False
        self._started = time.perf_counter()
        self._batches = 0
        self._mode_now = None  # the mode of the epoch / evaluation in progress

    def _stream(self):
        return self.file if self.file is not None else sys.stdout

    def _mode(self):
        """``"bar"``, ``"line"`` or ``"silent"``."""
        verbose = self.verbose if self.verbose is not None else self.params.get("verbose", 1)
        if verbose == "auto":  # Keras's default: a bar
            verbose = 1
        if not verbose:
            return "silent"
        if verbose == 1:
            isatty = getattr(self._stream(), "isatty", None)
            try:
                return "bar" if isatty is not None and isatty() else "line"
            except ValueError:  # a closed stream
                return "line"
        return "line"

    def _open_bar(self, description, total):
        from tqdm.auto import tqdm
        self._close_bar()
        self._bar = tqdm(total=total, desc=description, file=self._stream(), unit="batch",
                         leave=True, dynamic_ncols=True, mininterval=0.1)

    def _advance(self, logs):
        self._batches += 1
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.update(1)

    def _close_bar(self, logs=None):
        if self._bar is not None:
            if logs:
                self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None

    def _begin(self, description):
        self._started = time.perf_counter()
        self._batches = 0
        self._mode_now = self._mode()
        if self._mode_now == "bar":
            self._open_bar(description, self.params.get("steps"))

    def _line(self, text):
        print(text, file=self._stream(), flush=True)

    # -- fit ------------------------------------------------------------------------------------

    def _epoch_title(self, epoch):
        epochs = self.params.get("epochs")
        return f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self._begin(self._epoch_title(epoch))

    def on_train_batch_end(self, batch, logs=None):
        self._advance(logs)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._started
        if self._bar is not None:
            self._close_bar(logs)
        elif (self._mode_now or self._mode()) == "line":
            text = format_logs(logs)
            self._line(f"{self._epoch_title(epoch)} - {elapsed:.2f}s" +
                       (f" - {text}" if text else ""))

    def on_train_end(self, logs=None):
        self._close_bar()
        self._in_fit = False

    # -- evaluate and predict -------------------------------------------------------------------

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._begin("Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._advance(logs)

    def on_test_end(self, logs=None):
        if self._in_fit:
            return
        elapsed = time.perf_counter() - self._started
        if self._bar is not None:
            self._close_bar(logs)
        elif (self._mode_now or self._mode()) == "line":
            text = format_logs(logs)
            self._line(f"Evaluate - {elapsed:.2f}s" + (f" - {text}" if text else ""))

    def on_predict_begin(self, logs=None):
        self._begin("Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(None)

    def on_predict_end(self, logs=None):
        elapsed = time.perf_counter() - self._started
        if self._bar is not None:
            self._close_bar()
        elif (self._mode_now or self._mode()) == "line":
            self._line(f"Predict - {self._batches} batches - {elapsed:.2f}s")


ProgbarLogger = ProgressBar  # Keras's name


# -- monitoring a value -------------------------------------------------------------------------

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


def _check_monitor(owner, monitor):
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"{owner}: monitor must be the name of a logged value, e.g. "
                        f"'val_loss', got {monitor!r:.40}")
    return monitor


def monitor_value(owner, monitor, logs):
    """``logs[monitor]`` as a float, or ``None`` with a warning that lists the keys there."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        keys = [key for key in logs]
        close = difflib.get_close_matches(monitor, keys, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        if monitor.startswith("val_") and not any(key.startswith("val_") for key in keys):
            hint += " (no validation values: pass validation_data or validation_split to fit)"
        warnings.warn(f"{owner} monitors {monitor!r}, which is not in the logs; available "
                      f"keys: {', '.join(keys) if keys else '(none)'}.{hint}", RuntimeWarning,
                      stacklevel=3)
        return None
    return float(value)


def _copy_state(state):
    """A snapshot of a state dict: every array copied, not referenced."""
    snapshot = {}
    for key, value in state.items():
        if isinstance(value, Tensor):
            value = value.data
        snapshot[key] = value.copy() if hasattr(value, "copy") else value
    return snapshot


class EarlyStopping(Callback):
    """Stop training when a monitored value has stopped improving (seed 003: "end the
    training whenever overfit is set to occur").

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
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        owner = "EarlyStopping"
        self.monitor = _check_monitor(owner, monitor)
        self.min_delta = _check_non_negative(owner, "min_delta", min_delta)
        self.patience = _check_count(owner, "patience", patience)
        self.start_from_epoch = _check_count(owner, "start_from_epoch", start_from_epoch)
        self.mode = resolve_mode(owner, monitor, mode)
        if baseline is not None and (isinstance(baseline, bool)
                                     or not isinstance(baseline, Real)):
            raise TypeError(f"{owner}: baseline must be a number or None, got {baseline!r:.40}")
        self.baseline = None if baseline is None else float(baseline)
        self.verbose = verbose
        self.restore_best_weights = bool(restore_best_weights)
        self.on_train_begin()

    def _improves(self, value, reference):
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = monitor_value("EarlyStopping", self.monitor, logs)
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


def _check_count(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{owner}: {name} must be an int >= 0 (a number of epochs), got "
                         f"{value!r:.40}")
    return value


def _check_non_negative(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {value!r:.40}")
    return float(value)


# -- checkpoints --------------------------------------------------------------------------------

class ModelCheckpoint(Callback):
    """Save the model's weights (or a full checkpoint) during training.

    The file name may hold fields from the epoch's logs, filled in with ``str.format``:
    ``"weights-{epoch:02d}-{val_loss:.4f}.safetensors"`` (``epoch`` counts from 1;
    ``batch`` too when saving every few batches). Writes are atomic.

    Args:
        filepath: the file (safetensors weights) or folder (a checkpoint) to write.
        monitor: the logged value that decides what "best" is (default ``"val_loss"``).
        verbose: 1 prints a line for each save.
        save_best_only: save only when the monitored value improves on the best so far.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (losses go down, accuracies up).
        save_weights_only: True (default): ``somanet.io.save_weights`` (a safetensors
            file). False: ``somanet.io.save_checkpoint`` (a folder with the weights, the
            optimiser's state, the epoch, the RNG state and the history), which
            ``load_checkpoint`` resumes from.
        save_freq: ``"epoch"`` (after each epoch) or an int: every that many batches.
        initial_value_threshold: with ``save_best_only``, save only values better than
            this.

    Attributes:
        best: the best monitored value so far.
        last_saved: the path of the latest save (``None`` before the first).
    """

    chief_only = True

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 mode="auto", save_weights_only=True, save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        owner = "ModelCheckpoint"
        try:
            self.filepath = os.fspath(filepath)
        except TypeError:
            raise TypeError(f"{owner}: filepath must be a path (a str or os.PathLike), got "
                            f"{type(filepath).__name__}") from None
        try:
            self.fields = _format_fields(self.filepath)
        except ValueError as error:
            raise ValueError(f"{owner}: filepath {self.filepath!r} is not a valid format "
                             f"string ({error}); write fields as {{epoch}} or "
                             f"{{val_loss:.4f}}, and literal braces as {{{{ }}}}") from None
        self.monitor = _check_monitor(owner, monitor)
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = resolve_mode(owner, monitor, mode) if self.save_best_only or \
            initial_value_threshold is not None else (mode if mode != "auto" else None)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or
                                     not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"{owner}: save_freq must be 'epoch' or a number of batches (an "
                             f"int >= 1), got {save_freq!r:.40}")
        self.save_freq = save_freq
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -math.inf if self.mode == "max" else math.inf
        self.last_saved = None
        self._epoch = 0
        self._batches_seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _path(self, epoch, batch, logs):
        fields = dict(logs or {})
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError) as error:
            raise KeyError(f"ModelCheckpoint: the file path {self.filepath!r} names the field "
                           f"{error.args[0]!r}, which this save does not have; available "
                           f"fields: {', '.join(fields)}") from None

    def _save(self, epoch, batch, logs):
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            value = monitor_value("ModelCheckpoint", self.monitor, logs)
            if value is None:
                return
            improved = value < self.best if self.mode == "min" else value > self.best
            if not improved:
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{value:.5f}, saving model to {path}")
            self.best = value
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        self._write(path, epoch, batch)
        self.last_saved = path

    def _write(self, path, epoch, batch):
        if self.save_weights_only:
            folder = os.path.dirname(path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            save_weights(self.model, path)
            return
        history = getattr(self.model, "history", None)
        history = getattr(history, "history", history)
        save_checkpoint(path, self.model, optimizer=getattr(self.model, "optimizer", None),
                        epoch=epoch + 1 if batch is None else epoch,
                        history=history if isinstance(history, dict) else None)


def _format_fields(text):
    """The field names of a format string (raises ValueError when it is malformed)."""
    return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]


# -- learning rate ------------------------------------------------------------------------------

def _optimizer_of(owner, model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "param_groups"):
        raise ValueError(f"{owner}: the model has no optimizer with param_groups; compile the "
                         f"model (model.compile(optimizer=...)) before fit")
    return optimizer


def _check_lr(owner, value, epoch):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"{owner}: the schedule returned {value!r:.40} for epoch {epoch}; "
                         f"expected a finite learning rate >= 0")
    return float(value)


def _takes_two(function):
    """Whether ``function`` accepts ``(epoch, lr)`` (Keras also allows ``(epoch)``)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(0, 0.1)
        return True
    except TypeError:
        return False


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from a schedule.

    Seed 001: "As we train we may choose to make this step smaller and smaller."

    Args:
        schedule: a function ``schedule(epoch, lr) -> new lr`` (or ``schedule(epoch)``),
            called for each parameter group with its current ``lr``; or a
            ``somanet.optim`` schedule (``StepLR``, ``CosineAnnealingLR``, ...), whose
            ``lr_at(epoch, base_lr)`` sets each group from its base learning rate (the
            group's ``lr`` when training starts, or the schedule's own ``base_lrs`` when
            it was built on this optimiser).
        verbose: 1 prints the learning rate set at each epoch.

        >>> callback = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        owner = "LearningRateScheduler"
        if isinstance(schedule, _PlateauSchedule):
            raise TypeError(f"{owner}: ReduceLROnPlateau depends on a monitored value, not "
                            f"on the epoch; use the callback "
                            f"somanet.train.ReduceLROnPlateau(monitor=...) instead")
        if not isinstance(schedule, LRSchedule) and not callable(schedule):
            raise TypeError(f"{owner}: schedule must be a function (epoch, lr) -> lr or a "
                            f"somanet.optim schedule, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose
        self._two_args = isinstance(schedule, LRSchedule) or _takes_two(schedule)
        self._base_lrs = None

    def on_train_begin(self, logs=None):
        optimizer = _optimizer_of("LearningRateScheduler", self.model)
        bound = isinstance(self.schedule, LRSchedule) and self.schedule.optimizer is optimizer
        self._base_lrs = list(self.schedule.base_lrs) if bound else \
            [group["lr"] for group in optimizer.param_groups]

    def on_epoch_begin(self, epoch, logs=None):
        owner = "LearningRateScheduler"
        optimizer = _optimizer_of(owner, self.model)
        if self._base_lrs is None or len(self._base_lrs) != len(optimizer.param_groups):
            self._base_lrs = [group["lr"] for group in optimizer.param_groups]
        for group, base in zip(optimizer.param_groups, self._base_lrs):
            if isinstance(self.schedule, LRSchedule):
                new = self.schedule.lr_at(epoch, base)
            elif self._two_args:
                new = self.schedule(epoch, group["lr"])
            else:
                new = self.schedule(epoch)
            group["lr"] = _check_lr(owner, new, epoch)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{optimizer.param_groups[0]['lr']:g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.model is not None:
            logs["lr"] = float(_optimizer_of("LearningRateScheduler", self.model)
                               .param_groups[0]["lr"])


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
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        owner = "ReduceLROnPlateau"
        self.monitor = _check_monitor(owner, monitor)
        self.mode = resolve_mode(owner, monitor, mode)
        self.min_delta = _check_non_negative(owner, "min_delta", min_delta)
        self.patience = _check_count(owner, "patience", patience)
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
        optimizer = _optimizer_of("ReduceLROnPlateau", self.model)
        self.schedule = _PlateauSchedule(optimizer, threshold=self.min_delta,
                                         threshold_mode="abs", **self._options)

    def on_epoch_end(self, epoch, logs=None):
        value = monitor_value("ReduceLROnPlateau", self.monitor, logs)
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


# -- logging ------------------------------------------------------------------------------------

class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file: ``epoch`` (from 0, as Keras) and
    every logged value, columns in sorted order.

    Args:
        filename: the CSV file (its folder is created if needed).
        separator: the column separator (default ``","``).
        append: add to an existing file (keeping its header) instead of replacing it,
            e.g. when resuming a run.

    Each row is written and the file closed at the end of its epoch, so the file is
    complete at any moment. Missing values are written ``NA``.
    """

    chief_only = True

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        try:
            self.filename = os.fspath(filename)
        except TypeError:
            raise TypeError(f"CSVLogger: filename must be a path, got "
                            f"{type(filename).__name__}") from None
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}")
        self.separator = separator
        self.append = bool(append)
        self.keys = None

    def on_train_begin(self, logs=None):
        self.keys = None
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.append and os.path.isfile(self.filename) and os.path.getsize(self.filename):
            with open(self.filename, newline="") as handle:
                header = next(csv.reader(handle, delimiter=self.separator), None)
            if header and header[0] == "epoch":
                self.keys = header[1:]
        elif not self.append or not os.path.exists(self.filename):
            open(self.filename, "w").close()  # a fresh file: an old one is not mixed in

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        write_header = self.keys is None
        if write_header:
            self.keys = sorted(logs)
        else:
            new = [key for key in logs if key not in self.keys]
            if new:
                warnings.warn(f"CSVLogger: {self.filename} has no column for {new}; those "
                              f"values are not written (columns: {self.keys})", RuntimeWarning,
                              stacklevel=2)
        row = [str(epoch)] + [_csv_value(logs[key]) if key in logs else "NA"
                              for key in self.keys]
        with open(self.filename, "a", newline="") as handle:
            writer = csv.writer(handle, delimiter=self.separator)
            if write_header:
                writer.writerow(["epoch"] + self.keys)
            writer.writerow(row)


def _csv_value(value):
    if isinstance(value, Real) and not isinstance(value, bool):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_csv_value(item) for item in value) + "]"
    return str(value)


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


class LambdaCallback(Callback):
    """A callback from functions, one per hook, given by the hook's name.

        >>> callback = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs))
        >>> callback.on_epoch_end(0, {"loss": 0.5})
        0 {'loss': 0.5}

    Hooks that take an epoch or batch get ``(index, logs)``; the others ``(logs)``.
    ``on_batch_begin`` / ``on_batch_end`` are accepted for the training-batch hooks.
    """

    def __init__(self, **hooks):
        super().__init__()
        known = HOOKS + ("on_batch_begin", "on_batch_end")
        for name, function in hooks.items():
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"LambdaCallback: unknown hook {name!r}.{hint} Hooks: "
                                f"{', '.join(known)}")
            if not callable(function):
                raise TypeError(f"LambdaCallback: {name} must be a function, got "
                                f"{type(function).__name__}")
            takes_index = name.startswith("on_epoch") or "batch" in name
            setattr(self, name, _adapt(function, takes_index))


def _adapt(function, takes_index):
    if takes_index:
        return lambda index, logs=None: function(index, logs)
    return lambda logs=None: function(logs)
