"""Losses, each one fused Function: the per-element loss, its reduction and the
closed-form gradient in one node.

``reduction`` is ``"mean"`` (the average over elements, or over samples for
the cross-entropies), ``"sum"``, or ``"none"`` (the unreduced losses); ``kl_div``
adds PyTorch's ``"batchmean"``.

Weights are PyTorch's: a class ``weight`` scales each sample's loss by the weight of
its class, and the ``"mean"`` of integer labels is then the weighted mean, the sum
divided by the sum of the weights of the samples that count (``ignore_index``
labels count for nothing, in the loss and in the divisor). A BCE ``weight`` scales
each element, and the mean stays the plain mean. Weights are constants: they get
no gradient.

The classification losses are numerically stable: cross-entropy from logits
computes a log-softmax once (the maximum subtracted first) and never takes
``log(0)``; probabilities are clipped before a log (to ``[eps, 1 - eps]`` for BCE,
to ``[eps, inf)`` for cross-entropy).
"""
from .._checks import check_flag, check_fraction, check_int, check_real, is_int
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import Tensor, as_array
from ._operands import cast_integer
from .activation import sigmoid_array
from .elementwise import clip, log

REDUCTIONS = ("mean", "sum", "none")
KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")
DEFAULT_IGNORE_INDEX = -100  # PyTorch's: a label value no class has
PROBABILITY_EPS = 1e-7  # probabilities are clipped to [eps, 1 - eps] before a log (as Keras)


# -- helpers shared by every loss ------------------------------------------------------------

def _reduce(values, reduction):
    """The per-element losses, reduced."""
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def _output_grad(grad, reduction, count):
    """The gradient of the loss with respect to each per-element loss: an array
    that broadcasts against them (0-d for "mean" and "sum")."""
    if reduction == "mean":
        return grad / max(count, 1)
    return grad


def _expand_class_axis(grad, axis):
    """A per-sample gradient with the class axis put back (0-d stays 0-d)."""
    return xp_of(grad).expand_dims(grad, axis) if grad.ndim else grad


def _class_index(labels, axis, xp):
    """The index that picks ``x[..., labels[...], ...]`` (class axis ``axis``) from
    ``xp.moveaxis(x, axis, -1)``: open grids over the sample axes, then the labels."""
    grids = tuple(xp.arange(size).reshape((size,) + (1,) * (labels.ndim - i - 1))
                  for i, size in enumerate(labels.shape))
    return grids + (labels,)


def _along(weight, axis, ndim):
    """A (C,) class weight shaped to broadcast along class axis ``axis`` of an ndim array."""
    return weight.reshape((1,) * axis + (-1,) + (1,) * (ndim - axis - 1))


def _sample_weights(labels, weight, ignore_index, dtype):
    """(labels safe to index with, each sample's weight or None, the valid mask or None).

    The sample weight is the weight of the sample's class (``weight[label]``), 0 where
    the label is ``ignore_index``; ``None`` when every sample weighs 1 (the fast path)."""
    xp = xp_of(labels)
    valid = None
    if ignore_index is not None:
        valid = labels != ignore_index
        labels = xp.where(valid, labels, 0)
    if weight is not None:
        sample = xp.take(weight, labels)
        if valid is not None:
            sample = sample * valid
    elif valid is not None:
        sample = valid.astype(dtype)
    else:
        sample = None
    return labels, sample, valid


def _weighted_reduce(ctx, values, sample, reduction):
    """Reduce per-sample losses whose weights are ``sample``: "mean" divides by the sum
    of the weights (0/0 is nan, as PyTorch). Keeps the divisor on ctx for backward."""
    if reduction == "mean":
        ctx.denominator = float(sample.sum())
        total = values.sum()
        if not ctx.denominator:
            return total * total.dtype.type("nan")
        return total / total.dtype.type(ctx.denominator)
    return _reduce(values, reduction)


def _weighted_output_grad(ctx, grad):
    """The gradient with respect to each weighted per-sample loss (0 where nothing counts)."""
    if ctx.reduction == "mean":
        return grad / grad.dtype.type(ctx.denominator) if ctx.denominator else grad * 0
    return grad


def _smoothed(target, smoothing, classes):
    """The target distribution with label smoothing: ``(1 - s) target + s / C``."""
    if not smoothing:
        return target
    return target * (1 - smoothing) + smoothing / classes


# -- regression losses -----------------------------------------------------------------------

class SquaredError(Function):
    """``scale * (pred - target)^2`` per element; d/dpred = ``2 scale (pred - target)``."""

    def forward(ctx, pred, target, scale, reduction):
        diff = pred - target
        ctx.save_for_backward(diff)
        ctx.scale, ctx.reduction = scale, reduction
        values = diff * diff
        if scale != 1:
            values *= scale
        return _reduce(values, reduction)

    def backward(ctx, grad):
        (diff,) = ctx.saved
        g = _output_grad(grad, ctx.reduction, diff.size) * (2 * ctx.scale)
        return _pair(ctx, diff * g)


class AbsoluteError(Function):
    """``|pred - target|`` per element; d/dpred = ``sign(pred - target)``."""

    def forward(ctx, pred, target, reduction):
        diff = pred - target
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce(xp_of(diff).abs(diff), reduction)

    def backward(ctx, grad):
        (diff,) = ctx.saved
        g = _output_grad(grad, ctx.reduction, diff.size)
        return _pair(ctx, xp_of(diff).sign(diff) * g)


class Huber(Function):
    """``scale`` times ``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``,
    with ``d = pred - target``; d/dpred = ``scale clip(d, -delta, delta)``. Smooth L1 is
    ``scale = 1 / delta`` (``delta`` its ``beta``)."""

    def forward(ctx, pred, target, delta, scale, reduction):
        xp = xp_of(pred)
        diff = pred - target
        ctx.save_for_backward(diff)
        ctx.delta, ctx.scale, ctx.reduction = delta, scale, reduction
        size = xp.abs(diff)
        values = xp.where(size <= delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
        if scale != 1:
            values = values * scale
        return _reduce(values.astype(pred.dtype, copy=False), reduction)

    def backward(ctx, grad):
        (diff,) = ctx.saved
        g = _output_grad(grad, ctx.reduction, diff.size)
        if ctx.scale != 1:
            g = g * grad.dtype.type(ctx.scale)
        slope = xp_of(diff).clip(diff, -ctx.delta, ctx.delta).astype(diff.dtype, copy=False)
        return _pair(ctx, slope * g)


def _pair(ctx, grad_pred):
    """The gradients of (pred, target) when the loss depends on ``pred - target``."""
    needs_pred, needs_target = ctx.needs_input_grad
    return (grad_pred if needs_pred else None, -grad_pred if needs_target else None)


# -- binary classification -------------------------------------------------------------------

class BinaryCrossEntropy(Function):
    """``-w (t log p + (1 - t) log(1 - p))`` with ``p`` clipped to ``[eps, 1 - eps]`` and
    the optional ``weight`` w (a constant input that broadcasts to the input's shape).

    d/dp = ``w (p - t) / (p (1 - p))`` at the clipped ``p`` (finite everywhere);
    d/dt = ``w (log(1 - p) - log p)``.
    """

    def forward(ctx, probs, target, *weight, eps, reduction):
        xp = xp_of(probs)
        p = xp.clip(probs, eps, 1 - eps).astype(probs.dtype, copy=False)
        log_p, log_q = xp.log(p), xp.log1p(-p)
        values = log_p - log_q
        values *= target
        values += log_q
        if weight:
            values = values * weight[0]
        ctx.save_for_backward(p, target, *weight)
        ctx.reduction = reduction
        return _reduce(-values, reduction)

    def backward(ctx, grad):
        p, target, *weight = ctx.saved
        xp = xp_of(p)
        g = _output_grad(grad, ctx.reduction, p.size)
        if weight:
            g = g * weight[0]
        needs_probs, needs_target = ctx.needs_input_grad[:2]
        grad_probs = grad_target = None
        if needs_probs:
            grad_probs = (p - target) / (p * (1 - p)) * g
        if needs_target:
            grad_target = (xp.log1p(-p) - xp.log(p)) * g
        return (grad_probs, grad_target) + (None,) * len(weight)


class BinaryCrossEntropyWithLogits(Function):
    """``max(x, 0) - x t + log(1 + e^-|x|)``, the stable form of
    ``-(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``.

    d/dx = ``sigmoid(x) - t``; d/dt = ``-x``.

    With ``pos_weight`` c (PyTorch's, the weight of the positive term) the loss is
    ``-(c t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``, computed as
    ``(1 - t) x + l softplus(-x)`` with ``l = (c - 1) t + 1``: d/dx = ``l sigmoid(x) - c t``,
    d/dt = ``-x + (c - 1) softplus(-x)``. A ``weight`` w multiplies it all. Both are
    constant inputs (after logits and target, in that order) that broadcast to the
    input's shape.
    """

    def forward(ctx, logits, target, *constants, has_weight, has_pos_weight, reduction):
        xp = xp_of(logits)
        weight = constants[0] if has_weight else None
        pos_weight = constants[-1] if has_pos_weight else None
        values = xp.log1p(xp.exp(-xp.abs(logits)))
        if pos_weight is None:
            values += xp.maximum(logits, 0)
            values -= logits * target
        else:
            values += xp.maximum(-logits, 0)  # softplus(-x)
            values *= (pos_weight - 1) * target + 1
            values += (1 - target) * logits
        if weight is not None:
            values = values * weight
        ctx.save_for_backward(logits, target, weight, pos_weight)
        ctx.reduction = reduction
        return _reduce(values, reduction)

    def backward(ctx, grad):
        logits, target, weight, pos_weight = ctx.saved
        g = _output_grad(grad, ctx.reduction, logits.size)
        needs = ctx.needs_input_grad
        if weight is None and pos_weight is None:  # the plain loss
            return ((sigmoid_array(logits) - target) * g if needs[0] else None,
                    -logits * g if needs[1] else None)
        xp = xp_of(logits)
        if weight is not None:
            g = g * weight
        grad_logits = grad_target = None
        if pos_weight is None:
            if needs[0]:
                grad_logits = (sigmoid_array(logits) - target) * g
            if needs[1]:
                grad_target = -logits * g
        else:
            if needs[0]:
                grad_logits = ((pos_weight - 1) * target + 1) * sigmoid_array(logits)
                grad_logits -= pos_weight * target
                grad_logits *= g
            if needs[1]:
                softplus = xp.log1p(xp.exp(-xp.abs(logits))) + xp.maximum(-logits, 0)
                grad_target = ((pos_weight - 1) * softplus - logits) * g
        return (grad_logits, grad_target) + (None,) * (len(needs) - 2)


# -- multi-class classification --------------------------------------------------------------

class SparseSoftmaxCrossEntropy(Function):
    """Softmax cross-entropy with integer labels, fused (the classifier's training loss).

    Per sample: ``loss = logsumexp(x) - x[y]``; with label smoothing ``s`` over
    ``C`` classes, ``loss = logsumexp(x) - (1 - s) x[y] - (s / C) sum_c x_c``.
    The forward computes the log-softmax once and keeps the softmax; the
    backward is ``softmax - (1 - s) onehot(y) - s / C`` (divided by the number
    of samples for "mean"), written without building a one-hot.

    With a class ``weight`` w (an optional constant third input) and ``ignore_index``
    (valid v = 0 where the label is ignore_index, else 1), PyTorch's loss:
    ``v ((1 - s) w_y (-log p_y) + (s / C) sum_c w_c (-log p_c))``, whose gradient is
    ``v (((1 - s) w_y + (s / C) sum_c w_c) p - (1 - s) w_y onehot(y) - (s / C) w)``;
    "mean" divides by ``sum_n v_n w_{y_n}``.
    """

    integer_inputs = (1,)  # the class labels

    def forward(ctx, logits, labels, *weight, axis, smoothing, reduction, ignore_index):
        xp = xp_of(logits)
        classes = logits.shape[axis]
        weight = weight[0] if weight else None
        sample = valid = None
        if weight is not None or ignore_index is not None:
            labels, sample, valid = _sample_weights(labels, weight, ignore_index, logits.dtype)
        shifted = logits - logits.max(axis=axis, keepdims=True)
        picked = xp.moveaxis(shifted, axis, -1)[_class_index(labels, axis, xp)]
        if smoothing:
            total = (shifted if weight is None else shifted * _along(weight, axis, logits.ndim)
                     ).sum(axis=axis)
        probs = xp.exp(shifted, out=shifted)  # reuse the buffer: shifted is no longer needed
        sums = probs.sum(axis=axis, keepdims=True)
        values = xp.log(sums.reshape(labels.shape))
        probs /= sums
        ctx.save_for_backward(probs, labels, sample, valid, weight)
        ctx.axis, ctx.smoothing, ctx.reduction = axis, smoothing, reduction
        if sample is None:
            if smoothing:
                values -= (1 - smoothing) * picked + (smoothing / classes) * total
            else:
                values -= picked
            return _reduce(values, reduction)
        weighted = (values - picked) * ((1 - smoothing) * sample)
        if smoothing:
            weights_total = classes if weight is None else float(weight.sum())
            smooth = values * logits.dtype.type(weights_total) - total
            if valid is not None:
                smooth = smooth * valid
            weighted = weighted + (smoothing / classes) * smooth
        return _weighted_reduce(ctx, weighted.astype(logits.dtype, copy=False), sample,
                                reduction)

    def backward(ctx, grad):
        probs, labels, sample, valid, weight = ctx.saved
        xp = xp_of(probs)
        smoothing, axis = ctx.smoothing, ctx.axis
        classes = probs.shape[axis]
        index = _class_index(labels, axis, xp)
        rows = None
        if sample is None:
            g = _output_grad(grad, ctx.reduction, labels.size)
            g_full = _expand_class_axis(g, axis)
            grad_logits = probs * g_full
            if smoothing:
                grad_logits -= (smoothing / classes) * g_full
            rows = xp.moveaxis(grad_logits, axis, -1)  # a view: writes land in grad_logits
            rows[index] -= (1 - smoothing) * g if smoothing else g
            return (grad_logits, None) + (None,) * (weight is not None)
        g = _weighted_output_grad(ctx, grad)
        picked = (1 - smoothing) * sample * g  # per sample: the one-hot's coefficient
        spread = picked
        if smoothing:
            counted = g if valid is None else g * valid
            weights_total = classes if weight is None else float(weight.sum())
            spread = picked + (smoothing / classes * weights_total) * counted
        grad_logits = probs * _expand_class_axis(xp.asarray(spread, probs.dtype), axis)
        if smoothing:
            uniform = (smoothing / classes) * _expand_class_axis(xp.asarray(counted, probs.dtype),
                                                                 axis)
            grad_logits -= uniform if weight is None else uniform * _along(weight, axis,
                                                                           probs.ndim)
        rows = xp.moveaxis(grad_logits, axis, -1)
        rows[index] -= picked
        return (grad_logits, None) + (None,) * (weight is not None)


class DenseSoftmaxCrossEntropy(Function):
    """Softmax cross-entropy with a target distribution (one-hot or probabilities).

    Per sample: ``loss = -sum_c w_c q_c log_softmax(x)_c`` with ``q = (1 - s) t + s / C``
    and the class weight ``w`` (1 when not given; an optional constant third input).
    d/dx = ``softmax(x) sum_c w_c q_c - w q``; d/dt = ``-(1 - s) w log_softmax(x)``.
    "mean" averages over the samples, whatever the weights (PyTorch's rule for
    probability targets).
    """

    def forward(ctx, logits, target, *weight, axis, smoothing, reduction):
        xp = xp_of(logits)
        log_probs = logits - logits.max(axis=axis, keepdims=True)
        log_probs -= xp.log(xp.exp(log_probs).sum(axis=axis, keepdims=True))
        q = _weighted_target(target, weight, smoothing, axis, logits.shape[axis])
        values = -(q * log_probs).sum(axis=axis)
        ctx.save_for_backward(log_probs, target, *weight)
        ctx.axis, ctx.smoothing, ctx.reduction = axis, smoothing, reduction
        return _reduce(values, reduction)

    def backward(ctx, grad):
        log_probs, target, *weight = ctx.saved
        xp = xp_of(log_probs)
        axis = ctx.axis
        g = _expand_class_axis(_output_grad(grad, ctx.reduction, log_probs.size //
                                            max(log_probs.shape[axis], 1)), axis)
        needs_logits, needs_target = ctx.needs_input_grad[:2]
        grad_logits = grad_target = None
        if needs_logits:
            q = _weighted_target(target, weight, ctx.smoothing, axis, log_probs.shape[axis])
            grad_logits = xp.exp(log_probs)
            grad_logits *= q.sum(axis=axis, keepdims=True)
            grad_logits -= q
            grad_logits *= g
        if needs_target:
            grad_target = log_probs * (-(1 - ctx.smoothing) * g)
            if weight:
                grad_target *= _along(weight[0], axis, log_probs.ndim)
        return (grad_logits, grad_target) + (None,) * len(weight)


def _weighted_target(target, weight, smoothing, axis, classes):
    """The smoothed target distribution, times the class weight when there is one."""
    q = _smoothed(target, smoothing, classes)
    return q * _along(weight[0], axis, target.ndim) if weight else q


class SparseNLL(Function):
    """Negative log-likelihood of integer labels: ``-log_probs[y]`` per sample;
    with label smoothing ``-(1 - s) log_probs[y] - (s / C) sum_c log_probs_c``.

    A class ``weight`` w and ``ignore_index`` as ``SparseSoftmaxCrossEntropy``:
    ``-v ((1 - s) w_y log_probs[y] + (s / C) sum_c w_c log_probs_c)``, "mean" dividing
    by ``sum_n v_n w_{y_n}`` (PyTorch's ``nll_loss``).
    """

    integer_inputs = (1,)  # the class labels

    def forward(ctx, log_probs, labels, *weight, axis, smoothing, reduction, ignore_index):
        xp = xp_of(log_probs)
        weight = weight[0] if weight else None
        sample = valid = None
        if weight is not None or ignore_index is not None:
            labels, sample, valid = _sample_weights(labels, weight, ignore_index,
                                                    log_probs.dtype)
        values = -xp.moveaxis(log_probs, axis, -1)[_class_index(labels, axis, xp)]
        classes = log_probs.shape[axis]
        ctx.save_for_backward(labels, sample, valid, weight)
        ctx.shape, ctx.dtype = log_probs.shape, log_probs.dtype
        ctx.axis, ctx.smoothing, ctx.reduction = axis, smoothing, reduction
        if sample is None:
            if smoothing:
                values *= 1 - smoothing
                values -= (smoothing / classes) * log_probs.sum(axis=axis)
            return _reduce(values, reduction)
        values = values * ((1 - smoothing) * sample)
        if smoothing:
            weighted = log_probs if weight is None else log_probs * _along(weight, axis,
                                                                           log_probs.ndim)
            smooth = weighted.sum(axis=axis)
            if valid is not None:
                smooth = smooth * valid
            values = values - (smoothing / classes) * smooth
        return _weighted_reduce(ctx, values.astype(log_probs.dtype, copy=False), sample,
                                reduction)

    def backward(ctx, grad):
        labels, sample, valid, weight = ctx.saved
        xp = xp_of(grad)
        smoothing, axis = ctx.smoothing, ctx.axis
        classes = ctx.shape[axis]
        grad_log_probs = xp.zeros(ctx.shape, ctx.dtype)
        rows = xp.moveaxis(grad_log_probs, axis, -1)
        index = _class_index(labels, axis, xp)
        extra = (None,) * (weight is not None)
        if sample is None:
            g = _output_grad(grad, ctx.reduction, labels.size)
            if smoothing:
                grad_log_probs -= (smoothing / classes) * _expand_class_axis(g, axis)
            rows[index] -= (1 - smoothing) * g if smoothing else g
            return (grad_log_probs, None) + extra
        g = _weighted_output_grad(ctx, grad)
        if smoothing:
            counted = g if valid is None else g * valid
            uniform = (smoothing / classes) * _expand_class_axis(
                xp.asarray(counted, ctx.dtype), axis)
            grad_log_probs -= uniform if weight is None else uniform * _along(
                weight, axis, len(ctx.shape))
        rows[index] -= (1 - smoothing) * sample * g
        return (grad_log_probs, None) + extra


class DenseNLL(Function):
    """Cross-entropy of log-probabilities with a target distribution:
    ``-sum_c w_c q_c log_probs_c`` per sample, ``q = (1 - s) t + s / C``, ``w`` the
    optional class weight (1 when not given)."""

    def forward(ctx, log_probs, target, *weight, axis, smoothing, reduction):
        q = _weighted_target(target, weight, smoothing, axis, log_probs.shape[axis])
        values = -(q * log_probs).sum(axis=axis)
        ctx.save_for_backward(log_probs, target, *weight)
        ctx.axis, ctx.smoothing, ctx.reduction = axis, smoothing, reduction
        return _reduce(values, reduction)

    def backward(ctx, grad):
        log_probs, target, *weight = ctx.saved
        axis = ctx.axis
        g = _expand_class_axis(_output_grad(grad, ctx.reduction, log_probs.size //
                                            max(log_probs.shape[axis], 1)), axis)
        needs_log_probs, needs_target = ctx.needs_input_grad[:2]
        grad_log_probs = grad_target = None
        if needs_log_probs:
            grad_log_probs = _weighted_target(target, weight, ctx.smoothing, axis,
                                              log_probs.shape[axis]) * -g
        if needs_target:
            grad_target = log_probs * (-(1 - ctx.smoothing) * g)
            if weight:
                grad_target *= _along(weight[0], axis, log_probs.ndim)
        return (grad_log_probs, grad_target) + (None,) * len(weight)


class KLDivergence(Function):
    """PyTorch's ``kl_div``: per element ``t (log t - x)`` for log-probabilities ``x`` and
    probabilities ``t`` (0 where t = 0), or ``e^t (t - x)`` for log-probability targets
    (``log_target``).

    d/dx = ``-t`` (``-e^t``); d/dt = ``log t + 1 - x`` (0 where t = 0) or
    ``e^t (t - x + 1)``.
    """

    def forward(ctx, input, target, log_target, reduction):
        xp = xp_of(input)
        if log_target:
            values = xp.exp(target) * (target - input)
        else:
            values = target * (xp.log(xp.where(target == 0, 1, target)) - input)
        ctx.save_for_backward(input, target)
        ctx.log_target, ctx.reduction = log_target, reduction
        return _reduce_kl(values.astype(input.dtype, copy=False), reduction)

    def backward(ctx, grad):
        input, target = ctx.saved
        xp = xp_of(input)
        reduction = ctx.reduction
        if reduction == "batchmean":
            g = grad / grad.dtype.type(_batch_size(input))
        else:
            g = _output_grad(grad, reduction, input.size)
        needs_input, needs_target = ctx.needs_input_grad
        grad_input = grad_target = None
        weight = xp.exp(target) if ctx.log_target else target
        if needs_input:
            grad_input = -weight * g
        if needs_target:
            if ctx.log_target:
                grad_target = weight * (target - input + 1) * g
            else:
                positive = target > 0
                log_t = xp.log(xp.where(positive, target, 1))
                grad_target = xp.where(positive, log_t + 1 - input, 0).astype(
                    input.dtype, copy=False) * g
        return grad_input, grad_target


def _batch_size(input):
    return input.shape[0] if input.ndim else 1


def _reduce_kl(values, reduction):
    if reduction == "batchmean":
        return values.sum() / values.dtype.type(max(_batch_size(values), 1))
    return _reduce(values, reduction)


# -- public functions ------------------------------------------------------------------------

def sse(pred, target, reduction="sum"):
    """One half of the sum of squared errors: ``E = 1/2 sum (d - z)^2``, the error that
    backpropagation was first written for (d the desired output, z the network's).

    The 1/2 makes the gradient simply ``z - d``. ``reduction="mean"`` averages
    the halved squares instead; ``"none"`` returns ``0.5 (pred - target)^2``.

    Args:
        pred: float predictions.
        target: the desired outputs, same shape (an integer target is cast).
        reduction: "sum" (default), "mean" or "none".

    Shape: pred (*), target (*) -> () or (*) for "none".

        >>> import somanet as sn
        >>> sn.sse(sn.tensor([1.0, 2.0]), sn.tensor([0.0, 0.0]))
        tensor(2.5)
    """
    pred, target = _regression_operands(pred, target, reduction, "sse")
    return SquaredError.apply(pred, target, scale=0.5, reduction=reduction)


def mse(pred, target, reduction="mean"):
    """Mean squared error: ``mean((pred - target)^2)``.

    Shape: pred (*), target (*) -> () or (*) for "none".

        >>> import somanet as sn
        >>> sn.mse(sn.tensor([1.0, 3.0]), sn.tensor([0.0, 0.0]))
        tensor(5.)
    """
    pred, target = _regression_operands(pred, target, reduction, "mse")
    return SquaredError.apply(pred, target, scale=1.0, reduction=reduction)


def mae(pred, target, reduction="mean"):
    """Mean absolute error (L1 loss): ``mean(|pred - target|)``; the gradient at 0 is 0.

    Shape: pred (*), target (*) -> () or (*) for "none".
    """
    pred, target = _regression_operands(pred, target, reduction, "mae")
    return AbsoluteError.apply(pred, target, reduction=reduction)


def huber(pred, target, delta=1.0, reduction="mean"):
    """Huber loss: quadratic near the target, linear beyond ``delta`` (robust to outliers).

    Per element, with ``d = pred - target``: ``0.5 d^2`` if ``|d| <= delta``,
    else ``delta (|d| - 0.5 delta)`` (PyTorch's ``huber_loss``).

    Shape: pred (*), target (*) -> () or (*) for "none".
    """
    delta = check_real("huber", "delta", delta, minimum=0.0, min_open=True, finite=False,
                       what="a positive number")
    pred, target = _regression_operands(pred, target, reduction, "huber")
    return Huber.apply(pred, target, delta=delta, scale=1.0, reduction=reduction)


def smooth_l1(pred, target, beta=1.0, reduction="mean"):
    """Smooth L1 loss, as PyTorch's ``smooth_l1_loss``: per element, with
    ``d = pred - target``, ``0.5 d^2 / beta`` if ``|d| < beta``, else ``|d| - 0.5 beta``.

    It is ``huber(pred, target, delta=beta) / beta``; ``beta=0`` is the L1 loss
    (``mae``), as in PyTorch.

    Args:
        beta: where the loss turns from quadratic to linear, >= 0 (default 1).
        reduction: "mean", "sum" or "none".

    Shape: pred (*), target (*) -> () or (*) for "none".

        >>> import somanet as sn
        >>> sn.smooth_l1(sn.tensor([0.5, 3.0]), sn.tensor([0.0, 0.0]), reduction="none")
        tensor([0.125, 2.5  ])
    """
    beta = check_real("smooth_l1", "beta", beta, minimum=0.0, finite=False,
                      what="a number >= 0 (0 is the L1 loss)")
    pred, target = _regression_operands(pred, target, reduction, "smooth_l1")
    if beta == 0:
        return AbsoluteError.apply(pred, target, reduction=reduction)
    return Huber.apply(pred, target, delta=beta, scale=1 / beta, reduction=reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """Kullback-Leibler divergence, as PyTorch's ``kl_div``: ``input`` holds
    log-probabilities ``log q``, ``target`` probabilities ``p`` (or ``log p`` with
    ``log_target=True``); per element ``p (log p - log q)``, 0 where ``p = 0``.

    Args:
        input: float log-probabilities (e.g. from ``log_softmax``).
        target: probabilities (or log-probabilities), the input's shape.
        reduction: "mean" (over every element: PyTorch's default, which is not the
            divergence of the distributions), "batchmean" (the sum divided by the batch
            size ``input.shape[0]``: the mathematical KL divergence averaged over samples),
            "sum" or "none".
        log_target: whether ``target`` holds log-probabilities.

    Shape: input (N, *), target (N, *) -> () or (N, *) for "none".

        >>> import somanet as sn
        >>> p = sn.tensor([[0.5, 0.5]])
        >>> round(sn.kl_div(sn.log(sn.tensor([[0.25, 0.75]])), p, reduction="batchmean").item(), 4)
        0.1438
    """
    _check_reduction(reduction, "kl_div", KL_REDUCTIONS)
    log_target = check_flag("kl_div", "log_target", log_target)
    input, target = _regression_operands(input, target, "mean", "kl_div")
    return KLDivergence.apply(input, target, log_target=log_target, reduction=reduction)


def binary_cross_entropy(probs, target, reduction="mean", eps=PROBABILITY_EPS, weight=None):
    """Binary cross-entropy of probabilities: ``-(t log p + (1 - t) log(1 - p))``.

    ``p`` is clipped to ``[eps, 1 - eps]`` first, so ``log(0)`` never happens
    and the gradient stays finite. Prefer ``binary_cross_entropy_with_logits``
    on the pre-sigmoid outputs: it is exact for any logit.

    Args:
        probs: predicted probabilities in [0, 1].
        target: targets in [0, 1] (labels 0/1 or soft), same shape.
        reduction: "mean", "sum" or "none".
        eps: the clipping margin.
        weight: optional per-element weights (PyTorch's), broadcasting to the input's
            shape: each element's loss is multiplied by its weight; "mean" stays the mean
            over elements. A constant (no gradient).

    Shape: probs (*), target (*) -> () or (*) for "none".
    """
    name = "binary_cross_entropy"
    probs, target = _regression_operands(probs, target, reduction, name)
    eps = check_real(name, "eps", eps, minimum=0.0, maximum=0.5,
                     min_open=True, max_open=True, what="in (0, 0.5)")
    weights = [] if weight is None else [_broadcast_weight(weight, probs, "weight", name)]
    return BinaryCrossEntropy.apply(probs, target, *weights, eps=eps, reduction=reduction)


def binary_cross_entropy_with_logits(logits, target, reduction="mean", weight=None,
                                     pos_weight=None):
    """Binary cross-entropy of ``sigmoid(logits)``, fused and stable for any logit:
    ``max(x, 0) - x t + log(1 + e^-|x|)``.

    Args:
        logits: float logits.
        target: targets in [0, 1], same shape.
        reduction: "mean", "sum" or "none".
        weight: optional per-element weights broadcasting to the input's shape, as
            ``binary_cross_entropy``'s.
        pos_weight: optional weight of the positive term, PyTorch's: the loss becomes
            ``-(c t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``; typically one per
            class, shape (C,) against inputs (N, C) (``c > 1`` raises recall). It must
            broadcast to the input's shape.

    Shape: logits (*), target (*) -> () or (*) for "none".

        >>> import somanet as sn
        >>> round(sn.binary_cross_entropy_with_logits(sn.tensor([0.0]), sn.tensor([1.0])).item(), 4)
        0.6931
    """
    name = "binary_cross_entropy_with_logits"
    logits, target = _regression_operands(logits, target, reduction, name)
    if weight is None and pos_weight is None:
        return BinaryCrossEntropyWithLogits.apply(logits, target, has_weight=False,
                                                  has_pos_weight=False, reduction=reduction)
    constants = []
    if weight is not None:
        constants.append(_broadcast_weight(weight, logits, "weight", name))
    if pos_weight is not None:
        constants.append(_broadcast_weight(pos_weight, logits, "pos_weight", name))
    return BinaryCrossEntropyWithLogits.apply(logits, target, *constants,
                                              has_weight=weight is not None,
                                              has_pos_weight=pos_weight is not None,
                                              reduction=reduction)


def cross_entropy(input, target, from_logits=True, label_smoothing=0.0, axis=-1,
                  reduction="mean", weight=None, ignore_index=-100):
    """Categorical cross-entropy, for integer labels (sparse) or target distributions.

    Per sample: ``-sum_c q_c log p_c``, where ``p = softmax(input)`` along ``axis``
    (``from_logits=True``, computed as one stable log-softmax) or ``p = input``
    (probabilities, clipped below at ``1e-7`` before the log), and ``q`` is the
    one-hot of the label or the given distribution, smoothed as
    ``q = (1 - label_smoothing) q + label_smoothing / C`` (Keras and PyTorch).

    With a class ``weight`` and integer labels the loss is PyTorch's: per sample
    ``(1 - s) w_y (-log p_y) + (s / C) sum_c w_c (-log p_c)``, and "mean" divides the
    sum by ``sum_n w_{y_n}`` over the samples not ignored (a weighted mean). With a
    target distribution, ``-sum_c w_c q_c log p_c`` and "mean" averages over samples.

    Args:
        input: float logits (or probabilities), classes along ``axis``.
        target: integer class labels in ``[0, C)`` with the input's shape minus
            the class axis, or float probabilities / one-hot with the input's shape.
        from_logits: whether ``input`` holds logits (default) or probabilities.
        label_smoothing: in [0, 1].
        axis: the class axis (default last, as Keras; PyTorch's (N, C, d...)
            layout is ``axis=1``).
        reduction: "mean" (over samples), "sum" or "none" (one loss per sample).
        weight: optional (C,) class weights (a constant, no gradient).
        ignore_index: a label value that contributes nothing, to the loss or to the
            "mean"'s divisor (default -100, PyTorch's); any int. Integer labels only.
            Every other label must lie in ``[0, C)``. When every label is ignored, "mean"
            is nan (0/0), as in PyTorch.

    Shape: input (N, C), target (N,) or (N, C) -> () or (N,) for "none";
    generally the input's shape without ``axis``.

        >>> import somanet as sn
        >>> logits = sn.zeros((2, 10))  # uniform over 10 classes: loss = log 10
        >>> round(sn.cross_entropy(logits, sn.tensor([3, 7])).item(), 4)
        2.3026
        >>> round(sn.cross_entropy(logits, sn.tensor([3, -100])).item(), 4)  # one ignored
        2.3026
    """
    name = "cross_entropy"
    input, target, axis, sparse, weights, ignore_index = _classification_operands(
        input, target, axis, reduction, label_smoothing, weight, ignore_index, name)
    smoothing = float(label_smoothing)
    options = dict(axis=axis, smoothing=smoothing, reduction=reduction)
    if sparse:
        options["ignore_index"] = ignore_index
    if from_logits:
        kind = SparseSoftmaxCrossEntropy if sparse else DenseSoftmaxCrossEntropy
        return kind.apply(input, target, *weights, **options)
    log_probs = log(clip(input, PROBABILITY_EPS, None))
    kind = SparseNLL if sparse else DenseNLL
    return kind.apply(log_probs, target, *weights, **options)


def nll(log_probs, target, reduction="mean", axis=-1, weight=None, ignore_index=-100):
    """Negative log-likelihood: ``-log_probs[y]`` per sample for integer labels ``y``
    (``-sum_c t_c log_probs_c`` for a float target distribution).

    Pair it with ``log_softmax``; ``cross_entropy`` does both in one stable step.
    ``weight`` and ``ignore_index`` are PyTorch's, as in ``cross_entropy``: per sample
    ``-w_y log_probs[y]``, "mean" dividing by the sum of the counted samples' weights.

    Args:
        log_probs: float log-probabilities, classes along ``axis`` (default last;
            PyTorch's ``nll_loss`` layout (N, C, d...) is ``axis=1``).
        target: integer labels (the input's shape minus ``axis``) or a float
            distribution of the input's shape.
        reduction: "mean" (over samples), "sum" or "none".
        weight: optional (C,) class weights (a constant, no gradient).
        ignore_index: a label that counts for nothing (default -100); integer labels only.

    Shape: log_probs (N, C), target (N,) -> () or (N,) for "none".
    """
    log_probs, target, axis, sparse, weights, ignore_index = _classification_operands(
        log_probs, target, axis, reduction, 0.0, weight, ignore_index, "nll")
    if sparse:
        return SparseNLL.apply(log_probs, target, *weights, axis=axis, smoothing=0.0,
                               reduction=reduction, ignore_index=ignore_index)
    return DenseNLL.apply(log_probs, target, *weights, axis=axis, smoothing=0.0,
                          reduction=reduction)


# -- validation -------------------------------------------------------------------------------

def _check_reduction(reduction, name, allowed=REDUCTIONS):
    if not isinstance(reduction, str) or reduction not in allowed:
        listed = ", ".join(repr(choice) for choice in allowed[:-1])
        raise ValueError(f"{name}: reduction must be {listed} or {allowed[-1]!r}, got "
                         f"{reduction!r}")


def _check_input(input, name, what):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor of {what}, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: expected float {what}, got dtype {input.dtype} (shape "
                        f"{input.shape}); cast with .astype('float32')")


def _as_target(target, like, name):
    """``target`` as a Tensor on ``like``'s device; float data in ``like``'s dtype."""
    if isinstance(target, Tensor):
        if target.dtype.kind == "f" and target.dtype != like.dtype:
            raise TypeError(f"{name}: the target has dtype {target.dtype} but the input has "
                            f"{like.dtype}; cast one with .astype()")
        return target
    array = as_array(target, device=like.device)
    if array.dtype.kind == "f" and array.dtype != like.dtype:
        array = as_array(target, dtype=like.dtype, device=like.device)
    wrapped = Tensor.__new__(Tensor)
    wrapped.data = array
    return wrapped


def _regression_operands(pred, target, reduction, name):
    """Checked (pred, target) of one shape and one float dtype."""
    _check_reduction(reduction, name)
    _check_input(pred, name, "predictions")
    target = _as_target(target, pred, name)
    if target.shape != pred.shape:
        raise ValueError(f"{name}: target of shape {target.shape} does not match the input of "
                         f"shape {pred.shape}; expected the same shape (reshape one of them, "
                         f"e.g. target.reshape({pred.shape}))")
    if target.dtype.kind != "f":
        target = cast_integer(target, pred.dtype)
    return pred, target


def _broadcast_weight(weight, like, label, name):
    """``weight`` as a constant Tensor in ``like``'s dtype and device that broadcasts to
    ``like``'s shape (without growing it)."""
    weight = _constant(weight, like, label, name)
    shape = like.shape
    if len(weight.shape) > len(shape) or any(
            size not in (1, full) for size, full in zip(weight.shape[::-1], shape[::-1])):
        raise ValueError(f"{name}: {label} of shape {weight.shape} does not broadcast to the "
                         f"input's shape {shape}; expected a shape such as "
                         f"{shape[-1:] or '()'} (one per class of the last axis) or {shape}")
    return weight


def _constant(value, like, label, name):
    """A weight as a float Tensor of ``like``'s dtype on its device (no gradient)."""
    if isinstance(value, Tensor):
        if value.dtype.kind != "f":
            raise TypeError(f"{name}: {label} must be a float tensor, got dtype {value.dtype}")
        if value.dtype != like.dtype:
            raise TypeError(f"{name}: {label} has dtype {value.dtype} but the input has "
                            f"{like.dtype}; cast one with .astype()")
        if value.device is not like.device:
            raise ValueError(f"{name}: {label} is on {value.device} but the input is on "
                             f"{like.device}; move it with .to()")
        array = value.data
    else:
        array = as_array(value, device=like.device)
        if array.dtype.kind not in "iuf":
            raise TypeError(f"{name}: {label} must hold numbers, got dtype {array.dtype}")
        array = array.astype(like.dtype, copy=False)
    wrapped = Tensor.__new__(Tensor)
    wrapped.data = array
    return wrapped


def _classification_operands(input, target, axis, reduction, smoothing, weight, ignore_index,
                             name):
    """Checked (input, target, axis, sparse, [weight], ignore_index) for cross_entropy and
    nll; ``ignore_index`` is ``None`` when no label equals it (the fast path)."""
    _check_reduction(reduction, name)
    _check_input(input, name, "logits or probabilities" if name == "cross_entropy" else
                 "log-probabilities")
    if input.ndim == 0:
        raise ValueError(f"{name}: the input must have a class axis, got a 0-d tensor")
    if not is_int(axis) or not -input.ndim <= axis < input.ndim:
        raise ValueError(f"{name}: axis {axis!r} is out of range for an input of shape "
                         f"{input.shape}")
    axis = int(axis) % input.ndim
    check_fraction(name, "label_smoothing", smoothing, inclusive=True, what="in [0, 1]")
    if type(ignore_index) is not int:  # the default needs no check
        ignore_index = check_int(name, "ignore_index", ignore_index,
                                 what="an int (a label value to ignore; PyTorch's default -100)")
    target = _as_target(target, input, name)
    classes = input.shape[axis]
    weights = []
    if weight is not None:
        weight = _constant(weight, input, "weight", name)
        if weight.shape != (classes,):
            raise ValueError(f"{name}: weight of shape {weight.shape} does not match the "
                             f"{classes} classes of the input (shape {input.shape}, classes "
                             f"along axis {axis}); expected one weight per class, shape "
                             f"({classes},)")
        weights.append(weight)
    if target.dtype.kind in "iu":
        expected = input.shape[:axis] + input.shape[axis + 1:]
        if target.shape != expected:
            hint = "; a one-hot target must be float (.astype('float32'))" if \
                target.shape == input.shape else ""
            raise ValueError(f"{name}: integer target (class labels) of shape {target.shape} "
                             f"does not match the input of shape {input.shape}: expected labels "
                             f"of shape {expected}, the input's shape without its class axis "
                             f"{axis}{hint}")
        found = _check_labels(target.data, classes, ignore_index, name)
        return input, target, axis, True, weights, ignore_index if found else None
    if target.shape != input.shape:
        raise ValueError(f"{name}: float target (probabilities or one-hot) of shape "
                         f"{target.shape} does not match the input of shape {input.shape}: "
                         f"expected the same shape {input.shape}; for class labels pass an "
                         f"integer tensor (.astype('int64')) of shape "
                         f"{input.shape[:axis] + input.shape[axis + 1:]}")
    if ignore_index != DEFAULT_IGNORE_INDEX:
        raise ValueError(f"{name}: ignore_index={ignore_index} applies to integer class labels "
                         f"only, but the target is a float distribution of shape "
                         f"{target.shape}; leave ignore_index out, or give each sample to "
                         f"ignore a zero target row")
    if target.dtype.kind == "b":
        target = cast_integer(target, input.dtype)
    return input, target, axis, False, weights, None


def _check_labels(labels, classes, ignore_index, name):
    """Every label in [0, classes) or equal to ``ignore_index``: one reduction (and one
    device sync) when all is well. Returns whether some label is ``ignore_index``."""
    if not labels.size:
        return False
    ignorable = 0 <= ignore_index < classes  # a real class that is ignored (padding tokens)
    if ignorable:
        found = bool((labels == ignore_index).any())
    outside = (labels < 0) | (labels >= classes)
    if not bool(outside.any()):
        return found if ignorable else False
    if not ignorable:
        ignored = labels == ignore_index
        outside &= ~ignored
        if not bool(outside.any()):
            return True
    wrong = labels[outside]
    low, high = int(wrong.min()), int(wrong.max())
    also = f" or equal ignore_index ({ignore_index})"
    if low < 0:
        raise ValueError(f"{name}: negative class label {low} in the target; labels must be "
                         f"in [0, {classes - 1}] for {classes} classes{also}")
    raise ValueError(f"{name}: class label {high} is out of range: the input has {classes} "
                     f"classes, so labels must be in [0, {classes - 1}]{also} (the largest "
                     f"label is {high})")
