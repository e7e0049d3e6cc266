import json

import numpy as np
import pytest

import somanet as sn
from somanet.data import RandomSampler, Sampler, SequentialSampler, TensorDataset


def test_sequential_sampler():
    sampler = SequentialSampler(TensorDataset(np.zeros(4)))
    assert sampler.indices(0).tolist() == [0, 1, 2, 3]
    assert sampler.indices(7).dtype == np.int64
    assert list(sampler) == [0, 1, 2, 3] and len(sampler) == 4


def test_random_sampler_reshuffles_each_epoch_from_seed_and_epoch():
    sampler = RandomSampler(100, seed=4)
    first, second = sampler.indices(0), sampler.indices(1)
    assert sorted(first.tolist()) == list(range(100))
    assert not np.array_equal(first, second)
    assert np.array_equal(first, RandomSampler(100, seed=4).indices(0))
    assert not np.array_equal(first, RandomSampler(100, seed=5).indices(0))
    sampler.set_epoch(1)
    assert list(sampler) == second.tolist()


def test_random_sampler_seed_from_manual_seed():
    sn.manual_seed(11)
    a = RandomSampler(50).indices(0)
    sn.manual_seed(11)
    assert np.array_equal(a, RandomSampler(50).indices(0))


def test_sampler_state_round_trip_through_json():
    sampler = RandomSampler(30, seed=9)
    state = json.loads(json.dumps(sampler.state_dict()))
    other = RandomSampler(30, seed=1)
    other.load_state_dict(state)
    assert np.array_equal(other.indices(3), sampler.indices(3))


def test_sampler_state_errors_change_nothing():
    sampler = RandomSampler(30, seed=2)
    with pytest.raises(ValueError, match="saved for 31 examples.*has 30"):
        sampler.load_state_dict({"type": "RandomSampler", "num_samples": 31, "seed": 1})
    with pytest.raises(ValueError, match="from a SequentialSampler"):
        sampler.load_state_dict(SequentialSampler(30).state_dict())
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        sampler.load_state_dict({"type": "RandomSampler", "num_samples": 30, "seed": "x"})
    assert sampler.seed == 2


def test_sampler_argument_errors():
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        RandomSampler(5, seed=-1)
    with pytest.raises(TypeError, match="dataset .* or a number"):
        SequentialSampler(object())
    with pytest.raises(NotImplementedError, match="indices"):
        Sampler(3).indices(0)
