"""Recording the logs: ``History`` (in memory, returned by ``fit``) and ``CSVLogger``
(a CSV file, one row per epoch)."""
import csv
import os
import warnings
from numbers import Real

from .base import Callback


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
        from ...viz import plot_history
        return plot_history(self, path=path, metrics=metrics)

    def __repr__(self):
        return f"History(epochs {len(self.epoch)}, keys {list(self.history)})"


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
