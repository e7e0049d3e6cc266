"""Layer 0, the GPU layer's foundation: devices, array modules, dtypes, randomness.

Only this package names NumPy or CuPy for dispatch; everything above asks a
Device for its ``xp``.
"""
from .blas_threads import set_thread_timeout

set_thread_timeout()  # before anything here loads NumPy (see blas_threads)

from .arrays import (as_array_like, from_dlpack, isfinite_all, same_device, scatter_add, sum_to,
                     to_device, to_numpy, xp_of)
from .device import (CPU, Device, cpu, device, device_of, gpu, gpu_count, gpu_memory,
                     is_device_spec)
from .dtypes import (as_dtype, bool_, common_float_dtype, float16, float32, float64,
                     get_default_dtype, infer_dtype, int8, int16, int32, int64, is_floating,
                     set_default_dtype, uint8)
from .random import (fresh_generator, generator, get_device_rng_states, get_rng_state,
                     initial_seed, manual_seed, set_device_rng_states, set_rng_state)
from .memory import keep_freed_memory

keep_freed_memory()
