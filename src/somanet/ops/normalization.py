"""Normalisation: batch norm and layer norm, each one fused Function.

Both compute ``x_hat = (x - mean) / sqrt(var + eps)`` and ``y = x_hat * weight + bias``;
they differ in the axes the statistics run over. The backward is the closed
form (for M values normalised together, per group)::

    dL/dx = (weight / sqrt(var + eps)) * (g - mean(g) - x_hat * mean(g * x_hat))

with ``g = dL/dy``, ``dL/dweight = sum(g * x_hat)`` and ``dL/dbias = sum(g)``
over the other axes. It is one pass over the saved ``x_hat``, not a chain of
small ops.
"""
from .._checks import check_fraction, is_int
from ..autograd.function import Function
from ..backend import get_default_dtype, xp_of
from ..tensor import Tensor
from ._operands import cast_integer, integer_as_float


class BatchNorm(Function):
    """Batch normalisation over every axis but axis 1 (the channels).

    In training the batch statistics normalise and, when running arrays are
    given, update them in place: ``running = (1 - momentum) running + momentum batch``
    (the unbiased batch variance for ``running_var``, as PyTorch does). In eval
    the running statistics normalise, and are constants for the backward.
    """

    def forward(ctx, x, *affine, has_weight, has_bias, running_mean, running_var, training,
                momentum, eps):
        xp = xp_of(x)
        axes = (0,) + tuple(range(2, x.ndim))
        channels = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        weight = affine[0].reshape(channels) if has_weight else None
        bias = affine[-1].reshape(channels) if has_bias else None
        if training:
            mean = x.mean(axis=axes, keepdims=True)
            x_hat = x - mean
            var = xp.mean(x_hat * x_hat, axis=axes, keepdims=True)
            if running_mean is not None:
                count = x.size // x.shape[1]
                _update_running(running_mean, mean.reshape(-1), momentum)
                _update_running(running_var, var.reshape(-1) * (count / (count - 1)), momentum)
        else:
            mean = running_mean.reshape(channels)
            var = running_var.reshape(channels)
            x_hat = x - mean
        inv_std = 1 / xp.sqrt(var + eps)
        x_hat *= inv_std
        if has_weight:
            out = x_hat * weight
            if has_bias:
                out += bias
        else:
            out = x_hat + bias if has_bias else x_hat
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.axes, ctx.training = axes, training
        ctx.has_weight, ctx.has_bias = has_weight, has_bias
        return out

    def backward(ctx, grad):
        x_hat, inv_std, weight = ctx.saved
        xp = xp_of(x_hat)
        axes, training = ctx.axes, ctx.training
        needs = ctx.needs_input_grad
        want_x = needs[0]
        want_weight = ctx.has_weight and needs[1]
        want_bias = ctx.has_bias and needs[-1]
        grads = [None] * len(needs)
        count = x_hat.size // x_hat.shape[1]
        if (want_x and training) or want_weight:
            work = grad * x_hat  # the one full-size buffer; reused for dL/dx below
            grad_x_hat_sum = work.sum(axis=axes, keepdims=True)
            if want_weight:
                grads[1] = grad_x_hat_sum.reshape(-1)
        if (want_x and training) or want_bias:
            grad_sum = grad.sum(axis=axes, keepdims=True)
            if want_bias:
                grads[-1] = grad_sum.reshape(-1)
        if want_x:
            scale = inv_std * weight if ctx.has_weight else inv_std
            if training:  # scale (grad - mean(grad) - x_hat mean(grad x_hat)), in place
                xp.multiply(x_hat, grad_x_hat_sum / count, out=work)
                xp.subtract(grad, work, out=work)
                work -= grad_sum / count
                work *= scale
                grads[0] = work
            else:  # the statistics are constants
                grads[0] = grad * scale
        return tuple(grads)


def _update_running(running, batch, momentum):
    """``running = (1 - momentum) running + momentum batch``, in place."""
    running *= 1 - momentum
    running += momentum * batch.astype(running.dtype, copy=False)


class LayerNorm(Function):
    """Layer normalisation over the trailing ``count`` axes (one group per leading index)."""

    def forward(ctx, x, *affine, has_weight, has_bias, count, eps):
        xp = xp_of(x)
        axes = tuple(range(x.ndim - count, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        x_hat = x - mean
        var = xp.mean(x_hat * x_hat, axis=axes, keepdims=True)
        inv_std = 1 / xp.sqrt(var + eps)
        x_hat *= inv_std
        weight = affine[0] if has_weight else None
        if has_weight:
            out = x_hat * weight
            if has_bias:
                out += affine[-1]
        else:
            out = x_hat + affine[-1] if has_bias else x_hat
        ctx.save_for_backward(x_hat, inv_std, weight)
        ctx.axes, ctx.has_weight, ctx.has_bias = axes, has_weight, has_bias
        return out

    def backward(ctx, grad):
        x_hat, inv_std, weight = ctx.saved
        xp = xp_of(x_hat)
        axes = ctx.axes
        lead = tuple(range(x_hat.ndim - len(axes)))
        needs = ctx.needs_input_grad
        want_x = needs[0]
        want_weight = ctx.has_weight and needs[1]
        grads = [None] * len(needs)
        if want_x or want_weight:
            work = grad * x_hat  # reused below, so dL/dx costs one more buffer at most
            if want_weight:
                grads[1] = work.sum(axis=lead)
        if ctx.has_bias and needs[-1]:
            grads[-1] = grad.sum(axis=lead)
        if want_x:
            # g = grad * weight; dL/dx = inv_std (g - mean(g) - x_hat mean(g x_hat)).
            if ctx.has_weight:
                work *= weight
                g = grad * weight
            else:
                g = grad
            mean_g_x_hat = work.mean(axis=axes, keepdims=True)
            mean_g = g.mean(axis=axes, keepdims=True)
            xp.multiply(x_hat, mean_g_x_hat, out=work)
            xp.subtract(g, work, out=work)
            work -= mean_g
            work *= inv_std
            grads[0] = work
        return tuple(grads)


def batch_norm(x, weight=None, bias=None, running_mean=None, running_var=None, training=True,
               momentum=0.1, eps=1e-5):
    """Batch normalisation: each channel (axis 1) normalised over the batch and the
    other axes, then scaled and shifted.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with the batch's mean and
    (biased) variance in training and the running statistics in eval. In
    training, given ``running_mean`` / ``running_var`` are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_statistic``, the
    variance entering unbiased (``* M / (M - 1)``), as in PyTorch.

    Args:
        x: float input, at least 2-D: (N, C) or (N, C, ...).
        weight, bias: optional (C,) scale and shift (learnable).
        running_mean, running_var: optional (C,) tensors of the same dtype
            (buffers, updated in place in training; required in eval).
        training: use (and update) batch statistics, else the running ones.
        momentum: the weight of the new batch in the running averages, in [0, 1]
            (a cumulative average, PyTorch's ``momentum=None``, is the layer's
            ``BatchNorm*D(momentum=None)``: it passes ``1 / batches seen``).
        eps: added to the variance before the square root.

    Shape: x (N, C, *) -> (N, C, *).

        >>> import somanet as sn
        >>> x = sn.tensor([[1.0, 10.0], [3.0, 30.0]])
        >>> sn.batch_norm(x, eps=0.0)
        tensor([[-1., -1.],
                [ 1.,  1.]])
    """
    x = _integer_input_as_float(x, (weight, bias, running_mean, running_var))
    weight, bias = integer_as_float(weight, x), integer_as_float(bias, x)
    _check_float_tensor(x, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input with at least 2 dimensions (N, C, ...),"
                         f" got shape {x.shape}; for one feature vector add a batch axis")
    channels = x.shape[1]
    affine = _affine(x, weight, bias, (channels,), "batch_norm")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    running = []
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var)):
        if tensor is None:
            running.append(None)
            continue
        _check_parameter(tensor, x, (channels,), name, "batch_norm")
        running.append(tensor.data)
    if not training and running_mean is None:
        raise ValueError("batch_norm: eval mode (training=False) normalises with the running "
                         "statistics; pass running_mean and running_var")
    momentum = check_fraction("batch_norm", "momentum", momentum, inclusive=True,
                              what="in [0, 1] (the new batch's weight)")
    if training and x.size // max(channels, 1) < 2:
        raise ValueError(f"batch_norm: training needs more than one value per channel to "
                         f"compute a variance, got input of shape {x.shape}; use a larger "
                         f"batch or eval mode")
    return BatchNorm.apply(x, *affine, has_weight=weight is not None, has_bias=bias is not None,
                           running_mean=running[0], running_var=running[1],
                           training=bool(training), momentum=momentum, eps=eps)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the trailing ``normalized_shape`` axes of each sample.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, mean and (biased)
    variance taken over the last ``len(normalized_shape)`` axes.

    Args:
        x: float input whose trailing axes equal ``normalized_shape``.
        normalized_shape: an int or a tuple of ints.
        weight, bias: optional scale and shift of shape ``normalized_shape``.
        eps: added to the variance before the square root.

    Shape: x (*, *normalized_shape) -> same shape.

        >>> import somanet as sn
        >>> sn.layer_norm(sn.tensor([[1.0, 3.0]]), 2, eps=0.0)
        tensor([[-1.,  1.]])
    """
    x = _integer_input_as_float(x, (weight, bias))
    weight, bias = integer_as_float(weight, x), integer_as_float(bias, x)
    _check_float_tensor(x, "layer_norm")
    if is_int(normalized_shape):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(int(size) for size in normalized_shape)
    count = len(normalized_shape)
    if count == 0 or count > x.ndim or x.shape[x.ndim - count:] != normalized_shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with "
                         f"normalized_shape {normalized_shape}; expected shape "
                         f"(*, {', '.join(map(str, normalized_shape))})")
    affine = _affine(x, weight, bias, normalized_shape, "layer_norm")
    return LayerNorm.apply(x, *affine, has_weight=weight is not None, has_bias=bias is not None,
                           count=count, eps=eps)


def _integer_input_as_float(x, others):
    """An integer input as the float dtype of the parameters given with it (the default
    float dtype when there are none): normalised integer data is float data."""
    if not isinstance(x, Tensor) or x.dtype.kind not in "iu":
        return x
    floats = [tensor.dtype for tensor in others
              if isinstance(tensor, Tensor) and tensor.dtype.kind == "f"]
    return cast_integer(x, floats[0] if floats else get_default_dtype())


def _check_float_tensor(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float input, got dtype {x.dtype}; cast it with "
                        f".astype('float32')")


def _affine(x, weight, bias, shape, name):
    """The given weight and bias, checked against ``shape`` and ``x``."""
    affine = []
    for label, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None:
            _check_parameter(tensor, x, shape, label, name)
            affine.append(tensor)
    return affine


def _check_parameter(tensor, x, shape, label, name):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: {label} must be a Tensor, got {type(tensor).__name__}")
    if tensor.shape != shape:
        raise ValueError(f"{name}: {label} has shape {tensor.shape}, expected {shape} for an "
                         f"input of shape {x.shape}")
    if tensor.dtype != x.dtype:
        raise TypeError(f"{name}: {label} has dtype {tensor.dtype} but the input has "
                        f"{x.dtype}; they must match")
    if tensor.device is not x.device:
        raise ValueError(f"{name}: {label} is on {tensor.device} but the input is on "
                         f"{x.device}; move it with .to()")
