"""Helpers the layers share: argument checks and where a lazy layer builds."""
import numbers

from ..tensor import Tensor
from .parameter import Parameter


def device_and_dtype(x):
    """The device and float dtype a lazy layer builds its parameters in, from its first
    input: the input's device, and its dtype when it is a float (else the default)."""
    dtype = x.dtype if x.dtype.kind == "f" else None
    return x.device, dtype


def check_size(value, name, allow_none=False):
    """``value`` as a positive int (a layer size), or ``None`` when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_tuple(value, n, name, minimum=1):
    """An int or a sequence of ``n`` ints as an ``n``-tuple, each at least ``minimum``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        value = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or {n} ints, got {value!r}") from None
    if len(value) != n or not all(isinstance(item, numbers.Integral) and item >= minimum
                                  for item in value):
        raise ValueError(f"{name} must be an int or {n} ints, each >= {minimum}, got {value!r}")
    return tuple(int(item) for item in value)


def shape_of(x):
    """``x``'s shape for an error message (its type name when it has no shape)."""
    return tuple(x.shape) if hasattr(x, "shape") else type(x).__name__


def new_parameter(array):
    """A Parameter holding ``array`` as it is (its dtype kept: a float64 array made for a
    float64 input stays float64, where ``Parameter(array)`` would apply the dtype policy)."""
    tensor = Tensor.__new__(Tensor)
    tensor.data = array
    return Parameter(tensor)
