"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""
from .._checks import check_flag
from ..backend import kernels_optim, xp_of
from .optimizer import Optimizer, check_lr, check_number, check_pair, pick_lr


def adam_update(param, grad, state, scratch, *, lr, betas, eps, weight_decay, amsgrad):
    """One Adam step on raw arrays, in place (see ``Adam`` for the formula).

    ``state`` holds ``"step"`` (already counting this step), ``"exp_avg"`` (m),
    ``"exp_avg_sq"`` (v) and, with ``amsgrad``, ``"max_exp_avg_sq"``; ``scratch`` two
    arrays shaped like ``param``. The step is ``backend.kernels_optim.adam``: one fused
    pass on the CPU when numba is installed (AMSGrad included).
    """
    kernels_optim.adam(param, grad, state["exp_avg"], state["exp_avg_sq"], state["step"], lr,
                       *betas, eps, l2=weight_decay, scratch=scratch,
                       max_exp_avg_sq=state.get("max_exp_avg_sq"))


def adamw_update(param, grad, state, scratch, *, lr, betas, eps, weight_decay, amsgrad):
    """One AdamW step on raw arrays, in place: decay the weights, then an Adam step."""
    kernels_optim.adam(param, grad, state["exp_avg"], state["exp_avg_sq"], state["step"], lr,
                       *betas, eps, decay=1 - lr * weight_decay, scratch=scratch,
                       max_exp_avg_sq=state.get("max_exp_avg_sq"))


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015): each weight's step is scaled by running estimates of
    the mean and uncentred variance of its gradient.

    With gradient ``g`` at step ``t`` (counting from 1)::

        g <- g + wd * w                          (if weight_decay > 0: L2 penalty)
        m <- b1 * m + (1 - b1) * g               (m, v start at 0)
        v <- b2 * v + (1 - b2) * g^2
        m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)

    With ``amsgrad=True`` (Reddi et al., 2018; PyTorch's) the denominator uses the
    largest ``v`` so far: ``v_max <- max(v_max, v)``, ``v_hat = v_max / (1 - b2^t)``;
    ``v_max`` is the state array ``"max_exp_avg_sq"`` (in the state dict). A state
    dict saved without it cannot be loaded into an AMSGrad optimiser (the error names
    the missing array), as in PyTorch, whose AMSGrad step needs it too.

    Args:
        params: Parameters or parameter groups (dicts); leave it out to bind the
            optimiser later (``model.compile`` does, Keras style).
        lr: the learning rate (step size), >= 0 (default 0.001). ``learning_rate=`` is
            the same (Keras's name); give one of them.
        betas: ``(b1, b2)``, the decay rates of the two averages, each in [0, 1).
        eps: added to the denominator for numerical stability, >= 0.
        weight_decay: L2 penalty added to the gradient (use ``AdamW`` for decoupled
            weight decay, which usually works better with Adam).
        amsgrad: keep the maximum of the second moment (AMSGrad).

        >>> import somanet as sn
        >>> from somanet.nn.parameter import Parameter
        >>> w = Parameter(sn.tensor([1.0, -1.0]))
        >>> optimizer = sn.optim.Adam([w], lr=0.1)
        >>> w.grad = sn.tensor([3.0, -0.5]); optimizer.step()
        >>> [round(value, 4) for value in w.tolist()]  # the first step is lr * sign(g)
        [0.9, -0.9]
    """

    update = staticmethod(adam_update)
    scratch_count = 2

    def __init__(self, params=None, lr=None, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, learning_rate=None, **unknown):
        lr = pick_lr(self, lr, learning_rate, 1e-3)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad}, unknown)

    def check_hyper(self, hyper):
        return {
            "lr": check_lr(self, hyper["lr"]),
            "betas": check_pair(self, "betas", hyper["betas"], _check_beta),
            "eps": check_number(self, "eps", hyper["eps"],
                                what="a non-negative number in [0, inf)"),
            "weight_decay": check_number(self, "weight_decay", hyper["weight_decay"],
                                         what="a non-negative weight decay in [0, inf)"),
            "amsgrad": check_flag(self, "amsgrad", hyper.get("amsgrad", False)),
        }

    def init_state(self, param, hyper):
        xp = xp_of(param)
        state = {"exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
        if hyper["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(param)
        return state


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    The weights shrink by ``lr * wd`` before the Adam step, instead of an L2 term
    being added to the gradient (where Adam's scaling would weaken it)::

        w <- w * (1 - lr * wd)
        then the Adam step of ``Adam`` with weight_decay = 0

    Args:
        params: Parameters or parameter groups (dicts), or nothing (bound later).
        lr: the learning rate, >= 0 (default 0.001; or ``learning_rate=``).
        betas: ``(b1, b2)``, each in [0, 1).
        eps: added to the denominator, >= 0.
        weight_decay: the decoupled decay ``wd`` >= 0 (default 0.01).
        amsgrad: keep the maximum of the second moment (AMSGrad), as ``Adam``'s.
    """

    update = staticmethod(adamw_update)

    def __init__(self, params=None, lr=None, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, learning_rate=None, **unknown):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, learning_rate=learning_rate, **unknown)


def _check_beta(owner, name, value):
    return check_number(owner, name, value, 0.0, 1.0, what="a decay rate in [0, 1)")
