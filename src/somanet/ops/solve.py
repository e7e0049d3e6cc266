"""Solving a linear system, differentiably: ``solve(a, b)`` is ``x`` with ``a @ x = b``.

Closed-form layers (ridge regression in a deep stacking network, least squares) need it
inside autograd: with ``X = A^{-1} B`` and ``G = dL/dX``,

    dL/dB = A^{-T} G,        dL/dA = -(A^{-T} G) X^T,

one more solve with the transposed matrix, no inverse formed.
"""
import numpy

from ..autograd.function import Function
from ..backend import xp_of
from ._operands import binary_operands


class Solve(Function):
    """``X = A^{-1} B`` for a square ``A`` (n, n) and ``B`` (n,) or (n, k); see the module."""

    def forward(ctx, a, b):
        xp = xp_of(a)
        try:
            x = xp.linalg.solve(a, b)
        except numpy.linalg.LinAlgError as error:  # CuPy raises NumPy's too
            raise ValueError(f"solve: the {a.shape[0]} x {a.shape[0]} matrix is singular "
                             f"({error}); regularise it (add a multiple of the identity) "
                             f"or use a least-squares formulation") from None
        ctx.save_for_backward(a, x)
        return x

    def backward(ctx, grad):
        a, x = ctx.saved
        xp = xp_of(a)
        needs_a, needs_b = ctx.needs_input_grad
        grad_b = xp.linalg.solve(a.T, grad)
        grad_a = None
        if needs_a:
            grad_a = -(grad_b[:, None] * x[None, :]) if x.ndim == 1 else -(grad_b @ x.T)
        return grad_a, grad_b if needs_b else None


def solve(a, b):
    """The solution ``x`` of ``a @ x = b`` (``numpy.linalg.solve``), differentiable in both.

    Args:
        a: a square matrix (n, n), invertible.
        b: the right-hand side, (n,) or (n, k).

    Shape:
        a (n, n), b (n,) or (n, k) -> x like b.

    Raises:
        ValueError: for shapes that do not fit, or a singular ``a``.

        >>> import somanet as sn
        >>> from somanet.ops.solve import solve
        >>> solve(sn.tensor([[2.0, 0.0], [0.0, 4.0]]), sn.tensor([1.0, 1.0]))
        tensor([0.5 , 0.25])
    """
    a, b = binary_operands(a, b, "solve")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"solve: a must be a square matrix (n, n), got shape {tuple(a.shape)}")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"solve: b must be ({a.shape[0]},) or ({a.shape[0]}, k) for a of shape "
                         f"{tuple(a.shape)}, got shape {tuple(b.shape)}")
    if a.dtype.kind != "f":
        raise TypeError(f"solve: expected float tensors, got {a.dtype}")
    return Solve.apply(a, b)
