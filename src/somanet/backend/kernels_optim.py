"""Fused optimiser updates: one pass over parameter, gradient and state, compiled with
numba; ``None`` when they do not apply, and the optimiser then runs its NumPy update.

Each function has the maths of the matching update in ``somanet.optim`` (same
formulas, same in-place results up to float rounding), checked against it in
``tests/backend/test_kernels_optim.py``:

- ``adam(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, l2, decay)``:
  Adam's step with an L2 term ``l2 * w`` added to the gradient (Adam's weight
  decay) and the weights first multiplied by ``decay`` (AdamW's ``1 - lr * wd``).
- ``sgd(param, grad, momentum_buffer, lr, momentum, weight_decay, nesterov)``.

Each returns True when it did the update, False when it does not apply (no
numba, a GPU array, a non-contiguous array).

Why: the NumPy updates are ten or so memory-bound passes through temporaries;
one compiled loop reads each array once.
"""
import math

import numpy as np

from .jit import compiles_for, lazy_kernels


def _build(numba):
    """Compile the kernels (on first use; numba caches them on disk). NumPy's error model
    (a division by zero gives inf, not an exception) lets LLVM vectorise the loops."""

    @numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
    def adam_kernel(p, g, m, v, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2,
                    inv_sqrt_correction2, eps, l2, decay):
        for i in range(p.size):
            grad = g[i] + l2 * p[i]
            mi = beta1 * m[i] + one_minus_beta1 * grad
            vi = beta2 * v[i] + one_minus_beta2 * grad * grad
            m[i] = mi
            v[i] = vi
            p[i] = p[i] * decay - step_size * mi / (np.sqrt(vi) * inv_sqrt_correction2 + eps)

    @numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
    def sgd_momentum_kernel(p, g, b, lr, momentum, weight_decay, nesterov):
        for i in range(p.size):
            grad = g[i] + weight_decay * p[i]
            bi = momentum * b[i] + grad
            b[i] = bi
            if nesterov:
                p[i] -= lr * (grad + momentum * bi)
            else:
                p[i] -= lr * bi

    return adam_kernel, sgd_momentum_kernel


_kernels = lazy_kernels(_build)


def adam(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, l2=0.0, decay=1.0):
    """One fused Adam/AdamW step in place (see the module docstring); True if done."""
    if not compiles_for(param, grad, exp_avg, exp_avg_sq) or grad.dtype != param.dtype:
        return False
    kernels = _kernels()
    if kernels is None:
        return False
    number = param.dtype.type  # float32 scalars keep the loop in float32
    correction1 = 1 - beta1 ** step
    correction2 = 1 - beta2 ** step
    kernels[0](param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
               exp_avg_sq.reshape(-1), number(lr / correction1), number(beta1),
               number(1 - beta1), number(beta2), number(1 - beta2),
               number(1 / math.sqrt(correction2)), number(eps), number(l2), number(decay))
    return True


def sgd(param, grad, momentum_buffer, lr, momentum, weight_decay, nesterov):
    """One fused SGD-with-momentum step in place (see the module docstring); True if done."""
    if not compiles_for(param, grad, momentum_buffer) or grad.dtype != param.dtype:
        return False
    kernels = _kernels()
    if kernels is None:
        return False
    number = param.dtype.type
    kernels[1](param.reshape(-1), grad.reshape(-1), momentum_buffer.reshape(-1), number(lr),
               number(momentum), number(weight_decay), bool(nesterov))
    return True
