"""zero_grad from a Module or an Optimizer, when two parameters share one gradient array."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.autograd import zero_grads


class _Holder(nn.Module):
    """A module that owns only ``param`` (the other parameter lives elsewhere)."""

    def __init__(self, param):
        super().__init__()
        self.param = param


def _clear(path, param, set_to_none):
    if path == "module":
        _Holder(param).zero_grad(set_to_none=set_to_none)
    else:
        sn.optim.SGD([param], lr=0.1).zero_grad(set_to_none=set_to_none)


def _shared_by_an_add():
    """Two parameters whose gradients are one array: ``a + b`` with no broadcasting hands
    both inputs the very array that reached the add (``sum_to`` returns it as is)."""
    a = nn.Parameter(sn.tensor([1.0, 2.0]))
    b = nn.Parameter(sn.tensor([3.0, 4.0]))
    ((a + b) * sn.tensor([2.0, 3.0])).sum().backward()
    assert a.grad.data is b.grad.data
    return a, b


def _shared_by_hand():
    a = nn.Parameter(sn.tensor([1.0, 2.0]))
    b = nn.Parameter(sn.tensor([3.0, 4.0]))
    a.grad, b.grad = sn.zeros(2), sn.zeros(2)
    shared = np.array([2.0, 3.0], dtype=np.float32)
    a.grad.data = b.grad.data = shared
    return a, b


@pytest.mark.parametrize("make", [_shared_by_an_add, _shared_by_hand])
@pytest.mark.parametrize("path", ["module", "optimizer"])
def test_zeroing_one_parameter_leaves_the_other_gradient_alone(make, path):
    a, b = make()
    _clear(path, a, set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0] and a.grad.dtype == np.float32
    assert b.grad.tolist() == [2.0, 3.0]
    assert a.grad.data is not b.grad.data
    # the next backward accumulates into each gradient on its own
    ((a + b) * sn.tensor([2.0, 3.0])).sum().backward()
    assert a.grad.tolist() == [2.0, 3.0]
    assert b.grad.tolist() == [4.0, 6.0]


@pytest.mark.parametrize("path", ["module", "optimizer"])
def test_set_to_none_is_the_default_and_leaves_the_other_gradient_alone(path):
    a, b = _shared_by_an_add()
    if path == "module":
        _Holder(a).zero_grad()
    else:
        sn.optim.SGD([a], lr=0.1).zero_grad()
    assert a.grad is None and b.grad.tolist() == [2.0, 3.0]
    ((a + b) * sn.tensor([2.0, 3.0])).sum().backward()
    assert a.grad.tolist() == [2.0, 3.0] and b.grad.tolist() == [4.0, 6.0]


def test_zeroing_both_gives_each_its_own_zeros():
    a, b = _shared_by_an_add()
    zero_grads([a, b], set_to_none=False)
    assert a.grad.data is not b.grad.data
    a.grad.data += 1.0  # writing through one does not reach the other
    assert b.grad.tolist() == [0.0, 0.0]


def test_one_grad_tensor_assigned_to_two_parameters():
    a, b = _shared_by_hand()
    b.grad = a.grad  # the same Tensor object, not only the same array
    _clear("module", a, set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0] and b.grad.tolist() == [2.0, 3.0]
