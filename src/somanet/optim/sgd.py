"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from .._checks import check_flag
from ..backend import kernels_optim, xp_of
from .optimizer import Optimizer, check_lr, check_number


def sgd_update(param, grad, state, scratch, *, lr, momentum, weight_decay, nesterov):
    """One SGD step on raw arrays, in place (see ``SGD`` for the formula).

    Args:
        param: the parameter's array, updated in place.
        grad: its gradient, read only (it may be shared with another parameter).
        state: ``{"step": n}`` and, when ``momentum > 0``, ``"momentum_buffer"``.
        scratch: two arrays shaped like ``param`` for intermediate values.

    The step is ``backend.kernels_optim.sgd``: with momentum, one fused pass on the CPU
    when numba is installed.
    """
    kernels_optim.sgd(param, grad, state.get("momentum_buffer"), lr, momentum, weight_decay,
                      nesterov, scratch)


class SGD(Optimizer):
    r"""Stochastic gradient descent, plain or with momentum (Polyak's heavy ball, or
    Nesterov's).

    With gradient ``g`` of parameter ``w``, learning rate ``lr``, momentum ``m`` and weight
    decay ``wd`` (PyTorch's formulation, no dampening)::

        g <- g + wd * w                     (if wd > 0: L2 penalty wd/2 |w|^2)
        b <- m * b + g                      (if m > 0; b starts at 0, so b = g on step 1)
        g <- g + m * b   if nesterov else b (if m > 0)
        w <- w - lr * g

    With ``momentum=0`` this is plain gradient descent, ``w <- w - lr * dE/dw``.

    Args:
        params: Parameters (``model.parameters()``) or parameter groups (dicts).
        lr: the learning rate, >= 0.
        momentum: the momentum factor ``m`` in [0, 1); 0 turns momentum off.
        weight_decay: the L2 penalty ``wd`` >= 0, added to the gradient.
        nesterov: Nesterov momentum (needs ``momentum > 0``).

    Momentum and a learning rate that decays epoch by epoch::

        >>> import somanet as sn
        >>> from somanet.nn.parameter import Parameter
        >>> w = Parameter(sn.tensor([0.5, -0.5, 0.3, 0.1]))
        >>> optimizer = sn.optim.SGD([w], lr=0.5, momentum=0.9)
        >>> schedule = sn.optim.ExponentialLR(optimizer, gamma=0.95)  # lr * 0.95 each epoch
        >>> for epoch in range(3):
        ...     optimizer.zero_grad()
        ...     loss = (w * w).sum()
        ...     loss.backward()
        ...     optimizer.step()
        ...     schedule.step()
        >>> round(optimizer.param_groups[0]["lr"], 6)
        0.428687
    """

    update = staticmethod(sgd_update)
    scratch_count = 2

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0, nesterov=False,
                 **unknown):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "nesterov": nesterov}, unknown)

    def check_hyper(self, hyper):
        checked = {
            "lr": check_lr(self, hyper["lr"]),
            "momentum": check_number(self, "momentum", hyper["momentum"], 0.0, 1.0,
                                     what="a momentum factor in [0, 1)"),
            "weight_decay": check_number(self, "weight_decay", hyper["weight_decay"],
                                         what="a non-negative weight decay in [0, inf)"),
            "nesterov": check_flag(self, "nesterov", hyper["nesterov"]),
        }
        if checked["nesterov"] and checked["momentum"] == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0 (Nesterov momentum is a "
                             "kind of momentum); set e.g. momentum=0.9, or nesterov=False")
        return checked

    def init_state(self, param, hyper):
        if hyper["momentum"]:
            return {"momentum_buffer": xp_of(param).zeros_like(param)}
        return {}

