"""Training progress on standard output: ``ProgressBar`` (Keras's ``ProgbarLogger``)."""
import math
import sys
import time
from numbers import Real

from .base import Callback


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
