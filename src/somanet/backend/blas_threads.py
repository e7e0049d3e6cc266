"""How long NumPy's BLAS threads spin after a call: set before NumPy loads OpenBLAS.

OpenBLAS keeps its idle threads spinning for ``2**28`` clock ticks (about 0.1 s) after
each parallel call, waiting for the next one. A training step alternates BLAS calls with
somanet's parallel kernels (``jit.parallel``): on a machine with as many cores as
threads, the kernel that follows a GEMM finds its second core taken by a spinning
OpenBLAS thread and runs at half speed. Measured on 2 cores (LeNet's training step,
``benchmarks/README.md``): 6.0-7.6 ms a step with OpenBLAS's default, 4.1-4.7 ms with
``2**18`` ticks (about 0.1 ms, still longer than the gaps between an LSTM's GEMMs, whose
threads stay awake across its time steps), 3.7-5.8 ms with ``2**12`` (but the LSTM
slower: each GEMM then wakes a sleeping thread).

OpenBLAS reads ``OPENBLAS_THREAD_TIMEOUT`` (the exponent) once, when NumPy loads it, so
``import somanet`` sets it only when NumPy is not loaded yet and the variable is unset: a
program that imports ``somanet`` before ``numpy`` gets it; one that imports NumPy first
can ``export OPENBLAS_THREAD_TIMEOUT=18``. This module imports nothing that loads NumPy.
"""
import os
import sys

THREAD_TIMEOUT = "18"


def set_thread_timeout():
    """``OPENBLAS_THREAD_TIMEOUT = THREAD_TIMEOUT`` unless it is set or NumPy is loaded
    (then it would not apply); whether it was set."""
    if "numpy" in sys.modules or "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = THREAD_TIMEOUT
    return True
