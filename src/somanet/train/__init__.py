"""Layer 5: the Keras-style training API: ``Model`` / ``Sequential`` / the functional API
(``Input``), ``compile`` / ``fit`` / ``evaluate`` / ``predict`` / ``summary``, callbacks,
metrics, Keras-named losses and ``lr_find``.

    >>> import numpy as np, somanet as sn
    >>> from somanet import nn
    >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    >>> y = (x.sum(axis=1) > 0).astype("int64")
    >>> model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(8, activation="relu"),
    ...                        nn.Dense(2)])
    >>> model.compile(optimizer="adam",
    ...               loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True),
    ...               metrics=["accuracy"])
    >>> history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    >>> len(history.history["loss"]), model.predict(x).shape
    (2, (64, 2))
"""
from . import callbacks, metrics
from .callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping, History,
                        LambdaCallback, LearningRateScheduler, ModelCheckpoint, ProgbarLogger,
                        ProgressBar, ReduceLROnPlateau, TensorBoard, TerminateOnNaN)
from . import losses, optimizers
from .compile_utils import DoubleSoftmaxWarning
from .model import Model
from .trainer import LossIncreasingWarning, ScheduleNotSteppedWarning
from .functional import Add, Concatenate, Functional, Input, KerasTensor
from .sequential import Sequential
from .lr_finder import LRFinderResult, lr_find
from .saving import load_model, save_model
