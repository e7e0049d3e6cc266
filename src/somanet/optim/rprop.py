"""Resilient propagation (Rprop): steps that use only the sign of the gradient, with a
step size per weight that grows while the sign holds and shrinks when it flips."""
from ..backend import xp_of
from .optimizer import Optimizer, check_lr, check_number, check_pair, pick_lr


def rprop_update(param, grad, state, scratch, *, lr, etas, step_sizes):
    """One Rprop (iRprop-) step on raw arrays, in place (see ``Rprop`` for the rule).

    ``state`` holds ``"prev"`` (the previous gradient, zeroed where its sign flipped)
    and ``"step_size"`` (one per weight, starting at ``lr``). ``lr`` itself is only
    read when the state is created.
    """
    xp = xp_of(param)
    (factor,) = scratch
    eta_minus, eta_plus = etas
    smallest, largest = step_sizes
    prev, step_size = state["prev"], state["step_size"]
    xp.multiply(grad, prev, out=factor)  # g_t * g_(t-1)
    same_sign = factor > 0
    flipped = factor < 0
    factor.fill(1.0)
    xp.copyto(factor, eta_plus, where=same_sign)
    xp.copyto(factor, eta_minus, where=flipped)
    step_size *= factor
    xp.clip(step_size, smallest, largest, out=step_size)
    xp.copyto(prev, grad)
    xp.copyto(prev, 0.0, where=flipped)  # iRprop-: no step where the sign flipped
    xp.sign(prev, out=factor)
    factor *= step_size
    param -= factor  # w = w - sign(g) * step


class Rprop(Optimizer):
    r"""Resilient propagation (Riedmiller & Braun, 1993), in the iRprop- variant (Igel &
    Huesken, 2000), the same rule as PyTorch's ``torch.optim.Rprop``.

    Each weight has its own step size ``d`` (starting at ``lr``); only the sign of the
    gradient ``g`` is used. With ``g'`` the previous step's gradient::

        if g * g' > 0:  d <- min(d * eta_plus, d_max)     (same direction: speed up)
        if g * g' < 0:  d <- max(d * eta_minus, d_min)    (overshot: slow down)
                        g <- 0                            (and skip this weight once)
        w <- w - sign(g) * d
        g' <- g

    Rprop is meant for full-batch training: mini-batch noise flips the signs.

    Args:
        params: Parameters or parameter groups (dicts); leave it out to bind the
            optimiser later (``model.compile`` does, Keras style).
        lr: the initial step size of every weight, >= 0 (default 0.01; or
            ``learning_rate=``, Keras's name; later changes to ``lr``, e.g. by
            a schedule, do not affect weights that already have a step size).
        etas: ``(eta_minus, eta_plus)`` with ``0 < eta_minus < 1 < eta_plus``
            (default ``(0.5, 1.2)``).
        step_sizes: ``(d_min, d_max)``, the bounds of the step sizes
            (default ``(1e-6, 50)``).
    """

    update = staticmethod(rprop_update)
    scratch_count = 1

    def __init__(self, params=None, lr=None, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), *,
                 learning_rate=None, **unknown):
        lr = pick_lr(self, lr, learning_rate, 0.01)
        super().__init__(params, {"lr": lr, "etas": etas, "step_sizes": step_sizes}, unknown)

    def check_hyper(self, hyper):
        eta_minus, eta_plus = check_pair(self, "etas", hyper["etas"], check_number)
        if not 0.0 < eta_minus < 1.0 < eta_plus:
            raise ValueError(f"Rprop: etas must be (eta_minus, eta_plus) with 0 < eta_minus < "
                             f"1 < eta_plus, got {(eta_minus, eta_plus)}; e.g. (0.5, 1.2)")
        smallest, largest = check_pair(self, "step_sizes", hyper["step_sizes"], check_number)
        if smallest > largest:
            raise ValueError(f"Rprop: step_sizes must be (d_min, d_max) with "
                             f"0 <= d_min <= d_max, got {(smallest, largest)}; "
                             f"e.g. (1e-6, 50)")
        return {"lr": check_lr(self, hyper["lr"]), "etas": (eta_minus, eta_plus),
                "step_sizes": (smallest, largest)}

    def init_state(self, param, hyper):
        xp = xp_of(param)
        return {"prev": xp.zeros_like(param), "step_size": xp.full_like(param, hyper["lr"])}
