"""RMSprop: divide the gradient by a running root mean square of its recent values."""
from .._checks import check_flag
from ..backend import xp_of
from .optimizer import Optimizer, check_lr, check_number, pick_lr


def rmsprop_update(param, grad, state, scratch, *, lr, alpha, eps, weight_decay, momentum,
                   centered):
    """One RMSprop step on raw arrays, in place (see ``RMSprop`` for the formula).

    ``state`` holds ``"square_avg"`` (v), with momentum ``"momentum_buffer"`` (b), and
    when ``centered`` ``"grad_avg"`` (a).
    """
    xp = xp_of(param)
    first, second = scratch
    if weight_decay:
        xp.multiply(param, weight_decay, out=first)
        first += grad  # g + wd w
        grad = first
    square_avg = state["square_avg"]
    square_avg *= alpha
    xp.multiply(grad, grad, out=second)
    second *= 1 - alpha
    square_avg += second  # v = a v + (1 - a) g^2
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg *= alpha
        xp.multiply(grad, 1 - alpha, out=second)
        grad_avg += second  # a = alpha a + (1 - alpha) g
        xp.multiply(grad_avg, grad_avg, out=second)
        xp.subtract(square_avg, second, out=second)
        xp.sqrt(second, out=second)  # sqrt(v - a^2)
    else:
        xp.sqrt(square_avg, out=second)
    second += eps
    xp.divide(grad, second, out=second)  # g / (sqrt(v) + eps)
    if momentum:
        buffer = state["momentum_buffer"]
        buffer *= momentum
        buffer += second  # b = m b + g / (sqrt(v) + eps)
        xp.multiply(buffer, lr, out=second)
    else:
        second *= lr
    param -= second


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012): each weight's step is its gradient divided by the root of
    a running average of its squared gradients.

    With gradient ``g``::

        g <- g + wd * w                     (if weight_decay > 0)
        v <- a * v + (1 - a) * g^2          (v starts at 0)
        d = g / (sqrt(v) + eps)
          (centered: mu <- a * mu + (1 - a) * g;  d = g / (sqrt(v - mu^2) + eps))
        b <- m * b + d;  d = b              (if momentum m > 0; b starts at 0)
        w <- w - lr * d

    Args:
        params: Parameters or parameter groups (dicts); leave it out to bind the
            optimiser later (``model.compile`` does, Keras style).
        lr: the learning rate, >= 0 (default 0.01). ``learning_rate=`` is the same
            (Keras's name); give one of them.
        alpha: the decay rate ``a`` of the average, in [0, 1).
        eps: added to the denominator, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        momentum: the momentum factor ``m`` in [0, 1); 0 turns it off.
        centered: divide by the root of the gradient's estimated variance instead of its
            mean square (Graves, 2013; PyTorch's ``centered``), keeping the average
            gradient ``mu`` as the state array ``"grad_avg"``.
    """

    update = staticmethod(rmsprop_update)
    scratch_count = 2

    def __init__(self, params=None, lr=None, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, learning_rate=None, **unknown):
        lr = pick_lr(self, lr, learning_rate, 0.01)
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered}, unknown)

    def check_hyper(self, hyper):
        return {
            "lr": check_lr(self, hyper["lr"]),
            "alpha": check_number(self, "alpha", hyper["alpha"], 0.0, 1.0,
                                  what="a decay rate in [0, 1)"),
            "eps": check_number(self, "eps", hyper["eps"],
                                what="a non-negative number in [0, inf)"),
            "weight_decay": check_number(self, "weight_decay", hyper["weight_decay"],
                                         what="a non-negative weight decay in [0, inf)"),
            "momentum": check_number(self, "momentum", hyper["momentum"], 0.0, 1.0,
                                     what="a momentum factor in [0, 1)"),
            "centered": check_flag(self, "centered", hyper.get("centered", False)),
        }

    def init_state(self, param, hyper):
        xp = xp_of(param)
        state = {"square_avg": xp.zeros_like(param)}
        if hyper["momentum"]:
            state["momentum_buffer"] = xp.zeros_like(param)
        if hyper["centered"]:
            state["grad_avg"] = xp.zeros_like(param)
        return state
