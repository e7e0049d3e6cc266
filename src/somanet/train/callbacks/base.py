"""The ``Callback`` base class (every hook a no-op), ``LambdaCallback`` (a callback from
functions), and what the callbacks share: the hook names, plain-number logs and the
model's optimiser."""
from numbers import Real

from ..._checks import check_non_negative_int, check_real, suggestion
from ...tensor import Tensor

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

    **State.** A callback that counts or remembers something across epochs declares it
    with ``state_dict()`` (a dict of JSON-able values and arrays) and
    ``load_state_dict(state)``. ``fit(checkpoint_dir=...)`` saves it in the checkpoint,
    and ``fit(..., resume=True)`` gives it back right after ``on_train_begin``, so a
    resumed run continues exactly where the killed one was. Callbacks are matched by
    class name and order (the second ``EarlyStopping`` of the list gets the second's
    state). The default, ``state_dict() -> None``, saves nothing.

        >>> class CountEpochs(Callback):
        ...     def on_train_begin(self, logs=None):
        ...         self.epochs = 0
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         self.epochs += 1
        ...     def state_dict(self):
        ...         return {"epochs": self.epochs}
        ...     def load_state_dict(self, state):
        ...         self.epochs = state["epochs"]

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

    def state_dict(self):
        """The callback's own state, for fit's checkpoint: a dict of JSON-able values
        (numbers, strings, lists, dicts) and arrays, or ``None`` (the default) when it
        has nothing to keep."""
        return None

    def load_state_dict(self, state):
        """Restore what ``state_dict()`` returned; ``fit(..., resume=True)`` calls it
        right after ``on_train_begin`` (arrays come back as NumPy arrays)."""
        raise NotImplementedError(f"{type(self).__name__} has a state_dict() but no "
                                  f"load_state_dict(); define both to resume its state")

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


def plain_logs(logs):
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


def check_state(owner, state, keys):
    """Raise ValueError unless ``state`` is a dict with exactly ``keys`` (what
    ``owner.state_dict()`` returns); ``state`` itself is returned."""
    if not isinstance(state, dict):
        raise ValueError(f"{owner}.load_state_dict: expected the dict state_dict() returns, "
                         f"got {type(state).__name__}")
    missing = [key for key in keys if key not in state]
    extra = [key for key in state if key not in keys]
    if missing or extra:
        raise ValueError(f"{owner}.load_state_dict: expected the keys {list(keys)}; missing "
                         f"{missing}, unexpected {extra}")
    return state


def saved_number(owner, state, key, integer=False, optional=False):
    """``state[key]`` checked as a number (an int >= 0 with ``integer``; ``None`` allowed
    with ``optional``)."""
    value = state[key]
    if value is None and optional:
        return None
    if integer:
        return check_non_negative_int(f"{owner}.load_state_dict", key, value)
    return check_real(f"{owner}.load_state_dict", key, value, finite=False)


def optimizer_of(owner, model):
    """``model.optimizer``, or a ValueError naming ``owner`` when the model has none."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "param_groups"):
        raise ValueError(f"{owner}: the model has no optimizer with param_groups; compile the "
                         f"model (model.compile(optimizer=...)) before fit")
    return optimizer


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
                raise TypeError(f"LambdaCallback: unknown hook {name!r}."
                                f"{suggestion(name, known)} Hooks: "
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
