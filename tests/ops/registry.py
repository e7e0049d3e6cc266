"""The op registry: every differentiable op, with sample inputs and a NumPy reference.

``test_registry.py`` sweeps it: each entry's forward is compared with its
reference in float32 (and must stay float32), and its gradient is checked
against float64 finite differences. Families register their entries in
``cases_<family>.py`` files next to this one; an op (a ``Function`` subclass
in ``somanet.ops``) that no entry covers fails ``test_every_op_is_registered``.

Writing an entry::

    OpCase("exp", sn.exp, np.exp, [[x((2, 3))], [x(())], [x((0, 4))]], covers=[Exp])

Each sample is a list of inputs: ``x(shape)`` is a float input (random
values in ``[low, high)``, gradient-checked), ``const(array)`` an input
passed as a tensor without gradient (indices, masks), and any other value is
passed to ``fn`` and ``reference`` unchanged (axes, shapes).
"""
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import somanet as sn


@dataclass
class x:
    """A float input of ``shape`` drawn uniformly from [low, high) (away from kinks
    when ``avoid`` is given: |value - a| >= 0.1 for every a in avoid)."""
    shape: tuple
    low: float = -2.0
    high: float = 2.0
    avoid: tuple = ()

    def draw(self, rng):
        values = rng.uniform(self.low, self.high, self.shape)
        for point in self.avoid:
            near = np.abs(values - point) < 0.1
            values = np.where(near, values + np.where(values >= point, 0.2, -0.2), values)
        return values


@dataclass
class const:
    """An input passed as a tensor that does not require grad (integers, masks)."""
    value: object


@dataclass
class OpCase:
    name: str
    fn: object  # somanet callable on tensors
    reference: object  # the same maths on NumPy arrays
    samples: list
    covers: list = field(default_factory=list)  # the Function classes exercised
    grad: bool = True
    atol: float = 1e-5
    rtol: float = 1e-4
    distinct: bool = False  # draw values with no ties (max, min, sort-like ops)
    keeps_dtype: bool = True  # float32 in, float32 out (False for casts)
    eps: float = 1e-6  # the finite-difference step

    def __str__(self):
        return self.name


def build_inputs(sample, rng, dtype, requires_grad, distinct=False, device=None):
    """The sample as (somanet inputs on ``device``, default the CPU; numpy inputs)."""
    ours, theirs = [], []
    for item in sample:
        if isinstance(item, x):
            values = item.draw(rng)
            if distinct and values.size:
                order = rng.permutation(values.size).reshape(values.shape)
                values = item.low + (item.high - item.low) * (order + 0.5) / values.size
            values = values.astype(dtype)
            ours.append(sn.tensor(values, dtype=dtype, device=device,
                                  requires_grad=requires_grad))
            theirs.append(values)
        elif isinstance(item, const):
            ours.append(sn.tensor(item.value, dtype=np.asarray(item.value).dtype,
                                  device=device))
            theirs.append(np.asarray(item.value))
        else:
            ours.append(item)
            theirs.append(item)
    return ours, theirs


def all_cases():
    """Every OpCase from every ``cases_*.py`` module in this folder."""
    cases = []
    folder = Path(__file__).parent
    for module in sorted(pkgutil.iter_modules([str(folder)]), key=lambda m: m.name):
        if module.name.startswith("cases_"):
            cases.extend(importlib.import_module(f"tests.ops.{module.name}").CASES)
    return cases


def gradcheck_sample(case, index, device=None):
    """The float64 finite-difference gradient check of sample ``index`` of ``case`` (on
    ``device``); skipped when the sample has no differentiable input."""
    import pytest

    import somanet as sn
    rng = np.random.default_rng(100 + index)
    ours, _ = build_inputs(case.samples[index], rng, np.float64, True, case.distinct,
                           device=device)
    if not any(isinstance(t, sn.Tensor) and t.requires_grad for t in ours):
        pytest.skip("no differentiable input in this sample")
    tensors = [i for i, t in enumerate(ours) if isinstance(t, sn.Tensor)]

    def fn(*args):
        full = list(ours)
        for position, value in zip(tensors, args):
            full[position] = value
        return case.fn(*full)

    assert sn.gradcheck(fn, [ours[i] for i in tensors], eps=case.eps)
