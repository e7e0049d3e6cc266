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

from .registry import all_cases, build_inputs, gradcheck_sample, x

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
    gradcheck_sample(case, index)


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


def _integer_samples():
    """(case, sample index, position): every float input of a sample with several float
    inputs, to be given as integers while the others stay float32."""
    found = []
    for case in CASES:
        # batch_norm_eval_affine makes its running statistics in the input's dtype
        if not case.keeps_dtype or case.name == "batch_norm_eval_affine":
            continue
        for index, sample in enumerate(case.samples):
            floats = [i for i, item in enumerate(sample) if isinstance(item, x)]
            if len(floats) > 1:
                found.extend((case, index, position) for position in floats)
    return found


INTEGER_SAMPLES = _integer_samples()
# Where an integer is refused, with a clear error naming its dtype, rather than cast: a
# loss's predictions (they carry the gradient), a classification loss's target (an
# integer target means class labels: a one-hot target must be float), and the input of
# the fused recurrent ops (ops/recurrent.py checks it; the layers get floats from a
# Model, which casts integer features at its boundary).
_REFUSED = {"sse": {0}, "mse": {0}, "mae": {0}, "huber": {0}, "smooth_l1": {0}, "kl_div": {0},
            "binary_cross_entropy": {0}, "cross_entropy": {0, 1}, "nll": {0, 1},
            "rnn_sequence": {0}, "lstm_sequence": {0}, "gru_sequence": {0}}


def _refused(case, position):
    return any(case.name == name or case.name.startswith(name + "_")
               for name, positions in _REFUSED.items() if position in positions)


@pytest.mark.parametrize("item", INTEGER_SAMPLES,
                         ids=[f"{c.name}-{i}-arg{p}" for c, i, p in INTEGER_SAMPLES])
def test_integer_operand_meeting_float32_gives_float32(item):
    # The dtype contract: integer data never upcasts a float32 computation to float64.
    case, index, position = item
    rng = np.random.default_rng(200 + index)
    ours, theirs = build_inputs(case.samples[index], rng, np.float32, False, case.distinct)
    values = np.rint(theirs[position] * 2)  # whole numbers, some of them 0
    ours[position] = sn.tensor(values.astype(np.int64))
    theirs[position] = values.astype(np.float32)
    if _refused(case, position):
        with pytest.raises((TypeError, ValueError), match="int64|integer"):
            case.fn(*ours)
        return
    got = _as_list(case.fn(*ours))
    want = _as_list(case.reference(*theirs))
    for g, w in zip(got, want):
        w = np.asarray(w)
        if w.dtype.kind == "f":
            assert g.dtype == np.float32, f"{case.name}: int64 and float32 gave {g.dtype}"
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-4, atol=1e-4, err_msg=case.name)
