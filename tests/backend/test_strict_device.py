"""The strict device itself: it refuses NumPy where CuPy does, and is wired like a GPU."""
import copy

import numpy as np
import pytest

import somanet as sn
from somanet.backend import (device_of, generator, same_device, scatter_add, to_device,
                             to_numpy, xp_of)
from somanet.backend.device import register_device

from .strict import StrictArray


def test_it_is_a_device_of_its_own(strict):
    assert sn.device("strict") is strict
    assert strict is not sn.cpu()
    assert strict.xp.ndarray is StrictArray
    a = strict.xp.zeros((2, 3), dtype=np.float32)
    assert type(a) is StrictArray and device_of(a) is strict and xp_of(a) is strict.xp
    assert not isinstance(a, np.ndarray)
    assert not same_device(a, np.zeros(2))
    assert copy.deepcopy(strict) is strict  # pickled by name, as every Device


def test_numpy_cannot_take_its_arrays(strict):
    a = strict.xp.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="does not support ufuncs"):
        np.exp(a)
    with pytest.raises(TypeError, match="numpy.concatenate"):
        np.concatenate([a, a])
    host = np.zeros(3, dtype=np.float32)
    with pytest.raises(TypeError, match="Implicit conversion"):
        host[...] = a
    with pytest.raises(AttributeError, match="tobytes"):
        a.tobytes()


@pytest.mark.parametrize("op", [lambda a, h: a + h, lambda a, h: h + a, lambda a, h: a * h,
                                lambda a, h: h < a, lambda a, h: a @ h.reshape(3, 1)])
def test_mixing_with_a_numpy_array_raises(strict, op):
    a = strict.xp.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match="numpy.ndarray met an array of the strict device"):
        op(a, np.ones(3, dtype=np.float32))


def test_its_functions_refuse_numpy_arrays_but_take_scalars(strict):
    xp = strict.xp
    a = xp.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match="xp.maximum"):
        xp.maximum(a, np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="xp.concatenate"):
        xp.concatenate([a, np.zeros(3, dtype=np.float32)])
    b = xp.maximum(a, 0.5) * np.float32(2) + 1
    assert type(b) is StrictArray and b.dtype == np.float32
    assert (np.float32(2) * a).dtype == np.float32  # a NumPy scalar on the left too
    with pytest.raises(AttributeError, match="errstate"):
        xp.errstate


def test_scalars_come_back_as_zero_d_arrays_and_convert_explicitly(strict):
    a = strict.xp.asarray([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    total = a.sum()
    assert type(total) is StrictArray and total.shape == ()
    assert type(a[0, 1]) is StrictArray
    assert float(total) == 10.0 and total.item() == 10.0 and int(a[1, 1]) == 4
    assert bool(a[0, 0] == 1)
    assert a.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert isinstance(a.get(), np.ndarray)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a > 0)


def test_host_data_enters_only_where_cupy_copies_it(strict):
    xp = strict.xp
    a = xp.asarray(np.arange(4.0))  # the host-to-device copy
    assert type(a) is StrictArray
    assert a[np.array([0, 2])].tolist() == [0.0, 2.0]  # host indices, as CuPy takes them
    a[...] = np.ones(4)
    assert a.tolist() == [1.0] * 4


def test_transfers_go_through_the_backend(strict):
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = to_device(host, strict)
    assert type(a) is StrictArray and a.tolist() == host.tolist()
    back = to_numpy(a)
    assert type(back) is np.ndarray and back.tolist() == host.tolist()
    assert type(to_device(a, sn.cpu())) is np.ndarray
    t = sn.tensor(host, device="strict")
    assert t.device is strict and type(t.numpy()) is np.ndarray
    assert t.to("cpu").device is sn.cpu() and t.to("cpu").to("strict").device is strict
    with pytest.raises(ValueError, match="strict"):
        t + sn.tensor(host)


def test_scatter_add_and_ufunc_methods(strict):
    target = strict.xp.zeros(3, dtype=np.float32)
    scatter_add(target, strict.xp.asarray([0, 0, 2]), strict.xp.ones(3, dtype=np.float32))
    assert target.tolist() == [2.0, 0.0, 1.0]
    assert strict.xp.add.reduce(target).item() == 3.0


def test_random_is_cupys_generator(strict):
    rng = generator(strict)
    drawn = rng.random((2, 3), dtype=np.float32)
    assert type(drawn) is StrictArray and drawn.dtype == np.float32
    assert rng.uniform(0, 1, (4,), dtype=np.float32).dtype == np.float32
    assert type(rng.integers(0, 5, size=3)) is StrictArray
    with pytest.raises(AttributeError, match="permutation"):
        rng.permutation(3)
    sn.manual_seed(3)
    first = sn.randn(4, device="strict").numpy()
    sn.manual_seed(3)
    assert first.tolist() == sn.randn(4, device="strict").numpy().tolist()
    assert first.tolist() != sn.randn(4).numpy().tolist()  # a stream of its own


def test_a_registered_device_cannot_take_a_built_in_name(strict):
    class Fake(type(strict)):
        def __str__(self):
            return "gpu:7"

    with pytest.raises(ValueError, match="built in"):
        register_device(Fake())
