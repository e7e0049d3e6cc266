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
_REGISTERED = {}  # name -> Device, for devices somanet does not ship (register_device)
_BY_ARRAY_TYPE = {}  # array type -> its registered Device


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

    def generator_state(self, generator):
        """The state of ``generator`` (this device's, from ``backend.generator``) as a 1-D
        uint8 array on the host, for checkpoints. (The CPU's generator keeps its state
        as JSON: ``get_rng_state``.)"""
        raise NotImplementedError(f"{self} keeps no generator state in arrays")

    def set_generator_state(self, generator, state):
        """Put back into ``generator`` a ``state`` that ``generator_state`` returned.
        Returns False, changing nothing, when the state does not fit this generator."""
        raise NotImplementedError(f"{self} keeps no generator state in arrays")

    def __enter__(self):
        """Make this the current device for new arrays (no-op but on a GPU)."""
        return self

    def __exit__(self, *exc):
        return False


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

    # CuPy's Generator (cuRAND XORWOW) keeps one curandState per thread it draws with in
    # the device array ``bit_generator._state`` (int8; 8 x 256 threads per multiprocessor,
    # ~13 MB on an H200), so a state fits only a GPU with as many multiprocessors
    def generator_state(self, generator):
        state = generator.bit_generator._state
        with self._cuda_device:
            return self.xp.asnumpy(state).view(numpy.uint8)

    def set_generator_state(self, generator, state):
        target = generator.bit_generator._state
        if state.dtype != numpy.uint8 or state.ndim != 1 or state.nbytes != target.nbytes:
            return False
        with self._cuda_device:
            target[...] = self.xp.asarray(numpy.ascontiguousarray(state).view(numpy.int8))
        return True

    def memory(self):
        """This GPU's memory, in bytes: ``used`` by CuPy arrays alive now, ``held`` by
        CuPy's pool (used plus blocks kept for reuse; ``cupy.get_default_memory_pool()
        .free_all_blocks()`` gives those back), and the GPU's ``free`` and ``total``."""
        pool = self.xp.get_default_memory_pool()
        with self._cuda_device:
            free, total = self.xp.cuda.runtime.memGetInfo()
            return {"device": str(self), "used": int(pool.used_bytes()),
                    "held": int(pool.total_bytes()), "free": int(free), "total": int(total)}

    def name(self):
        """The GPU's model name (for example ``"NVIDIA H200"``)."""
        name = self.xp.cuda.runtime.getDeviceProperties(self.index)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

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


def gpu_memory(spec="gpu:0"):
    """The memory of a GPU (``"gpu:1"``, a Device; default the first), in bytes: a dict
    with ``used`` (CuPy arrays alive now), ``held`` (CuPy's pool: used plus blocks kept
    for reuse), and the GPU's ``free`` and ``total``.

    Raises:
        RuntimeError: CuPy is missing or there is no such GPU.
        ValueError: ``spec`` is not a GPU.
    """
    found = device(spec)
    if not isinstance(found, GPUDevice):
        raise ValueError(f"gpu_memory reports a GPU's memory; {found} is not a GPU "
                         f"(give 'gpu:N')")
    return found.memory()


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
        found = _REGISTERED.get(spec.strip().lower())
        if found is not None:
            return found
    raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'gpu', 'gpu:N' or a Device")


def is_device_spec(spec):
    """True when ``spec`` names a device rather than something else (a dtype, for
    ``.to()``): a Device, or a string ``device()`` reads as one (``"cpu"``, ``"gpu:1"``,
    a registered device's name), malformed ones such as ``"gpu:x"`` included so that
    ``device()`` reports them."""
    if isinstance(spec, Device):
        return True
    if not isinstance(spec, str):
        return False
    text = spec.strip().lower()
    return text.partition(":")[0] in ("cpu", "gpu", "cuda") or text in _REGISTERED


def device_of(array):
    """The Device an array lives on, or ``None`` for data that is not an array
    (Python scalars, lists). NumPy scalars count as CPU arrays."""
    kind = type(array)
    if kind is numpy.ndarray or isinstance(array, (numpy.ndarray, numpy.generic)):
        return CPU
    if kind.__module__.startswith("cupy"):
        return gpu(array.device.id)
    return _BY_ARRAY_TYPE.get(kind)


def register_device(extra):
    """Make ``extra``, a Device with an array module of its own, reachable as
    ``device(str(extra))`` and from its arrays by ``device_of``.

    For array modules somanet does not ship; the test suite registers its strict
    device (NumPy underneath, refusing NumPy as CuPy does) this way. The name may not
    be one of the built-in ones.
    """
    name = str(extra)
    if name.partition(":")[0] in ("cpu", "gpu", "cuda"):
        raise ValueError(f"cannot register a device named {name!r}: the name is built in")
    _REGISTERED[name] = extra
    _BY_ARRAY_TYPE[extra.array_type] = extra
