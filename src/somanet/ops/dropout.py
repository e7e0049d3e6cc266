"""Dropout: zero random elements in training, so units cannot co-adapt.

Srivastava et al. (2014) drop 50% of the hidden units.

Inverted dropout: the kept values are scaled by ``1 / (1 - p)`` in training,
so the expected value of each element is unchanged and evaluation is the
identity (no rescaling at test time).
"""
from .._checks import check_fraction
from ..autograd.function import Function
from ..backend import device_of, float32, generator
from ..tensor import Tensor


class Dropout(Function):
    """``y = x * keep / (1 - p)`` with ``keep = (u >= p)``, ``u`` uniform in [0, 1).

    The boolean mask is drawn from the device's generator in float32 and
    saved for backward: ``dL/dx = dL/dy * keep / (1 - p)``.
    """

    def forward(ctx, x, p):
        keep = generator(device_of(x)).random(x.shape, dtype=float32) >= p
        ctx.save_for_backward(keep)
        ctx.scale = 1 / (1 - p)
        out = x * keep
        out *= ctx.scale
        return out

    def backward(ctx, grad):
        (keep,) = ctx.saved
        out = grad * keep
        out *= ctx.scale
        return out


def dropout(x, p=0.5, training=True):
    """Inverted dropout: in training each element is zeroed with probability ``p``
    and the survivors are scaled by ``1 / (1 - p)``; otherwise the identity.

    Randomness comes from ``somanet.backend.generator(x.device)``, so
    ``somanet.manual_seed(n)`` makes the masks reproducible.

    Args:
        x: float tensor.
        p: the probability of dropping an element, in [0, 1).
        training: drop only when True (a model in eval mode passes False).

    Shape: any -> the same.

    Returns:
        A new tensor in training with ``p > 0``, else ``x`` itself.

        >>> import somanet as sn
        >>> x = sn.ones(4)
        >>> sn.dropout(x, 0.5, training=False) is x
        True
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"dropout: expected a Tensor input, got {type(x).__name__}")
    try:
        p = check_fraction("dropout", "p", p, what="a probability in [0, 1)")
    except ValueError as error:
        raise type(error)(f"{error}; p is the fraction of elements dropped (p=0.2 keeps "
                          f"80%)") from None
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: expected a float input, got dtype {x.dtype}; cast it with "
                        f".astype('float32')")
    if not training or p == 0:
        return x
    return Dropout.apply(x, p=float(p))
