"""Random number generation: one generator per device, all seeded by ``manual_seed``.

Every random draw in somanet (weight initialisation, dropout masks, data
shuffling) comes from ``generator(device)``, so after ``manual_seed(n)`` a
program's results are reproducible bit for bit on the CPU.

    >>> import somanet as sn
    >>> sn.manual_seed(0); a = sn.randn(3)
    >>> sn.manual_seed(0); b = sn.randn(3)
    >>> bool((a == b).all())
    True
"""
import numpy

from .._checks import check_non_negative_int
from .device import CPU, device as as_device

_seed = None
_generators = {}


def manual_seed(seed):
    """Seed every device's generator from ``seed`` (a non-negative int).

    Each device gets its own stream, derived from ``seed`` and the device's
    name, so the CPU and each GPU draw independent numbers.
    """
    global _seed
    _seed = check_non_negative_int("manual_seed", "seed", seed, what="a non-negative int")
    _generators.clear()


def initial_seed():
    """The seed last given to ``manual_seed`` (``None`` if it was never called)."""
    return _seed


def _stream_key(device):
    return 0 if device.index is None else device.index + 1


def generator(device=CPU):
    """The generator of ``device``: a ``numpy.random.Generator`` (CuPy's on a GPU).

    Draw float32 directly with ``dtype=`` (``random``, ``standard_normal``),
    never a float64 draw cast down.
    """
    device = as_device(device)
    found = _generators.get(device)
    if found is None:
        entropy = None if _seed is None else [_seed, _stream_key(device)]
        sequence = numpy.random.SeedSequence(entropy)
        if device is CPU:
            found = numpy.random.Generator(numpy.random.PCG64(sequence))
        else:
            seed = int(sequence.generate_state(1, numpy.uint64)[0])
            with device:
                found = device.xp.random.default_rng(seed)
        _generators[device] = found
    return found


def get_rng_state():
    """The CPU generator's state plus the seed, as JSON-serialisable data (for checkpoints)."""
    return {"seed": _seed, "cpu": generator(CPU).bit_generator.state}


def set_rng_state(state):
    """Restore what ``get_rng_state`` returned, so the next draws repeat exactly."""
    global _seed
    if not isinstance(state, dict) or "cpu" not in state:
        raise ValueError("set_rng_state expects the dict returned by get_rng_state(), "
                         f"got {type(state).__name__}")
    _seed = state.get("seed")
    _generators.clear()
    generator(CPU).bit_generator.state = state["cpu"]


def fresh_generator(seed, device=CPU):
    """A new generator of ``device`` seeded with ``seed``, independent of ``manual_seed``
    (for tools such as gradcheck that must not disturb the global streams)."""
    device = as_device(device)
    if device is CPU:
        return numpy.random.default_rng(seed)
    with device:
        return device.xp.random.default_rng(seed)
