"""Compiled CPU kernels with numba, optional: the one place that imports numba, and the
one way a kernel is chosen.

A kernel module writes its loops in a ``build(numba)`` function and wraps it with
``lazy_kernels``: numba is imported (slow) and the loops compiled (cached on disk)
the first time a kernel is needed. Each public function of the module is the one
entry point of its kernel: it asks ``compiled(kernels, *arrays)`` for the loops and
runs them, or, when that gives ``None`` (numba not installed, a GPU array, another
dtype), runs the plain-``xp`` version beside it (``<name>_xp``, any device). Code
above ``backend`` calls the entry point and never chooses.
"""
import numpy

_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def lazy_kernels(build):
    """A function returning ``build(numba)`` on its first call (then the same value), or
    ``None`` when numba is not installed."""
    found = []

    def kernels():
        if not found:
            try:
                import numba
            except ImportError:
                found.append(None)
            else:
                found.append(build(numba))
        return found[0]

    return kernels


def compiled(kernels, *arrays, contiguous=True):
    """The compiled loops ``kernels()`` (a ``lazy_kernels`` function) if they apply to
    ``arrays``, else ``None``: then the caller runs its plain-``xp`` version.

    They apply when numba is installed and every array is a NumPy array (not CuPy's)
    of the first one's dtype, float32 or float64, and C-contiguous unless
    ``contiguous=False`` (for an entry point that makes its inputs contiguous itself).
    """
    dtype = getattr(arrays[0], "dtype", None)
    if dtype not in _FLOATS:
        return None
    for array in arrays:
        if type(array) is not numpy.ndarray or array.dtype != dtype or (
                contiguous and not array.flags.c_contiguous):
            return None
    return kernels()
