"""Optimiser state: float32 kept, no allocation per step, state_dict round trips."""
import json
import tracemalloc

import numpy as np
import pytest

import somanet as sn
from somanet.nn.parameter import Parameter

from .helpers import ALL_IDS, ALL_OPTIMIZERS, make, param, random_grads


def float32_params(seed=1, shapes=((3, 4), (4,))):
    rng = np.random.default_rng(seed)
    return [Parameter(sn.tensor(rng.standard_normal(shape).astype(np.float32)))
            for shape in shapes]


def step_with(optimizer, params, grads_per_param):
    for p, g in zip(params, grads_per_param):
        p.grad = sn.tensor(g)
    optimizer.step()


def all_grads(params, count, seed=0):
    """One list of gradients per step, one gradient per parameter."""
    per_param = [random_grads(p.shape, count, seed + i) for i, p in enumerate(params)]
    return [list(step) for step in zip(*per_param)]


# -- dtype and allocation ----------------------------------------------------------------------

@pytest.mark.parametrize("name, options", ALL_OPTIMIZERS, ids=ALL_IDS)
def test_float32_stays_float32(name, options):
    params = float32_params()
    optimizer = make(name, params, options)
    for grads in all_grads(params, 3):
        step_with(optimizer, params, grads)
    for p in params:
        assert p.dtype == np.float32 and p.data.dtype == np.float32
        assert np.isfinite(p.data).all()
        for key, value in optimizer.state[p].items():
            if key != "step":
                assert value.dtype == np.float32, (key, value.dtype)
    for buffer in optimizer._scratch.values():
        assert buffer.dtype == np.float32


@pytest.mark.parametrize("name, options", ALL_OPTIMIZERS, ids=ALL_IDS)
def test_float64_parameters_keep_float64(name, options):
    w = param([[1.0, -2.0], [0.5, 3.0]])
    optimizer = make(name, [w], options)
    w.grad = sn.tensor([[0.1, -0.2], [0.3, 0.0]], dtype="float64")
    optimizer.step()
    assert w.dtype == np.float64
    assert all(v.dtype == np.float64 for k, v in optimizer.state[w].items() if k != "step")


@pytest.mark.parametrize("name, options", ALL_OPTIMIZERS, ids=ALL_IDS)
def test_no_new_state_arrays_per_step(name, options):
    params = float32_params()
    optimizer = make(name, params, options)
    steps = all_grads(params, 4)
    step_with(optimizer, params, steps[0])

    def identities():
        return ([id(p.data) for p in params],
                [(key, id(value)) for p in params for key, value in optimizer.state[p].items()
                 if key != "step"],
                [id(buffer) for buffer in optimizer._scratch.values()])

    before = identities()
    for grads in steps[1:]:
        step_with(optimizer, params, grads)
        assert identities() == before


@pytest.mark.parametrize("name, options", ALL_OPTIMIZERS, ids=ALL_IDS)
def test_a_step_allocates_no_parameter_sized_temporaries(name, options):
    """Once the state exists, a step works in place: the traced memory peak stays far below
    one parameter's size (Rprop's boolean masks are a quarter of it each)."""
    w = Parameter(sn.zeros(50_000))
    optimizer = make(name, [w], options)
    w.grad = sn.ones(50_000)
    optimizer.step()  # creates the state and the scratch buffer
    w.grad = sn.full((50_000,), -0.5)
    tracemalloc.start()
    try:
        optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    limit = w.data.nbytes * 0.6 if name == "Rprop" else w.data.nbytes * 0.05
    assert peak < limit, f"{name} allocated {peak} bytes in one step"


def test_scratch_buffer_is_shared_and_sized_for_the_largest_parameter():
    small, large = Parameter(sn.zeros(3)), Parameter(sn.zeros(10))
    optimizer = sn.optim.Adam([small, large], lr=0.1)
    small.grad, large.grad = sn.ones(3), sn.ones(10)
    optimizer.step()
    (buffer,) = optimizer._scratch.values()
    assert buffer.size == 2 * 10  # Adam needs two scratch arrays


# -- state_dict ----------------------------------------------------------------------------------

def through_a_checkpoint(state):
    """What a checkpoint gives back: the JSON part through json, the arrays as NumPy."""
    text = json.dumps({key: value for key, value in state.items() if key != "arrays"})
    restored = json.loads(text)
    restored["arrays"] = {key: np.array(value) for key, value in state["arrays"].items()}
    return restored


@pytest.mark.parametrize("name, options", ALL_OPTIMIZERS, ids=ALL_IDS)
def test_state_dict_round_trip_continues_bitwise(name, options):
    params = float32_params()
    twins = [Parameter(sn.tensor(p.numpy().copy())) for p in params]
    optimizer = make(name, params, options)
    steps = all_grads(params, 6)
    for grads in steps[:3]:
        step_with(optimizer, params, grads)
    state = optimizer.state_dict()

    for p, twin in zip(params, twins):
        twin.data[...] = p.data
    resumed = make(name, twins, {**options, "lr": 123.0})  # lr comes from the state dict
    resumed.load_state_dict(through_a_checkpoint(state))
    assert resumed.param_groups[0]["lr"] == options["lr"]

    for grads in steps[3:]:
        step_with(optimizer, params, grads)
        step_with(resumed, twins, grads)
    for p, twin in zip(params, twins):
        assert np.array_equal(p.data, twin.data)
        assert optimizer.state[p]["step"] == resumed.state[twin]["step"] == 6
        for key, value in optimizer.state[p].items():
            if key != "step":
                assert np.array_equal(value, resumed.state[twin][key]), key
                assert resumed.state[twin][key].dtype == np.float32


def test_state_dict_format():
    a, b, c = param([1.0, 2.0]), param([3.0]), param([4.0])
    optimizer = sn.optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    a.grad = sn.tensor([0.1, 0.2], dtype="float64")
    optimizer.step()
    state = optimizer.state_dict()
    assert state["type"] == "Adam"
    assert state["param_groups"] == [
        {"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
         "params": [0, 1]},
        {"lr": 0.5, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
         "params": [2]}]
    assert state["steps"] == [1, None, None]
    assert sorted(state["arrays"]) == ["state.0.exp_avg", "state.0.exp_avg_sq"]
    json_part = {key: value for key, value in state.items() if key != "arrays"}
    assert json.loads(json.dumps(json_part)) == json_part
    # the arrays are copies: later steps do not change a checkpoint already taken
    saved = state["arrays"]["state.0.exp_avg"].copy()
    optimizer.step()
    assert np.array_equal(state["arrays"]["state.0.exp_avg"], saved)


def test_state_dict_with_groups_that_have_different_state():
    """SGD keeps a momentum buffer only in the group with momentum."""
    a, b = param([1.0]), param([2.0])
    optimizer = sn.optim.SGD([{"params": [a], "momentum": 0.9}, {"params": [b]}], lr=0.1)
    a.grad = b.grad = sn.tensor([1.0], dtype="float64")
    optimizer.step()
    state = optimizer.state_dict()
    assert sorted(state["arrays"]) == ["state.0.momentum_buffer"]
    assert state["steps"] == [1, 1]
    a2, b2 = param([1.0]), param([2.0])
    other = sn.optim.SGD([{"params": [a2], "momentum": 0.9}, {"params": [b2]}], lr=0.1)
    other.load_state_dict(through_a_checkpoint(state))
    assert other.state[a2]["momentum_buffer"].tolist() == [1.0]
    assert other.state[b2] == {"step": 1}


def test_load_state_dict_casts_float64_arrays_to_the_parameter_dtype():
    w = Parameter(sn.zeros(2))
    optimizer = sn.optim.Adam([w])
    state = {"type": "Adam", "param_groups": [{"lr": 0.1, "params": [0]}], "steps": [2],
             "arrays": {"state.0.exp_avg": np.array([0.5, 0.25]),
                        "state.0.exp_avg_sq": np.array([1.0, 2.0])}}
    optimizer.load_state_dict(state)
    assert optimizer.state[w]["exp_avg"].dtype == np.float32
    assert optimizer.state[w]["exp_avg"].tolist() == [0.5, 0.25]
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.999)  # not in the dict: kept


def make_saved():
    a, b = param([1.0, 2.0]), param([3.0])
    optimizer = sn.optim.Adam([a, b], lr=0.1)
    a.grad = b.grad = None
    a.grad = sn.tensor([0.1, 0.2], dtype="float64")
    b.grad = sn.tensor([0.3], dtype="float64")
    optimizer.step()
    return optimizer.state_dict()


def corrupt(change):
    state = make_saved()
    change(state)
    return state


BAD_STATE_DICTS = [
    (lambda s: s.update(type="SGD"), ValueError, r"saved by SGD, not Adam"),
    (lambda s: s.pop("steps"), ValueError, r"missing \['steps'\]"),
    (lambda s: s.update(extra=1), ValueError, r"unexpected \['extra'\]"),
    (lambda s: s["param_groups"].append(dict(s["param_groups"][0])), ValueError,
     r"has 2 parameter group\(s\), this optimizer has 1"),
    (lambda s: s["param_groups"][0].update(params=[0]), ValueError,
     r"group 0 has 1 parameter\(s\) in the state dict but 2"),
    (lambda s: s["param_groups"][0].update(momentum=0.9), ValueError,
     r"unknown option 'momentum'"),
    (lambda s: s["param_groups"][0].update(lr=-1.0), ValueError,
     r"group 0: Adam: lr must be a non-negative learning rate"),
    (lambda s: s.update(steps=[1]), ValueError, r"'steps' must be a list with one entry"),
    (lambda s: s.update(steps=[1, -1]), ValueError, r"step of parameter 1 must be a "
                                                    r"non-negative int"),
    (lambda s: s["arrays"].update({"state.0.exp_avg": np.zeros(3)}), ValueError,
     r"state.0.exp_avg has shape \(3,\), but parameter 0 has shape \(2,\)"),
    (lambda s: s["arrays"].pop("state.1.exp_avg_sq"), ValueError,
     r"parameter 1 needs the state arrays \['exp_avg', 'exp_avg_sq'\], the state dict has "
     r"\['exp_avg'\]"),
    (lambda s: s["arrays"].update({"state.1.momentum": np.zeros(1)}), ValueError,
     r"parameter 1 needs the state arrays"),
    (lambda s: s["arrays"].update({"state.7.exp_avg": np.zeros(1)}), ValueError,
     r"names parameter 7, but this optimizer has 2"),
    (lambda s: s["arrays"].update({"exp_avg": np.zeros(1)}), ValueError,
     r"'exp_avg' is not of the form 'state.<param number>.<name>'"),
    (lambda s: s["arrays"].update({"state.0.exp_avg": np.zeros(2, dtype=np.int64)}), TypeError,
     r"state.0.exp_avg has dtype int64; expected floats"),
    (lambda s: s.update(steps=[1, None]), ValueError, r"parameter 1 has arrays"),
]


@pytest.mark.parametrize("change, error, message", BAD_STATE_DICTS)
def test_load_state_dict_errors_change_nothing(change, error, message):
    a, b = param([1.0, 2.0]), param([3.0])
    optimizer = sn.optim.Adam([a, b], lr=0.5)
    a.grad = sn.tensor([1.0, 1.0], dtype="float64")
    optimizer.step()
    before = optimizer.state_dict()
    with pytest.raises(error, match=message):
        optimizer.load_state_dict(corrupt(change))
    after = optimizer.state_dict()
    assert {k: v for k, v in after.items() if k != "arrays"} == {
        k: v for k, v in before.items() if k != "arrays"}
    assert sorted(after["arrays"]) == sorted(before["arrays"])
    for key, value in before["arrays"].items():
        assert np.array_equal(after["arrays"][key], value)


def test_load_state_dict_needs_a_dict():
    with pytest.raises(TypeError, match=r"expected the dict state_dict\(\) returns, got list"):
        sn.optim.SGD([param([1.0])]).load_state_dict([])
