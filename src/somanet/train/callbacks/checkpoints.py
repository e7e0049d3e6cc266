"""Saving during training: ``ModelCheckpoint`` (weights or a checkpoint, every epoch or
every few batches, optionally only the best), and ``FitCheckpoint``, the resumable
checkpoint that ``fit(checkpoint_dir=...)`` writes. Both are ``chief_only``: under MPI
rank 0 writes, the other ranks leave them out.

Inside ``fit`` both write ``somanet.train.checkpointing``'s checkpoint, the one
``fit(..., resume=True)`` continues from, and they ask fit to write it once every
callback has seen the epoch (or batch), so that it holds what each of them did."""
import math
import os
import string

from ..._checks import check_positive_int
from ...io import save_checkpoint, save_weights
from .base import Callback, check_state, saved_number
from .monitors import check_monitor, monitor_value, reset_missing, resolve_mode


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
            file). False: a checkpoint folder; inside ``fit`` it is fit's own checkpoint
            (weights, optimiser, data position, RNG, metrics, callbacks' state), which
            ``fit(..., checkpoint_dir=<that folder>, resume=True)`` continues from.
        save_freq: ``"epoch"`` (after each epoch) or an int: every that many batches.
        initial_value_threshold: with ``save_best_only``, save only values better than
            this.

    Attributes:
        best: the best monitored value so far.
        last_saved: the path of the latest save (``None`` before the first).

    ``best`` and the batch count are part of fit's checkpoint: after a resume,
    ``save_best_only`` still compares with the best value of the whole run.
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
        self.monitor = check_monitor(owner, monitor)
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = resolve_mode(owner, monitor, mode) if self.save_best_only or \
            initial_value_threshold is not None else (mode if mode != "auto" else None)
        if save_freq != "epoch":
            save_freq = check_positive_int(owner, "save_freq", save_freq,
                                           what="'epoch' or a number of batches (an int >= 1)")
        self.save_freq = save_freq
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -math.inf if self.mode == "max" else math.inf
        self.last_saved = None
        self._epoch = 0
        self._batches_seen = 0

    def state_dict(self):
        return {"best": self.best, "batches_seen": self._batches_seen,
                "last_saved": self.last_saved}

    def load_state_dict(self, state):
        owner = "ModelCheckpoint"
        check_state(owner, state, ("best", "batches_seen", "last_saved"))
        best = saved_number(owner, state, "best")
        batches = saved_number(owner, state, "batches_seen", integer=True)
        if state["last_saved"] is not None and not isinstance(state["last_saved"], str):
            raise ValueError(f"{owner}.load_state_dict: last_saved must be a path or None")
        self.best, self._batches_seen, self.last_saved = best, batches, state["last_saved"]

    def on_train_begin(self, logs=None):
        reset_missing(self)

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
            value = monitor_value("ModelCheckpoint", self.monitor, logs, self)
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
            save_weights(path, self.model)
            return
        run = getattr(self.model, "_fit_run", None)
        if run is not None:  # inside fit: fit's resumable checkpoint, after every callback
            run.save_later(path)
            return
        history = getattr(self.model, "history", None)
        history = getattr(history, "history", history)
        save_checkpoint(path, self.model, optimizer=getattr(self.model, "optimizer", None),
                        epoch=epoch + 1 if batch is None else epoch,
                        history=history if isinstance(history, dict) else None)


def _format_fields(text):
    """The field names of a format string (raises ValueError when it is malformed)."""
    return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]


class FitCheckpoint(Callback):
    """The resumable checkpoint of a ``fit`` run, made by ``fit(checkpoint_dir=...)``.

    After every epoch (and, with ``every``, at the first optimiser update at or after
    each ``every`` batches) it has fit write ``somanet.train.checkpointing.save``'s
    checkpoint of the run into ``folder``: weights, optimiser, the loader's position, the
    RNG state, the metrics' running state, the callbacks' state and the history, from
    which ``fit(..., resume=True)`` continues bit for bit. fit writes it once every
    callback has seen the epoch (or batch), so the checkpoint holds what they changed;
    a loss that is not finite is never saved, nor a batch after which a callback
    stopped training.

    Args:
        folder: the checkpoint folder (checked for writing by fit).
        run: fit's run: its ``train_feed.loader``, ``progress`` and ``accumulator``.
        every: also save every this many batches (``None``: epochs only).
    """

    chief_only = True

    def __init__(self, folder, run, every=None):
        super().__init__()
        self.folder = folder
        self.run = run
        self.every = every

    def on_train_batch_end(self, batch, logs=None):
        progress = self.run.progress
        if (self.every and self.run.accumulator.pending == 0
                and progress.batch < len(self.run.train_feed.loader)
                and progress.step - progress.last_saved_step >= self.every
                and math.isfinite(progress.mean_loss)
                and not getattr(self.model, "stop_training", False)):
            self.run.save_later(self.folder)

    def on_epoch_end(self, epoch, logs=None):
        if math.isfinite((logs or {}).get("loss", math.nan)):
            self.run.save_later(self.folder)
