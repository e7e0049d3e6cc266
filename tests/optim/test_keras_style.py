"""Optimisers made without parameters (Keras style) and ``lr=`` / ``learning_rate=``."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn

from .helpers import param

NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Rprop", "Manhattan"]
DEFAULT_LR = {"SGD": 0.01, "Adam": 1e-3, "AdamW": 1e-3, "RMSprop": 0.01, "Adagrad": 0.01,
              "Rprop": 0.01, "Manhattan": 0.01}


@pytest.mark.parametrize("name", NAMES)
def test_lr_and_learning_rate_are_one_setting(name):
    cls = getattr(sn.optim, name)
    assert cls([param([1.0])], lr=0.25).param_groups[0]["lr"] == 0.25
    assert cls([param([1.0])], learning_rate=0.25).param_groups[0]["lr"] == 0.25
    assert cls([param([1.0])]).param_groups[0]["lr"] == DEFAULT_LR[name]
    assert cls(learning_rate=0.5).learning_rate == 0.5


@pytest.mark.parametrize("name", NAMES)
def test_lr_and_learning_rate_together_is_an_error(name):
    cls = getattr(sn.optim, name)
    with pytest.raises(TypeError, match=rf"{name}: got lr=0.1 and learning_rate=0.2; they are "
                                        r"the same setting .* give one of them"):
        cls([param([1.0])], lr=0.1, learning_rate=0.2)


def test_learning_rate_is_checked_like_lr():
    with pytest.raises(ValueError, match=r"SGD: lr must be a non-negative learning rate"):
        sn.optim.SGD(learning_rate=-1.0)


def test_learning_rate_in_a_parameter_group():
    optimizer = sn.optim.SGD([{"params": [param([1.0])], "learning_rate": 0.3}], lr=0.1)
    assert optimizer.param_groups[0]["lr"] == 0.3
    with pytest.raises(TypeError, match=r"parameter group 0: got lr=0.1 and learning_rate=0.3"):
        sn.optim.SGD([{"params": [param([1.0])], "lr": 0.1, "learning_rate": 0.3}])


def test_learning_rate_property_gets_and_sets_every_group():
    optimizer = sn.optim.SGD([{"params": [param([1.0])]}, {"params": [param([2.0])]}], lr=0.1)
    assert optimizer.learning_rate == optimizer.lr == 0.1
    optimizer.learning_rate = 0.05
    assert [group["lr"] for group in optimizer.param_groups] == [0.05, 0.05]
    optimizer.lr = 0.02
    assert optimizer.learning_rate == 0.02
    with pytest.raises(ValueError, match=r"SGD: learning_rate must be a non-negative"):
        optimizer.learning_rate = -1.0


def test_an_optimizer_without_parameters_is_bound_by_build():
    w = param([1.0, 2.0])
    optimizer = sn.optim.SGD(lr=0.1, momentum=0.5)
    assert not optimizer.built and optimizer.parameters() == []
    assert optimizer.build([w]) is optimizer and optimizer.built
    assert optimizer.param_groups[0]["momentum"] == 0.5
    w.grad = sn.tensor([1.0, 1.0], dtype="float64")
    optimizer.step()
    np.testing.assert_allclose(w.numpy(), [0.9, 1.9])
    with pytest.raises(ValueError, match=r"SGD.build: the optimizer already has 1 "
                                         r"parameter\(s\); an optimizer is bound once"):
        optimizer.build([param([3.0])])


@pytest.mark.parametrize("method", ["step", "zero_grad"])
def test_an_unbound_optimizer_says_so(method):
    optimizer = sn.optim.Adam(lr=1e-3)
    with pytest.raises(RuntimeError, match=rf"Adam.{method}: this optimizer was made without "
                                           r"parameters, so it has nothing to update yet; "
                                           r"give it to model.compile"):
        getattr(optimizer, method)()


def test_a_number_where_params_go():
    with pytest.raises(TypeError, match=r"SGD: the first argument is params \(PyTorch's "
                                        r"order\), got the number 0.1; for the learning rate "
                                        r"write SGD\(lr=0.1\) or SGD\(learning_rate=0.1\)"):
        sn.optim.SGD(0.1)


def test_a_schedule_on_an_unbound_optimizer():
    with pytest.raises(ValueError, match=r"ExponentialLR: the SGD has no parameters yet"):
        sn.optim.ExponentialLR(sn.optim.SGD(lr=0.1), gamma=0.9)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: the SGD has no parameters yet"):
        sn.optim.ReduceLROnPlateau(sn.optim.SGD(lr=0.1))


def test_the_state_dict_round_trips_through_a_bound_optimizer():
    w = param([1.0, -1.0])
    first = sn.optim.Adam([w], learning_rate=0.1)
    w.grad = sn.tensor([0.5, 0.5], dtype="float64")
    first.step()
    second = sn.optim.Adam(lr=0.1).build([w])
    second.load_state_dict(first.state_dict())
    assert second.state[w]["step"] == 1


def test_nn_module_parameters_bind():
    model = nn.Linear(3, 2)
    optimizer = sn.optim.RMSprop(lr=0.01).build(model.parameters())
    assert len(optimizer.parameters()) == 2
