"""Learning-rate schedules: change ``group["lr"]`` of an optimiser, epoch by epoch.

A learning rate that shrinks as training goes on lets SGD settle into a minimum
instead of bouncing around it.

Use them as in PyTorch: build the schedule on the optimiser (which sets epoch 0's
learning rate), then call ``schedule.step()`` once at the end of every epoch
(``ReduceLROnPlateau.step(metric)`` takes the monitored value)::

    optimizer = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = sn.optim.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(model, optimizer)
        schedule.step()

The closed-form schedules (all but ``ReduceLROnPlateau``) are functions of the epoch
and the base learning rate, ``lr_at(epoch, base_lr)``, so they also work without an
optimiser, e.g. to plot a schedule::

    schedule = sn.optim.CosineAnnealingLR(None, T_max=50, base_lr=0.1)
    lrs = [schedule.lr_at(epoch) for epoch in range(60)]

A closed-form schedule sets the learning rate outright each epoch, so two of them on
one optimiser overwrite each other: chain them with ``LinearWarmup(..., after=...)``
instead. ``ReduceLROnPlateau`` multiplies the current learning rate, so it can follow
a warm-up.

``state_dict()`` is plain JSON (the epoch, the base learning rates, the plateau
counters); the hyper-parameters come from the constructor, not from the state dict.

``Model.fit`` does not call ``step()``: give the schedule to fit as
``somanet.train.LearningRateScheduler(schedule)``, or the plateau schedule's
callback ``somanet.train.ReduceLROnPlateau(monitor=...)``. ``attached_to(optimizer)``
lists the schedules built on an optimiser, so that fit can say when one would
otherwise never be stepped.
"""
import itertools
import math
import weakref

from .._checks import check_non_negative_int, check_positive_int, is_real
from .optimizer import Optimizer, check_lr, check_number, check_state_keys


_ATTACHED = weakref.WeakKeyDictionary()  # optimizer -> the schedules built on it


def _attach(schedule, optimizer):
    if optimizer is not None:
        _ATTACHED.setdefault(optimizer, weakref.WeakSet()).add(schedule)


def attached_to(optimizer):
    """The schedules built on ``optimizer`` (``StepLR(optimizer, ...)``, ...) that still
    exist, oldest first."""
    schedules = list(_ATTACHED.get(optimizer, ()))
    return sorted(schedules, key=lambda schedule: schedule._created)


_counter = itertools.count()


class LRSchedule:
    """Base class of the closed-form schedules: subclasses define ``factor(epoch)``, the
    multiple of the base learning rate at ``epoch`` (0, 1, ...).

    Args:
        optimizer: the Optimizer whose groups' ``lr`` to set, or ``None`` for a schedule
            used on its own (then give ``base_lr``, or pass it to ``lr_at``).
        base_lr: the learning rate at epoch 0 without an optimiser (with one, each
            group's ``lr`` when the schedule is built).

    Attributes:
        last_epoch: the epoch whose learning rate is set now (0 after construction).
        base_lrs: the base learning rate of each group.
    """

    def __init__(self, optimizer, base_lr=None):
        name = type(self).__name__
        _check_optimizer(name, optimizer, base_lr, "or None to use the schedule on its own",
                         " (the base learning rates are the optimizer's group lrs)")
        self.optimizer = optimizer
        if optimizer is not None:
            self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        elif base_lr is not None:
            self.base_lrs = [check_lr(name, base_lr, "base_lr")]
        else:
            self.base_lrs = []
        self.last_epoch = 0
        self._created = next(_counter)
        _attach(self, optimizer)
        self._apply()

    def factor(self, epoch):
        """The learning rate at ``epoch`` as a multiple of the base learning rate."""
        raise NotImplementedError(f"{type(self).__name__} has no factor()")

    def lr_at(self, epoch, base_lr=None):
        """The learning rate at ``epoch`` for ``base_lr`` (default: the first base lr)."""
        name = type(self).__name__
        epoch = check_non_negative_int(f"{name}.lr_at", "epoch", epoch)
        if base_lr is None:
            if not self.base_lrs:
                raise ValueError(f"{name}.lr_at: this schedule has no optimizer and no "
                                 f"base_lr; pass base_lr=... here or to the constructor")
            base_lr = self.base_lrs[0]
        return base_lr * self.factor(epoch)

    def step(self):
        """Move to the next epoch and set its learning rate in every group."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self):
        """The learning rate of each group at ``last_epoch``, a list of floats."""
        return [self.lr_at(self.last_epoch, base) for base in self.base_lrs]

    def _apply(self):
        if self.optimizer is not None:
            for group, base in zip(self.optimizer.param_groups, self.base_lrs):
                group["lr"] = self.lr_at(self.last_epoch, base)

    def state_dict(self):
        """``{"type", "last_epoch", "base_lrs"}``, all plain JSON."""
        return {"type": type(self).__name__, "last_epoch": self.last_epoch,
                "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict):
        """Restore the epoch and base learning rates (the optimiser's ``lr`` comes back
        with the optimiser's own state dict). Checked first: on an error nothing changes."""
        name = type(self).__name__
        check_state_keys(name, state_dict, ("type", "last_epoch", "base_lrs"))
        epoch, base_lrs = state_dict["last_epoch"], state_dict["base_lrs"]
        epoch = check_non_negative_int(f"{name}.load_state_dict", "last_epoch", epoch)
        _check_lrs(name, base_lrs, self.optimizer, "base_lrs")
        self.last_epoch = epoch
        self.base_lrs = [float(lr) for lr in base_lrs]

    def __repr__(self):
        return f"{type(self).__name__}(epoch {self.last_epoch}, lr {self.get_last_lr()})"


class StepLR(LRSchedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs::

        lr(epoch) = base_lr * gamma ** (epoch // step_size)

    Args:
        optimizer: an Optimizer, or ``None`` (then give ``base_lr`` or use ``lr_at``).
        step_size: epochs between drops, an int >= 1.
        gamma: the factor of each drop, >= 0 (default 0.1).
        base_lr: the starting learning rate when there is no optimizer.

        >>> import somanet as sn
        >>> schedule = sn.optim.StepLR(None, step_size=2, gamma=0.5, base_lr=1.0)
        >>> [schedule.lr_at(epoch) for epoch in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer, step_size, gamma=0.1, *, base_lr=None):
        self.step_size = check_positive_int("StepLR", "step_size", step_size)
        self.gamma = check_number("StepLR", "gamma", gamma,
                                  what="a non-negative factor in [0, inf)")
        super().__init__(optimizer, base_lr)

    def factor(self, epoch):
        return self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRSchedule):
    """Multiply the learning rate by ``gamma`` every epoch (exponential decay)::

        lr(epoch) = base_lr * gamma ** epoch

    Args:
        optimizer: an Optimizer, or ``None`` (then give ``base_lr`` or use ``lr_at``).
        gamma: the factor per epoch, >= 0 (e.g. 0.95).
        base_lr: the starting learning rate when there is no optimizer.
    """

    def __init__(self, optimizer, gamma, *, base_lr=None):
        self.gamma = check_number("ExponentialLR", "gamma", gamma,
                                  what="a non-negative factor in [0, inf)")
        super().__init__(optimizer, base_lr)

    def factor(self, epoch):
        return self.gamma ** epoch


class CosineAnnealingLR(LRSchedule):
    """Lower the learning rate along half a cosine, from ``base_lr`` at epoch 0 to
    ``eta_min`` at epoch ``T_max``, and keep it at ``eta_min`` after::

        lr(epoch) = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    (PyTorch's closed form rises again after ``T_max``; this one stays at ``eta_min``.)

    Args:
        optimizer: an Optimizer, or ``None`` (then give ``base_lr`` or use ``lr_at``).
        T_max: the epoch at which the learning rate reaches ``eta_min``, an int >= 1.
        eta_min: the final learning rate, >= 0 (default 0).
        base_lr: the starting learning rate when there is no optimizer.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, *, base_lr=None):
        self.T_max = check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_lr("CosineAnnealingLR", eta_min, "eta_min")
        super().__init__(optimizer, base_lr)

    def lr_at(self, epoch, base_lr=None):
        # Not a pure factor: eta_min is an absolute learning rate.
        base_lr = super().lr_at(epoch, base_lr)  # checks epoch; factor() is 1
        epoch = min(epoch, self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * (
            1 + math.cos(math.pi * epoch / self.T_max)) / 2

    def factor(self, epoch):
        return 1.0


class LinearWarmup(LRSchedule):
    """Raise the learning rate linearly for ``warmup_epochs`` epochs, then hand over to
    another schedule (``after``) or keep it constant::

        lr(epoch) = base_lr * (start_factor + (1 - start_factor) * epoch / warmup_epochs)
                                                            for epoch < warmup_epochs
        lr(epoch) = after.lr_at(epoch - warmup_epochs, base_lr)   after (or base_lr)

    Args:
        optimizer: an Optimizer, or ``None`` (then give ``base_lr`` or use ``lr_at``).
        warmup_epochs: the length of the warm-up, an int >= 1.
        start_factor: the learning rate at epoch 0 as a fraction of ``base_lr``, in
            (0, 1] (default 0.1).
        after: a schedule built with ``optimizer=None`` that takes over at epoch
            ``warmup_epochs``, counting its own epochs from 0; ``None`` for a constant
            ``base_lr``.
        base_lr: the target learning rate when there is no optimizer.

        >>> import somanet as sn
        >>> cosine = sn.optim.CosineAnnealingLR(None, T_max=4)
        >>> schedule = sn.optim.LinearWarmup(None, warmup_epochs=2, start_factor=0.5,
        ...                                  after=cosine, base_lr=1.0)
        >>> [round(schedule.lr_at(epoch), 3) for epoch in range(7)]
        [0.5, 0.75, 1.0, 0.854, 0.5, 0.146, 0.0]
    """

    def __init__(self, optimizer, warmup_epochs, start_factor=0.1, after=None, *,
                 base_lr=None):
        self.warmup_epochs = check_positive_int("LinearWarmup", "warmup_epochs",
                                                warmup_epochs)
        self.start_factor = check_number("LinearWarmup", "start_factor", start_factor, 0.0,
                                         1.0, low_open=True, high_open=False,
                                         what="a fraction in (0, 1]")
        if after is not None:
            if not isinstance(after, LRSchedule):
                raise TypeError(f"LinearWarmup: after must be a schedule (StepLR, "
                                f"CosineAnnealingLR, ...) or None, got "
                                f"{type(after).__name__}")
            if after.optimizer is not None:
                raise ValueError("LinearWarmup: build the `after` schedule with optimizer=None"
                                 " (e.g. CosineAnnealingLR(None, T_max=90)): the warm-up "
                                 "sets the optimizer's lr and hands it the base lr")
        self.after = after
        super().__init__(optimizer, base_lr)

    def lr_at(self, epoch, base_lr=None):
        base_lr = super().lr_at(epoch, base_lr)  # checks epoch; factor() is 1
        if epoch < self.warmup_epochs:
            return base_lr * (self.start_factor
                              + (1 - self.start_factor) * epoch / self.warmup_epochs)
        if self.after is None:
            return base_lr
        return self.after.lr_at(epoch - self.warmup_epochs, base_lr)

    def factor(self, epoch):
        return 1.0


class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` when a monitored metric (e.g. the
    validation loss) has stopped improving for ``patience`` epochs.

    Each ``step(metric)``: the metric is an improvement if it beats the best so far by
    more than a margin: with ``threshold_mode="rel"`` (the default) the margin is
    ``abs(best) * threshold``, so an improvement is ``metric < best - abs(best) *
    threshold`` in ``"min"`` mode and ``metric > best + abs(best) * threshold`` in
    ``"max"`` mode; with ``threshold_mode="abs"`` the margin is ``threshold`` itself
    (``metric < best - threshold``; Keras's ``min_delta``). Taking ``abs(best)`` keeps
    the rule right for negative metrics (a log-likelihood, a negative score): the
    other common form, ``metric < best * (1 - threshold)``, lies *above* a negative
    best, so that a slightly worse value (-1.9999 after a best of -2) would count as
    an improvement. The first metric (never a NaN) becomes the first best.
    After more than ``patience`` epochs without an improvement, every group's ``lr``
    becomes ``max(lr * factor, min_lr)`` and the count restarts after ``cooldown``
    epochs in which bad epochs are not counted.

    Args:
        optimizer: an Optimizer, or ``None`` (then give ``base_lr``; the schedule then
            only tracks the learning rate, e.g. for a plot).
        mode: ``"min"`` (lower is better, a loss) or ``"max"`` (an accuracy).
        factor: the factor of each reduction, in [0, 1) (default 0.1).
        patience: how many epochs without improvement to wait, an int >= 0.
        threshold: the improvement that counts, >= 0 (default 1e-4).
        threshold_mode: ``"rel"`` (a fraction of the best, the default) or ``"abs"``.
        cooldown: epochs to wait after a reduction before counting again, an int >= 0.
        min_lr: the learning rate is never lowered below this, >= 0; a float, or a list
            with one per group.
        base_lr: the starting learning rate when there is no optimizer.

        >>> import somanet as sn
        >>> schedule = sn.optim.ReduceLROnPlateau(None, patience=1, factor=0.5, base_lr=1.0)
        >>> for loss in [1.0, 0.9, 0.9, 0.9, 0.9]:
        ...     schedule.step(loss)
        >>> schedule.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 cooldown=0, min_lr=0.0, *, base_lr=None, threshold_mode="rel"):
        name = "ReduceLROnPlateau"
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' (e.g. a loss) or 'max' (e.g. an "
                             f"accuracy), got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.threshold_mode = threshold_mode
        _check_optimizer(name, optimizer, base_lr, "or None")
        if optimizer is None and base_lr is None:
            raise ValueError(f"{name}: without an optimizer, give base_lr=...")
        self.mode = mode
        self.factor = check_number(name, "factor", factor, 0.0, 1.0, what="a factor in [0, 1)")
        self.patience = check_non_negative_int(name, "patience", patience)
        self.threshold = check_number(name, "threshold", threshold,
                                      what="a non-negative fraction in [0, inf)")
        self.cooldown = check_non_negative_int(name, "cooldown", cooldown)
        self.optimizer = optimizer
        if optimizer is not None:
            lrs = [group["lr"] for group in optimizer.param_groups]
        else:
            lrs = [check_lr(name, base_lr, "base_lr")]
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(lrs):
                raise ValueError(f"{name}: min_lr has {len(min_lr)} value(s) for {len(lrs)} "
                                 f"parameter group(s); give one per group, or one float")
            self.min_lrs = [check_lr(name, value, f"min_lr[{i}]")
                            for i, value in enumerate(min_lr)]
        else:
            self.min_lrs = [check_lr(name, min_lr, "min_lr")] * len(lrs)
        self._lrs = lrs  # without an optimizer, the learning rates tracked here
        self.last_epoch = 0
        self._created = next(_counter)
        _attach(self, optimizer)
        self.best = None  # the best metric so far (None before the first step)
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def step(self, metric):
        """Record the metric of the epoch that just ended, and lower the learning rates
        if it has not improved for more than ``patience`` epochs.

        Args:
            metric: a number (or a one-element Tensor), e.g. the validation loss.
        """
        name = "ReduceLROnPlateau"
        if hasattr(metric, "item"):
            metric = metric.item()
        if not is_real(metric):
            raise TypeError(f"{name}.step: expected the monitored metric (a number), got "
                            f"{type(metric).__name__} {metric!r:.40}")
        metric = float(metric)
        self.last_epoch += 1
        if self._is_better(metric):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def _is_better(self, metric):
        if math.isnan(metric):
            return False
        if self.best is None:
            return True
        if self.threshold_mode == "abs":
            margin = self.threshold
        else:
            margin = abs(self.best) * self.threshold
        if self.mode == "min":
            return metric < self.best - margin
        return metric > self.best + margin

    def _reduce(self):
        lrs = self.get_last_lr()
        new = [max(lr * self.factor, floor) for lr, floor in zip(lrs, self.min_lrs)]
        if self.optimizer is not None:
            for group, lr in zip(self.optimizer.param_groups, new):
                group["lr"] = lr
        self._lrs = new

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def get_last_lr(self):
        """The current learning rate of each group, a list of floats."""
        if self.optimizer is not None:
            return [group["lr"] for group in self.optimizer.param_groups]
        return list(self._lrs)

    def lr_at(self, epoch, base_lr=None):
        raise TypeError("ReduceLROnPlateau has no closed form: its learning rate depends on "
                        "the metrics it is given; call step(metric) and get_last_lr()")

    def state_dict(self):
        """``{"type", "last_epoch", "best", "num_bad_epochs", "cooldown_counter", "lrs"}``,
        plain JSON (``best`` is ``None`` before the first step)."""
        return {"type": "ReduceLROnPlateau", "last_epoch": self.last_epoch, "best": self.best,
                "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter, "lrs": self.get_last_lr()}

    def load_state_dict(self, state_dict):
        """Restore the counters (checked first: on an error nothing changes). The
        optimiser's ``lr`` comes back with the optimiser's own state dict."""
        name = "ReduceLROnPlateau"
        keys = ("type", "last_epoch", "best", "num_bad_epochs", "cooldown_counter", "lrs")
        check_state_keys(name, state_dict, keys)
        counters = {key: check_non_negative_int(f"{name}.load_state_dict", key, state_dict[key])
                    for key in ("last_epoch", "num_bad_epochs", "cooldown_counter")}
        best = state_dict["best"]
        if best is not None and not is_real(best):
            raise ValueError(f"{name}.load_state_dict: best must be a number or None, got "
                             f"{best!r}")
        lrs = state_dict["lrs"]
        _check_lrs(name, lrs, self.optimizer, "lrs", expected=len(self.min_lrs))
        self.last_epoch = counters["last_epoch"]
        self.best = None if best is None else float(best)
        self.num_bad_epochs = counters["num_bad_epochs"]
        self.cooldown_counter = counters["cooldown_counter"]
        if self.optimizer is None:
            self._lrs = [float(lr) for lr in lrs]

    def __repr__(self):
        return (f"ReduceLROnPlateau(epoch {self.last_epoch}, lr {self.get_last_lr()}, best "
                f"{self.best}, {self.num_bad_epochs} bad epoch(s))")


def _check_lrs(owner, lrs, optimizer, key, expected=None):
    if expected is None:
        expected = len(optimizer.param_groups) if optimizer is not None else None
    if not isinstance(lrs, (list, tuple)) or (expected is not None and len(lrs) != expected):
        raise ValueError(f"{owner}.load_state_dict: {key} must be a list with one learning "
                         f"rate per parameter group ({expected}), got {lrs!r:.80}")
    for lr in lrs:
        check_lr(owner, lr, key)


def _check_optimizer(name, optimizer, base_lr, none_means, both_hint=""):
    """A schedule's ``optimizer`` argument: an Optimizer bound to parameters, or ``None``
    (then ``base_lr`` may be given instead, never both)."""
    if optimizer is None:
        return
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}: expected an Optimizer ({none_means}), got "
                        f"{type(optimizer).__name__}")
    if not optimizer.built:
        raise ValueError(f"{name}: the {type(optimizer).__name__} has no parameters yet "
                         f"(it was made without them), so there is no learning rate to "
                         f"schedule; build the schedule once it is bound (after "
                         f"model.compile and a fit or model.build, or "
                         f"optimizer.build(model.parameters()))")
    if base_lr is not None:
        raise ValueError(f"{name}: give either an optimizer or base_lr, not both{both_hint}")
