"""Adagrad: per-weight learning rates that shrink with the sum of squared gradients."""
from ..backend import xp_of
from .optimizer import Optimizer, check_lr, check_number, pick_lr


def adagrad_update(param, grad, state, scratch, *, lr, eps, weight_decay,
                   initial_accumulator_value, lr_decay):
    """One Adagrad step on raw arrays, in place (see ``Adagrad`` for the formula).

    ``state`` holds ``"sum"``, the running sum of squared gradients, and ``"step"``.
    """
    xp = xp_of(param)
    first, second = scratch
    if weight_decay:
        xp.multiply(param, weight_decay, out=first)
        first += grad  # g + wd w
        grad = first
    total = state["sum"]
    xp.multiply(grad, grad, out=second)
    total += second  # s = s + g^2
    xp.sqrt(total, out=second)
    second += eps
    xp.divide(grad, second, out=second)  # g / (sqrt(s) + eps)
    second *= lr / (1 + (state["step"] - 1) * lr_decay) if lr_decay else lr
    param -= second


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011): weights with large past gradients take
    smaller steps.

    With gradient ``g``::

        g <- g + wd * w                      (if weight_decay > 0)
        s <- s + g^2                         (s starts at initial_accumulator_value)
        w <- w - lr_t * g / (sqrt(s) + eps),  lr_t = lr / (1 + (t - 1) * lr_decay)

    Args:
        params: Parameters or parameter groups (dicts); leave it out to bind the
            optimiser later (``model.compile`` does, Keras style).
        lr: the learning rate, >= 0 (default 0.01). ``learning_rate=`` is the same
            (Keras's name); give one of them.
        eps: added to the denominator, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        initial_accumulator_value: the starting value of ``s``, >= 0.
        lr_decay: >= 0, the learning rate's decay with the step count ``t`` (from 1),
            PyTorch's (default 0: none).
    """

    update = staticmethod(adagrad_update)
    scratch_count = 2

    def __init__(self, params=None, lr=None, eps=1e-10, weight_decay=0.0,
                 initial_accumulator_value=0.0, lr_decay=0.0, *, learning_rate=None,
                 **unknown):
        lr = pick_lr(self, lr, learning_rate, 0.01)
        super().__init__(params, {"lr": lr, "eps": eps, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "lr_decay": lr_decay}, unknown)

    def check_hyper(self, hyper):
        return {
            "lr": check_lr(self, hyper["lr"]),
            "eps": check_number(self, "eps", hyper["eps"],
                                what="a non-negative number in [0, inf)"),
            "weight_decay": check_number(self, "weight_decay", hyper["weight_decay"],
                                         what="a non-negative weight decay in [0, inf)"),
            "initial_accumulator_value": check_number(
                self, "initial_accumulator_value", hyper["initial_accumulator_value"],
                what="a non-negative number in [0, inf)"),
            "lr_decay": check_number(self, "lr_decay", hyper.get("lr_decay", 0.0),
                                     what="a non-negative learning-rate decay in [0, inf)"),
        }

    def init_state(self, param, hyper):
        return {"sum": xp_of(param).full_like(param, hyper["initial_accumulator_value"])}
