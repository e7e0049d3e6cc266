"""Sweep the op registry: forward against NumPy, float32 kept, gradients against
finite differences; and no op left out of the registry."""
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import somanet as sn
import somanet.ops
from somanet.autograd.function import Function

from .registry import all_cases, build_inputs

CASES = all_cases()
SAMPLES = [(case, i) for case in CASES for i in range(len(case.samples))]


def _ids(item):
    case, index = item
    return f"{case.name}-{index}"


def _as_list(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


@pytest.mark.parametrize("item", SAMPLES, ids=[_ids(s) for s in SAMPLES])
def test_forward_matches_numpy_and_stays_float32(item):
    case, index = item
    rng = np.random.default_rng(index)
    ours, theirs = build_inputs(case.samples[index], rng, np.float32, False, case.distinct)
    got = _as_list(case.fn(*ours))
    want = _as_list(case.reference(*theirs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape, f"{case.name}: shape {g.shape}, expected {w.shape}"
        if w.dtype.kind == "f" and case.keeps_dtype:
            assert g.dtype == np.float32, f"{case.name} turned float32 into {g.dtype}"
        np.testing.assert_allclose(g.numpy(), w, rtol=case.rtol, atol=case.atol,
                                   err_msg=case.name)


@pytest.mark.parametrize("item", [s for s in SAMPLES if s[0].grad],
                         ids=[_ids(s) for s in SAMPLES if s[0].grad])
def test_gradient_matches_finite_differences(item):
    case, index = item
    rng = np.random.default_rng(100 + index)
    ours, _ = build_inputs(case.samples[index], rng, np.float64, True, case.distinct)
    if not any(isinstance(t, sn.Tensor) and t.requires_grad for t in ours):
        pytest.skip("no differentiable input in this sample")
    tensors = [i for i, t in enumerate(ours) if isinstance(t, sn.Tensor)]

    def fn(*args):
        full = list(ours)
        for position, value in zip(tensors, args):
            full[position] = value
        return case.fn(*full)

    assert sn.gradcheck(fn, [ours[i] for i in tensors], eps=case.eps)


def _op_functions():
    # Walk the package's files, not its attributes: a module named like its public function
    # (ops/dropout.py defines dropout) is shadowed by that function on the package.
    found = set()
    for info in pkgutil.iter_modules(somanet.ops.__path__):
        module = importlib.import_module(f"somanet.ops.{info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Function) and value is not Function and \
                    value.__module__.startswith("somanet.ops"):
                found.add(value)
    return found


def test_every_op_is_registered():
    covered = {cls for case in CASES for cls in case.covers}
    missing = sorted(cls.__name__ for cls in _op_functions() - covered)
    assert not missing, f"ops without a registry entry: {missing}"
