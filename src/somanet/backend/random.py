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
import warnings

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


def get_device_rng_states():
    """The state of each accelerator's generator drawn from so far, ``{device name: 1-D
    uint8 host array}``. Checkpoints save these beside ``get_rng_state()``: a GPU
    generator's state is megabytes (one state per GPU thread), an array, not JSON."""
    return {str(device): device.generator_state(found)
            for device, found in _generators.items() if device is not CPU}


def set_device_rng_states(states):
    """Give each device named in ``states`` (what ``get_device_rng_states`` returned) its
    generator's state back; call it after ``set_rng_state``, which re-seeds them all.

    A device this machine does not have is skipped (a GPU checkpoint resumed on a
    CPU-only machine: the CPU's stream is ``set_rng_state``'s), and a state that does not
    fit the device's generator (saved on a GPU with another number of multiprocessors)
    leaves that generator seeded from the seed, with a warning. Returns the names of
    the devices whose state was restored.
    """
    restored = []
    for name, state in states.items():
        try:
            device = as_device(name)
        except (ValueError, RuntimeError):
            continue
        if device.set_generator_state(generator(device), state):
            restored.append(name)
        else:
            warnings.warn(f"the random state saved for {name} ({state.nbytes:,} bytes) does "
                          f"not fit its generator here (a GPU of another model?); its draws "
                          f"start again from the seed", RuntimeWarning, stacklevel=2)
    return restored


def fresh_generator(seed, device=CPU):
    """A new generator of ``device`` seeded with ``seed``, independent of ``manual_seed``
    (for tools such as gradcheck that must not disturb the global streams)."""
    device = as_device(device)
    if device is CPU:
        return numpy.random.default_rng(seed)
    with device:
        return device.xp.random.default_rng(seed)
