"""Keeping freed memory for reuse, so a training step does not page-fault on every array.

glibc's ``malloc`` hands large blocks (from 128 KiB, a threshold it raises as it
goes) straight back to the kernel when they are freed, and trims the top of its
heap as soon as a few hundred KiB are free there. A training step frees and
re-allocates the same multi-MB arrays every time (activations, gradients,
im2col columns, gate buffers), so every step would fault in fresh pages.
Raising both thresholds keeps those blocks in the heap for the next step, as
PyTorch's caching allocators do; the process's peak memory is the same, it just
is not returned between steps.

``keep_freed_memory()`` runs when somanet is imported. It does nothing off glibc
(macOS, Windows, musl), or when the user set glibc's own ``MALLOC_MMAP_THRESHOLD_``
or ``MALLOC_TRIM_THRESHOLD_`` variables (theirs win).
"""
import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit
_TRIM_THRESHOLD = 2**30


def keep_freed_memory():
    """Ask glibc to keep freed blocks up to 32 MiB for reuse (see the module docstring).

    Returns:
        True when the setting was applied.
    """
    if not sys.platform.startswith("linux") or any(
            name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
