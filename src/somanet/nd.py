"""MXNet's NDArray names for somanet tensors: ``from somanet import nd``.

An NDArray here is a somanet ``Tensor``: every op works on it, autograd included, and
it lives on a device (MXNet's *context*): the CPU, or a GPU through CuPy. The creation
functions take ``ctx=`` and default to float32, as MXNet's do::

    >>> from somanet import nd
    >>> x = nd.empty((2, 7))                 # whatever the memory held
    >>> x.shape, x.size
    ((2, 7), 14)
    >>> z = nd.zeros((4, 5), ctx=nd.cpu())   # nd.gpu(0): on the first GPU
    >>> y = z.asnumpy()                      # a NumPy array (a copy)
    >>> w = nd.array(y)                      # and back
    >>> w.context
    device('cpu')
    >>> v = w.copyto(nd.cpu())               # a copy on a device: w.copyto(nd.gpu(1))
    >>> v is w, (v == w).all().item()
    (False, True)

``copyto`` also takes an NDArray of the same shape, and copies into it;
``as_in_context(ctx)`` moves only when needed (the same array when it is already
there). Devices are ``somanet.Device`` objects: ``nd.cpu()``, ``nd.gpu(i)``, or the
strings ``"cpu"`` and ``"gpu:i"`` wherever a ``ctx`` goes.
"""
from ._checks import is_int
from .backend import Device, as_dtype, cpu as _cpu, device as _device, gpu as _gpu
from .ops import creation
from .tensor import Tensor

__all__ = ["NDArray", "arange", "array", "cpu", "empty", "full", "gpu", "ones", "zeros"]

NDArray = Tensor  # MXNet's name for the array type


def cpu(device_id=0):
    """The CPU context (MXNet's ``mx.cpu()``; ``device_id`` is accepted and ignored:
    one CPU device holds all host memory)."""
    return _cpu()


def gpu(device_id=0):
    """GPU number ``device_id`` (MXNet's ``mx.gpu(i)``); needs CuPy and that GPU."""
    return _gpu(device_id)


def _shape(shape):
    return (int(shape),) if is_int(shape) else tuple(shape)


def _ctx(ctx):
    if ctx is not None and not isinstance(ctx, (Device, str)):
        raise TypeError(f"nd: ctx is a device (nd.cpu(), nd.gpu(0), 'gpu:0'), got "
                        f"{type(ctx).__name__}")
    return _device(ctx)


def array(source_array, ctx=None, dtype=None):
    """An NDArray holding a copy of ``source_array`` (nested lists, a NumPy array, an
    NDArray) on ``ctx`` (default: the CPU). ``dtype`` defaults to the source's when it
    is an NDArray, else float32 (integers too, as in MXNet)."""
    if dtype is None:
        dtype = source_array.dtype if isinstance(source_array, Tensor) else "float32"
    return creation.tensor(source_array, dtype=as_dtype(dtype), device=_ctx(ctx))


def empty(shape, ctx=None, dtype="float32"):
    """An uninitialised NDArray of ``shape`` (an int or a tuple): fill it before use."""
    return creation.empty(_shape(shape), dtype=dtype, device=_ctx(ctx))


def zeros(shape, ctx=None, dtype="float32"):
    """An NDArray of zeros."""
    return creation.zeros(_shape(shape), dtype=dtype, device=_ctx(ctx))


def ones(shape, ctx=None, dtype="float32"):
    """An NDArray of ones."""
    return creation.ones(_shape(shape), dtype=dtype, device=_ctx(ctx))


def full(shape, val, ctx=None, dtype="float32"):
    """An NDArray of ``shape`` filled with ``val``."""
    return creation.full(_shape(shape), val, dtype=dtype, device=_ctx(ctx))


def arange(start, stop=None, step=1.0, ctx=None, dtype="float32"):
    """Evenly spaced values in ``[start, stop)`` (``arange(n)``: 0 .. n-1), float32 by
    default as in MXNet."""
    return creation.arange(start, stop, step, dtype=dtype, device=_ctx(ctx))
