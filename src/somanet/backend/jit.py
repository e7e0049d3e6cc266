"""Compiled CPU kernels with numba, optional: the one place that imports numba, and the
one way a kernel is chosen.

A kernel module writes its loops in a ``build(numba)`` function and wraps it with
``lazy_kernels``: numba is imported (slow) and the loops compiled (cached on disk)
the first time a kernel is needed. Each public function of the module is the one
entry point of its kernel: it asks ``compiled(kernels, *arrays)`` for the loops and
runs them, or, when that gives ``None`` (numba not installed, a GPU array, another
dtype), runs the plain-``xp`` version beside it (``<name>_xp``, any device). Code
above ``backend`` calls the entry point and never chooses.

Parallel kernels (``prange``) run on numba's TBB threading layer, chosen here before
the first one compiles (``parallel(numba)``): TBB is safe with concurrent calls from
several threads and in a forked process (a DataLoader worker). numba's other layers
are not both: GNU OpenMP hangs in a child forked after the parent used it, and the
workqueue layer aborts on concurrent calls. Without TBB (the ``tbb`` package of the
``fast`` extra) the same loops compile sequential.
"""
import ctypes
import os
import sys

import numpy

_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def numba_module():
    """The numba module, imported on the first call, or None when it is not installed."""
    if not _NUMBA:
        try:
            import numba
        except ImportError:
            numba = None
        _NUMBA.append(numba)
    return _NUMBA[0]


_NUMBA = []


def available():
    """Whether numba is installed, so compiled kernels can run."""
    return numba_module() is not None


def lazy_kernels(build):
    """A function returning ``build(numba)`` on its first call (then the same value), or
    ``None`` when numba is not installed."""
    found = []

    def kernels():
        if not found:
            numba = numba_module()
            found.append(None if numba is None else build(numba))
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


_PARALLEL = []
# The names TBB's runtime library has in an environment's lib folder (pip's ``tbb``).
_TBB_LIBRARIES = ("libtbb.so.12", "libtbb.12.dylib")


def _load_tbb(numba):
    """Select numba's TBB threading layer; whether it is available.

    pip's ``tbb`` puts its library in ``sys.prefix/lib``, where a virtual
    environment's loader does not look: loading it first by path (globally) lets
    numba's TBB layer find it by name.
    """
    for name in _TBB_LIBRARIES:
        path = os.path.join(sys.prefix, "lib", name)
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pass
            break
    try:
        from numba.np.ufunc import parallel as layers
        layers._check_tbb_version_compatible()
        from numba.np.ufunc import tbbpool  # noqa: F401  (raises if TBB is missing)
    except (ImportError, OSError):
        return False
    numba.config.THREADING_LAYER = "tbb"
    return True


def parallel(numba):
    """The ``parallel=`` option for a kernel with ``prange`` loops: True when numba's TBB
    threading layer is available (then selected, see the module docstring), else False
    (the loops run sequentially)."""
    if not _PARALLEL:
        _PARALLEL.append(_load_tbb(numba))
    return _PARALLEL[0]


def cache_folder():
    """Where generated native code and its compiled form are kept between processes:
    ``$SOMANET_CACHE_DIR/native``, else ``~/.cache/somanet/native``."""
    root = os.environ.get("SOMANET_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "somanet")
    return os.path.join(root, "native")


def native_function(source, name, examples, options=None, slp=False):
    """Compile the function ``name`` of the Python source ``source`` with numba, for the
    types of the arguments ``examples``, and return it (a numba dispatcher), or ``None``
    when numba is not installed.

    ``options`` are more ``numba.njit`` options (``parallel``, ``fastmath``). ``slp``
    turns on LLVM's SLP vectoriser for this compilation only (numba leaves it off): it
    packs unrolled scalar code, such as a generated kernel's register tile of
    accumulators, into vector instructions.

    The source is written to ``cache_folder()`` under a name made from its hash (and
    that of the kernel modules it may call) and imported from there, so numba's own
    disk cache applies: a second process with the same source loads the machine code
    instead of compiling it. Raises what numba
    raises when the source does not compile (a ``numba.core.errors`` error).
    """
    numba = numba_module()
    if numba is None:
        return None
    import glob
    import hashlib
    import importlib.util
    import tempfile

    # numba links the kernels a function calls into its machine code: their sources are
    # part of the key, so that a changed kernel is compiled again, not loaded stale
    digest = hashlib.sha256(f"{numba.__version__}\n{source}".encode())
    for kernel_file in sorted(glob.glob(os.path.join(os.path.dirname(__file__),
                                                     "kernels_*.py"))):
        with open(kernel_file, "rb") as file:
            digest.update(file.read())
    digest = digest.hexdigest()[:24]
    module_name = f"somanet_native_{digest}"
    folder = cache_folder()
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:  # an unwritable home: this process's temporary folder
        folder = tempfile.mkdtemp(prefix="somanet-native-")
    path = os.path.join(folder, module_name + ".py")
    if not os.path.exists(path):  # written once: numba's cache keys on the file's time
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w") as file:
            file.write(source)
        os.replace(temporary, path)
    module = sys.modules.get(module_name)
    if module is None:  # numba's cache finds a function's globals through its module
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    function = numba.njit(cache=True, nogil=True, error_model="numpy", **(options or {}))(
        getattr(module, name))
    previous = numba.config.SLP_VECTORIZE
    numba.config.SLP_VECTORIZE = int(bool(slp)) or previous  # read when passes are built
    try:
        function.compile(tuple(numba.typeof(value) for value in examples))
    finally:
        numba.config.SLP_VECTORIZE = previous
    return function
