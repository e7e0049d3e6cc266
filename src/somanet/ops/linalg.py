"""Linear algebra: matmul (with batch broadcasting), dot, outer, and the fused
``linear`` (x @ W + b) that dense layers use.
"""
from ..autograd.function import Function
from ..backend import sum_to
from ._operands import binary_operands
from .shape import reshape


class MatMul(Function):
    """``a @ b`` with NumPy's rules: 1-D operands are vectors, leading axes broadcast.

    For C = A B: dL/dA = dL/dC B^T and dL/dB = A^T dL/dC, summed over any
    broadcast batch axes.
    """

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    def backward(ctx, grad):
        a, b = ctx.saved
        needs_a, needs_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, no reshaping
            return (grad @ b.T if needs_a else None,
                    a.T @ grad if needs_b else None)
        # Promote vectors to matrices, as the forward did implicitly.
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.ndim == 1:
            grad = grad[..., None, :] if b.ndim > 1 else grad[..., None]
        if b.ndim == 1:
            grad = grad[..., None]
        grad_a = grad_b = None
        if needs_a:
            grad_a = sum_to(grad @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if needs_b:
            grad_b = sum_to(a2.swapaxes(-1, -2) @ grad, b2.shape).reshape(b.shape)
        return grad_a, grad_b


class Linear(Function):
    """y = x W + b, fused. x: (..., in), W: (in, out), b: (out,) -> y: (..., out).

    dL/dx = dL/dy W^T, dL/dW = x^T dL/dy, dL/db = sum of dL/dy over rows.
    """

    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        out = x @ weight
        if bias is not None:
            out += bias
        return out

    def backward(ctx, grad):
        x, weight = ctx.saved
        needs = ctx.needs_input_grad
        grad_x = grad @ weight.T if needs[0] else None
        grad_weight = grad_bias = None
        if x.ndim != 2:
            x = x.reshape(-1, x.shape[-1])
            grad = grad.reshape(-1, grad.shape[-1])
        if needs[1]:
            grad_weight = x.T @ grad
        if len(needs) > 2 and needs[2]:
            grad_bias = grad.sum(axis=0)
        return (grad_x, grad_weight) + ((grad_bias,) if len(needs) > 2 else ())


def matmul(a, b):
    """Matrix product ``a @ b`` (NumPy semantics: batches broadcast, 1-D means a vector).

    Shape: (..., n, k) @ (..., k, m) -> (..., n, m).
    """
    a, b = binary_operands(a, b, "matmul")
    try:
        return MatMul.apply(a, b)
    except ValueError:  # explain the shapes (worked out only when they do not fit)
        raise ValueError(_mismatch(a.shape, b.shape)) from None


def _mismatch(a_shape, b_shape):
    if not a_shape or not b_shape:
        return (f"matmul: operands must have at least one axis, got shapes {a_shape} and "
                f"{b_shape}; use * for scalars")
    inner_a = a_shape[-1]
    inner_b = b_shape[-2] if len(b_shape) > 1 else b_shape[0]
    if inner_a != inner_b:
        return (f"matmul: shapes {a_shape} and {b_shape} do not fit: the last axis of the "
                f"first ({inner_a}) must equal the "
                f"{'second-to-last' if len(b_shape) > 1 else 'only'} axis of the second "
                f"({inner_b})")
    return f"matmul: the batch axes of shapes {a_shape} and {b_shape} do not broadcast"


def dot(a, b):
    """Dot product of two vectors (matmul for matrices)."""
    return matmul(a, b)


def outer(a, b):
    """Outer product of two vectors: (n,), (m,) -> (n, m)."""
    a, b = binary_operands(a, b, "outer")
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def linear(x, weight, bias=None):
    """The dense layer's affine map, fused: ``x @ weight + bias``.

    Shape: x (..., in), weight (in, out), bias (out,) or None -> (..., out).
    The weight is laid out one row per input unit, as in the textbook unit
    ``h = sum_i w_i x_i + b`` (and a Keras kernel).
    """
    if x.shape[-1:] != weight.shape[:1] or weight.ndim != 2:
        raise ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape "
                         f"{weight.shape}: expected (..., {weight.shape[0]}) inputs")
    if bias is None:
        return Linear.apply(x, weight)
    if bias.shape != weight.shape[1:]:
        raise ValueError(f"linear: bias of shape {bias.shape} does not fit a weight of shape "
                         f"{weight.shape}: expected ({weight.shape[1]},)")
    return Linear.apply(x, weight, bias)
