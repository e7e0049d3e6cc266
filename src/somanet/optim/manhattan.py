"""Manhattan propagation: a fixed step against the sign of the gradient."""
from ..backend import xp_of
from .optimizer import Optimizer, check_lr, pick_lr


def manhattan_update(param, grad, state, scratch, *, lr):
    """One Manhattan step on raw arrays, in place: ``param -= lr * sign(grad)``."""
    (step,) = scratch
    xp_of(param).sign(grad, out=step)
    step *= lr
    param -= step


class Manhattan(Optimizer):
    r"""Manhattan propagation (the Manhattan update rule of Encog): every weight moves by
    the same amount ``lr``, in the direction that lowers the error; the gradient's size
    is ignored (useful when gradients are badly scaled)::

        w <- w - lr * sign(dE/dw)          (no step where the gradient is exactly 0)

    Args:
        params: Parameters or parameter groups (dicts); leave it out to bind the
            optimiser later (``model.compile`` does, Keras style).
        lr: the size of every step, >= 0 (default 0.01). ``learning_rate=`` is the same
            (Keras's name); give one of them.

    It keeps no state but the step count. ``Rprop`` is the adaptive version: one step
    size per weight, grown and shrunk by the gradient's sign.
    """

    update = staticmethod(manhattan_update)
    scratch_count = 1

    def __init__(self, params=None, lr=None, *, learning_rate=None, **unknown):
        lr = pick_lr(self, lr, learning_rate, 0.01)
        super().__init__(params, {"lr": lr}, unknown)

    def check_hyper(self, hyper):
        return {"lr": check_lr(self, hyper["lr"])}
