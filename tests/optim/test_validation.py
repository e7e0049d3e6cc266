"""Every way to build an optimiser wrongly gives an error that says what and how to fix."""
import math

import numpy as np
import pytest

import somanet as sn

from .helpers import param


def test_empty_parameter_list():
    with pytest.raises(ValueError, match=r"SGD: optimizer got an empty parameter list"):
        sn.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match=r"Adam: optimizer got an empty parameter list"):
        sn.optim.Adam(iter([]))


def test_empty_parameter_group():
    with pytest.raises(ValueError, match=r"parameter group 1 has an empty parameter list"):
        sn.optim.SGD([{"params": [param([1.0])]}, {"params": []}], lr=0.1)


@pytest.mark.parametrize("lr", [-0.1, math.nan, math.inf])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match=r"SGD: lr must be a non-negative learning rate in "
                                         r"\[0, inf\), got"):
        sn.optim.SGD([param([1.0])], lr=lr)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Rprop",
                                  "Manhattan"])
def test_every_optimizer_rejects_a_negative_learning_rate(name):
    with pytest.raises(ValueError, match=rf"{name}: lr must be a non-negative learning rate"):
        getattr(sn.optim, name)([param([1.0])], lr=-1.0)


def test_learning_rate_must_be_a_number():
    with pytest.raises(TypeError, match=r"SGD: lr must be a number, got str '0.1'"):
        sn.optim.SGD([param([1.0])], lr="0.1")
    with pytest.raises(TypeError, match=r"SGD: lr must be a number, got bool"):
        sn.optim.SGD([param([1.0])], lr=True)


def test_numpy_scalars_become_python_floats():
    optimizer = sn.optim.SGD([param([1.0])], lr=np.float64(0.1), momentum=np.float32(0.5))
    assert type(optimizer.defaults["lr"]) is float
    assert type(optimizer.param_groups[0]["momentum"]) is float


@pytest.mark.parametrize("betas, message", [
    ((1.0, 0.999), r"Adam: betas\[0\] must be a decay rate in \[0, 1\), got 1.0"),
    ((0.9, -0.1), r"Adam: betas\[1\] must be a decay rate in \[0, 1\), got -0.1"),
])
def test_betas_outside_the_unit_interval(betas, message):
    with pytest.raises(ValueError, match=message):
        sn.optim.Adam([param([1.0])], betas=betas)


def test_betas_must_be_a_pair():
    with pytest.raises(TypeError, match=r"AdamW: betas must be a pair of numbers, got 0.9"):
        sn.optim.AdamW([param([1.0])], betas=0.9)


@pytest.mark.parametrize("name, option, value, message", [
    ("SGD", "weight_decay", -0.1, r"SGD: weight_decay must be a non-negative weight decay"),
    ("SGD", "momentum", -0.5, r"SGD: momentum must be a momentum factor in \[0, 1\)"),
    ("SGD", "momentum", 1.0, r"SGD: momentum must be a momentum factor in \[0, 1\)"),
    ("Adam", "weight_decay", -1e-4, r"Adam: weight_decay must be a non-negative"),
    ("Adam", "eps", -1e-8, r"Adam: eps must be a non-negative number"),
    ("AdamW", "weight_decay", -0.01, r"AdamW: weight_decay must be a non-negative"),
    ("RMSprop", "alpha", 1.0, r"RMSprop: alpha must be a decay rate in \[0, 1\)"),
    ("RMSprop", "momentum", -0.1, r"RMSprop: momentum must be a momentum factor"),
    ("Adagrad", "initial_accumulator_value", -1.0,
     r"Adagrad: initial_accumulator_value must be a non-negative number"),
    ("Rprop", "etas", (1.5, 1.2), r"Rprop: etas must be \(eta_minus, eta_plus\) with "
                                  r"0 < eta_minus < 1 < eta_plus, got \(1.5, 1.2\)"),
    ("Rprop", "etas", (0.5, 1.0), r"0 < eta_minus < 1 < eta_plus"),
    ("Rprop", "step_sizes", (1.0, 0.1), r"Rprop: step_sizes must be \(d_min, d_max\) with "
                                        r"0 <= d_min <= d_max"),
    ("Rprop", "step_sizes", (-1.0, 1.0), r"Rprop: step_sizes\[0\] must be a number in "
                                         r"\[0, inf\)"),
])
def test_bad_hyper_parameters(name, option, value, message):
    with pytest.raises(ValueError, match=message):
        getattr(sn.optim, name)([param([1.0])], **{option: value})


def test_nesterov_needs_momentum():
    with pytest.raises(ValueError, match=r"SGD: nesterov=True needs momentum > 0"):
        sn.optim.SGD([param([1.0])], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match=r"SGD: nesterov must be True or False, got str 'yes'"):
        sn.optim.SGD([param([1.0])], lr=0.1, momentum=0.9, nesterov="yes")


def test_unknown_option_says_what_was_meant():
    with pytest.raises(TypeError, match=r"SGD got an unknown option 'momentom'\. Did you mean "
                                        r"'momentum'\? The options are: lr, momentum, "
                                        r"weight_decay, nesterov, dampening"):
        sn.optim.SGD([param([1.0])], lr=0.1, momentom=0.9)
    with pytest.raises(TypeError, match=r"Adam got an unknown option 'foreach'. The options "
                                        r"are: lr, betas, eps, weight_decay, amsgrad"):
        sn.optim.Adam([param([1.0])], foreach=True)


def test_unknown_option_in_a_group():
    with pytest.raises(TypeError, match=r"SGD parameter group 0 got an unknown option 'lrr'\. "
                                        r"Did you mean 'lr'\?"):
        sn.optim.SGD([{"params": [param([1.0])], "lrr": 0.1}])


def test_bad_value_in_a_group_names_the_group():
    with pytest.raises(ValueError, match=r"SGD: lr must be .* got -1.0 \(in parameter group 1\)"):
        sn.optim.SGD([{"params": [param([1.0])]}, {"params": [param([1.0])], "lr": -1.0}])


def test_group_without_params():
    with pytest.raises(ValueError, match=r"parameter group 0 has no 'params' key"):
        sn.optim.SGD([{"lr": 0.1}])


def test_parameter_given_twice():
    w = param([1.0])
    with pytest.raises(ValueError, match=r"SGD: parameter 1 of group 0 \(shape \(1,\)\) appears "
                                         r"twice"):
        sn.optim.SGD([w, w], lr=0.1)
    optimizer = sn.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match=r"parameter 0 of group 1 .* appears twice"):
        optimizer.add_param_group({"params": [w]})
    assert len(optimizer.param_groups) == 1


def test_entries_that_are_not_parameters():
    with pytest.raises(TypeError, match=r"SGD: parameter 0 of group 0 is a ndarray, not a "
                                        r"Parameter"):
        sn.optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match=r"parameter 1 of group 0 is a float"):
        sn.optim.SGD([param([1.0]), 2.0], lr=0.1)


def test_integer_tensor():
    with pytest.raises(TypeError, match=r"has dtype int64; only float tensors can be "
                                        r"optimised"):
        sn.optim.SGD([sn.tensor([1, 2])], lr=0.1)


def test_tensor_that_does_not_require_grad():
    with pytest.raises(ValueError, match=r"parameter 0 of group 0 does not require grad"):
        sn.optim.SGD([sn.tensor([1.0, 2.0])], lr=0.1)


def test_non_leaf_tensor():
    w = param([1.0])
    with pytest.raises(ValueError, match=r"was computed by an op \(grad_fn=Mul\); only leaf "
                                         r"tensors can be optimised"):
        sn.optim.SGD([w * 2], lr=0.1)


def test_a_single_tensor_or_a_set():
    w = param([1.0, 2.0])
    with pytest.raises(TypeError, match=r"got a single Parameter; wrap it in a list"):
        sn.optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match=r"not a set"):
        sn.optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match=r"the first argument is params \(PyTorch's order\), "
                                        r"got the number 3"):
        sn.optim.SGD(3, lr=0.1)
    with pytest.raises(TypeError, match=r"must be an iterable of Parameters or of dicts, got "
                                        r"object"):
        sn.optim.SGD(object(), lr=0.1)


def test_a_plain_tensor_that_requires_grad_is_accepted():
    w = sn.tensor([1.0], requires_grad=True)
    optimizer = sn.optim.SGD([w], lr=0.5)
    w.grad = sn.tensor([1.0])
    optimizer.step()
    assert w.item() == 0.5
