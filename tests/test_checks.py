"""The argument checks every layer shares (somanet._checks)."""
import numpy
import pytest

from somanet import _checks
from somanet._checks import ArgumentTypeError


@pytest.mark.parametrize("value", [3, numpy.int64(3), numpy.int32(3)])
def test_check_int_accepts_python_and_numpy_integers(value):
    result = _checks.check_int("fit", "epochs", value, minimum=1)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", [True, 3.0, "3", None])
def test_check_int_rejects_other_types_as_type_and_value_error(value):
    with pytest.raises(ArgumentTypeError, match=r"fit: epochs must be an int >= 1, got "):
        _checks.check_int("fit", "epochs", value, minimum=1)
    assert issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError,
                                                                   ValueError)


def test_check_int_bounds_messages():
    with pytest.raises(ValueError, match=r"^fit: epochs must be an int >= 1, got 0$"):
        _checks.check_positive_int("fit", "epochs", 0)
    with pytest.raises(ValueError, match=r"an int in \[0, 9\], got 10"):
        _checks.check_int("x", "digit", 10, minimum=0, maximum=9)
    assert _checks.check_non_negative_int("x", "n", 0) == 0


def test_owner_may_be_an_object():
    class Adam:
        pass
    with pytest.raises(ValueError, match=r"^Adam: lr must be a finite number >= 0, got -1.0$"):
        _checks.check_non_negative(Adam(), "lr", -1)


@pytest.mark.parametrize("value,ok", [(0.0, True), (0.5, True), (1.0, False), (-0.1, False),
                                      (float("nan"), False)])
def test_check_fraction(value, ok):
    if ok:
        assert _checks.check_fraction("Dropout", "rate", value) == value
    else:
        with pytest.raises(ValueError, match="Dropout: rate must be"):
            _checks.check_fraction("Dropout", "rate", value)
    assert _checks.check_fraction("x", "p", 1.0, inclusive=True) == 1.0


def test_check_real_takes_numpy_scalars_and_rejects_bools_and_inf():
    assert _checks.check_real("x", "v", numpy.float32(0.25)) == 0.25
    assert _checks.check_real("x", "v", numpy.array(2.0)) == 2.0
    with pytest.raises(ArgumentTypeError):
        _checks.check_real("x", "v", False)
    with pytest.raises(ValueError, match="finite"):
        _checks.check_real("x", "v", float("inf"))
    assert _checks.check_real("x", "v", float("inf"), finite=False) == float("inf")
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        _checks.check_real("x", "v", 0.0, minimum=0, maximum=1, min_open=True)


def test_check_flag_and_choice():
    assert _checks.check_flag("x", "shuffle", numpy.bool_(True)) is True
    with pytest.raises(ArgumentTypeError, match="shuffle must be True or False, got int 1"):
        _checks.check_flag("x", "shuffle", 1)
    assert _checks.check_choice("x", "mode", "min", ("min", "max")) == "min"
    with pytest.raises(ValueError, match=r"mode must be one of 'min', 'max', got 'mni'. "
                                         r"Did you mean 'min'\?"):
        _checks.check_choice("x", "mode", "mni", ("min", "max"))


def test_lookup_suggests_the_closest_name():
    table = {"adam": 1, "sgd": 2}
    assert _checks.lookup("compile", "optimizer", " ADAM ", table) == 1
    with pytest.raises(ValueError, match=r"^compile: unknown optimizer 'adma'. Did you mean "
                                         r"'adam'\? Known optimizers: adam, sgd; or pass one$"):
        _checks.lookup("compile", "optimizer", "adma", table, hint="; or pass one")
    with pytest.raises(ValueError, match=r"^unknown optimizer 'zzz'. Known"):
        _checks.lookup(None, "optimizer", "zzz", table)
    with pytest.raises(ArgumentTypeError, match="optimizer must be a name"):
        _checks.lookup("compile", "optimizer", 3, table)
