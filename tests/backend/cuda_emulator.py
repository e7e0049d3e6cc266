"""CuPy's ``ElementwiseKernel`` emulated on the CPU, to test CUDA kernel sources without a GPU.

A kernel module's ``_build_cuda(cupy)`` gets ``EmulatedCupy()`` in place of CuPy: each
kernel's body is compiled by g++ as the body of a loop over ``i`` (one iteration per
CUDA thread, in order) and called through ctypes on NumPy arrays. The loop binds the
parameters as CuPy does: a non-raw array is its element ``i`` (a reference, so outputs
are assigned), a ``raw`` array is a pointer indexed by the kernel, a scalar is a value
of its declared type, and type placeholders (``T``, ``I``) take the dtype of the first
array bound to them. What this checks: the index arithmetic, the bounds, the
arithmetic and the argument order of every launch. What it cannot: CUDA-only
functions, races between threads (the kernels tested here write only their own
element), speed. For those it can at least compile: ``ElementwiseKernel.cuda_source``
writes the CUDA source CuPy would (its ``CArray`` parameters, ``CUPY_FOR`` loop and
element bindings) and ``nvrtc_compile`` compiles it with NVIDIA's runtime compiler,
which needs CuPy and NVRTC installed but no GPU.
"""
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy

# CuPy's type names and the C types its kernels see
_C_TYPES = {
    "bool": "bool", "int8": "signed char", "uint8": "unsigned char", "int16": "short",
    "uint16": "unsigned short", "int32": "int", "uint32": "unsigned int",
    "int64": "long long", "uint64": "unsigned long long", "float32": "float",
    "float64": "double",
}
_CTYPES = {
    "bool": ctypes.c_bool, "int8": ctypes.c_int8, "uint8": ctypes.c_uint8,
    "int16": ctypes.c_int16, "uint16": ctypes.c_uint16, "int32": ctypes.c_int32,
    "uint32": ctypes.c_uint32, "int64": ctypes.c_int64, "uint64": ctypes.c_uint64,
    "float32": ctypes.c_float, "float64": ctypes.c_double,
}

_PRELUDE = """
#include <cmath>
#include <cstddef>
#include <algorithm>
using namespace std;
"""


def available():
    """True when g++ is on the PATH (the emulator's compiler)."""
    return shutil.which("g++") is not None


def _parse(params, output):
    """'raw T x, int32 n' -> [(raw, type, name, output), ...]."""
    parsed = []
    for param in params.split(","):
        words = param.split()
        raw = words[0] == "raw"
        if raw:
            words = words[1:]
        if len(words) != 2:
            raise ValueError(f"cannot parse the kernel parameter {param!r}")
        parsed.append((raw, words[0], words[1], output))
    return parsed


class ElementwiseKernel:
    """``cupy.ElementwiseKernel(in_params, out_params, operation, name)`` on NumPy arrays:
    every argument given (inputs then outputs), C-contiguous arrays."""

    _cache = {}
    _folder = None

    def __init__(self, in_params, out_params, operation, name="kernel", preamble="",
                 **options):
        self.params = _parse(in_params, False) + _parse(out_params, True)
        self.operation, self.name, self.preamble = operation, name, preamble

    def _bind(self, args):
        """{placeholder: numpy dtype} from the array arguments."""
        types = {}
        for (raw, kind, name, _), arg in zip(self.params, args):
            if kind in _C_TYPES:
                continue
            if isinstance(arg, numpy.ndarray):
                types.setdefault(kind, arg.dtype)
                if arg.dtype != types[kind]:
                    raise TypeError(f"{self.name}: {name} is {arg.dtype}, "
                                    f"but {kind} is {types[kind]}")
        return types

    def _source(self, types, arrays):
        """The C++ loop; ``arrays[k]`` says whether parameter k got an array."""
        typedefs = "".join(f"typedef {_C_TYPES[dtype.name]} {kind};\n"
                           for kind, dtype in types.items())
        arguments, bindings = ["ptrdiff_t _size"], []
        for (raw, kind, name, output), array in zip(self.params, arrays):
            kind = _C_TYPES.get(kind, kind)
            if raw:
                arguments.append(f"{kind}* {name}")
            elif array:
                arguments.append(f"{kind}* _{name}")
                bindings.append(f"{'' if output else 'const '}{kind}& {name} = _{name}[i];")
            else:
                arguments.append(f"{kind} {name}")
        return (_PRELUDE + typedefs + self.preamble
                + '\nextern "C" void kernel(' + ", ".join(arguments) + ") {\n"
                + "  for (ptrdiff_t i = 0; i < _size; ++i) {\n    "
                + "\n    ".join(bindings) + "\n" + self.operation + "\n  }\n}\n")

    def _compiled(self, source):
        key = hashlib.sha256(source.encode()).hexdigest()[:24]
        if key not in self._cache:
            if ElementwiseKernel._folder is None:
                ElementwiseKernel._folder = tempfile.mkdtemp(prefix="cuda_emulator_")
            path = os.path.join(self._folder, key)
            with open(path + ".cpp", "w") as file:
                file.write(source)
            result = subprocess.run(["g++", "-O0", "-shared", "-fPIC", "-o", path + ".so",
                                     path + ".cpp"], capture_output=True, text=True)
            if result.returncode:
                raise RuntimeError(f"{self.name} does not compile:\n{result.stderr}")
            self._cache[key] = ctypes.CDLL(path + ".so").kernel
        return self._cache[key]

    def __call__(self, *args, size=None):
        if len(args) != len(self.params):
            raise TypeError(f"{self.name} takes {len(self.params)} arguments (the emulator "
                            f"needs every output given), got {len(args)}")
        types = self._bind(args)
        values, sizes = [], set()
        for (raw, kind, name, output), arg in zip(self.params, args):
            dtype = numpy.dtype(kind) if kind in _C_TYPES else types[kind]
            if isinstance(arg, numpy.ndarray):
                if not arg.flags.c_contiguous:
                    raise ValueError(f"{self.name}: {name} is not C-contiguous")
                if arg.dtype != dtype:
                    raise TypeError(f"{self.name}: {name} is {arg.dtype}, expected {dtype}")
                if not raw:
                    sizes.add(arg.size)
                values.append(ctypes.c_void_p(arg.ctypes.data))
            else:
                if raw or output:
                    raise TypeError(f"{self.name}: {name} must be an array")
                # a scalar typed by a placeholder is passed in that placeholder's dtype
                values.append(_CTYPES[dtype.name](dtype.type(arg).item()))
        if size is None:
            if len(sizes) != 1:
                raise ValueError(f"{self.name}: the non-raw arrays' sizes {sorted(sizes)} "
                                 "do not give one loop size")
            size = sizes.pop()
        source = self._source(types, [isinstance(arg, numpy.ndarray) for arg in args])
        self._compiled(source)(ctypes.c_ssize_t(size), *values)


    def cuda_source(self, types, ndims):
        """The CUDA source CuPy generates for this kernel with placeholder types
        ``types`` ({"T": numpy dtype}) and array dimensions ``ndims`` (one per parameter,
        None for a scalar)."""
        typedefs = "".join(f"typedef {_C_TYPES[numpy.dtype(dtype).name]} {kind};\n"
                           for kind, dtype in types.items())
        arguments, bindings, loop_ndim = [], [], 1
        for (raw, kind, name, output), ndim in zip(self.params, ndims):
            ctype = _C_TYPES.get(kind, kind)
            if ndim is None:
                arguments.append(f"{ctype} {name}")
            elif raw:
                arguments.append(f"CArray<{ctype}, {ndim}, true, true> {name}")
            else:
                loop_ndim = ndim
                arguments.append(f"CArray<{ctype}, {ndim}, true, true> _raw_{name}")
                bindings.append(f"{'' if output else 'const '}{ctype} &{name} = "
                                f"_raw_{name}[_ind.get()];")
        arguments.append(f"CIndexer<{loop_ndim}, true> _ind")
        return ("#include <cupy/carray.cuh>\n" + typedefs + self.preamble
                + f'\nextern "C" __global__ void {self.name}(' + ", ".join(arguments)
                + ") {\n  CUPY_FOR(i, _ind.size()) {\n    _ind.set(i);\n    "
                + "\n    ".join(bindings) + "\n" + self.operation + ";\n  }\n}\n")


def nvrtc_compile(source, name="kernel.cu", arch="compute_70"):
    """Compile CUDA ``source`` with NVRTC against CuPy's headers; raises RuntimeError
    with the compiler's log when it does not compile, ImportError without CuPy/NVRTC."""
    import cupy
    from cupy_backends.cuda.libs import nvrtc
    include = os.path.join(os.path.dirname(cupy.__file__), "_core", "include")
    program = nvrtc.createProgram(source, name, [], [])
    try:
        nvrtc.compileProgram(program, [f"-arch={arch}", f"-I{include}", "-std=c++17"])
    except Exception as error:  # NVRTCError, with the log beside it
        raise RuntimeError(f"{name} does not compile: {error}\n"
                           f"{nvrtc.getProgramLog(program)}") from None
    return nvrtc.getPTX(program)


class EmulatedCupy:
    """What ``_build_cuda(cupy)`` uses of CuPy: ``ElementwiseKernel``."""
    ElementwiseKernel = ElementwiseKernel
