"""Helpers the layers share: argument checks and where a lazy layer builds."""
from .._checks import check_positive_int, is_int, owner_name
from ..tensor import Tensor
from .parameter import Parameter


def device_and_dtype(x):
    """The device and float dtype a lazy layer builds its parameters in, from its first
    input: the input's device, and its dtype when it is a float (else the default)."""
    dtype = x.dtype if x.dtype.kind == "f" else None
    return x.device, dtype


def check_size(owner, name, value, allow_none=False):
    """``value`` as a positive int (a layer size), or ``None`` when allowed; ``owner`` is
    the layer (its class name starts the message)."""
    if value is None and allow_none:
        return None
    return check_positive_int(owner, name, value, what="a positive int")


def check_tuple(owner, name, value, n, minimum=1):
    """An int or a sequence of ``n`` ints as an ``n``-tuple, each at least ``minimum``."""
    if is_int(value):
        value = (int(value),) * n
    try:
        value = tuple(value)
    except TypeError:
        raise TypeError(f"{owner_name(owner)}: {name} must be an int or {n} ints, got "
                        f"{value!r}") from None
    if len(value) != n or not all(is_int(item) and item >= minimum for item in value):
        raise ValueError(f"{owner_name(owner)}: {name} must be an int or {n} ints, each >= "
                         f"{minimum}, got {value!r}")
    return tuple(int(item) for item in value)


def check_input_shape(owner, value, ndim=None, what="the shape of one sample", open_axis=-1):
    """Keras's ``input_shape=``: the shape of one sample, without the batch axis, as a
    tuple of positive ints (``None`` for a size left open, but the axis ``open_axis``,
    the one the layer's size comes from: the features, or the channels, 0); ``None``
    stays ``None``. ``ndim`` is the number of axes the layer needs, if fixed. A layer keeps it
    as ``self.input_shape``: the first layer of a ``Sequential`` builds the model from it."""
    if value is None:
        return None
    name = owner_name(owner)
    shape = (value,) if is_int(value) else value
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{name}: input_shape must be {what} (a tuple of ints, without the "
                        f"batch axis), got {value!r}") from None
    fixed = "the last" if open_axis == -1 else "the first"
    open_ok = all(item is None or (is_int(item) and item >= 1) for item in shape)
    if not shape or not open_ok or shape[open_axis] is None \
            or (ndim is not None and len(shape) != ndim):
        axes = f"{ndim} positive ints" if ndim else "positive ints"
        raise ValueError(f"{name}: input_shape must be {what} without the batch axis, "
                         f"{axes} (None for a size left open, but {fixed}), got {value!r}")
    return tuple(None if item is None else int(item) for item in shape)


def shape_of(x):
    """``x``'s shape for an error message (its type name when it has no shape)."""
    return tuple(x.shape) if hasattr(x, "shape") else type(x).__name__


def new_parameter(array):
    """A Parameter holding ``array`` as it is (its dtype kept: a float64 array made for a
    float64 input stays float64, where ``Parameter(array)`` would apply the dtype policy)."""
    tensor = Tensor.__new__(Tensor)
    tensor.data = array
    return Parameter(tensor)
