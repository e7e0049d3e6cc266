"""Callbacks: code that ``fit``, ``evaluate`` and ``predict`` call at fixed points.

Keras's contract. A ``Callback`` has ``model`` and ``params``
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

The modules: ``base`` (Callback, LambdaCallback), ``callback_list`` (CallbackList),
``progress`` (ProgressBar), ``monitors`` (EarlyStopping, ReduceLROnPlateau,
TerminateOnNaN), ``checkpoints`` (ModelCheckpoint), ``schedules``
(LearningRateScheduler), ``logging`` (History, CSVLogger), ``tensorboard`` (TensorBoard).
"""
from .base import HOOKS, Callback, LambdaCallback
from .callback_list import CallbackList
from .checkpoints import ModelCheckpoint
from .logging import CSVLogger, History
from .monitors import EarlyStopping, ReduceLROnPlateau, TerminateOnNaN, resolve_mode
from .progress import ProgbarLogger, ProgressBar, format_logs
from .schedules import LearningRateScheduler
from .tensorboard import TensorBoard

__all__ = ["Callback", "CallbackList", "History", "ProgressBar", "ProgbarLogger",
           "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
           "CSVLogger", "TerminateOnNaN", "LambdaCallback", "TensorBoard"]
