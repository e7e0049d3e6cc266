"""Every layer on the strict device (tests/backend/strict.py): built lazily there, moved
there with ``Module.to``, forward and backward in train and eval mode, and the same
numbers as on the CPU; nothing may reach NumPy behind the device's back."""
import copy

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.backend import to_numpy

from tests.train.test_integer_inputs import LAYERS, _First

CASES = dict(LAYERS, Embedding=(lambda: nn.Embedding(7, 3), (5,)))


def _input(name, shape, device=None):
    rng = np.random.default_rng(0)
    if name == "Embedding":
        return sn.tensor(rng.integers(0, 7, size=(4,) + shape), device=device)
    return sn.tensor(rng.standard_normal((4,) + shape).astype(np.float32), device=device)


def _run(layer, x):
    """The layer's output and the gradients of a fixed projection of it (parameters
    first, then the input where it is float)."""
    layer.zero_grad()
    x = x.detach()
    if x.dtype.kind == "f":
        x.requires_grad_()
    out = layer(x)
    weights = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    (out * sn.tensor(weights, device=out.device)).sum().backward()
    grads = [p.grad for p in layer.parameters()] + ([x.grad] if x.requires_grad else [])
    return out, grads


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_on_the_strict_device_matches_the_cpu(name, strict):
    factory, shape = CASES[name]
    sn.manual_seed(0)
    layer = _First(factory())
    layer(_input(name, shape))  # built on the CPU
    moved = copy.deepcopy(layer).to(strict)
    assert all(p.device is strict for p in moved.parameters())
    assert all(b.device is strict for b in moved.buffers())
    for train in (False, True):
        layer.train(train)
        moved.train(train)
        out, grads = _run(moved, _input(name, shape, strict))
        assert out.device is strict and all(g.device is strict for g in grads)
        if train and name == "Dropout":  # the strict device draws its own mask
            continue
        want, want_grads = _run(layer, _input(name, shape))
        np.testing.assert_allclose(to_numpy(out.data), want.numpy(), rtol=1e-5, atol=1e-5)
        for got, expected in zip(grads, want_grads):
            np.testing.assert_allclose(to_numpy(got.data), expected.numpy(), rtol=1e-4,
                                       atol=1e-5)
    back = moved.to("cpu")
    assert all(type(p.data) is np.ndarray for p in back.parameters())


@pytest.mark.filterwarnings("ignore:.*input size is not known yet")  # asked before a call
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_lazy_layer_builds_on_the_device_of_its_first_input(name, strict):
    factory, shape = CASES[name]
    layer = _First(factory())
    if list(layer.parameters()):  # built at construction, on the CPU: a clear error
        with pytest.raises(ValueError, match="cpu.*strict|strict.*cpu"):
            layer(_input(name, shape, strict))
        layer.to(strict)
    out, grads = _run(layer, _input(name, shape, strict))
    assert out.device is strict
    assert all(p.device is strict for p in layer.parameters())
    assert all(g.device is strict for g in grads)
