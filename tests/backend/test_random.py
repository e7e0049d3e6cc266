import numpy as np
import pytest

import somanet as sn


def test_manual_seed_repeats_every_draw():
    sn.manual_seed(7)
    first = [sn.randn(3).numpy(), sn.rand(2, 2).numpy(), sn.randint(0, 10, (4,)).numpy()]
    sn.manual_seed(7)
    second = [sn.randn(3).numpy(), sn.rand(2, 2).numpy(), sn.randint(0, 10, (4,)).numpy()]
    for a, b in zip(first, second):
        assert np.array_equal(a, b)


def test_different_seeds_differ():
    sn.manual_seed(1)
    a = sn.randn(5).numpy()
    sn.manual_seed(2)
    assert not np.array_equal(a, sn.randn(5).numpy())


def test_rng_state_round_trip():
    sn.manual_seed(3)
    sn.randn(4)
    state = sn.get_rng_state()
    expected = sn.randn(4).numpy()
    sn.randn(10)
    sn.set_rng_state(state)
    assert np.array_equal(sn.randn(4).numpy(), expected)


def test_bad_seed():
    with pytest.raises(ValueError, match="non-negative int"):
        sn.manual_seed(-1)
    with pytest.raises(ValueError, match="get_rng_state"):
        sn.set_rng_state([1, 2])
