"""Comparisons: elementwise, returning bool tensors, with no gradient."""
from ..tensor import Tensor
from ._operands import binary_operands


def _compare(a, b, name, compute):
    a, b = binary_operands(a, b, name)
    if a.device is not b.device:
        raise ValueError(f"{name}: operands are on {a.device} and {b.device}; move one with "
                         f".to()")
    result = Tensor.__new__(Tensor)
    result.data = compute(a.data, b.data)
    return result


def equal(a, b):
    """``a == b`` elementwise."""
    return _compare(a, b, "equal", lambda x, y: x == y)


def not_equal(a, b):
    """``a != b`` elementwise."""
    return _compare(a, b, "not_equal", lambda x, y: x != y)


def less(a, b):
    """``a < b`` elementwise."""
    return _compare(a, b, "less", lambda x, y: x < y)


def less_equal(a, b):
    """``a <= b`` elementwise."""
    return _compare(a, b, "less_equal", lambda x, y: x <= y)


def greater(a, b):
    """``a > b`` elementwise."""
    return _compare(a, b, "greater", lambda x, y: x > y)


def greater_equal(a, b):
    """``a >= b`` elementwise."""
    return _compare(a, b, "greater_equal", lambda x, y: x >= y)
