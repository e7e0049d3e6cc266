"""A strict device for the test suite: an array module that treats NumPy as CuPy does.

No GPU is needed to find code that would break on one. ``strict_device()`` is a
``Device`` (``sn.device("strict")`` once registered) whose arrays are
``StrictArray``: NumPy arrays underneath, but a distinct type that, like
``cupy.ndarray``,

- refuses implicit conversion: ``numpy.asarray(a)``, ``numpy.exp(a)``,
  ``numpy.concatenate([a])`` and writing ``a`` into a NumPy array raise TypeError;
- refuses to meet a ``numpy.ndarray`` in an operator or a function of its ``xp``
  (``a + host`` and ``host + a`` raise TypeError); Python and NumPy scalars mix freely;
- returns 0-d arrays, not scalars, from full reductions and scalar indexing
  (``a.sum()``, ``a[0, 0]``); ``float(a)``, ``int(a)``, ``bool(a)``, ``a.item()``,
  ``a.tolist()`` and ``a.get()`` work, as they do on CuPy (a device sync there);
- accepts host data only where CuPy does: ``xp.asarray``/``xp.array`` (the
  host-to-device copy), index arrays, and values assigned with ``a[...] = v``.

Its ``xp`` delegates to NumPy and wraps the results; its random module has CuPy's
``Generator`` (``random``, ``standard_normal``, ``integers``, ``uniform`` with a
``dtype``..., but no ``permutation``, ``choice``, ``shuffle`` or ``normal``). NumPy
names CuPy lacks (``errstate``, ``seterr``) are missing here too. The host is
reached through ``xp.asnumpy`` (``somanet.backend.to_numpy``) only.

It is a test device, not a user's: it is registered by the fixture in
``tests/conftest.py`` and is not among ``sn.device()``'s documented names.
"""
import json

import numpy

from somanet.backend.device import Device, register_device

_SCALARS = (bool, int, float, complex, numpy.generic)
# NumPy names that CuPy does not have (cupyx.errstate is CuPy's errstate)
_MISSING = {"errstate", "seterr", "geterr", "seterrcall", "nditer", "ndindex", "frompyfunc",
            "memmap", "set_printoptions", "get_printoptions", "printoptions"}
# ndarray members that CuPy's ndarray lacks or that hand out host memory
_HIDDEN_MEMBERS = {"tobytes", "tostring", "ctypes", "data", "tofile", "__array_interface__",
                   "__array_struct__", "__dlpack__", "__dlpack_device__", "setflags",
                   "itemset", "newbyteorder", "byteswap", "getfield", "setfield", "dumps",
                   "dump"}


def _mixing_error(where):
    return TypeError(f"{where}: a numpy.ndarray met an array of the strict device (CuPy: "
                     f"Unsupported type <class 'numpy.ndarray'>); move it with "
                     f"somanet.backend.to_device first, or compute with the device's xp")


def _unwrap(value, where):
    """``value`` with every StrictArray replaced by its NumPy array; a NumPy array is an
    error (CuPy's functions take only CuPy arrays and scalars)."""
    kind = type(value)
    if kind is StrictArray:
        return value._array
    if isinstance(value, numpy.ndarray):
        raise _mixing_error(where)
    if kind is list or kind is tuple:
        return kind(_unwrap(item, where) for item in value)
    return value


def _unwrap_host_ok(value):
    """``value`` unwrapped, NumPy arrays allowed (indices and assigned values: CuPy copies
    them to the device)."""
    kind = type(value)
    if kind is StrictArray:
        return value._array
    if kind is list or kind is tuple:
        return kind(_unwrap_host_ok(item) for item in value)
    return value


def _wrap(value):
    """NumPy results as strict arrays: arrays wrapped, NumPy scalars as 0-d arrays (CuPy
    returns 0-d arrays where NumPy returns scalars), tuples and lists element by element."""
    if isinstance(value, numpy.ndarray):
        return StrictArray(value)
    if isinstance(value, numpy.generic):
        return StrictArray(numpy.asarray(value))
    if isinstance(value, tuple):
        items = [_wrap(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if type(value) is list:
        return [_wrap(item) for item in value]
    return value


def _call(function, where, args, kwargs):
    args = _unwrap(args, where)
    kwargs = {key: _unwrap(item, where) for key, item in kwargs.items()}
    return _wrap(function(*args, **kwargs))


def _operand(other, where):
    """The NumPy operand for a binary operator, or NotImplemented for a type the operator
    does not know (a Tensor: its reflected operator runs)."""
    if type(other) is StrictArray:
        return other._array
    if isinstance(other, numpy.ndarray):
        raise _mixing_error(where)
    if isinstance(other, _SCALARS):
        return other
    return NotImplemented


def _binary(name):
    def forward(self, other):
        value = _operand(other, f"strict array {name}")
        if value is NotImplemented:
            return NotImplemented
        return _wrap(getattr(self._array, name)(value))

    forward.__name__ = name
    return forward


def _inplace(name):
    def update(self, other):
        value = _operand(other, f"strict array {name}")
        if value is NotImplemented:
            return NotImplemented
        getattr(self._array, name)(value)
        return self

    update.__name__ = name
    return update


def _unary(name):
    def apply(self):
        return _wrap(getattr(self._array, name)())

    apply.__name__ = name
    return apply


class StrictArray:
    """An array of the strict device: a NumPy array that will not be taken for one."""

    __slots__ = ("_array", "__weakref__")
    __array_ufunc__ = None  # NumPy's ufuncs refuse it, and NumPy's operators defer to ours
    __hash__ = None

    def __init__(self, array):
        if not isinstance(array, numpy.ndarray):
            raise TypeError(f"StrictArray wraps a numpy.ndarray, got {type(array).__name__}")
        self._array = array

    # -- refusing NumPy ---------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed (strict device, "
                        "as on CuPy); use somanet.backend.to_numpy(array) or array.get()")

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} was given an array of the strict device; "
                        f"call the device's array module (xp.{func.__name__}) instead")

    # -- the host, explicitly (CuPy's ndarray has these) -------------------------------------
    def get(self):
        """A host copy (``cupy.ndarray.get``)."""
        return self._array.copy()

    def set(self, host):
        """Copy the host array ``host`` in (``cupy.ndarray.set``)."""
        self._array[...] = host

    def item(self, *args):
        return self._array.item(*args)

    def tolist(self):
        return self._array.tolist()

    def __float__(self):
        return float(self._array)

    def __int__(self):
        return int(self._array)

    def __complex__(self):
        return complex(self._array)

    def __bool__(self):
        return bool(self._array)

    def __repr__(self):
        return "strict_" + repr(self._array)

    def __str__(self):
        return str(self._array)

    def __format__(self, spec):
        return format(self._array.item() if self._array.ndim == 0 else self._array, spec)

    # -- array behaviour ------------------------------------------------------------------
    def __len__(self):
        return len(self._array)

    def __iter__(self):
        for row in self._array:
            yield _wrap(row)

    def __getitem__(self, key):
        return _wrap(self._array[_unwrap_host_ok(key)])

    def __setitem__(self, key, value):
        self._array[_unwrap_host_ok(key)] = _unwrap_host_ok(value)

    def __copy__(self):
        return StrictArray(self._array.copy())

    def __deepcopy__(self, memo):
        return StrictArray(self._array.copy())

    def __reduce__(self):
        return (StrictArray, (self._array.copy(),))

    def __getattr__(self, name):
        if name in _HIDDEN_MEMBERS or name.startswith("__"):
            raise AttributeError(f"strict arrays (as CuPy's) have no {name!r}")
        member = getattr(self._array, name)
        if callable(member):
            def method(*args, **kwargs):
                return _call(member, f"strict array .{name}()", args, kwargs)
            return method
        return _wrap(member)

    def __setattr__(self, name, value):
        if name == "_array":
            object.__setattr__(self, name, value)
        elif name == "shape":
            self._array.shape = value
        else:
            raise AttributeError(f"cannot set {name!r} on a strict array")

    @property
    def T(self):
        return StrictArray(self._array.T)


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
              "__rmod__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__and__",
              "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__lshift__",
              "__rlshift__", "__rshift__", "__rrshift__", "__eq__", "__ne__", "__lt__",
              "__le__", "__gt__", "__ge__", "__divmod__", "__rdivmod__"):
    setattr(StrictArray, _name, _binary(_name))
for _name in ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__",
              "__imod__", "__ipow__", "__imatmul__", "__iand__", "__ior__", "__ixor__",
              "__ilshift__", "__irshift__"):
    setattr(StrictArray, _name, _inplace(_name))
for _name in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(StrictArray, _name, _unary(_name))


class _Ufunc:
    """A NumPy ufunc that computes on strict arrays (CuPy's ufuncs have the same methods)."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__
        self.nin, self.nout, self.nargs = ufunc.nin, ufunc.nout, ufunc.nargs

    def __call__(self, *args, **kwargs):
        return _call(self._ufunc, f"xp.{self.__name__}", args, kwargs)

    def at(self, target, indices, values=None):
        if type(target) is not StrictArray:
            raise TypeError(f"xp.{self.__name__}.at: the target must be a strict array, got "
                            f"{type(target).__name__}")
        args = (target._array, _unwrap_host_ok(indices))
        if values is not None:
            args += (_unwrap(values, f"xp.{self.__name__}.at"),)
        self._ufunc.at(*args)

    def reduce(self, *args, **kwargs):
        return _call(self._ufunc.reduce, f"xp.{self.__name__}.reduce", args, kwargs)

    def accumulate(self, *args, **kwargs):
        return _call(self._ufunc.accumulate, f"xp.{self.__name__}.accumulate", args, kwargs)

    def outer(self, *args, **kwargs):
        return _call(self._ufunc.outer, f"xp.{self.__name__}.outer", args, kwargs)

    def reduceat(self, *args, **kwargs):
        return _call(self._ufunc.reduceat, f"xp.{self.__name__}.reduceat", args, kwargs)


class _Namespace:
    """A NumPy (sub)module whose functions take and return strict arrays."""

    def __init__(self, module, path, extra=None):
        self._module = module
        self._path = path
        self._extra = extra or {}
        self._cache = {}

    def __repr__(self):
        return f"<strict array module {self._path}>"

    def __getattr__(self, name):
        found = self._cache.get(name)
        if found is not None:
            return found
        if name in self._extra:
            found = self._extra[name]
        elif name in _MISSING or name.startswith("__"):
            raise AttributeError(f"CuPy has no {self._path}.{name}, so neither has the "
                                 f"strict device")
        else:
            member = getattr(self._module, name)
            if isinstance(member, numpy.ufunc):
                found = _Ufunc(member)
            elif isinstance(member, type) or not callable(member):
                found = member  # dtypes, classes (finfo), constants (inf, newaxis)
            else:
                def found(*args, _member=member, _where=f"{self._path}.{name}", **kwargs):
                    return _call(_member, _where, args, kwargs)
                found.__name__ = name
        self._cache[name] = found
        return found


# -- host <-> device: the only doors ---------------------------------------------------------

def _asarray(data, dtype=None, order=None, copy=None):
    """``cupy.asarray``: device arrays as they are, host data (NumPy arrays, lists,
    scalars) copied to the device."""
    if type(data) is StrictArray:
        array = data._array
        if dtype is not None and numpy.dtype(dtype) != array.dtype:
            return StrictArray(array.astype(dtype))
        return data
    return StrictArray(numpy.array(_unwrap_host_ok(data), dtype=dtype, order=order or "K"))


def _array(data, dtype=None, copy=True, order="K", ndmin=0):
    """``cupy.array``: a new device array (from device or host data)."""
    if type(data) is StrictArray:
        return StrictArray(numpy.array(data._array, dtype=dtype, copy=copy, order=order,
                                       ndmin=ndmin))
    return StrictArray(numpy.array(_unwrap_host_ok(data), dtype=dtype, order=order,
                                   ndmin=ndmin))


def _asnumpy(array, stream=None, order="C", out=None):
    """``cupy.asnumpy``: a host copy."""
    if type(array) is StrictArray:
        host = array._array.copy()
    else:
        host = numpy.asarray(array)
    if out is not None:
        out[...] = host
        return out
    return host


def _from_dlpack(obj):
    raise TypeError("the strict device does not exchange DLPack capsules")


def _get_array_module(*args):
    return xp if any(type(a) is StrictArray for a in args) else numpy


# -- randomness: CuPy's Generator --------------------------------------------------------------

class StrictGenerator:
    """``cupy.random.Generator``'s methods (those CuPy has), drawing with NumPy's PCG64.

    Every draw is an array on the device (``size=None`` gives a 0-d array, as on CuPy).
    """

    _DISTRIBUTIONS = ("standard_exponential", "exponential", "gamma", "standard_gamma",
                      "beta", "binomial", "poisson", "chisquare", "dirichlet", "f",
                      "geometric", "hypergeometric", "logseries", "power")

    def __init__(self, seed=None):
        self._rng = numpy.random.default_rng(seed)

    def random(self, size=None, dtype=numpy.float64, out=None):
        drawn = self._rng.random(size, dtype=dtype)
        if out is not None:
            out[...] = StrictArray(numpy.asarray(drawn))
            return out
        return _wrap(numpy.asarray(drawn))

    def standard_normal(self, size=None, dtype=numpy.float64, out=None):
        drawn = self._rng.standard_normal(size, dtype=dtype)
        if out is not None:
            out[...] = StrictArray(numpy.asarray(drawn))
            return out
        return _wrap(numpy.asarray(drawn))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=numpy.float64):
        low, high = _unwrap((low, high), "Generator.uniform")
        return _wrap(numpy.asarray(self._rng.uniform(low, high, size)).astype(dtype))

    def integers(self, low, high=None, size=None, dtype=numpy.int64, endpoint=False):
        if isinstance(low, (StrictArray, numpy.ndarray)) or \
                isinstance(high, (StrictArray, numpy.ndarray)):
            raise TypeError("cupy.random.Generator.integers takes int bounds only")
        return _wrap(numpy.asarray(self._rng.integers(low, high, size, dtype=dtype,
                                                      endpoint=endpoint)))

    def __getattr__(self, name):
        if name in self._DISTRIBUTIONS:
            draw = getattr(self._rng, name)

            def method(*args, **kwargs):
                args = _unwrap(args, f"Generator.{name}")
                return _wrap(numpy.asarray(draw(*args, **kwargs)))
            return method
        raise AttributeError(f"cupy.random.Generator has no {name!r} (it draws random, "
                             f"standard_normal, integers, uniform and the distributions "
                             f"{', '.join(self._DISTRIBUTIONS)})")


def _default_rng(seed=None):
    if isinstance(seed, StrictGenerator):
        return seed
    return StrictGenerator(seed)


random = _Namespace(numpy.random, "xp.random",
                    {"default_rng": _default_rng, "Generator": StrictGenerator})
_stride_tricks = _Namespace(numpy.lib.stride_tricks, "xp.lib.stride_tricks")
_lib = _Namespace(numpy.lib, "xp.lib", {"stride_tricks": _stride_tricks})

xp = _Namespace(numpy, "xp", {
    "ndarray": StrictArray,
    "asarray": _asarray,
    "asanyarray": _asarray,
    "array": _array,
    "asnumpy": _asnumpy,
    "from_dlpack": _from_dlpack,
    "get_array_module": _get_array_module,
    "random": random,
    "linalg": _Namespace(numpy.linalg, "xp.linalg"),
    "fft": _Namespace(numpy.fft, "xp.fft"),
    "lib": _lib,
})


class StrictDevice(Device):
    """The strict device: arrays are ``StrictArray``, ``xp`` the strict array module.

    Like a GPU it is not the CPU (``device is not CPU``), has index 0 for its random
    stream, and is entered with ``with device:`` before arrays are made on it.
    """

    def __init__(self):
        super().__init__("strict", 0, xp)

    def __str__(self):
        return "strict"

    # like a GPU's, its generator's state travels as a host uint8 array (here the JSON of
    # the PCG64 state underneath)
    def generator_state(self, generator):
        text = json.dumps(generator._rng.bit_generator.state)
        return numpy.frombuffer(text.encode(), dtype=numpy.uint8).copy()

    def set_generator_state(self, generator, state):
        try:
            generator._rng.bit_generator.state = json.loads(state.tobytes().decode())
        except (ValueError, TypeError, KeyError):
            return False
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_DEVICE = []


def strict_device():
    """The strict device, registered so that ``sn.device("strict")`` finds it."""
    if not _DEVICE:
        _DEVICE.append(StrictDevice())
        register_device(_DEVICE[0])
    return _DEVICE[0]
