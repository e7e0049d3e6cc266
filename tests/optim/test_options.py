"""The PyTorch options of the optimisers (SGD dampening, Adam/AdamW amsgrad, RMSprop
centered, Adagrad lr_decay): hand-computed steps, 20-step trajectories against PyTorch,
state dicts and bad values."""
import numpy as np
import pytest

import somanet as sn

from .helpers import assert_steps, param, random_grads, run

OPTIONS = [
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.9, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, betas=(0.8, 0.9))),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.5, weight_decay=0.1, initial_accumulator_value=0.1)),
]
IDS = [f"{name}-{'-'.join(options)}" for name, options in OPTIONS]


def test_sgd_dampening_by_hand():
    # b1 = g (never dampened), b2 = m b1 + (1 - d) g2; w -= lr b.
    w = param([1.0])
    optimizer = sn.optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    values = run(optimizer, w, [[2.0], [1.0]])
    b1 = 2.0
    b2 = 0.9 * b1 + 0.5 * 1.0
    assert_steps(values, [[1 - 0.1 * b1], [1 - 0.1 * b1 - 0.1 * b2]])


def test_amsgrad_divides_by_the_largest_second_moment_by_hand():
    w = param([0.0])
    optimizer = sn.optim.Adam([w], lr=0.1, betas=(0.5, 0.5), eps=0.0, amsgrad=True)
    values = run(optimizer, w, [[2.0], [0.0]])
    m1, v1 = 1.0, 2.0  # (1 - b) g, (1 - b) g^2
    first = -0.1 * (m1 / 0.5) / np.sqrt(v1 / 0.5)
    m2, v2 = 0.5, 1.0  # v fell: AMSGrad keeps v_max = v1
    second = first - 0.1 * (m2 / 0.75) / np.sqrt(v1 / 0.75)
    assert_steps(values, [[first], [second]])


def test_centered_rmsprop_by_hand():
    w = param([0.0])
    optimizer = sn.optim.RMSprop([w], lr=0.1, alpha=0.5, eps=0.0, centered=True)
    values = run(optimizer, w, [[2.0], [1.0]])
    v1, a1 = 2.0, 1.0
    first = -0.1 * 2.0 / np.sqrt(v1 - a1 ** 2)
    v2, a2 = 0.5 * v1 + 0.5, 0.5 * a1 + 0.5
    assert_steps(values, [[first], [first - 0.1 * 1.0 / np.sqrt(v2 - a2 ** 2)]])


def test_adagrad_lr_decay_by_hand():
    w = param([0.0])
    optimizer = sn.optim.Adagrad([w], lr=0.1, eps=0.0, lr_decay=0.5)
    values = run(optimizer, w, [[1.0], [1.0]])
    first = -0.1 * 1.0 / 1.0
    second = first - 0.1 / (1 + 0.5) * 1.0 / np.sqrt(2.0)
    assert_steps(values, [[first], [second]])


@pytest.mark.parametrize("name, options", OPTIONS, ids=IDS)
def test_twenty_steps_match_torch(name, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start = rng.standard_normal((6, 5)).astype(np.float32)
    grads = random_grads((6, 5), 20, seed=1)
    ours = param(start, dtype="float32")
    optimizer = getattr(sn.optim, name)([ours], **options)
    theirs = torch.nn.Parameter(torch.tensor(start))
    reference = getattr(torch.optim, name)([theirs], **options)
    worst = 0.0
    for grad in grads:
        ours.grad = sn.tensor(grad)
        optimizer.step()
        theirs.grad = torch.tensor(grad)
        reference.step()
        difference = np.abs(ours.numpy() - theirs.detach().numpy()).max()
        worst = max(worst, float(difference))
    assert worst < 2e-5, f"{name} {options}: max abs diff {worst}"


@pytest.mark.parametrize("name, options, array", [
    ("Adam", dict(amsgrad=True), "max_exp_avg_sq"),
    ("AdamW", dict(amsgrad=True), "max_exp_avg_sq"),
    ("RMSprop", dict(centered=True), "grad_avg"),
])
def test_new_state_is_in_the_state_dict_and_an_old_one_is_a_clear_error(name, options, array):
    w = param([1.0, -1.0])
    optimizer = getattr(sn.optim, name)([w], **options)
    w.grad = sn.tensor([0.5, 0.25], dtype=w.dtype)
    optimizer.step()
    state = optimizer.state_dict()
    assert f"state.0.{array}" in state["arrays"]
    assert state["param_groups"][0][next(iter(options))] is True
    fresh = getattr(sn.optim, name)([w], **options)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.state[w][array], optimizer.state[w][array])
    old = dict(state, arrays={k: v for k, v in state["arrays"].items() if array not in k})
    old["param_groups"] = [{k: v for k, v in group.items() if k not in options}
                           for group in state["param_groups"]]  # saved before the option
    with pytest.raises(ValueError, match=rf"{name}.load_state_dict: parameter 0 needs the "
                                         rf"state arrays .*'{array}'.*, the state dict has"):
        fresh.load_state_dict(old)
    plain = getattr(sn.optim, name)([w])  # without the option, the old state loads
    plain.load_state_dict(old)


def test_sgd_state_dict_keeps_dampening_and_an_old_one_loads():
    w = param([1.0])
    optimizer = sn.optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.2)
    run(optimizer, w, [[1.0]])
    state = optimizer.state_dict()
    assert state["param_groups"][0]["dampening"] == 0.2
    old = dict(state, param_groups=[{k: v for k, v in g.items() if k != "dampening"}
                                    for g in state["param_groups"]])
    fresh = sn.optim.SGD([w], lr=0.1, momentum=0.9)
    fresh.load_state_dict(old)
    assert fresh.param_groups[0]["dampening"] == 0.0


@pytest.mark.parametrize("make, error, message", [
    (lambda w: sn.optim.SGD([w], momentum=0.9, dampening=1.5), ValueError,
     r"SGD: dampening must be a dampening in \[0, 1\], got 1.5"),
    (lambda w: sn.optim.SGD([w], momentum=0.9, nesterov=True, dampening=0.1), ValueError,
     r"SGD: nesterov=True needs dampening=0 \(as PyTorch\), got dampening=0.1"),
    (lambda w: sn.optim.Adam([w], amsgrad="yes"), TypeError,
     r"Adam: amsgrad must be True or False, got str 'yes'"),
    (lambda w: sn.optim.AdamW([w], amsgrad=1), TypeError, r"AdamW: amsgrad must be True or False"),
    (lambda w: sn.optim.RMSprop([w], centered=None), TypeError,
     r"RMSprop: centered must be True or False"),
    (lambda w: sn.optim.Adagrad([w], lr_decay=-0.1), ValueError,
     r"Adagrad: lr_decay must be a non-negative learning-rate decay in \[0, inf\), got -0.1"),
])
def test_bad_values_are_errors_naming_the_option(make, error, message):
    with pytest.raises(error, match=message):
        make(param([1.0]))
