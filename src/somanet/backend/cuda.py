"""Compiled GPU kernels with CuPy: the GPU's counterpart of ``jit`` (numba on the CPU).

A kernel module writes its CUDA kernels in a ``build(cupy)`` function (CuPy's
``ElementwiseKernel`` or ``RawKernel``, compiled by CuPy on first launch and cached on
disk) and wraps it with ``lazy_cuda_kernels``; its entry point asks
``cuda_compiled(kernels, *arrays)`` for them, which gives ``None`` unless every array
is a C-contiguous CuPy array of the first one's dtype (float32 or float64): then the
caller runs its plain-``xp`` version, as for ``jit.compiled``.
"""
import numpy

_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def lazy_cuda_kernels(build):
    """A function returning ``build(cupy)`` on its first call (then the same value)."""
    found = []

    def kernels():
        if not found:
            import cupy  # only reached with CuPy arrays in hand
            found.append(build(cupy))
        return found[0]

    return kernels


def cuda_compiled(kernels, *arrays, contiguous=True):
    """The kernels ``kernels()`` (a ``lazy_cuda_kernels`` function) if they apply to
    ``arrays`` (CuPy arrays of the first one's dtype, float32 or float64, C-contiguous
    unless ``contiguous=False``: for an entry point that makes them contiguous itself),
    else ``None``."""
    first = arrays[0]
    if not type(first).__module__.startswith("cupy") or first.dtype not in _FLOATS:
        return None
    for array in arrays:
        if type(array) is not type(first) or array.dtype != first.dtype or (
                contiguous and not array.flags.c_contiguous):
            return None
    return kernels()
