"""Devices: where arrays live, and which array module (``xp``) computes on them.

The CPU computes with NumPy, each GPU with CuPy. This module is the only place
that decides between the two: everything above asks a device (or an array's
device) for its ``xp`` and writes the same code for both.

    >>> import somanet as sn
    >>> sn.cpu()
    device('cpu')
    >>> sn.device("cpu") is sn.cpu()
    True
"""
import numpy

from .._checks import check_non_negative_int

_GPUS = {}


class Device:
    """A place where tensors live. Get one with ``cpu()``, ``gpu(i)`` or ``device(spec)``.

    Devices are singletons, so ``a.device is b.device`` tells whether two
    tensors may meet in one op.

    Attributes:
        type: ``"cpu"`` or ``"gpu"``.
        index: the GPU number (``None`` for the CPU).
        xp: the array module that computes here (``numpy`` or ``cupy``).
    """

    def __init__(self, type, index, xp):
        self.type = type
        self.index = index
        self.xp = xp
        self.array_type = xp.ndarray

    def __repr__(self):
        return f"device({str(self)!r})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __reduce__(self):
        return (device, (str(self),))

    def owns(self, array):
        """True when ``array`` is an array of this device."""
        return type(array) is self.array_type

    def asarray(self, data, dtype=None):
        """``data`` (array, nested lists, scalar) as an array of this device.

        An array of another device is an error: transfers are explicit
        (``Tensor.to``), never a silent copy.
        """
        source = device_of(data)
        if source is not None and source is not self:
            raise ValueError(f"an array on {source} was given where {self} was expected; "
                             f"move it first with .to({str(self)!r})")
        return self.xp.asarray(data, dtype=dtype)

    def synchronize(self):
        """Wait until every kernel queued on this device has finished (no-op on the CPU)."""


class GPUDevice(Device):
    """One CUDA GPU, computing with CuPy."""

    def __init__(self, index, cupy):
        super().__init__("gpu", index, cupy)
        self._cuda_device = cupy.cuda.Device(index)

    def owns(self, array):
        return type(array) is self.array_type and array.device.id == self.index

    def asarray(self, data, dtype=None):
        source = device_of(data)
        if source is not None and source is not self:
            raise ValueError(f"an array on {source} was given where {self} was expected; "
                             f"move it first with .to({str(self)!r})")
        with self._cuda_device:
            return self.xp.asarray(data, dtype=dtype)

    def synchronize(self):
        self._cuda_device.synchronize()

    def __enter__(self):
        return self._cuda_device.__enter__()

    def __exit__(self, *exc):
        return self._cuda_device.__exit__(*exc)


CPU = Device("cpu", None, numpy)


def cpu():
    """The CPU device (arrays are NumPy arrays)."""
    return CPU


def _import_cupy():
    try:
        import cupy
    except ImportError as error:
        raise RuntimeError("GPU devices need CuPy, which is not installed: "
                           "pip install 'somanet[gpu]' (or a cupy-cudaXXx wheel matching "
                           "your CUDA)") from error
    return cupy


def gpu(index=0):
    """GPU number ``index`` (arrays are CuPy arrays on that GPU).

    Raises:
        RuntimeError: CuPy is missing or no such GPU exists.
    """
    index = check_non_negative_int("gpu", "index", index, what="a non-negative int")
    found = _GPUS.get(index)
    if found is None:
        cupy = _import_cupy()
        count = gpu_count()
        if index >= count:
            raise RuntimeError(f"gpu:{index} does not exist: this machine has {count} GPU(s)")
        found = _GPUS[index] = GPUDevice(index, cupy)
    return found


def gpu_count():
    """How many CUDA GPUs CuPy can see (0 without CuPy or without a GPU)."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no cupy, no driver, no device: all mean zero GPUs
        return 0


def device(spec=None):
    """A Device from a spec: a Device, ``"cpu"``, ``"gpu"``, ``"gpu:1"`` (``"cuda:1"`` too).

    ``None`` gives the CPU. Every function that takes ``device=`` accepts
    any of these.
    """
    if spec is None:
        return CPU
    if isinstance(spec, Device):
        return spec
    if isinstance(spec, str):
        name, _, number = spec.strip().lower().partition(":")
        if name == "cpu" and not number:
            return CPU
        if name in ("gpu", "cuda"):
            if not number:
                return gpu(0)
            if number.isdigit():
                return gpu(int(number))
    raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'gpu', 'gpu:N' or a Device")


def device_of(array):
    """The Device an array lives on, or ``None`` for data that is not an array
    (Python scalars, lists). NumPy scalars count as CPU arrays."""
    kind = type(array)
    if kind is numpy.ndarray or isinstance(array, (numpy.ndarray, numpy.generic)):
        return CPU
    if kind.__module__.startswith("cupy"):
        return gpu(array.device.id)
    return None
