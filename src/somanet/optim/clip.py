"""Gradient clipping, between ``backward()`` and ``step()``.

Both functions give each gradient a new array (``p.grad.data = clipped``) rather than
scaling in place: one gradient array may be shared by several parameters (autograd
hands the same array to two leaves of an ``a + b``), and scaling it in place would
scale it once per parameter.
"""
import math

from ..autograd import recordable
from ..backend import device_of, same_device, xp_of
from ..tensor import Tensor
from .optimizer import check_number


@recordable
def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    r"""Scale the gradients so that their total norm is at most ``max_norm``.

    The total norm is that of all gradients concatenated into one vector::

        total = (sum_i |g_i|^p)^(1/p)          (p = norm_type; max_i |g_i| for inf)
        g <- g * min(1, max_norm / (total + 1e-6))

    Parameters without a gradient are skipped. Each gradient gets a new array
    (see the module docstring); the scale is computed on the device, without a
    host synchronisation.

    Args:
        parameters: a Parameter or an iterable of them (``model.parameters()``).
        max_norm: the largest total norm allowed, > 0.
        norm_type: ``p`` > 0, or ``float("inf")`` for the largest absolute value.

    Returns:
        The total norm before clipping, a 0-d Tensor (``float(total)`` for a number).

        >>> import somanet as sn
        >>> from somanet.nn.parameter import Parameter
        >>> w = Parameter(sn.zeros(2)); w.grad = sn.tensor([3.0, 4.0])
        >>> float(sn.optim.clip_grad_norm_([w], max_norm=1.0))
        5.0
        >>> [round(value, 4) for value in w.grad.tolist()]  # scaled by 1 / (5 + 1e-6)
        [0.6, 0.8]
    """
    max_norm = check_number("clip_grad_norm_", "max_norm", max_norm, low_open=True,
                            what="a positive finite number")
    norm_type = check_number("clip_grad_norm_", "norm_type", norm_type, low_open=True,
                             high_open=False, what="a positive number (or inf)")
    grads = _grads("clip_grad_norm_", parameters)
    if not grads:
        return Tensor(0.0)
    first = grads[0].data
    xp = xp_of(first)
    if norm_type == math.inf:
        norms = [xp.abs(grad.data).max() if grad.data.size else xp.zeros((), grad.dtype)
                 for grad in grads]
        total = xp.stack(norms).max()
    else:
        norms = [_norm(xp, grad.data, norm_type) for grad in grads]
        total = xp.stack(norms)
        total = xp.sqrt(xp.vdot(total, total)) if norm_type == 2.0 else (
            (total ** norm_type).sum() ** (1.0 / norm_type))
    total = xp.asarray(total, dtype=first.dtype)
    scale = xp.minimum(max_norm / (total + 1e-6), 1.0).astype(first.dtype)
    for grad in grads:
        grad.data = grad.data * scale.astype(grad.data.dtype, copy=False)
    result = Tensor.__new__(Tensor)
    result.data = total
    return result


@recordable
def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element into ``[-clip_value, clip_value]``.

    Parameters without a gradient are skipped; each gradient gets a new array (see the
    module docstring).

    Args:
        parameters: a Parameter or an iterable of them (``model.parameters()``).
        clip_value: the largest absolute value allowed, > 0.

        >>> import somanet as sn
        >>> from somanet.nn.parameter import Parameter
        >>> w = Parameter(sn.zeros(3)); w.grad = sn.tensor([-3.0, 0.5, 2.0])
        >>> sn.optim.clip_grad_value_([w], 1.0)
        >>> w.grad
        tensor([-1. ,  0.5,  1. ])
    """
    clip_value = check_number("clip_grad_value_", "clip_value", clip_value, low_open=True,
                              what="a positive finite number")
    for grad in _grads("clip_grad_value_", parameters):
        grad.data = xp_of(grad.data).clip(grad.data, -clip_value, clip_value)


def _norm(xp, array, norm_type):
    """The ``norm_type``-norm of one array, as a 0-d array of its dtype."""
    flat = array.reshape(-1)
    if norm_type == 2.0:
        return xp.sqrt(xp.vdot(flat, flat))
    if norm_type == 1.0:
        return xp.abs(flat).sum()
    return (xp.abs(flat) ** norm_type).sum() ** (1.0 / norm_type)


def _grads(name, parameters):
    """The ``.grad`` Tensors of the parameters that have one, checked for one device."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for index, param in enumerate(parameters):
        if not isinstance(param, Tensor):
            raise TypeError(f"{name}: parameter {index} is a {type(param).__name__}, not a "
                            f"Parameter; pass model.parameters() or a list of Parameters")
        if param.grad is not None:
            grads.append(param.grad)
    for grad in grads[1:]:
        if not same_device(grad.data, grads[0].data):
            raise ValueError(f"{name}: the gradients are on {device_of(grads[0].data)} and "
                             f"{device_of(grad.data)}; clip the parameters of each device "
                             f"separately")
    return grads

