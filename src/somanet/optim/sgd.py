"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from .._checks import check_flag
from ..backend import kernels_optim, xp_of
from .optimizer import Optimizer, check_lr, check_number, pick_lr


def sgd_update(param, grad, state, scratch, *, lr, momentum, weight_decay, nesterov, dampening):
    """One SGD step on raw arrays, in place (see ``SGD`` for the formula).

    Args:
        param: the parameter's array, updated in place.
        grad: its gradient, read only (it may be shared with another parameter).
        state: ``{"step": n}`` and, when ``momentum > 0``, ``"momentum_buffer"``.
        scratch: two arrays shaped like ``param`` for intermediate values.

    The step is ``backend.kernels_optim.sgd``: with momentum, one fused pass on the CPU
    when numba is installed. The first step is never dampened (PyTorch starts the buffer
    at the gradient).
    """
    kernels_optim.sgd(param, grad, state.get("momentum_buffer"), lr, momentum, weight_decay,
                      nesterov, scratch, dampening=dampening if state["step"] > 1 else 0.0)


class SGD(Optimizer):
    r"""Stochastic gradient descent, plain or with momentum (Polyak's heavy ball, or
    Nesterov's).

    With gradient ``g`` of parameter ``w``, learning rate ``lr``, momentum ``m``,
    dampening ``d`` and weight decay ``wd`` (PyTorch's formulation)::

        g <- g + wd * w                     (if wd > 0: L2 penalty wd/2 |w|^2)
        b <- m * b + (1 - d) * g            (if m > 0; b = g on step 1, undampened)
        g <- g + m * b   if nesterov else b (if m > 0)
        w <- w - lr * g

    With ``momentum=0`` this is plain gradient descent, ``w <- w - lr * dE/dw``.

    Args:
        params: Parameters (``model.parameters()``) or parameter groups (dicts); leave
            it out to bind the optimiser later (``model.compile`` does, Keras style).
        lr: the learning rate, >= 0 (default 0.01). ``learning_rate=`` is the same
            (Keras's name); give one of them.
        momentum: the momentum factor ``m`` in [0, 1); 0 turns momentum off.
        weight_decay: the L2 penalty ``wd`` >= 0, added to the gradient.
        nesterov: Nesterov momentum (needs ``momentum > 0`` and no dampening).
        dampening: ``d`` in [0, 1], how much of each new gradient the momentum buffer
            leaves out (PyTorch's; default 0).

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

    def __init__(self, params=None, lr=None, momentum=0.0, weight_decay=0.0, nesterov=False,
                 dampening=0.0, *, learning_rate=None, **unknown):
        lr = pick_lr(self, lr, learning_rate, 0.01)
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "nesterov": nesterov, "dampening": dampening}, unknown)

    def check_hyper(self, hyper):
        checked = {
            "lr": check_lr(self, hyper["lr"]),
            "momentum": check_number(self, "momentum", hyper["momentum"], 0.0, 1.0,
                                     what="a momentum factor in [0, 1)"),
            "weight_decay": check_number(self, "weight_decay", hyper["weight_decay"],
                                         what="a non-negative weight decay in [0, inf)"),
            "nesterov": check_flag(self, "nesterov", hyper["nesterov"]),
            "dampening": check_number(self, "dampening", hyper.get("dampening", 0.0), 0.0, 1.0,
                                      high_open=False, what="a dampening in [0, 1]"),
        }
        if checked["nesterov"] and checked["momentum"] == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0 (Nesterov momentum is a "
                             "kind of momentum); set e.g. momentum=0.9, or nesterov=False")
        if checked["nesterov"] and checked["dampening"]:
            raise ValueError(f"SGD: nesterov=True needs dampening=0 (as PyTorch), got "
                             f"dampening={checked['dampening']}")
        return checked

    def init_state(self, param, hyper):
        if hyper["momentum"]:
            return {"momentum_buffer": xp_of(param).zeros_like(param)}
        return {}

