"""The op registry on the strict device (tests/backend/strict.py): every sample's forward
and every op's gradient computed with the device's array module only, as on a GPU. An op that reaches
NumPy directly fails here with the strict device's TypeError."""
import numpy as np
import pytest

from somanet.backend import to_numpy

from .registry import build_inputs, gradcheck_sample, x
from .test_registry import CASES, SAMPLES, _as_list, _ids



def _first_differentiable(case):
    return next((i for i, sample in enumerate(case.samples)
                 if any(isinstance(item, x) for item in sample)), None)


# One gradient check an op (its first sample with a float input): every backward runs on
# the device, and the whole sweep stays a few seconds (the CPU sweep checks every sample).
GRAD_SAMPLES = [(case, _first_differentiable(case)) for case in CASES
                if case.grad and _first_differentiable(case) is not None]
_MOVES = {"to_device"}  # ops whose output is meant to live elsewhere
_OWN_STREAM = {"dropout_seeded"}  # the reference draws from the CPU's random stream


@pytest.mark.parametrize("item", SAMPLES, ids=[_ids(s) for s in SAMPLES])
def test_forward_on_the_strict_device(item, strict):
    case, index = item
    rng = np.random.default_rng(index)
    ours, theirs = build_inputs(case.samples[index], rng, np.float32, False, case.distinct,
                                device=strict)
    got = _as_list(case.fn(*ours))
    want = _as_list(case.reference(*theirs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if case.name not in _MOVES:
            assert g.device is strict, f"{case.name} returned a tensor on {g.device}"
        w = np.asarray(w)
        assert g.shape == w.shape
        if w.dtype.kind == "f" and case.keeps_dtype:
            assert g.dtype == np.float32
        got_values = to_numpy(g.data)
        if case.name in _OWN_STREAM:  # dropout: the strict device draws its own mask
            scaled = theirs[0] / (1 - theirs[1])
            kept = np.isclose(got_values, scaled, rtol=1e-6)
            assert np.all(kept | (got_values == 0)) and kept.any() and not kept.all()
            continue
        np.testing.assert_allclose(got_values, w, rtol=case.rtol, atol=case.atol,
                                   err_msg=case.name)


@pytest.mark.parametrize("item", GRAD_SAMPLES, ids=[_ids(s) for s in GRAD_SAMPLES])
def test_gradient_on_the_strict_device(item, strict):
    case, index = item
    gradcheck_sample(case, index, device=strict)
