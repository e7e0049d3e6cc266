"""``CallbackList``: the callbacks of one ``fit`` / ``evaluate`` / ``predict`` call."""
from .base import Callback, plain_logs
from .logging import History
from .progress import ProgressBar


class CallbackList:
    """The callbacks of one ``fit`` / ``evaluate`` / ``predict`` call, called in order.

    Args:
        callbacks: a list of ``Callback`` objects (or one).
        model: the model, given to each callback.
        add_history: put a ``History`` first unless the list has one (``.history``).
        add_progbar: put a ``ProgressBar`` last unless the list has one.
        params: ``{"epochs", "steps", "verbose"}``, given to each callback.
        verbose: ``params["verbose"]`` when ``params`` does not set it.
        chief: whether this process is the one that writes files (rank 0 under MPI;
            ``somanet.distributed.is_main()``). Elsewhere callbacks marked ``chief_only``
            (those that write files) are left out: the one rule for who writes.

    Every hook converts one-element tensors in ``logs`` to floats (in place) and passes
    the same dict to each callback, so a callback can add to it.

    Attributes:
        callbacks: the list, History first and the progress bar last.
        history: the ``History`` in the list (``None`` without one).
        progress_bar: the ``ProgressBar`` in the list (``None`` without one).
    """

    def __init__(self, callbacks=None, model=None, add_history=True, add_progbar=False,
                 params=None, verbose=1, chief=True):
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
        self.chief = bool(chief)
        callbacks = [callback for callback in callbacks if self._runs_here(callback)]
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

    def _runs_here(self, callback):
        return self.chief or not callback.chief_only

    def append(self, callback):
        """Add ``callback`` at the end (left out if it is ``chief_only`` and this process
        is not the chief)."""
        if not isinstance(callback, Callback):
            raise TypeError(f"CallbackList.append: expected a Callback, got "
                            f"{type(callback).__name__}")
        if not self._runs_here(callback):
            return
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
        logs = plain_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(logs=logs)

    def _call_at(self, hook, index, logs):
        logs = plain_logs(logs)
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
