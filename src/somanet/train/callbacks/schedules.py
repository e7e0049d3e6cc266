"""Setting the learning rate from the epoch: ``LearningRateScheduler``."""
import inspect
import math

from ..._checks import is_real
from ...optim.schedules import LRSchedule
from ...optim.schedules import ReduceLROnPlateau as _PlateauSchedule
from .base import Callback, check_state, optimizer_of, saved_number


def _check_lr(owner, value, epoch):
    if hasattr(value, "item"):
        value = value.item()
    if not is_real(value) or not math.isfinite(value) or value < 0:
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

    A step size that shrinks as training goes on lets gradient descent settle into a
    minimum it would otherwise overshoot.

    Args:
        schedule: a function ``schedule(epoch, lr) -> new lr`` (or ``schedule(epoch)``),
            called for each parameter group with its current ``lr``; or a
            ``somanet.optim`` schedule (``StepLR``, ``CosineAnnealingLR``, ...), whose
            ``lr_at(epoch, base_lr)`` sets each group from its base learning rate (the
            group's ``lr`` when training starts, or the schedule's own ``base_lrs`` when
            it was built on this optimiser).
        verbose: 1 prints the learning rate set at each epoch.

        >>> callback = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)

    Its state (the base learning rates, the last epoch it set, a ``somanet.optim``
    schedule's own counters) is part of fit's checkpoint: a resumed run takes its base
    rates from the start of the run, not from the already lowered rate, and a run
    resumed mid-epoch does not apply a ``(epoch, lr)`` function to that epoch twice.
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
        self._epoch_set = None  # the epoch whose learning rate was set last

    def on_train_begin(self, logs=None):
        optimizer = optimizer_of("LearningRateScheduler", self.model)
        bound = isinstance(self.schedule, LRSchedule) and self.schedule.optimizer is optimizer
        self._base_lrs = list(self.schedule.base_lrs) if bound else \
            [group["lr"] for group in optimizer.param_groups]
        self._epoch_set = None

    def state_dict(self):
        state = {"base_lrs": self._base_lrs, "epoch_set": self._epoch_set, "schedule": None}
        if isinstance(self.schedule, LRSchedule):
            state["schedule"] = self.schedule.state_dict()
        return state

    def load_state_dict(self, state):
        owner = "LearningRateScheduler"
        check_state(owner, state, ("base_lrs", "epoch_set", "schedule"))
        base_lrs = state["base_lrs"]
        if base_lrs is not None and (not isinstance(base_lrs, list) or not all(
                is_real(lr) for lr in base_lrs)):
            raise ValueError(f"{owner}.load_state_dict: base_lrs must be a list of numbers, "
                             f"got {base_lrs!r:.80}")
        epoch_set = saved_number(owner, state, "epoch_set", integer=True, optional=True)
        if isinstance(self.schedule, LRSchedule) and state["schedule"] is not None:
            try:
                self.schedule.load_state_dict(state["schedule"])
            except TypeError as error:
                raise ValueError(str(error)) from None
        self._base_lrs = None if base_lrs is None else [float(lr) for lr in base_lrs]
        self._epoch_set = epoch_set

    def on_epoch_begin(self, epoch, logs=None):
        owner = "LearningRateScheduler"
        optimizer = optimizer_of(owner, self.model)
        if epoch == self._epoch_set:
            return  # a run resumed mid-epoch: this epoch's rate is set already
        if self._base_lrs is None or len(self._base_lrs) != len(optimizer.param_groups):
            self._base_lrs = [group["lr"] for group in optimizer.param_groups]
        self._epoch_set = epoch
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
            logs["lr"] = float(optimizer_of("LearningRateScheduler", self.model)
                               .param_groups[0]["lr"])
