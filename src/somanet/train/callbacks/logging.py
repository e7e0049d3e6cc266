"""Recording the logs: ``History`` (in memory, returned by ``fit``) and ``CSVLogger``
(a CSV file, one row per epoch)."""
import csv
import io
import os
import warnings
from numbers import Real

from .base import Callback, check_state, saved_number


class History(Callback):
    """Records the logs of every epoch; ``fit`` returns it (and sets ``model.history``).

    Attributes:
        history: ``{"loss": [per epoch], "val_loss": [...], ...}``.
        epoch: the epoch numbers recorded (from 0).
        params: the run's ``{"epochs", "steps", "verbose"}``.

    Its state (``state_dict()``: ``history`` and ``epoch``) is the history a checkpoint
    of fit holds.
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

    def state_dict(self):
        return {"history": {key: list(values) for key, values in self.history.items()},
                "epoch": list(self.epoch)}

    def load_state_dict(self, state):
        check_state("History", state, ("history", "epoch"))
        history, epochs = state["history"], state["epoch"]
        if not isinstance(history, dict) or not all(isinstance(values, list)
                                                    for values in history.values()):
            raise ValueError("History.load_state_dict: history must map names to lists")
        if not isinstance(epochs, list) or not all(isinstance(epoch, int) for epoch in epochs):
            raise ValueError("History.load_state_dict: epoch must be a list of ints")
        self.history = {key: list(values) for key, values in history.items()}
        self.epoch = list(epochs)
        self._attach()

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
    complete at any moment. Missing values are written ``NA``. Without ``append`` an
    existing file is replaced when the first row is written.

    Its state (the columns and the length of the file so far) is part of fit's
    checkpoint: a resumed run cuts the file back to where the checkpoint was (rows the
    killed run wrote after it are written again) and goes on from there.
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
        self._size = 0  # the bytes of the file that are kept; the next row goes there

    def on_train_begin(self, logs=None):
        self.keys = None
        self._size = 0  # without append: the first row replaces an old file
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.append and os.path.isfile(self.filename):
            self._size = os.path.getsize(self.filename)
            if self._size:
                with open(self.filename, newline="") as handle:
                    header = next(csv.reader(handle, delimiter=self.separator), None)
                if header and header[0] == "epoch":
                    self.keys = header[1:]

    def state_dict(self):
        return {"keys": None if self.keys is None else list(self.keys), "size": self._size}

    def load_state_dict(self, state):
        check_state("CSVLogger", state, ("keys", "size"))
        keys = state["keys"]
        if keys is not None and (not isinstance(keys, list)
                                 or not all(isinstance(key, str) for key in keys)):
            raise ValueError("CSVLogger.load_state_dict: keys must be a list of column names")
        size = saved_number("CSVLogger", state, "size", integer=True)
        present = os.path.getsize(self.filename) if os.path.isfile(self.filename) else 0
        if present < size:
            warnings.warn(f"CSVLogger: {self.filename} has {present} bytes, fewer than the "
                          f"{size} it had at the checkpoint; it was changed since, so the "
                          f"resumed run's rows follow what is left", RuntimeWarning,
                          stacklevel=2)
            size = present
            keys = keys if present else None
        self.keys, self._size = keys, size

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
        text = io.StringIO()
        writer = csv.writer(text, delimiter=self.separator)
        if write_header:
            writer.writerow(["epoch"] + self.keys)
        writer.writerow(row)
        data = text.getvalue().encode("utf-8")
        with open(self.filename, "r+b" if os.path.exists(self.filename) else "wb") as handle:
            handle.seek(self._size)
            handle.truncate()  # what a killed run wrote after the checkpoint, or an old file
            handle.write(data)
        self._size += len(data)


def _csv_value(value):
    if isinstance(value, Real) and not isinstance(value, bool):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_csv_value(item) for item in value) + "]"
    return str(value)
