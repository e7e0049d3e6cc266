"""Comparisons: elementwise, returning bool tensors, with no gradient."""
import operator

from ..autograd.function import Function
from ._operands import binary_operands


class Compare(Function):
    """``test(a, b)`` elementwise (``test``: ``operator.eq``, ``operator.lt``...); a bool
    output, which never requires grad."""

    differentiable = False

    def forward(ctx, a, b, test):
        return test(a, b)


def _compare(a, b, name, test):
    a, b = binary_operands(a, b, name)
    if a.device is not b.device:
        raise ValueError(f"{name}: operands are on {a.device} and {b.device}; move one with "
                         f".to()")
    return Compare.apply(a, b, test=test)


def equal(a, b):
    """``a == b`` elementwise."""
    return _compare(a, b, "equal", operator.eq)


def not_equal(a, b):
    """``a != b`` elementwise."""
    return _compare(a, b, "not_equal", operator.ne)


def less(a, b):
    """``a < b`` elementwise."""
    return _compare(a, b, "less", operator.lt)


def less_equal(a, b):
    """``a <= b`` elementwise."""
    return _compare(a, b, "less_equal", operator.le)


def greater(a, b):
    """``a > b`` elementwise."""
    return _compare(a, b, "greater", operator.gt)


def greater_equal(a, b):
    """``a >= b`` elementwise."""
    return _compare(a, b, "greater_equal", operator.ge)
