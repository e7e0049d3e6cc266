"""Compiled CPU kernels with numba, optional: the one place that imports numba.

A kernel module writes its loops in a ``build(numba)`` function and wraps it with
``lazy_kernels``: numba is imported (slow) and the loops compiled (cached on disk)
the first time a kernel is needed, and without numba installed the module's
plain-``xp`` fallback runs instead. Kernels apply to host float arrays only
(``compiles_for``); GPU arrays always take the fallback.
"""
import numpy


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


def compiles_for(*arrays):
    """True when every array is a C-contiguous float32/float64 NumPy array."""
    for array in arrays:
        if type(array) is not numpy.ndarray or array.dtype not in (numpy.float32,
                                                                   numpy.float64) \
                or not array.flags.c_contiguous:
            return False
    return True
