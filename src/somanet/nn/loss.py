"""Loss layers: each a Module wrapping the loss function of the same family in
``somanet.ops`` (``ops/loss.py``), called as ``loss(input, target)`` (PyTorch's order:
the prediction first).

    >>> import somanet as sn
    >>> from somanet import nn
    >>> loss_fn = nn.CrossEntropyLoss()              # from logits, integer labels
    >>> round(loss_fn(sn.zeros(2, 10), sn.tensor([3, 7])).item(), 4)   # log 10
    2.3026

``reduction`` is ``"mean"``, ``"sum"`` or ``"none"`` (one loss per element, or
per sample for the cross-entropies).

Each class declares what its targets are in ``label_kind``: ``None`` for the
regression losses, ``"binary"`` (BCE), ``"sparse"`` (NLL: class indices) or
``"sparse_or_categorical"`` (cross-entropy: class indices or distributions); and
``from_logits`` where the input may be probabilities. ``Model.compile`` reads them
(what ``"accuracy"`` means, whether to check label ranges and probabilities).
"""
from .. import ops
from .._checks import check_fraction, check_real
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    default_reduction = "mean"
    label_kind = None

    def __init__(self, reduction=None):
        super().__init__()
        reduction = self.default_reduction if reduction is None else reduction
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

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


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (after a sigmoid):
    ``-(t log p + (1 - t) log(1 - p))``, p clipped away from 0 and 1."""

    label_kind = "binary"
    from_logits = False

    def forward(self, input, target):
        return ops.binary_cross_entropy(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)``, fused and stable for any logit
    (prefer it to ``Sigmoid`` + ``BCELoss``)."""

    label_kind = "binary"
    from_logits = True

    def forward(self, input, target):
        return ops.binary_cross_entropy_with_logits(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Categorical cross-entropy for integer labels or target distributions.

    Args:
        from_logits: the input holds logits (default; a stable log-softmax is
            taken) or probabilities (``False``, e.g. after a ``Softmax`` layer).
        label_smoothing: in [0, 1]: mixes the target with the uniform distribution.
        axis: the class axis (default last; PyTorch's (N, C, d...) layout is ``axis=1``).
        reduction: "mean" over samples, "sum", or "none" (one loss per sample).

    Shape:
        input (N, C), target (N,) int or (N, C) float -> () or (N,).
    """

    label_kind = "sparse_or_categorical"

    def __init__(self, from_logits=True, label_smoothing=0.0, axis=-1, reduction=None):
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = check_fraction(self, "label_smoothing", label_smoothing,
                                              inclusive=True, what="in [0, 1]")
        self.axis = int(axis)

    def forward(self, input, target):
        return ops.cross_entropy(input, target, from_logits=self.from_logits,
                                 label_smoothing=self.label_smoothing, axis=self.axis,
                                 reduction=self.reduction)

    def extra_repr(self):
        text = f"from_logits={self.from_logits}, reduction={self.reduction!r}"
        if self.label_smoothing:
            text += f", label_smoothing={self.label_smoothing}"
        return text + (f", axis={self.axis}" if self.axis != -1 else "")


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (after ``LogSoftmax``):
    ``-log_probs[label]`` per sample.

    Args:
        axis: the class axis (default last).
    """

    label_kind = "sparse"

    def __init__(self, axis=-1, reduction=None):
        super().__init__(reduction)
        self.axis = int(axis)

    def forward(self, input, target):
        return ops.nll(input, target, reduction=self.reduction, axis=self.axis)


L1Loss = MAELoss
