"""The dtype policy: float32 by default, and no silent float64.

Rules, applied wherever data enters the framework or two operands meet:

- Python floats, float lists and float64 NumPy arrays given to ``tensor()``
  become the default float dtype (float32) unless ``dtype=`` says otherwise.
- A Python scalar or an integer/bool array combined with a float tensor takes
  the tensor's dtype.
- Two float tensors of different dtypes never meet silently: that is an error
  naming both (cast one explicitly with ``.astype``).
"""
import numpy

float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int8 = numpy.dtype("int8")
int16 = numpy.dtype("int16")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

_default_float = float32


def get_default_dtype():
    """The float dtype new tensors get when none is asked for (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype):
    """Change the default float dtype (``float32`` or ``float64``; ``float16`` too)."""
    global _default_float
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"the default dtype must be a float dtype, got {dtype}")
    _default_float = dtype


def as_dtype(dtype):
    """Normalise a dtype spec (``"float32"``, ``numpy.float32``, ``float``, a dtype).

    Python ``float`` means the default float dtype, ``int`` int64, ``bool`` bool.
    """
    if dtype is float:
        return _default_float
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}; expected e.g. 'float32', 'int64' "
                        f"or somanet.float32") from None


def is_floating(dtype):
    """True for float16/32/64."""
    return dtype.kind == "f"


def infer_dtype(data_dtype):
    """The dtype ``tensor(data)`` gives data whose natural dtype is ``data_dtype``.

    Floats become the default float; integers stay integers; bools stay bool.
    """
    if data_dtype.kind == "f":
        return _default_float
    return data_dtype


def common_float_dtype(first, second, what):
    """The dtype two operands compute in, by the policy above.

    Args:
        first, second: the operands' dtypes (``None`` for a Python scalar).
        what: the op's name, for the error message.

    Returns:
        The result dtype, or ``None`` when NumPy's own rule applies (two
        integer or bool operands).
    """
    first_float = first is not None and first.kind == "f"
    second_float = second is not None and second.kind == "f"
    if first_float and second_float:
        if first != second:
            raise TypeError(f"{what}: operands have dtypes {first} and {second}; "
                            f"somanet never mixes float dtypes silently. Cast one with "
                            f".astype('{first}') or .astype('{second}')")
        return first
    if first_float:
        return first
    if second_float:
        return second
    return None
