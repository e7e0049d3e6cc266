"""Elementwise arithmetic: add, sub, mul, div, pow, neg, exp, log, sqrt, abs,
maximum, minimum, clip, where.

Binary ops broadcast as NumPy does; their backward sums each gradient back to
its input's shape with ``sum_to``.
"""
from ..autograd.function import Function
from ..backend import get_default_dtype, sum_to, xp_of
from ..tensor import Tensor
from ._operands import binary_operands, cast_integer, placeholder_call


class Add(Function):
    def forward(ctx, a, b):
        return a + b

    def backward(ctx, grad):
        needs_a, needs_b = ctx.needs_input_grad
        return (sum_to(grad, ctx.input_shape(0)) if needs_a else None,
                sum_to(grad, ctx.input_shape(1)) if needs_b else None)


class Sub(Function):
    def forward(ctx, a, b):
        return a - b

    def backward(ctx, grad):
        needs_a, needs_b = ctx.needs_input_grad
        return (sum_to(grad, ctx.input_shape(0)) if needs_a else None,
                -sum_to(grad, ctx.input_shape(1)) if needs_b else None)


class Mul(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, grad):
        a, b = ctx.saved
        needs_a, needs_b = ctx.needs_input_grad
        return (sum_to(grad * b, a.shape) if needs_a else None,
                sum_to(grad * a, b.shape) if needs_b else None)


class Div(Function):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    def backward(ctx, grad):
        a, b = ctx.saved
        needs_a, needs_b = ctx.needs_input_grad
        grad_a = grad / b
        return (sum_to(grad_a, a.shape) if needs_a else None,
                sum_to(-grad_a * a / b, b.shape) if needs_b else None)


class Pow(Function):
    """``a ** b`` for a tensor exponent: d/da = b a^(b-1), d/db = a^b ln a (0 where a <= 0)."""

    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, grad):
        a, b, out = ctx.saved
        xp = xp_of(a)
        needs_a, needs_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if needs_a:
            grad_a = sum_to(grad * b * a ** (b - 1), a.shape)
        if needs_b:
            positive = a > 0
            log_a = xp.log(xp.where(positive, a, 1))
            grad_b = sum_to(grad * out * log_a * positive, b.shape)
        return grad_a, grad_b


class PowConstant(Function):
    """``a ** p`` for a fixed Python number ``p``: d/da = p a^(p-1)."""

    def forward(ctx, a, exponent):
        ctx.save_for_backward(a)
        ctx.exponent = exponent
        if exponent == 2:
            return a * a
        return a ** exponent

    def backward(ctx, grad):
        (a,) = ctx.saved
        p = ctx.exponent
        if p == 2:
            return grad * (a + a)
        return grad * (p * a ** (p - 1))


class Neg(Function):
    def forward(ctx, a):
        return -a

    def backward(ctx, grad):
        return -grad


class Exp(Function):
    def forward(ctx, a):
        out = xp_of(a).exp(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out


class Log(Function):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).log(a)

    def backward(ctx, grad):
        (a,) = ctx.saved
        return grad / a


class Sqrt(Function):
    def forward(ctx, a):
        out = xp_of(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad / (out + out)


class Abs(Function):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).abs(a)

    def backward(ctx, grad):
        (a,) = ctx.saved
        return grad * xp_of(a).sign(a)


class Maximum(Function):
    """Elementwise max; at ties the gradient goes to the first input."""

    def forward(ctx, a, b):
        first = a >= b
        ctx.save_for_backward(first)
        ctx.shapes = a.shape, b.shape
        return xp_of(a).where(first, a, b)

    def backward(ctx, grad):
        (first,) = ctx.saved
        return _split_by_mask(ctx, grad, first)


class Minimum(Function):
    """Elementwise min; at ties the gradient goes to the first input."""

    def forward(ctx, a, b):
        first = a <= b
        ctx.save_for_backward(first)
        ctx.shapes = a.shape, b.shape
        return xp_of(a).where(first, a, b)

    def backward(ctx, grad):
        (first,) = ctx.saved
        return _split_by_mask(ctx, grad, first)


def _split_by_mask(ctx, grad, first):
    """Route ``grad`` to input a where ``first`` holds, to input b elsewhere."""
    a_shape, b_shape = ctx.shapes
    needs_a, needs_b = ctx.needs_input_grad
    return (sum_to(grad * first, a_shape) if needs_a else None,
            sum_to(grad * ~first, b_shape) if needs_b else None)


class Clip(Function):
    """Clamp to ``[low, high]`` (either may be ``None``: no bound on that side; neither:
    the identity, as ONNX's ``Clip``); the gradient passes where the input was inside."""

    def forward(ctx, a, low, high):
        inside = True
        if low is None and high is None:
            ctx.save_for_backward(None)
            return a.copy()
        if low is not None:
            inside = a >= low
        if high is not None:
            inside = inside & (a <= high)
        ctx.save_for_backward(inside)
        return xp_of(a).clip(a, low, high).astype(a.dtype, copy=False)

    def backward(ctx, grad):
        (inside,) = ctx.saved
        return grad if inside is None else grad * inside


class Where(Function):
    """``where(condition, a, b)``: a where condition holds, else b."""

    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        ctx.shapes = a.shape, b.shape
        return xp_of(a).where(condition, a, b)

    def backward(ctx, grad):
        (condition,) = ctx.saved
        _, needs_a, needs_b = ctx.needs_input_grad
        a_shape, b_shape = ctx.shapes
        return (None,
                sum_to(grad * condition, a_shape) if needs_a else None,
                sum_to(grad * ~condition, b_shape) if needs_b else None)


def add(a, b):
    """``a + b``, broadcasting. Either may be a Python number. On functional-API
    placeholders (``Input``), ``nn.Add()([a, b])``."""
    if type(a) is not Tensor or type(b) is not Tensor:
        merged = placeholder_call("add", (a, b))
        if merged is not None:
            return merged
    return Add.apply(*binary_operands(a, b, "add"))


def sub(a, b):
    """``a - b``, broadcasting."""
    return Sub.apply(*binary_operands(a, b, "sub"))


def mul(a, b):
    """``a * b`` elementwise, broadcasting."""
    return Mul.apply(*binary_operands(a, b, "mul"))


def div(a, b):
    """``a / b`` elementwise (true division), broadcasting."""
    a, b = binary_operands(a, b, "div")
    if a.data.dtype.kind != "f":  # integer / integer gives the default float, as in NumPy
        a, b = cast_integer(a, get_default_dtype()), cast_integer(b, get_default_dtype())
    return Div.apply(a, b)


def pow(a, exponent):
    """``a ** exponent``. A Python-number exponent is a constant (fast path)."""
    if isinstance(a, Tensor) and isinstance(exponent, (int, float)) and \
            not isinstance(exponent, bool):
        return PowConstant.apply(a, exponent=exponent)
    return Pow.apply(*binary_operands(a, exponent, "pow"))


def neg(a):
    """``-a``."""
    return Neg.apply(a)


def exp(a):
    """``e^a`` elementwise."""
    return Exp.apply(a)


def log(a):
    """Natural logarithm, elementwise (``-inf`` at 0, ``nan`` below)."""
    return Log.apply(a)


def sqrt(a):
    """Square root, elementwise."""
    return Sqrt.apply(a)


def abs(a):
    """``|a|`` elementwise (gradient ``sign(a)``, 0 at 0)."""
    return Abs.apply(a)


def maximum(a, b):
    """Elementwise maximum of two tensors (or a tensor and a number); on functional-API
    placeholders, ``nn.Maximum()([a, b])``."""
    if type(a) is not Tensor or type(b) is not Tensor:
        merged = placeholder_call("maximum", (a, b))
        if merged is not None:
            return merged
    return Maximum.apply(*binary_operands(a, b, "maximum"))


def minimum(a, b):
    """Elementwise minimum of two tensors (or a tensor and a number); on functional-API
    placeholders, ``nn.Minimum()([a, b])``."""
    if type(a) is not Tensor or type(b) is not Tensor:
        merged = placeholder_call("minimum", (a, b))
        if merged is not None:
            return merged
    return Minimum.apply(*binary_operands(a, b, "minimum"))


def clip(a, low=None, high=None):
    """Clamp ``a`` to ``[low, high]``, as ONNX's ``Clip`` and PyTorch's ``clamp``.

    Either bound may be ``None`` (no bound on that side); with neither, the result is
    ``a`` unchanged (ONNX's ``Clip`` without ``min`` and ``max``). The gradient is 1
    where ``low <= a <= high``, else 0.

    Raises:
        ValueError: ``low > high``.

        >>> import somanet as sn
        >>> sn.clip(sn.tensor([-2.0, 0.5, 3.0]), high=1.0)
        tensor([-2. ,  0.5,  1. ])
    """
    if low is not None and high is not None and low > high:
        raise ValueError(f"clip: low={low} is greater than high={high}")
    return Clip.apply(a, low=low, high=high)


def where(condition, a, b):
    """``a`` where ``condition`` is true, else ``b`` (all three broadcast together).

    Args:
        condition: a bool tensor (or array).
        a, b: tensors or numbers.
    """
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        a, b = binary_operands(a, b, "where")
    else:
        raise TypeError("where: a or b must be a Tensor")
    if not isinstance(condition, Tensor):
        condition = Tensor(condition, device=a.device)
    if condition.data.dtype.kind != "b":
        from .comparison import not_equal
        condition = not_equal(condition, 0)
    return Where.apply(condition, a, b)
