"""The workloads of ``benchmarks/run.py``, one module per framework.

Each module has a function per workload id (``w1`` ... ``w5``) taking the shared
``Data`` and returning a ``Result``; ``common.py`` holds what they share: the
data split, the initial weights (drawn once with NumPy, loaded by every
framework), the per-epoch shuffles, peak-RSS measurement.
"""
