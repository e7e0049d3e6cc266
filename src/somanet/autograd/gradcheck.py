"""``gradcheck``: compare autograd's gradients with finite differences, in float64.

For a function ``f`` of tensors, the loss ``L = sum_k <f_k(x), r_k>`` with
fixed random ``r_k`` is differentiated two ways: by autograd, and by central
differences ``(L(x + eps e) - L(x - eps e)) / (2 eps)``. Small inputs are
perturbed one element at a time (every entry of the gradient is checked);
large ones along a few random directions ``e``.
"""
from ..backend import float64, fresh_generator
from ..tensor import Tensor
from . import engine
from .mode import no_grad


class GradcheckError(AssertionError):
    """Autograd's gradient disagrees with the finite-difference estimate."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, max_elements=256, directions=3,
              seed=0):
    """Check ``fn``'s gradients against float64 finite differences.

    Args:
        fn: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: the Tensors to call ``fn`` with. Tensors that require grad
            are checked, on float64 copies (the check needs the precision);
            other inputs are passed unchanged.
        eps: the finite-difference step.
        atol, rtol: how close the two estimates must be.
        max_elements: inputs up to this size are checked element by element;
            larger ones along ``directions`` random directions.
        seed: seeds the random projections, so a failure repeats.

    Returns:
        True when every gradient agrees.

    Raises:
        GradcheckError: naming the input, the element or direction, and both values.

        >>> import somanet as sn
        >>> x = sn.tensor([0.3, -1.2], dtype="float64", requires_grad=True)
        >>> sn.gradcheck(lambda t: (t * t).sum(), [x])
        True
    """
    inputs = [_as_float64(x) for x in inputs]
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    outputs = _outputs(fn(*inputs))
    rng = fresh_generator(seed, outputs[0].device)
    projections = [rng.standard_normal(out.shape).astype(out.dtype) for out in outputs]

    def loss():
        with no_grad():
            values = _outputs(fn(*inputs))
        return sum(float((value.data * r).sum()) for value, r in zip(values, projections))

    analytic = engine.grad(outputs, [inputs[i] for i in checked], projections,
                           allow_unused=True)
    for index, grad in zip(checked, analytic):
        x = inputs[index]
        xp = x.device.xp
        grad = xp.zeros(x.shape, x.dtype) if grad is None else grad.data
        flat, flat_grad = x.data.reshape(-1), grad.reshape(-1)
        if x.size <= max_elements:
            for element in range(x.size):
                step = xp.zeros(x.size, x.dtype)
                step[element] = eps
                _compare(_central_difference(loss, flat, step, eps), float(flat_grad[element]),
                         atol, rtol, f"input {index} (shape {x.shape}), flat element {element}")
        else:
            for d in range(directions):
                direction = rng.standard_normal(x.size).astype(x.dtype)
                _compare(_central_difference(loss, flat, direction * eps, eps),
                         float((flat_grad * direction).sum()), atol, rtol,
                         f"input {index} (shape {x.shape}), random direction {d}")
    return True


def _as_float64(x):
    if not isinstance(x, Tensor):
        raise TypeError(f"gradcheck inputs must be Tensors, got {type(x).__name__}")
    if not x.requires_grad:
        return x
    # A fresh contiguous copy, so the differences can perturb it in place.
    return x.detach().astype(float64).requires_grad_()


def _outputs(result):
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return Tensors, got {type(out).__name__}")
    return outputs


def _central_difference(loss, flat, step, eps):
    """The slope of ``loss`` along ``step / eps``; ``flat`` (a view of an input's
    data) is perturbed in place and restored."""
    original = flat.copy()
    flat += step
    plus = loss()
    flat[...] = original - step
    minus = loss()
    flat[...] = original
    return (plus - minus) / (2 * eps)


def _compare(numeric, analytic, atol, rtol, where):
    if abs(numeric - analytic) > atol + rtol * abs(numeric):
        raise GradcheckError(f"gradcheck failed for {where}: autograd gives {analytic:.8g}, "
                             f"finite differences give {numeric:.8g}")
