"""Making tensors: from data, filled with a constant, ranges, and random draws.

Every function takes ``dtype=`` (default: the default float dtype, float32,
except where noted), ``device=`` (a Device or a string such as ``"gpu:0"``;
default the CPU) and ``requires_grad=``. Random draws come from the device's
generator, seeded by ``somanet.manual_seed``.
"""
from .._checks import is_int
from ..backend import as_dtype, device as as_device, generator, get_default_dtype
from ..tensor import Tensor


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (numbers, nested lists, a NumPy or
    CuPy array, or a Tensor).

    Floats become the default float dtype (float32) unless ``dtype`` is given,
    float64 NumPy arrays included; integers stay int64, bools stay bool.

        >>> import somanet as sn
        >>> sn.tensor([[1, 2], [3, 4]], dtype="float32")
        tensor([[1., 2.],
                [3., 4.]])
    """
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def _made(array, requires_grad):
    result = Tensor.__new__(Tensor)
    result.data = array
    if requires_grad:
        result.requires_grad = True
    return result


def _shape(shape):
    """``zeros(2, 3)`` and ``zeros((2, 3))`` both mean shape (2, 3)."""
    if len(shape) == 1 and not is_int(shape[0]) and not isinstance(shape[0], bool):
        shape = tuple(shape[0])
    if not all(is_int(size) and size >= 0 for size in shape):
        raise ValueError(f"a shape holds non-negative ints, got {shape}")
    return tuple(int(size) for size in shape)


def _float_dtype(dtype):
    return get_default_dtype() if dtype is None else as_dtype(dtype)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    xp = as_device(device).xp
    return _made(xp.zeros(_shape(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ones."""
    xp = as_device(device).xp
    return _made(xp.ones(_shape(shape), _float_dtype(dtype)), requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor whose values are whatever the memory held (fast; fill it before use)."""
    xp = as_device(device).xp
    return _made(xp.empty(_shape(shape), _float_dtype(dtype)), requires_grad)


def full(shape, value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``value``."""
    xp = as_device(device).xp
    shape = (shape,) if is_int(shape) else tuple(shape)
    return _made(xp.full(_shape(shape), value, _float_dtype(dtype)), requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in ``[start, stop)``. Integer arguments give int64
    (unless ``dtype``), any float gives the default float dtype."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        exact = all(isinstance(v, int) for v in (start, stop, step))
        dtype = "int64" if exact else get_default_dtype()
    xp = as_device(device).xp
    return _made(xp.arange(start, stop, step, dtype=as_dtype(dtype)), requires_grad)


def linspace(start, stop, num=50, dtype=None, device=None, requires_grad=False):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive."""
    xp = as_device(device).xp
    dtype = _float_dtype(dtype)
    return _made(xp.linspace(start, stop, num).astype(dtype), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The identity matrix (``n`` x ``m``, square by default)."""
    xp = as_device(device).xp
    return _made(xp.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform random values in [0, 1)."""
    device = as_device(device)
    dtype = _float_dtype(dtype)
    array = generator(device).random(_shape(shape), dtype=dtype)
    return _made(array, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal random values (mean 0, standard deviation 1)."""
    device = as_device(device)
    dtype = _float_dtype(dtype)
    array = generator(device).standard_normal(_shape(shape), dtype=dtype)
    return _made(array, requires_grad)


def randint(low, high=None, size=(), dtype="int64", device=None):
    """Random integers in ``[low, high)`` (``[0, low)`` when ``high`` is left out)."""
    if high is None:
        low, high = 0, low
    device = as_device(device)
    size = (size,) if is_int(size) else tuple(size)
    array = generator(device).integers(low, high, size=size, dtype=as_dtype(dtype))
    return _made(array, False)


def _like(x, dtype, device):
    return (x.dtype if dtype is None else as_dtype(dtype)), (x.device if device is None
                                                             else as_device(device))


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    """Zeros with ``x``'s shape, dtype and device (unless given)."""
    dtype, device = _like(x, dtype, device)
    return zeros(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    """Ones with ``x``'s shape, dtype and device (unless given)."""
    dtype, device = _like(x, dtype, device)
    return ones(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    """Uninitialised values with ``x``'s shape, dtype and device (unless given)."""
    dtype, device = _like(x, dtype, device)
    return empty(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x, value, dtype=None, device=None, requires_grad=False):
    """``value`` everywhere, with ``x``'s shape, dtype and device (unless given)."""
    dtype, device = _like(x, dtype, device)
    return full(x.shape, value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(x, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) values with ``x``'s shape, dtype and device (unless given)."""
    dtype, device = _like(x, dtype, device)
    return rand(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False):
    """Standard normal values with ``x``'s shape, dtype and device (unless given)."""
    dtype, device = _like(x, dtype, device)
    return randn(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)
