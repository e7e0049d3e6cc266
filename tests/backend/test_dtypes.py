"""The dtype policy: float32 by default, no silent float64."""
import numpy as np
import pytest

import somanet as sn


def test_defaults_are_float32():
    assert sn.tensor([1.0, 2.0]).dtype == np.float32
    assert sn.tensor(1.5).dtype == np.float32
    assert sn.zeros(2).dtype == np.float32
    assert sn.randn(2).dtype == np.float32
    assert sn.rand(2).dtype == np.float32
    assert sn.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert sn.get_default_dtype() == np.float32


def test_float64_numpy_array_becomes_float32_unless_asked():
    data = np.array([1.0, 2.0])  # float64
    assert sn.tensor(data).dtype == np.float32
    assert sn.tensor(data, dtype="float64").dtype == np.float64
    assert sn.tensor(data, dtype=sn.float64).dtype == np.float64


def test_integers_and_bools_keep_their_kind():
    assert sn.tensor([1, 2]).dtype == np.int64
    assert sn.tensor([True, False]).dtype == np.bool_
    assert sn.arange(5).dtype == np.int64


@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_python_scalars_do_not_upcast_float32(scalar):
    t = sn.tensor([1.0, 2.0])
    for result in (t + scalar, scalar + t, t * scalar, t - scalar, scalar / (t + 1), t ** 2,
                   sn.maximum(t, scalar), sn.where(t > 1, t, scalar)):
        assert result.dtype == np.float32


def test_integer_arrays_meet_float32_as_float32():
    t = sn.tensor([1.0, 2.0])
    ints = sn.tensor([1, 2])
    assert (t + ints).dtype == np.float32
    assert (ints * t).dtype == np.float32
    assert (t + np.array([1, 2])).dtype == np.float32
    assert (t + np.array([1.0, 2.0])).dtype == np.float32  # a raw float64 array follows tensor()


def test_integer_tensor_with_python_float_gives_default_float():
    assert (sn.tensor([1, 2]) * 0.5).dtype == np.float32
    assert (sn.tensor([1, 2]) / sn.tensor([2, 4])).dtype == np.float32


def test_explicit_float64_stays_float64():
    t = sn.tensor([1.0], dtype="float64", requires_grad=True)
    out = (t * 2 + 1).exp().sum()
    assert out.dtype == np.float64
    out.backward()
    assert t.grad.dtype == np.float64


def test_mixing_float_dtypes_is_an_error_naming_both():
    a = sn.tensor([1.0])
    b = sn.tensor([1.0], dtype="float64")
    with pytest.raises(TypeError, match="float32 and float64"):
        a + b
    with pytest.raises(TypeError, match="float32.*float64|float64.*float32"):
        sn.matmul(a.reshape(1, 1), b.reshape(1, 1))


def test_set_default_dtype():
    try:
        sn.set_default_dtype("float64")
        assert sn.tensor([1.0]).dtype == np.float64
        assert sn.zeros(1).dtype == np.float64
    finally:
        sn.set_default_dtype("float32")
    with pytest.raises(TypeError, match="float dtype"):
        sn.set_default_dtype("int32")


def test_bad_dtype_name():
    with pytest.raises(TypeError, match="not a dtype"):
        sn.tensor([1.0], dtype="floaty")
