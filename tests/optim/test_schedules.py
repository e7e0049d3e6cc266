"""Learning-rate schedules: each one's sequence over a few epochs against hand values."""
import json
import math

import numpy as np
import pytest

import somanet as sn

from .helpers import param


def optimizer_with(*lrs):
    """SGD with one group per learning rate."""
    return sn.optim.SGD([{"params": [param([1.0])], "lr": lr} for lr in lrs])


def lrs_over(schedule, optimizer, epochs):
    """The first group's lr at epoch 0 (set by the constructor), then after each step()."""
    values = [optimizer.param_groups[0]["lr"]]
    for _ in range(epochs):
        schedule.step()
        values.append(optimizer.param_groups[0]["lr"])
    return values


def test_step_lr():
    optimizer = optimizer_with(1.0)
    schedule = sn.optim.StepLR(optimizer, step_size=2, gamma=0.5)
    # 1.0 * 0.5 ** (epoch // 2)
    assert lrs_over(schedule, optimizer, 5) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert schedule.get_last_lr() == [0.25] and schedule.last_epoch == 5


def test_exponential_lr_with_two_groups():
    optimizer = optimizer_with(1.0, 0.1)
    schedule = sn.optim.ExponentialLR(optimizer, gamma=0.9)
    assert lrs_over(schedule, optimizer, 3) == pytest.approx([1.0, 0.9, 0.81, 0.729])
    assert optimizer.param_groups[1]["lr"] == pytest.approx(0.0729)
    assert schedule.get_last_lr() == pytest.approx([0.729, 0.0729])


def test_cosine_annealing_then_stays_at_eta_min():
    optimizer = optimizer_with(1.0)
    schedule = sn.optim.CosineAnnealingLR(optimizer, T_max=4, eta_min=0.1)
    # 0.1 + 0.9 * (1 + cos(pi * epoch / 4)) / 2
    c = math.cos(math.pi / 4)  # 0.7071...
    expected = [1.0, 0.1 + 0.9 * (1 + c) / 2, 0.55, 0.1 + 0.9 * (1 - c) / 2, 0.1, 0.1, 0.1]
    assert lrs_over(schedule, optimizer, 6) == pytest.approx(expected)


def test_linear_warmup_then_constant():
    optimizer = optimizer_with(1.0)
    schedule = sn.optim.LinearWarmup(optimizer, warmup_epochs=4, start_factor=0.2)
    # 0.2 + 0.8 * epoch / 4 during the warm-up, then 1.0
    assert lrs_over(schedule, optimizer, 6) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0,
                                                              1.0])


def test_linear_warmup_hands_over_to_another_schedule():
    optimizer = optimizer_with(2.0)
    after = sn.optim.StepLR(None, step_size=1, gamma=0.5)
    schedule = sn.optim.LinearWarmup(optimizer, warmup_epochs=2, start_factor=0.5, after=after)
    # warm-up: 2 * 0.5, 2 * 0.75 ; then StepLR from its own epoch 0: 2, 1, 0.5
    assert lrs_over(schedule, optimizer, 4) == pytest.approx([1.0, 1.5, 2.0, 1.0, 0.5])


def test_schedules_work_without_an_optimizer():
    schedule = sn.optim.StepLR(None, step_size=3, gamma=0.1, base_lr=0.5)
    assert [schedule.lr_at(e) for e in range(7)] == pytest.approx(
        [0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.005])
    assert schedule.lr_at(3, base_lr=1.0) == pytest.approx(0.1)
    schedule.step()
    assert schedule.get_last_lr() == [0.5]
    formula = sn.optim.ExponentialLR(None, gamma=0.5)  # no base lr: give it to lr_at
    assert formula.lr_at(2, base_lr=4.0) == 1.0
    assert formula.get_last_lr() == []


def test_schedule_changes_the_steps_the_optimizer_takes():
    w = param([0.0])
    optimizer = sn.optim.SGD([w], lr=1.0)
    schedule = sn.optim.ExponentialLR(optimizer, gamma=0.5)
    for _ in range(3):
        w.grad = sn.tensor([-1.0], dtype="float64")
        optimizer.step()
        schedule.step()
    assert w.item() == 1.0 + 0.5 + 0.25  # steps of lr 1, 0.5, 0.25


def test_schedule_state_dict_resumes():
    optimizer = optimizer_with(1.0)
    schedule = sn.optim.StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(3):
        schedule.step()
    state = json.loads(json.dumps(schedule.state_dict()))
    assert state == {"type": "StepLR", "last_epoch": 3, "base_lrs": [1.0]}

    fresh_optimizer = optimizer_with(0.5)  # its lr as saved by the optimizer
    resumed = sn.optim.StepLR(fresh_optimizer, step_size=2, gamma=0.5)
    resumed.load_state_dict(state)
    resumed.step()
    schedule.step()
    assert fresh_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"] == 0.25


def test_schedule_state_dict_errors():
    schedule = sn.optim.StepLR(optimizer_with(1.0), step_size=2)
    good = schedule.state_dict()
    with pytest.raises(ValueError, match=r"saved by ExponentialLR, not StepLR"):
        schedule.load_state_dict({**good, "type": "ExponentialLR"})
    with pytest.raises(ValueError, match=r"base_lrs must be a list with one learning rate per "
                                         r"parameter group \(1\)"):
        schedule.load_state_dict({**good, "base_lrs": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"last_epoch must be an int >= 0, got -1"):
        schedule.load_state_dict({**good, "last_epoch": -1})
    with pytest.raises(ValueError, match=r"missing \['base_lrs'\]"):
        schedule.load_state_dict({"type": "StepLR", "last_epoch": 1})
    assert schedule.state_dict() == good


# -- ReduceLROnPlateau -------------------------------------------------------------------------

def plateau_lrs(schedule, optimizer, metrics):
    values = []
    for metric in metrics:
        schedule.step(metric)
        values.append(optimizer.param_groups[0]["lr"])
    return values


def test_reduce_on_plateau_patience_and_cooldown():
    optimizer = optimizer_with(1.0)
    schedule = sn.optim.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, cooldown=1)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    # epoch 1: first metric, best 1.0     epoch 2: 0.9 improves, best 0.9
    # epochs 3, 4: bad epochs 1, 2 (not more than patience 2)
    # epoch 5: bad epoch 3 > 2: lr 0.5, cooldown 1, count restarts
    # epoch 6: in cooldown, not counted   epochs 7, 8: bad 1, 2
    # epoch 9: bad 3: lr 0.25
    assert plateau_lrs(schedule, optimizer, metrics) == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert schedule.best == 0.9


def test_reduce_on_plateau_min_lr_and_groups():
    optimizer = optimizer_with(1.0, 0.5)
    schedule = sn.optim.ReduceLROnPlateau(optimizer, factor=0.1, patience=0,
                                          min_lr=[0.05, 0.0])
    # patience 0: every epoch without improvement lowers the lr, never below min_lr
    assert plateau_lrs(schedule, optimizer, [1.0, 1.0, 1.0, 1.0]) == [1.0, 0.1, 0.05, 0.05]
    assert optimizer.param_groups[1]["lr"] == pytest.approx(0.0005)


def test_reduce_on_plateau_threshold_and_max_mode():
    optimizer = optimizer_with(1.0)
    schedule = sn.optim.ReduceLROnPlateau(optimizer, factor=0.5, patience=0, threshold=0.1)
    # min mode: an improvement must beat best * (1 - 0.1) = 0.9
    assert plateau_lrs(schedule, optimizer, [1.0, 0.95, 0.85]) == [1.0, 0.5, 0.5]
    accuracy = optimizer_with(1.0)
    schedule = sn.optim.ReduceLROnPlateau(accuracy, mode="max", factor=0.5, patience=0)
    assert plateau_lrs(schedule, accuracy, [0.5, 0.6, 0.55, sn.tensor(0.7)]) == [1, 1, 0.5,
                                                                                  0.5]


def test_reduce_on_plateau_without_optimizer_and_state_dict():
    schedule = sn.optim.ReduceLROnPlateau(None, factor=0.5, patience=1, base_lr=1.0)
    for metric in [1.0, 2.0]:
        schedule.step(metric)
    state = json.loads(json.dumps(schedule.state_dict()))
    assert state == {"type": "ReduceLROnPlateau", "last_epoch": 2, "best": 1.0,
                     "num_bad_epochs": 1, "cooldown_counter": 0, "lrs": [1.0]}
    resumed = sn.optim.ReduceLROnPlateau(None, factor=0.5, patience=1, base_lr=1.0)
    resumed.load_state_dict(state)
    resumed.step(2.0)
    schedule.step(2.0)
    assert resumed.get_last_lr() == schedule.get_last_lr() == [0.5]
    with pytest.raises(ValueError, match=r"lrs must be a list with one learning rate"):
        resumed.load_state_dict({**state, "lrs": []})
    with pytest.raises(TypeError, match=r"no closed form"):
        resumed.lr_at(3)


# -- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("build, error, message", [
    (lambda o: sn.optim.StepLR(o, step_size=0), ValueError,
     r"StepLR: step_size must be an int >= 1"),
    (lambda o: sn.optim.StepLR(o, step_size=2.5), TypeError, r"step_size must be an int"),
    (lambda o: sn.optim.StepLR(o, step_size=2, gamma=-0.5), ValueError,
     r"StepLR: gamma must be a non-negative factor"),
    (lambda o: sn.optim.ExponentialLR("sgd", gamma=0.9), TypeError,
     r"ExponentialLR: expected an Optimizer \(or None to use the schedule on its own\), "
     r"got str"),
    (lambda o: sn.optim.ExponentialLR(o, gamma=0.9, base_lr=0.1), ValueError,
     r"give either an optimizer or base_lr, not both"),
    (lambda o: sn.optim.CosineAnnealingLR(o, T_max=0), ValueError, r"T_max must be an int >= 1"),
    (lambda o: sn.optim.CosineAnnealingLR(o, T_max=5, eta_min=-1), ValueError,
     r"eta_min must be a non-negative learning rate"),
    (lambda o: sn.optim.LinearWarmup(o, warmup_epochs=3, start_factor=0.0), ValueError,
     r"LinearWarmup: start_factor must be a fraction in \(0, 1\], got 0.0"),
    (lambda o: sn.optim.LinearWarmup(o, 3, after=sn.optim.StepLR(o, 2)), ValueError,
     r"build the `after` schedule with optimizer=None"),
    (lambda o: sn.optim.LinearWarmup(o, 3, after=0.5), TypeError,
     r"after must be a schedule"),
    (lambda o: sn.optim.ReduceLROnPlateau(o, mode="avg"), ValueError,
     r"mode must be 'min' \(e.g. a loss\) or 'max'"),
    (lambda o: sn.optim.ReduceLROnPlateau(o, factor=1.0), ValueError,
     r"factor must be a factor in \[0, 1\)"),
    (lambda o: sn.optim.ReduceLROnPlateau(o, patience=-1), ValueError,
     r"patience must be an int >= 0"),
    (lambda o: sn.optim.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), ValueError,
     r"min_lr has 2 value\(s\) for 1 parameter group\(s\)"),
    (lambda o: sn.optim.ReduceLROnPlateau(None), ValueError,
     r"without an optimizer, give base_lr"),
    (lambda o: sn.optim.ReduceLROnPlateau(o).step("low"), TypeError,
     r"expected the monitored metric \(a number\), got str"),
    (lambda o: sn.optim.StepLR(o, 2).lr_at(-1), ValueError, r"epoch must be an int >= 0"),
    (lambda o: sn.optim.StepLR(None, 2).lr_at(1), ValueError,
     r"this schedule has no optimizer and no base_lr"),
])
def test_schedule_errors(build, error, message):
    with pytest.raises(error, match=message):
        build(optimizer_with(1.0))


def test_epoch_counts_may_be_numpy_integers():
    schedule = sn.optim.StepLR(None, step_size=np.int64(2), gamma=0.5, base_lr=1.0)
    assert schedule.step_size == 2 and type(schedule.step_size) is int
    assert schedule.lr_at(np.int32(2)) == 0.5


def test_reduce_on_plateau_relative_threshold_is_right_for_negative_metrics():
    """The docstring's rule: an improvement beats the best by abs(best) * threshold, so a
    slightly worse value after a negative best is not an improvement."""
    schedule = sn.optim.ReduceLROnPlateau(None, factor=0.5, patience=0, threshold=1e-4,
                                          base_lr=1.0)
    schedule.step(-2.0)
    schedule.step(-1.9999)  # worse: the rate drops
    assert schedule.best == -2.0 and schedule.get_last_lr() == [0.5]
    schedule.step(-2.0003)  # better by more than 2 * 1e-4
    assert schedule.best == -2.0003 and schedule.get_last_lr() == [0.5]
    doc = sn.optim.ReduceLROnPlateau.__doc__
    assert "abs(best) * threshold" in doc and "PyTorch's rule" not in doc


def test_attached_to_lists_the_schedules_built_on_an_optimizer():
    from somanet.optim.schedules import attached_to
    optimizer = sn.optim.SGD([sn.nn.Parameter(sn.ones(2))], lr=0.1)
    step = sn.optim.StepLR(optimizer, step_size=2)
    plateau = sn.optim.ReduceLROnPlateau(optimizer)
    sn.optim.ExponentialLR(None, gamma=0.5, base_lr=1.0)  # on no optimizer
    assert attached_to(optimizer) == [step, plateau]
    del step
    assert attached_to(optimizer) == [plateau]
