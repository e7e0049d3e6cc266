"""How operands meet: Python scalars and raw arrays become Tensors, by the dtype policy.

A Python scalar or an integer tensor combined with a float tensor takes the
float tensor's dtype; an integer tensor combined with a Python float takes
the default float dtype. Two float dtypes that differ are an error (raised
by ``Function.apply``), never a silent upcast.
"""
from ..backend import common_float_dtype, get_default_dtype, xp_of
from ..tensor import Tensor, as_array


# Python numbers met in ops (x * 0.5, 1 - x) as read-only 0-d tensors, made once each.
_CONSTANTS = {}


def as_tensor_operand(value, like):
    """``value`` (Tensor, Python scalar, array or list) as a Tensor that can meet ``like``."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        xp = xp_of(like.data)
        key = (value, type(value), like.data.dtype, xp)
        found = _CONSTANTS.get(key)
        if found is None:
            dtype = like.data.dtype
            if dtype.kind != "f":
                dtype = get_default_dtype() if isinstance(value, float) else \
                    xp.result_type(dtype, value)
            if len(_CONSTANTS) >= 4096:
                _CONSTANTS.clear()
            found = _CONSTANTS[key] = Tensor.__new__(Tensor)
            found.data = xp.asarray(value, dtype=dtype)
        return found
    dtype = like.data.dtype if like.data.dtype.kind == "f" else None
    wrapped = Tensor.__new__(Tensor)
    wrapped.data = as_array(value, dtype=dtype, device=like.device)
    return wrapped


def constant_value(tensor):
    """The Python number ``tensor`` stands for, if it is one of the 0-d tensors made
    here for a Python number in an expression (whose value never changes), else None."""
    if tensor.data.shape:
        return None
    for (value, _, _, _), found in _CONSTANTS.items():
        if found is tensor:
            return value
    return None


def placeholder_call(name, values, params=None):
    """What an op called on functional-API placeholders gives: the first value with a
    ``symbolic_op`` (``somanet.train``'s ``KerasTensor``) builds the op's merge layer
    (``sn.concatenate([a, b])`` on ``Input`` placeholders is ``nn.Concatenate()([a, b])``);
    ``None`` when there is none (the op runs on Tensors as usual)."""
    for value in values:
        hook = getattr(value, "symbolic_op", None)
        if hook is not None:
            return hook(name, list(values), params or {})
    return None


def binary_operands(a, b, name):
    """``a`` and ``b`` as Tensors of one dtype (see the module docstring).

    Raises:
        TypeError: two different float dtypes (naming the op and both).
    """
    if type(a) is Tensor and type(b) is Tensor and a.data.dtype is b.data.dtype:
        return a, b
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{name}: expected at least one Tensor, got {type(a).__name__} "
                            f"and {type(b).__name__}")
        a = as_tensor_operand(a, b)
    else:
        b = as_tensor_operand(b, a)
    dtype = common_float_dtype(a.data.dtype, b.data.dtype, name)
    if dtype is None:
        return a, b
    if a.data.dtype != dtype:
        a = cast_integer(a, dtype)
    if b.data.dtype != dtype:
        b = cast_integer(b, dtype)
    return a, b


def cast_integer(tensor, dtype):
    """An integer or bool tensor as ``dtype`` (it has no gradient to carry), through the
    cast op, so a graph records it."""
    from .conversion import AsType
    return AsType.apply(tensor, dtype=dtype)


def integer_as_float(tensor, like):
    """``tensor`` cast to ``like``'s float dtype when it holds integers (image pixels as
    uint8, counts) and ``like`` floats; else ``tensor`` unchanged (bools too)."""
    if getattr(tensor, "dtype", None) is not None and tensor.dtype.kind in "iu" and \
            getattr(like, "dtype", None) is not None and like.dtype.kind == "f":
        return cast_integer(tensor, like.dtype)
    return tensor
