"""Losses, each one fused Function: the per-element loss, its reduction and the
closed-form gradient in one node.

``reduction`` is ``"mean"`` (the average over elements, or over samples for
the cross-entropies), ``"sum"``, or ``"none"`` (the unreduced losses).

The classification losses are numerically stable: cross-entropy from logits
computes a log-softmax once (the maximum subtracted first) and never takes
``log(0)``; probabilities are clipped to ``[eps, 1 - eps]`` before a log.
"""
from .._checks import check_fraction, check_real, is_int
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import Tensor, as_array
from ._operands import cast_integer
from .activation import sigmoid_array
from .elementwise import clip, log

REDUCTIONS = ("mean", "sum", "none")
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
    """``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``, with
    ``d = pred - target``; d/dpred = ``clip(d, -delta, delta)``."""

    def forward(ctx, pred, target, delta, reduction):
        xp = xp_of(pred)
        diff = pred - target
        ctx.save_for_backward(diff)
        ctx.delta, ctx.reduction = delta, reduction
        size = xp.abs(diff)
        values = xp.where(size <= delta, 0.5 * diff * diff, delta * (size - 0.5 * delta))
        return _reduce(values.astype(pred.dtype, copy=False), reduction)

    def backward(ctx, grad):
        (diff,) = ctx.saved
        g = _output_grad(grad, ctx.reduction, diff.size)
        slope = xp_of(diff).clip(diff, -ctx.delta, ctx.delta).astype(diff.dtype, copy=False)
        return _pair(ctx, slope * g)


def _pair(ctx, grad_pred):
    """The gradients of (pred, target) when the loss depends on ``pred - target``."""
    needs_pred, needs_target = ctx.needs_input_grad
    return (grad_pred if needs_pred else None, -grad_pred if needs_target else None)


# -- binary classification -------------------------------------------------------------------

class BinaryCrossEntropy(Function):
    """``-(t log p + (1 - t) log(1 - p))`` with ``p`` clipped to ``[eps, 1 - eps]``.

    d/dp = ``(p - t) / (p (1 - p))`` at the clipped ``p`` (finite everywhere);
    d/dt = ``log(1 - p) - log p``.
    """

    def forward(ctx, probs, target, eps, reduction):
        xp = xp_of(probs)
        p = xp.clip(probs, eps, 1 - eps).astype(probs.dtype, copy=False)
        log_p, log_q = xp.log(p), xp.log1p(-p)
        values = log_p - log_q
        values *= target
        values += log_q
        ctx.save_for_backward(p, target)
        ctx.reduction = reduction
        return _reduce(-values, reduction)

    def backward(ctx, grad):
        p, target = ctx.saved
        xp = xp_of(p)
        g = _output_grad(grad, ctx.reduction, p.size)
        needs_probs, needs_target = ctx.needs_input_grad
        grad_probs = grad_target = None
        if needs_probs:
            grad_probs = (p - target) / (p * (1 - p)) * g
        if needs_target:
            grad_target = (xp.log1p(-p) - xp.log(p)) * g
        return grad_probs, grad_target


class BinaryCrossEntropyWithLogits(Function):
    """``max(x, 0) - x t + log(1 + e^-|x|)``, the stable form of
    ``-(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``.

    d/dx = ``sigmoid(x) - t``; d/dt = ``-x``.
    """

    def forward(ctx, logits, target, reduction):
        xp = xp_of(logits)
        values = xp.log1p(xp.exp(-xp.abs(logits)))
        values += xp.maximum(logits, 0)
        values -= logits * target
        ctx.save_for_backward(logits, target)
        ctx.reduction = reduction
        return _reduce(values, reduction)

    def backward(ctx, grad):
        logits, target = ctx.saved
        g = _output_grad(grad, ctx.reduction, logits.size)
        needs_logits, needs_target = ctx.needs_input_grad
        return ((sigmoid_array(logits) - target) * g if needs_logits else None,
                -logits * g if needs_target else None)


# -- multi-class classification --------------------------------------------------------------

class SparseSoftmaxCrossEntropy(Function):
    """Softmax cross-entropy with integer labels, fused (the classifier's training loss).

    Per sample: ``loss = logsumexp(x) - x[y]``; with label smoothing ``s`` over
    ``C`` classes, ``loss = logsumexp(x) - (1 - s) x[y] - (s / C) sum_c x_c``.
    The forward computes the log-softmax once and keeps the softmax; the
    backward is ``softmax - (1 - s) onehot(y) - s / C`` (divided by the number
    of samples for "mean"), written without building a one-hot.
    """

    def forward(ctx, logits, labels, axis, smoothing, reduction):
        xp = xp_of(logits)
        classes = logits.shape[axis]
        shifted = logits - logits.max(axis=axis, keepdims=True)
        picked = xp.moveaxis(shifted, axis, -1)[_class_index(labels, axis, xp)]
        if smoothing:
            total = shifted.sum(axis=axis)
        probs = xp.exp(shifted, out=shifted)  # reuse the buffer: shifted is no longer needed
        sums = probs.sum(axis=axis, keepdims=True)
        values = xp.log(sums.reshape(labels.shape))
        if smoothing:
            values -= (1 - smoothing) * picked + (smoothing / classes) * total
        else:
            values -= picked
        probs /= sums
        ctx.save_for_backward(probs, labels)
        ctx.axis, ctx.smoothing, ctx.reduction = axis, smoothing, reduction
        return _reduce(values, reduction)

    def backward(ctx, grad):
        probs, labels = ctx.saved
        xp = xp_of(probs)
        smoothing, axis = ctx.smoothing, ctx.axis
        g = _output_grad(grad, ctx.reduction, labels.size)
        g_full = _expand_class_axis(g, axis)
        grad_logits = probs * g_full
        if smoothing:
            grad_logits -= (smoothing / probs.shape[axis]) * g_full
        rows = xp.moveaxis(grad_logits, axis, -1)  # a view: writes land in grad_logits
        rows[_class_index(labels, axis, xp)] -= (1 - smoothing) * g if smoothing else g
        return grad_logits, None


class DenseSoftmaxCrossEntropy(Function):
    """Softmax cross-entropy with a target distribution (one-hot or probabilities).

    Per sample: ``loss = -sum_c q_c log_softmax(x)_c`` with ``q = (1 - s) t + s / C``.
    d/dx = ``softmax(x) sum_c q_c - q``; d/dt = ``-(1 - s) log_softmax(x)``.
    """

    def forward(ctx, logits, target, axis, smoothing, reduction):
        xp = xp_of(logits)
        log_probs = logits - logits.max(axis=axis, keepdims=True)
        log_probs -= xp.log(xp.exp(log_probs).sum(axis=axis, keepdims=True))
        q = _smoothed(target, smoothing, logits.shape[axis])
        values = -(q * log_probs).sum(axis=axis)
        ctx.save_for_backward(log_probs, target)
        ctx.axis, ctx.smoothing, ctx.reduction = axis, smoothing, reduction
        return _reduce(values, reduction)

    def backward(ctx, grad):
        log_probs, target = ctx.saved
        xp = xp_of(log_probs)
        axis = ctx.axis
        g = _expand_class_axis(_output_grad(grad, ctx.reduction, log_probs.size //
                                            max(log_probs.shape[axis], 1)), axis)
        needs_logits, needs_target = ctx.needs_input_grad
        grad_logits = grad_target = None
        if needs_logits:
            q = _smoothed(target, ctx.smoothing, log_probs.shape[axis])
            grad_logits = xp.exp(log_probs)
            grad_logits *= q.sum(axis=axis, keepdims=True)
            grad_logits -= q
            grad_logits *= g
        if needs_target:
            grad_target = log_probs * (-(1 - ctx.smoothing) * g)
        return grad_logits, grad_target


class SparseNLL(Function):
    """Negative log-likelihood of integer labels: ``-log_probs[y]`` per sample;
    with label smoothing ``-(1 - s) log_probs[y] - (s / C) sum_c log_probs_c``."""

    def forward(ctx, log_probs, labels, axis, smoothing, reduction):
        xp = xp_of(log_probs)
        values = -xp.moveaxis(log_probs, axis, -1)[_class_index(labels, axis, xp)]
        if smoothing:
            values *= 1 - smoothing
            values -= (smoothing / log_probs.shape[axis]) * log_probs.sum(axis=axis)
        ctx.save_for_backward(labels)
        ctx.shape, ctx.dtype = log_probs.shape, log_probs.dtype
        ctx.axis, ctx.smoothing, ctx.reduction = axis, smoothing, reduction
        return _reduce(values, reduction)

    def backward(ctx, grad):
        (labels,) = ctx.saved
        xp = xp_of(grad)
        smoothing, axis = ctx.smoothing, ctx.axis
        g = _output_grad(grad, ctx.reduction, labels.size)
        grad_log_probs = xp.zeros(ctx.shape, ctx.dtype)
        if smoothing:
            grad_log_probs -= (smoothing / ctx.shape[axis]) * _expand_class_axis(g, axis)
        rows = xp.moveaxis(grad_log_probs, axis, -1)
        rows[_class_index(labels, axis, xp)] -= (1 - smoothing) * g if smoothing else g
        return grad_log_probs, None


class DenseNLL(Function):
    """Cross-entropy of log-probabilities with a target distribution:
    ``-sum_c q_c log_probs_c`` per sample, ``q = (1 - s) t + s / C``."""

    def forward(ctx, log_probs, target, axis, smoothing, reduction):
        q = _smoothed(target, smoothing, log_probs.shape[axis])
        values = -(q * log_probs).sum(axis=axis)
        ctx.save_for_backward(log_probs, target)
        ctx.axis, ctx.smoothing, ctx.reduction = axis, smoothing, reduction
        return _reduce(values, reduction)

    def backward(ctx, grad):
        log_probs, target = ctx.saved
        axis = ctx.axis
        g = _expand_class_axis(_output_grad(grad, ctx.reduction, log_probs.size //
                                            max(log_probs.shape[axis], 1)), axis)
        needs_log_probs, needs_target = ctx.needs_input_grad
        grad_log_probs = grad_target = None
        if needs_log_probs:
            grad_log_probs = _smoothed(target, ctx.smoothing, log_probs.shape[axis]) * -g
        if needs_target:
            grad_target = log_probs * (-(1 - ctx.smoothing) * g)
        return grad_log_probs, grad_target


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
    return Huber.apply(pred, target, delta=delta, reduction=reduction)


def binary_cross_entropy(probs, target, reduction="mean", eps=PROBABILITY_EPS):
    """Binary cross-entropy of probabilities: ``-(t log p + (1 - t) log(1 - p))``.

    ``p`` is clipped to ``[eps, 1 - eps]`` first, so ``log(0)`` never happens
    and the gradient stays finite. Prefer ``binary_cross_entropy_with_logits``
    on the pre-sigmoid outputs: it is exact for any logit.

    Args:
        probs: predicted probabilities in [0, 1].
        target: targets in [0, 1] (labels 0/1 or soft), same shape.
        reduction: "mean", "sum" or "none".
        eps: the clipping margin.

    Shape: probs (*), target (*) -> () or (*) for "none".
    """
    probs, target = _regression_operands(probs, target, reduction, "binary_cross_entropy")
    eps = check_real("binary_cross_entropy", "eps", eps, minimum=0.0, maximum=0.5,
                     min_open=True, max_open=True, what="in (0, 0.5)")
    return BinaryCrossEntropy.apply(probs, target, eps=eps, reduction=reduction)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(logits)``, fused and stable for any logit:
    ``max(x, 0) - x t + log(1 + e^-|x|)``.

    Shape: logits (*), target (*) -> () or (*) for "none".

        >>> import somanet as sn
        >>> round(sn.binary_cross_entropy_with_logits(sn.tensor([0.0]), sn.tensor([1.0])).item(), 4)
        0.6931
    """
    logits, target = _regression_operands(logits, target, reduction,
                                          "binary_cross_entropy_with_logits")
    return BinaryCrossEntropyWithLogits.apply(logits, target, reduction=reduction)


def cross_entropy(input, target, from_logits=True, label_smoothing=0.0, axis=-1,
                  reduction="mean"):
    """Categorical cross-entropy, for integer labels (sparse) or target distributions.

    Per sample: ``-sum_c q_c log p_c``, where ``p = softmax(input)`` along ``axis``
    (``from_logits=True``, computed as one stable log-softmax) or ``p = input``
    (probabilities, clipped to ``[1e-7, 1]`` before the log), and ``q`` is the
    one-hot of the label or the given distribution, smoothed as
    ``q = (1 - label_smoothing) q + label_smoothing / C`` (Keras and PyTorch).

    Args:
        input: float logits (or probabilities), classes along ``axis``.
        target: integer class labels in ``[0, C)`` with the input's shape minus
            the class axis, or float probabilities / one-hot with the input's shape.
        from_logits: whether ``input`` holds logits (default) or probabilities.
        label_smoothing: in [0, 1].
        axis: the class axis (default last, as Keras; PyTorch's (N, C, d...)
            layout is ``axis=1``).
        reduction: "mean" (over samples), "sum" or "none" (one loss per sample).

    Shape: input (N, C), target (N,) or (N, C) -> () or (N,) for "none";
    generally the input's shape without ``axis``.

        >>> import somanet as sn
        >>> logits = sn.zeros((2, 10))  # uniform over 10 classes: loss = log 10
        >>> round(sn.cross_entropy(logits, sn.tensor([3, 7])).item(), 4)
        2.3026
    """
    name = "cross_entropy"
    input, target, axis, sparse = _classification_operands(input, target, axis, reduction,
                                                           label_smoothing, name)
    smoothing = float(label_smoothing)
    if from_logits:
        kind = SparseSoftmaxCrossEntropy if sparse else DenseSoftmaxCrossEntropy
        return kind.apply(input, target, axis=axis, smoothing=smoothing, reduction=reduction)
    log_probs = log(clip(input, PROBABILITY_EPS, None))
    kind = SparseNLL if sparse else DenseNLL
    return kind.apply(log_probs, target, axis=axis, smoothing=smoothing, reduction=reduction)


def nll(log_probs, target, reduction="mean", axis=-1):
    """Negative log-likelihood: ``-log_probs[y]`` per sample for integer labels ``y``
    (``-sum_c t_c log_probs_c`` for a float target distribution).

    Pair it with ``log_softmax``; ``cross_entropy`` does both in one stable step.

    Args:
        log_probs: float log-probabilities, classes along ``axis`` (default last;
            PyTorch's ``nll_loss`` layout (N, C, d...) is ``axis=1``).
        target: integer labels (the input's shape minus ``axis``) or a float
            distribution of the input's shape.
        reduction: "mean" (over samples), "sum" or "none".

    Shape: log_probs (N, C), target (N,) -> () or (N,) for "none".
    """
    log_probs, target, axis, sparse = _classification_operands(log_probs, target, axis,
                                                               reduction, 0.0, "nll")
    kind = SparseNLL if sparse else DenseNLL
    return kind.apply(log_probs, target, axis=axis, smoothing=0.0, reduction=reduction)


# -- validation -------------------------------------------------------------------------------

def _check_reduction(reduction, name):
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got "
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


def _classification_operands(input, target, axis, reduction, smoothing, name):
    """Checked (input, target, axis, sparse) for cross_entropy and nll."""
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
    target = _as_target(target, input, name)
    classes = input.shape[axis]
    if target.dtype.kind in "iu":
        expected = input.shape[:axis] + input.shape[axis + 1:]
        if target.shape != expected:
            hint = "; a one-hot target must be float (.astype('float32'))" if \
                target.shape == input.shape else ""
            raise ValueError(f"{name}: integer target (class labels) of shape {target.shape} "
                             f"does not match the input of shape {input.shape}: expected labels "
                             f"of shape {expected}, the input's shape without its class axis "
                             f"{axis}{hint}")
        _check_labels(target.data, classes, name)
        return input, target, axis, True
    if target.shape != input.shape:
        raise ValueError(f"{name}: float target (probabilities or one-hot) of shape "
                         f"{target.shape} does not match the input of shape {input.shape}: "
                         f"expected the same shape {input.shape}; for class labels pass an "
                         f"integer tensor (.astype('int64')) of shape "
                         f"{input.shape[:axis] + input.shape[axis + 1:]}")
    if target.dtype.kind == "b":
        target = cast_integer(target, input.dtype)
    return input, target, axis, False


def _check_labels(labels, classes, name):
    """Every label in [0, classes): one reduction (and one device sync) when all is well."""
    if not labels.size or not bool(((labels < 0) | (labels >= classes)).any()):
        return
    low, high = int(labels.min()), int(labels.max())
    if low < 0:
        raise ValueError(f"{name}: negative class label {low} in the target; labels must be "
                         f"in [0, {classes - 1}] for {classes} classes")
    raise ValueError(f"{name}: class label {high} is out of range: the input has {classes} "
                     f"classes, so labels must be in [0, {classes - 1}] (the largest label is "
                     f"{high})")
