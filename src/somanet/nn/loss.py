"""Loss layers: each a Module wrapping the loss function of the same family in
``somanet.ops`` (``ops/loss.py``), called as ``loss(input, target)`` (PyTorch's order:
the prediction first).

    >>> import somanet as sn
    >>> from somanet import nn
    >>> loss_fn = nn.CrossEntropyLoss()              # from logits, integer labels
    >>> round(loss_fn(sn.zeros(2, 10), sn.tensor([3, 7])).item(), 4)   # log 10
    2.3026

``reduction`` is ``"mean"``, ``"sum"`` or ``"none"`` (one loss per element, or
per sample for the cross-entropies); ``KLDivLoss`` adds ``"batchmean"``.

PyTorch's options have PyTorch's names and meaning: ``weight`` (class weights of the
cross-entropies, per-element weights of the BCEs), ``ignore_index``, ``pos_weight``,
``beta``, ``log_target``. A weight is kept as a buffer (it moves with ``to()``, as in
PyTorch) and is a constant of the loss (no gradient).

Each class declares what its targets are in ``label_kind``: ``None`` for the
regression losses, ``"binary"`` (BCE), ``"sparse"`` (NLL: class indices) or
``"sparse_or_categorical"`` (cross-entropy: class indices or distributions); and
``from_logits`` where the input may be probabilities. ``Model.compile`` reads them
(what ``"accuracy"`` means, whether to check label ranges and probabilities).
"""
from .. import ops
from .._checks import check_flag, check_fraction, check_int, check_real
from ..tensor import Tensor, as_array
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    default_reduction = "mean"
    label_kind = None
    reductions = _REDUCTIONS

    def __init__(self, reduction=None):
        super().__init__()
        reduction = self.default_reduction if reduction is None else reduction
        if not isinstance(reduction, str) or reduction not in self.reductions:
            listed = ", ".join(repr(choice) for choice in self.reductions[:-1])
            raise ValueError(f"{type(self).__name__}: reduction must be {listed} or "
                             f"{self.reductions[-1]!r}, got {reduction!r}")
        self.reduction = reduction

    def _register_weight(self, name, value):
        """Keep an optional weight as a buffer (a float Tensor, no gradient)."""
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(as_array(value))
        if value is not None and value.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}: {name} must hold floats, got dtype "
                            f"{value.dtype}")
        self.register_buffer(name, value)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class SSELoss(_Loss):
    """Half the sum of squared errors, ``E = 1/2 sum (d - z)^2`` (the 1/2 makes
    dE/dz = z - d). Reduction defaults to ``"sum"``."""

    default_reduction = "sum"

    def forward(self, input, target):
        return ops.sse(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error: ``mean((input - target)^2)``."""

    def forward(self, input, target):
        return ops.mse(input, target, reduction=self.reduction)


class MAELoss(_Loss):
    """Mean absolute error (L1): ``mean(|input - target|)``."""

    def forward(self, input, target):
        return ops.mae(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss: ``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``,
    with ``d = input - target`` (robust to outliers)."""

    def __init__(self, delta=1.0, reduction=None):
        super().__init__(reduction)
        self.delta = check_real(self, "delta", delta, minimum=0.0, min_open=True, finite=False,
                                what="> 0")

    def forward(self, input, target):
        return ops.huber(input, target, delta=self.delta, reduction=self.reduction)

    def extra_repr(self):
        return f"delta={self.delta}, reduction={self.reduction!r}"


class SmoothL1Loss(_Loss):
    """Smooth L1 (PyTorch's): ``0.5 d^2 / beta`` where ``|d| < beta``, else
    ``|d| - 0.5 beta``, with ``d = input - target``; ``beta=0`` is the L1 loss.

    Args:
        beta: where the loss turns linear, >= 0 (default 1).
    """

    def __init__(self, reduction=None, beta=1.0):
        super().__init__(reduction)
        self.beta = check_real(self, "beta", beta, minimum=0.0, finite=False,
                               what="a number >= 0 (0 is the L1 loss)")

    def forward(self, input, target):
        return ops.smooth_l1(input, target, beta=self.beta, reduction=self.reduction)

    def extra_repr(self):
        return f"beta={self.beta}, reduction={self.reduction!r}"


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence (PyTorch's): ``input`` holds log-probabilities
    ``log q``, ``target`` probabilities ``p`` (or log-probabilities with
    ``log_target=True``); per element ``p (log p - log q)``.

    Args:
        reduction: "mean" (PyTorch's default: over every element), "batchmean" (the sum
            over the batch size: the divergence of the distributions, averaged over
            samples), "sum" or "none".
        log_target: whether the target holds log-probabilities.
    """

    reductions = ops.loss.KL_REDUCTIONS

    def __init__(self, reduction=None, log_target=False):
        super().__init__(reduction)
        self.log_target = check_flag(self, "log_target", log_target)

    def forward(self, input, target):
        return ops.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, log_target={self.log_target}"


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (after a sigmoid):
    ``-w (t log p + (1 - t) log(1 - p))``, p clipped away from 0 and 1.

    Args:
        weight: optional per-element weights ``w`` that broadcast to the input's shape
            (PyTorch's); "mean" stays the mean over elements.
    """

    label_kind = "binary"
    from_logits = False

    def __init__(self, reduction=None, weight=None):
        super().__init__(reduction)
        self._register_weight("weight", weight)

    def forward(self, input, target):
        return ops.binary_cross_entropy(input, target, reduction=self.reduction,
                                        weight=self.weight)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)``, fused and stable for any logit
    (prefer it to ``Sigmoid`` + ``BCELoss``).

    Args:
        weight: optional per-element weights, as ``BCELoss``'s.
        pos_weight: optional weight of the positive term, one per class (shape (C,)
            against inputs (N, C)): ``-(c t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``
            (PyTorch's).
    """

    label_kind = "binary"
    from_logits = True

    def __init__(self, reduction=None, weight=None, pos_weight=None):
        super().__init__(reduction)
        self._register_weight("weight", weight)
        self._register_weight("pos_weight", pos_weight)

    def forward(self, input, target):
        return ops.binary_cross_entropy_with_logits(input, target, reduction=self.reduction,
                                                    weight=self.weight,
                                                    pos_weight=self.pos_weight)


class CrossEntropyLoss(_Loss):
    """Categorical cross-entropy for integer labels or target distributions.

    Args:
        from_logits: the input holds logits (default; a stable log-softmax is
            taken) or probabilities (``False``, e.g. after a ``Softmax`` layer).
        label_smoothing: in [0, 1]: mixes the target with the uniform distribution.
        axis: the class axis (default last; PyTorch's (N, C, d...) layout is ``axis=1``).
        reduction: "mean" over samples, "sum", or "none" (one loss per sample).
        weight: optional (C,) class weights (PyTorch's): with labels, "mean" is the
            weighted mean, divided by the summed weights of the samples that count.
        ignore_index: a label that counts for nothing (PyTorch's default -100).

    Keyword arguments only for the PyTorch options: PyTorch's first positional
    argument is ``weight``, somanet's ``from_logits``.

    Shape:
        input (N, C), target (N,) int or (N, C) float -> () or (N,).
    """

    label_kind = "sparse_or_categorical"

    def __init__(self, from_logits=True, label_smoothing=0.0, axis=-1, reduction=None, *,
                 weight=None, ignore_index=-100):
        super().__init__(reduction)
        self.from_logits = check_flag(self, "from_logits", from_logits)
        self.label_smoothing = check_fraction(self, "label_smoothing", label_smoothing,
                                              inclusive=True, what="in [0, 1]")
        self.axis = int(axis)
        self._register_weight("weight", weight)
        self.ignore_index = check_int(self, "ignore_index", ignore_index)

    def forward(self, input, target):
        return ops.cross_entropy(input, target, from_logits=self.from_logits,
                                 label_smoothing=self.label_smoothing, axis=self.axis,
                                 reduction=self.reduction, weight=self.weight,
                                 ignore_index=self.ignore_index)

    def extra_repr(self):
        text = f"from_logits={self.from_logits}, reduction={self.reduction!r}"
        if self.label_smoothing:
            text += f", label_smoothing={self.label_smoothing}"
        if self.ignore_index != -100:
            text += f", ignore_index={self.ignore_index}"
        return text + (f", axis={self.axis}" if self.axis != -1 else "")


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (after ``LogSoftmax``):
    ``-w_label log_probs[label]`` per sample.

    Args:
        axis: the class axis (default last).
        weight: optional (C,) class weights; ignore_index: a label that counts for
            nothing (default -100), both as ``CrossEntropyLoss``'s.
    """

    label_kind = "sparse"

    def __init__(self, axis=-1, reduction=None, *, weight=None, ignore_index=-100):
        super().__init__(reduction)
        self.axis = int(axis)
        self._register_weight("weight", weight)
        self.ignore_index = check_int(self, "ignore_index", ignore_index)

    def forward(self, input, target):
        return ops.nll(input, target, reduction=self.reduction, axis=self.axis,
                       weight=self.weight, ignore_index=self.ignore_index)


L1Loss = MAELoss
