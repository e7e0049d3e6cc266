"""Layer 2: optimisers, gradient clipping and learning-rate schedules.

Every optimiser is the shared bookkeeping of ``Optimizer`` (parameter groups, lazy
per-parameter state, ``step``, ``zero_grad``, ``state_dict``) plus a pure update
function of ``(param, grad, state, scratch, **hyper)`` on raw arrays that works in
place on the parameter's device.

    >>> import somanet as sn
    >>> from somanet.nn.parameter import Parameter
    >>> w = Parameter(sn.tensor([1.0, 2.0]))
    >>> optimizer = sn.optim.SGD([w], lr=0.1)
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> optimizer.step()   # w <- w - 0.1 * 2w
    >>> [round(value, 6) for value in w.tolist()]
    [0.8, 1.6]
"""
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update, adamw_update
from .clip import clip_grad_norm_, clip_grad_value_
from .manhattan import Manhattan, manhattan_update
from .optimizer import Optimizer
from .rmsprop import RMSprop, rmsprop_update
from .rprop import Rprop, rprop_update
from .schedules import (CosineAnnealingLR, ExponentialLR, LinearWarmup, LRSchedule,
                        ReduceLROnPlateau, StepLR)
from .sgd import SGD, sgd_update

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Rprop", "Manhattan",
           "clip_grad_norm_", "clip_grad_value_", "LRSchedule", "StepLR", "ExponentialLR",
           "CosineAnnealingLR", "LinearWarmup", "ReduceLROnPlateau", "sgd_update",
           "adam_update", "adamw_update", "rmsprop_update", "adagrad_update", "rprop_update",
           "manhattan_update"]
