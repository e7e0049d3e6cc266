"""What fit adds to a checkpoint, and how it reads it back.

A checkpoint is ``somanet.io.save_checkpoint``'s folder (weights, optimiser state, the
loader's epoch / position / order, the RNG state, the history), written atomically;
under MPI it is written by rank 0 (fit's ``FitCheckpoint`` callback is ``chief_only``)
and read by every rank (``somanet.distributed.load_checkpoint``, which checks that the
ranks read the same one). fit adds, under ``extra["fit"]``, what it needs to continue
mid-epoch exactly: the batch position, the running loss of the epoch so far, the
metrics' state, the step of the last checkpoint, whether a callback stopped the run,
and every callback's own state (``Callback.state_dict()``; their arrays, such as
``EarlyStopping``'s best weights, go to the checkpoint's state file). The ``History``'s
state is the checkpoint's history.
"""
import math
import warnings

import numpy

from ..distributed import load_checkpoint
from ..io import clean_checkpoint_folder, save_checkpoint
from ..tensor import Tensor

FIT_KEY = "fit"
_ARRAY = "$array"  # {"$array": name}: an array of a callback's state, in the state file
_CALLBACK_ARRAYS = "callbacks/"


def metric_state(metric):
    """A metric's running sums as JSON data (``Metric.get_state()``, a list of floats)."""
    if hasattr(metric, "get_state"):
        return {"state": metric.get_state()}
    return {}


def load_metric_state(metric, saved):
    if "state" in saved and hasattr(metric, "set_state"):
        metric.set_state(saved["state"])


def callback_keys(callbacks):
    """``[(key, callback)]``: each callback named by its class, with ``[n]`` for the n-th
    (from 1) after the first of its class, so that a resumed fit with the same list of
    callbacks gives each its own state."""
    seen, keyed = {}, []
    for callback in callbacks:
        name = type(callback).__name__
        count = seen.get(name, 0)
        seen[name] = count + 1
        keyed.append((name if count == 0 else f"{name}[{count}]", callback))
    return keyed


def callback_states(callbacks):
    """``(states, arrays)``: ``{key: JSON state}`` of every callback (but the History,
    whose state is the history) that declares one, and the arrays those states hold."""
    states, arrays = {}, {}
    history = getattr(callbacks, "history", None)
    for key, callback in callback_keys(callbacks):
        if callback is history:
            continue
        state = callback.state_dict()
        if state is not None:
            states[key] = _split_arrays(state, _CALLBACK_ARRAYS + key, arrays)
    return states, arrays


def _split_arrays(value, name, arrays):
    """``value`` with every array (NumPy, CuPy, Tensor) replaced by ``{"$array": name}``
    and put into ``arrays``."""
    if isinstance(value, Tensor) or (hasattr(value, "shape") and hasattr(value, "dtype")
                                     and not isinstance(value, numpy.generic)):
        arrays[name] = value
        return {_ARRAY: name}
    if isinstance(value, dict):
        return {key: _split_arrays(item, f"{name}/{key}", arrays) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split_arrays(item, f"{name}/{index}", arrays)
                for index, item in enumerate(value)]
    return value


def _join_arrays(value, arrays, where):
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            if value[_ARRAY] not in arrays:
                raise ValueError(f"{where}: the state file lacks the array "
                                 f"{value[_ARRAY]!r}; the checkpoint is damaged")
            return arrays[value[_ARRAY]]
        return {key: _join_arrays(item, arrays, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_join_arrays(item, arrays, where) for item in value]
    return value


def save(folder, model, run):
    """Write the checkpoint of a fit ``run`` as it is now (its ``progress``, loader,
    callbacks, history and the model's optimiser and metrics)."""
    progress, callbacks = run.progress, run.callbacks
    history = callbacks.history if callbacks is not None else None
    states, arrays = callback_states(callbacks) if callbacks is not None else ({}, {})
    extra = {FIT_KEY: {**progress.to_json(),
                       "metrics": [metric_state(m) for m in model.metrics],
                       "history_epochs": list(getattr(history, "epoch", [])),
                       "callbacks": states}}
    save_checkpoint(folder, model, optimizer=model.optimizer, loader=run.train_feed.loader,
                    epoch=progress.epoch, step=progress.step,
                    history=getattr(history, "history", {}), extra=extra, rng=True,
                    arrays=arrays)


class Resumed:
    """What ``restore`` read besides the model, optimiser and loader: the ``progress``,
    the History's state, and the callbacks' states (``None`` for a checkpoint written
    before callbacks had state)."""

    def __init__(self, progress, history, callbacks, arrays, where):
        self.progress = progress
        self.history = history
        self.callbacks = callbacks
        self.arrays = arrays
        self.where = where

    def restore_callbacks(self, callback_list, chief=True):
        """Give every callback of ``callback_list`` its saved state (call it after
        ``on_train_begin``). A callback with state that the checkpoint lacks, or saved
        state no callback takes, is warned about (on the chief only: under MPI the
        other ranks run without the file-writing callbacks)."""
        history = callback_list.history
        if history is not None:
            history.load_state_dict(self.history)
        if self.callbacks is None:  # written before callbacks had state
            return
        unused = dict(self.callbacks)
        fresh = []
        for key, callback in callback_keys(callback_list):
            if callback is history:
                continue
            if key not in unused:
                if callback.state_dict() is not None:
                    fresh.append(key)
                continue
            state = _join_arrays(unused.pop(key), self.arrays, self.where)
            try:
                callback.load_state_dict(state)
            except (ValueError, TypeError, KeyError) as error:
                raise ValueError(f"{self.where}: the saved state of {key} does not fit it: "
                                 f"{error}") from None
        if chief and (unused or fresh):
            parts = []
            if unused:
                parts.append(f"the checkpoint holds the state of {', '.join(unused)}, which "
                             f"this fit call does not have (its state is not used)")
            if fresh:
                parts.append(f"{', '.join(fresh)} had no state in the checkpoint and start "
                             f"afresh")
            warnings.warn(f"fit(resume=True): {'; '.join(parts)}; resume with the callbacks "
                          f"of the run that wrote {self.where} to continue it exactly",
                          RuntimeWarning, stacklevel=3)


def restore(folder, model, optimizer, loader, metrics, chief=True):
    """Load the checkpoint in ``folder`` into the model, optimiser, loader, RNG and
    metrics; return a ``Resumed`` (the progress, and the states of the History and the
    callbacks, restored by ``Resumed.restore_callbacks`` once fit's callbacks have begun).

    Everything is checked before anything changes: a damaged checkpoint is a ValueError
    (or FileNotFoundError) naming the file. Then (on the chief) what interrupted saves
    left in the folder is removed."""
    info = load_checkpoint(folder, model, optimizer=optimizer, loader=loader,
                           restore_rng=True, arrays=True)
    saved = info["extra"].get(FIT_KEY) or {}
    where = f"{folder}/checkpoint.json"
    if not isinstance(saved, dict):
        raise ValueError(f"fit: {where}: extra['fit'] is not an object; the file is damaged")
    progress = Progress.from_json(saved, epoch=info["epoch"] or 0, step=info["step"] or 0,
                                  where=where)
    metric_states = saved.get("metrics", [])
    if not isinstance(metric_states, list) or not all(isinstance(state, dict)
                                                      for state in metric_states):
        raise ValueError(f"fit: {where}: extra['fit']['metrics'] is damaged")
    for metric, state in zip(metrics, metric_states):
        load_metric_state(metric, state)
    history = info["history"]
    epochs = saved.get("history_epochs")
    if epochs is None:  # a checkpoint written by something else: number the epochs from 0
        epochs = list(range(len(next(iter(history.values()), []))))
    callbacks = saved.get("callbacks")
    if callbacks is not None and not isinstance(callbacks, dict):
        raise ValueError(f"fit: {where}: extra['fit']['callbacks'] is damaged")
    if chief:
        clean_checkpoint_folder(folder)
    return Resumed(progress, {"history": history, "epoch": epochs}, callbacks,
                   info.get("arrays", {}), where)


def read_progress(folder):
    """The ``Progress`` of the checkpoint in ``folder``, from its index alone (nothing is
    loaded): to tell, before a resume, how far the run got."""
    info = load_checkpoint(folder, restore_rng=False)
    saved = info["extra"].get(FIT_KEY) or {}
    where = f"{folder}/checkpoint.json"
    if not isinstance(saved, dict):
        raise ValueError(f"fit: {where}: extra['fit'] is not an object; the file is damaged")
    return Progress.from_json(saved, epoch=info["epoch"] or 0, step=info["step"] or 0,
                              where=where)


class Progress:
    """Where a fit run is: the epoch in progress, the batch within it, the batches trained
    in all, the epoch's running loss, and whether a callback stopped the run. Plain
    numbers, saved in checkpoints."""

    def __init__(self, epoch=0, batch=0, step=0, loss_sum=0.0, seen=0, last_saved_step=0,
                 stopped=False):
        self.epoch = epoch
        self.batch = batch  # batches of ``epoch`` already trained
        self.step = step  # batches trained since the start of the run
        self.loss_sum = loss_sum  # sum over the epoch's samples of the batch losses
        self.seen = seen  # samples trained in the epoch
        self.last_saved_step = last_saved_step
        self.stopped = stopped  # a callback stopped training (EarlyStopping): it stays so

    def start_epoch(self, epoch):
        self.epoch, self.batch, self.loss_sum, self.seen = epoch, 0, 0.0, 0

    @property
    def mean_loss(self):
        return self.loss_sum / self.seen if self.seen else float("nan")

    def to_json(self):
        return {"batch": self.batch, "loss_sum": self.loss_sum, "seen": self.seen,
                "last_saved_step": self.last_saved_step, "stopped": self.stopped}

    @classmethod
    def from_json(cls, saved, epoch, step, where="the checkpoint"):
        """The progress saved by ``to_json`` (with the checkpoint's epoch and step),
        checked: a ValueError naming ``where`` and the entry when one is damaged."""
        def entry(key, default, kind):
            value = saved.get(key, default)
            good = isinstance(value, bool) if kind is bool else (
                isinstance(value, (int, float)) and not isinstance(value, bool)
                and (kind is float and math.isfinite(value) or
                     kind is int and isinstance(value, int) and value >= 0))
            if not good:
                raise ValueError(f"fit: {where}: extra['fit'][{key!r}] is {value!r:.40}, "
                                 f"expected {'true or false' if kind is bool else 'a number'}"
                                 f"{' >= 0' if kind is int else ''}; the file is damaged")
            return kind(value)

        return cls(epoch=epoch, batch=entry("batch", 0, int), step=step,
                   loss_sum=entry("loss_sum", 0.0, float), seen=entry("seen", 0, int),
                   last_saved_step=entry("last_saved_step", step, int),
                   stopped=entry("stopped", False, bool))
