"""Weight initialisers, by their Keras names.

Every initialiser is a function ``init(shape, ..., dtype=None, device=None)``
that returns a new Tensor of that shape, drawn in float32 (or ``dtype``) from
``somanet.backend.generator(device)``, so ``somanet.manual_seed(n)`` makes it
reproducible. Configure one with ``functools.partial``; apply one to an
existing tensor in place with ``initialize_``::

    import functools
    from somanet import nn
    w = nn.init.glorot_uniform((784, 128))                      # a new Tensor
    layer = nn.Dense(64, kernel_initializer="he_normal")        # by name
    layer = nn.Dense(64, kernel_initializer=functools.partial(nn.init.normal, std=0.01))
    nn.init.initialize_(layer.bias, nn.init.ones)               # in place, no graph

A layer calls ``initializer(shape, dtype=..., device=...)``; any callable with
that signature returning a Tensor or array works.

Fans (how many units feed into / out of each unit) come from the shape in
somanet's layouts: ``(in, out)`` for a dense weight (one row per input unit,
as Keras lays its kernel out); ``(out, in, *kernel)`` for a convolution, where
fan_in = in * prod(kernel) and fan_out = out * prod(kernel). Pass ``fan_in`` /
``fan_out`` to override (the convolution layers do, so that grouped and
transposed weights, laid out differently, get the right fans).

The variance-scaling family draws with ``std = gain * sqrt(scale / fan)``:

- Glorot (Xavier): scale 2, fan = fan_in + fan_out, so Var(w) = 2 / (fan_in + fan_out);
- He (Kaiming): scale 2, fan = fan_in (for ReLU); LeCun: scale 1, fan = fan_in.

The uniform variants draw from [-limit, limit] with limit = sqrt(3) * std.
"""
import math

from .._checks import is_int, lookup
from ..backend import as_dtype, device as as_device, generator, get_default_dtype
from ..tensor import Tensor
from ..autograd import no_grad


def _new(array):
    tensor = Tensor.__new__(Tensor)
    tensor.data = array
    return tensor


def _shape(shape):
    if is_int(shape):
        shape = (shape,)
    try:
        shape = tuple(int(size) for size in shape)
    except TypeError:
        raise TypeError(f"an initialiser takes a shape (a tuple of ints), got "
                        f"{type(shape).__name__}") from None
    if any(size < 0 for size in shape):
        raise ValueError(f"an initialiser got a negative size in shape {shape}")
    return shape


def _setup(shape, dtype, device):
    """The shape, the float dtype, the device and its generator for a draw."""
    dtype = get_default_dtype() if dtype is None else as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"initialisers draw floats; got dtype {dtype}")
    device = as_device(device)
    return _shape(shape), dtype, device, generator(device)


def _draw_normal(rng, shape, dtype):
    # Generators draw float32 or float64 natively; other floats are cast from float32.
    native = dtype if dtype.name in ("float32", "float64") else as_dtype("float32")
    out = rng.standard_normal(size=shape, dtype=native)
    return out if out.dtype == dtype else out.astype(dtype)


def _draw_uniform(rng, shape, dtype):
    native = dtype if dtype.name in ("float32", "float64") else as_dtype("float32")
    out = rng.random(size=shape, dtype=native)
    return out if out.dtype == dtype else out.astype(dtype)


def compute_fans(shape):
    """``(fan_in, fan_out)`` of a weight of ``shape`` (see the module docstring)."""
    shape = _shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


# -- constants --------------------------------------------------------------------------------

def zeros(shape, *, dtype=None, device=None):
    """All zeros (the default for biases, as in Keras and PyTorch's layers)."""
    shape, dtype, device, _ = _setup(shape, dtype, device)
    return _new(device.xp.zeros(shape, dtype=dtype))


def ones(shape, *, dtype=None, device=None):
    """All ones (BatchNorm's and LayerNorm's default scale)."""
    shape, dtype, device, _ = _setup(shape, dtype, device)
    return _new(device.xp.ones(shape, dtype=dtype))


def constant(shape, value=0.0, *, dtype=None, device=None):
    """Every element ``value``."""
    shape, dtype, device, _ = _setup(shape, dtype, device)
    return _new(device.xp.full(shape, value, dtype=dtype))


# -- plain random -----------------------------------------------------------------------------

def normal(shape, mean=0.0, std=0.05, *, dtype=None, device=None):
    """Draws from N(mean, std^2) (Keras ``RandomNormal``'s defaults)."""
    shape, dtype, device, rng = _setup(shape, dtype, device)
    out = _draw_normal(rng, shape, dtype)
    if std != 1:
        out *= dtype.type(std)
    if mean != 0:
        out += dtype.type(mean)
    return _new(out)


def truncated_normal(shape, mean=0.0, std=0.05, *, dtype=None, device=None):
    """Draws from N(mean, std^2), redrawing any value more than two standard deviations
    from the mean (as TensorFlow's ``tf.truncated_normal``, a common choice for weights).

    The result's standard deviation is about 0.88 * std (the truncation narrows it).
    """
    shape, dtype, device, rng = _setup(shape, dtype, device)
    xp = device.xp
    out = _draw_normal(rng, shape, dtype)
    bad = xp.abs(out) > 2
    count = int(bad.sum())
    while count:  # about 4.6% of draws are outside; a few rounds finish any size
        out[bad] = _draw_normal(rng, (count,), dtype)
        bad = xp.abs(out) > 2
        count = int(bad.sum())
    if std != 1:
        out *= dtype.type(std)
    if mean != 0:
        out += dtype.type(mean)
    return _new(out)


def uniform(shape, low=-0.05, high=0.05, *, dtype=None, device=None):
    """Draws from U[low, high) (Keras ``RandomUniform``'s defaults)."""
    if not high > low:
        raise ValueError(f"uniform: need low < high, got low={low}, high={high}")
    shape, dtype, device, rng = _setup(shape, dtype, device)
    out = _draw_uniform(rng, shape, dtype)
    out *= dtype.type(high - low)
    out += dtype.type(low)
    return _new(out)


# -- variance scaling -------------------------------------------------------------------------

def _scaled_std(shape, scale, mode, gain, fan_in, fan_out):
    default_in, default_out = compute_fans(shape)
    fan_in = default_in if fan_in is None else fan_in
    fan_out = default_out if fan_out is None else fan_out
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return gain * math.sqrt(scale / max(fan, 1))


def _scaled_normal(shape, scale, mode, gain, fan_in, fan_out, dtype, device):
    std = _scaled_std(shape, scale, mode, gain, fan_in, fan_out)
    return normal(shape, 0.0, std, dtype=dtype, device=device)


def _scaled_uniform(shape, scale, mode, gain, fan_in, fan_out, dtype, device):
    limit = math.sqrt(3.0) * _scaled_std(shape, scale, mode, gain, fan_in, fan_out)
    return uniform(shape, -limit, limit, dtype=dtype, device=device)


def glorot_uniform(shape, gain=1.0, *, fan_in=None, fan_out=None, dtype=None, device=None):
    """Glorot (Xavier) uniform: U[-l, l] with l = gain * sqrt(6 / (fan_in + fan_out)).
    The default for Dense and Conv kernels, as in Keras."""
    return _scaled_uniform(shape, 1.0, "fan_avg", gain, fan_in, fan_out, dtype, device)


def glorot_normal(shape, gain=1.0, *, fan_in=None, fan_out=None, dtype=None, device=None):
    """Glorot (Xavier) normal: N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out))."""
    return _scaled_normal(shape, 1.0, "fan_avg", gain, fan_in, fan_out, dtype, device)


def he_uniform(shape, gain=1.0, *, fan_in=None, fan_out=None, dtype=None, device=None):
    """He (Kaiming) uniform, for ReLU layers: U[-l, l] with l = gain * sqrt(6 / fan_in)."""
    return _scaled_uniform(shape, 2.0, "fan_in", gain, fan_in, fan_out, dtype, device)


def he_normal(shape, gain=1.0, *, fan_in=None, fan_out=None, dtype=None, device=None):
    """He (Kaiming) normal, for ReLU layers: N(0, s^2) with s = gain * sqrt(2 / fan_in)."""
    return _scaled_normal(shape, 2.0, "fan_in", gain, fan_in, fan_out, dtype, device)


def lecun_uniform(shape, gain=1.0, *, fan_in=None, fan_out=None, dtype=None, device=None):
    """LeCun uniform: U[-l, l] with l = gain * sqrt(3 / fan_in)."""
    return _scaled_uniform(shape, 1.0, "fan_in", gain, fan_in, fan_out, dtype, device)


def lecun_normal(shape, gain=1.0, *, fan_in=None, fan_out=None, dtype=None, device=None):
    """LeCun normal: N(0, s^2) with s = gain * sqrt(1 / fan_in) (for SELU networks)."""
    return _scaled_normal(shape, 1.0, "fan_in", gain, fan_in, fan_out, dtype, device)


def orthogonal(shape, gain=1.0, *, dtype=None, device=None):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al.), for recurrent weights.

    The weight is viewed as a matrix of ``shape[0]`` rows by the product of the
    other axes; its rows (if fewer) or columns (if fewer) are orthonormal, so
    ``W^T W = I`` for a tall or square ``W``. Made by QR of a Gaussian matrix,
    with the signs of R's diagonal folded in so the result is uniformly distributed.
    """
    shape, dtype, device, rng = _setup(shape, dtype, device)
    if len(shape) < 2:
        raise ValueError(f"orthogonal: needs a shape with at least 2 axes, got {shape}")
    xp = device.xp
    rows, cols = shape[0], math.prod(shape[1:])
    # Drawn in float64 for an accurate QR; the result is cast to ``dtype``.
    flat = rng.standard_normal(size=(max(rows, cols), min(rows, cols)), dtype=as_dtype("float64"))
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    out = (q * gain).astype(dtype).reshape(shape)
    return _new(xp.ascontiguousarray(out))


# -- lookup and in-place use ------------------------------------------------------------------

_REGISTRY = {
    "zeros": zeros, "ones": ones, "constant": constant,
    "normal": normal, "random_normal": normal,
    "uniform": uniform, "random_uniform": uniform,
    "truncated_normal": truncated_normal,
    "glorot_uniform": glorot_uniform, "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal, "xavier_normal": glorot_normal,
    "he_uniform": he_uniform, "kaiming_uniform": he_uniform,
    "he_normal": he_normal, "kaiming_normal": he_normal,
    "lecun_uniform": lecun_uniform, "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}


def get(initializer):
    """The initialiser named ``initializer`` (e.g. ``"he_normal"``), or a callable as is.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if callable(initializer):
        return initializer
    if isinstance(initializer, str):
        return lookup(None, "initialiser", initializer, dict(sorted(_REGISTRY.items())),
                      hint=" (or pass a callable (shape, dtype=, device=) -> Tensor)")
    raise TypeError(f"an initialiser must be a name or a callable, got "
                    f"{type(initializer).__name__}")


def create(initializer, shape, dtype=None, device=None, **fans):
    """Run ``initializer`` (a name or a callable) for ``shape`` and return the array it makes,
    checked to have that shape, on ``device``, in ``dtype``. ``fans`` (``fan_in=``,
    ``fan_out=``) go to the built-in variance-scaling initialisers only."""
    function = get(initializer)
    dtype = get_default_dtype() if dtype is None else as_dtype(dtype)
    device = as_device(device)
    if fans and function in _FAN_AWARE:
        result = function(shape, dtype=dtype, device=device, **fans)
    else:
        result = function(shape, dtype=dtype, device=device)
    array = result.data if isinstance(result, Tensor) else device.asarray(result)
    name = getattr(function, "__name__", type(function).__name__)
    if tuple(array.shape) != tuple(shape):
        raise ValueError(f"initialiser {name} returned shape {tuple(array.shape)}, "
                         f"expected {tuple(shape)}")
    if array.dtype != dtype:
        array = array.astype(dtype)
    return array


_FAN_AWARE = {glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal}


def initialize_(tensor, initializer, **kwargs):
    """Overwrite ``tensor`` (a Parameter, say) in place with ``initializer``'s values.

    Args:
        initializer: a name or a callable ``(shape, dtype=, device=)``.
        **kwargs: passed on, e.g. ``std=0.01`` for ``normal``.

    Returns:
        ``tensor``.
    """
    function = get(initializer)
    result = function(tensor.shape, dtype=tensor.dtype, device=tensor.device, **kwargs)
    with no_grad():
        tensor[...] = result
    return tensor
