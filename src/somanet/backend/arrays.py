"""Array helpers every layer above needs, written once against ``xp``."""
import numpy

from .device import CPU, device_of


def sum_to(array, shape):
    """Sum ``array`` down to ``shape``: the one place broadcasting is undone.

    If ``x`` of shape ``shape`` was broadcast to ``array.shape`` in a forward
    pass, the gradient with respect to ``x`` is ``sum_to(grad, shape)``:
    leading axes that broadcasting added are summed away, and so are axes
    where ``shape`` has 1 but ``array`` does not.

    Shape: ``array`` (*broadcast of ``shape``*) -> ``shape``.
    """
    if array.shape == shape:
        return array
    lead = array.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and array.shape[lead + i] != 1)
    if axes:
        array = array.sum(axis=axes, keepdims=True)
    return array.reshape(shape)


def as_array_like(value, like):
    """``value`` (an array, or a NumPy scalar that NumPy returns for a full
    reduction) as an array of ``like``'s kind. Arrays pass through untouched."""
    if type(value) is type(like):
        return value
    if isinstance(value, numpy.generic) and type(like) is numpy.ndarray:
        return numpy.asarray(value)
    return value


def same_device(array, other):
    """True when two arrays live on the same device."""
    if type(array) is numpy.ndarray and type(other) is numpy.ndarray:
        return True
    return device_of(array) is device_of(other)


def to_device(array, device):
    """Copy ``array`` to ``device`` (returns it unchanged if it is already there)."""
    source = device_of(array)
    if source is device:
        return array
    if device is CPU:
        return source.xp.asnumpy(array)
    with device:
        return device.xp.asarray(array)


def to_numpy(array):
    """A host NumPy array with the values of ``array`` (no copy on the CPU)."""
    if isinstance(array, numpy.ndarray):
        return array
    if isinstance(array, numpy.generic):
        return numpy.asarray(array)
    return device_of(array).xp.asnumpy(array)


def from_dlpack(obj):
    """An array sharing memory with ``obj`` (anything with ``__dlpack__``), on
    the device the DLPack capsule names."""
    kind, index = obj.__dlpack_device__()
    if int(kind) == 1:  # kDLCPU
        return numpy.from_dlpack(obj)
    from .device import gpu
    device = gpu(int(index))
    with device:
        return device.xp.from_dlpack(obj)


def isfinite_all(array):
    """True when every element is finite (NaN and ±Inf are not)."""
    if array.dtype.kind not in "fc":
        return True
    return bool(device_of(array).xp.isfinite(array).all())


def scatter_add(target, index, values):
    """``target[index] += values``, adding repeatedly where ``index`` repeats (in place)."""
    xp_of(target).add.at(target, index, values)


def xp_of(array):
    """The array module (``numpy`` or ``cupy``) that computes on ``array``."""
    if type(array) is numpy.ndarray:
        return numpy
    return device_of(array).xp
