"""Registry entries for the losses: every loss with every reduction, sparse and
dense cross-entropy, label smoothing, probabilities instead of logits.

Targets that are floats are ``x(...)`` inputs, so the gradient with respect to
the target is checked too; integer labels are ``const`` inputs.
"""
import numpy as np

import somanet as sn
from somanet.ops import loss as L

from .registry import OpCase, const, x

REDUCTIONS = ("mean", "sum", "none")
UNIT = dict(low=0.0, high=1.0)  # targets in [0, 1]
PROBS = dict(low=0.05, high=0.95)  # probabilities away from the clipping margins
LABELS = np.array([0, 3, 1, 1, 2])  # 5 samples, 4 classes (class 1 twice)
LABELS_2D = np.array([[2, 0, 1], [3, 3, 0]])  # (N=2, d=3) for logits (2, 4, 3) on axis 1


def reduce(values, reduction):
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def sse_reference(pred, target, reduction="sum"):
    return reduce(0.5 * (pred - target) ** 2, reduction)


def mse_reference(pred, target, reduction="mean"):
    return reduce((pred - target) ** 2, reduction)


def mae_reference(pred, target, reduction="mean"):
    return reduce(np.abs(pred - target), reduction)


def huber_reference(pred, target, delta=1.0, reduction="mean"):
    d = np.abs(pred - target)
    return reduce(np.where(d <= delta, 0.5 * d ** 2, delta * (d - 0.5 * delta)), reduction)


def bce_reference(probs, target, reduction="mean"):
    p = np.clip(probs.astype(np.float64), 1e-7, 1 - 1e-7)
    return reduce(-(target * np.log(p) + (1 - target) * np.log(1 - p)), reduction)


def bce_logits_reference(logits, target, reduction="mean"):
    logits = logits.astype(np.float64)
    log_sigmoid = -np.logaddexp(0, -logits)
    log_one_minus = -np.logaddexp(0, logits)
    return reduce(-(target * log_sigmoid + (1 - target) * log_one_minus), reduction)


def log_softmax_reference(a, axis):
    a = a.astype(np.float64)
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def target_distribution(target, classes, axis, smoothing):
    """One-hot of integer labels (class axis ``axis``), or the float target; smoothed."""
    if target.dtype.kind in "iu":
        target = np.moveaxis(np.eye(classes)[target], -1, axis)
    return (1 - smoothing) * target + smoothing / classes


def cross_entropy_reference(a, target, from_logits=True, label_smoothing=0.0, axis=-1,
                            reduction="mean"):
    axis = axis % a.ndim
    if from_logits:
        log_probs = log_softmax_reference(a, axis)
    else:
        log_probs = np.log(np.clip(a.astype(np.float64), 1e-7, None))
    q = target_distribution(target, a.shape[axis], axis, label_smoothing)
    return reduce(-(q * log_probs).sum(axis=axis), reduction)


def nll_reference(log_probs, target, reduction="mean", axis=-1):
    axis = axis % log_probs.ndim
    q = target_distribution(target, log_probs.shape[axis], axis, 0.0)
    return reduce(-(q * log_probs).sum(axis=axis), reduction)


def _by_reduction(inputs):
    """One sample per reduction: ``inputs`` (a list of x(...)) then the reduction."""
    return [list(inputs) + [reduction] for reduction in REDUCTIONS]


PAIR = [x((4, 3)), x((4, 3))]


def _keyword(fn):
    """``fn(input, target, options)`` as ``fn(input, target, **options)``."""
    return lambda a, target, options: fn(a, target, **options)


CE = _keyword(sn.cross_entropy)
CE_REFERENCE = _keyword(cross_entropy_reference)

CASES = [
    # -- regression ----------------------------------------------------------------------------
    OpCase("sse", lambda p, t, r: sn.sse(p, t, reduction=r), sse_reference,
           _by_reduction(PAIR) + [[x(()), x(()), "sum"], [x((0, 3)), x((0, 3)), "sum"]],
           covers=[L.SquaredError]),
    OpCase("sse_default_sum", sn.sse, sse_reference, [[x((5,)), x((5,))]],
           covers=[L.SquaredError]),
    OpCase("mse", lambda p, t, r: sn.mse(p, t, reduction=r), mse_reference,
           _by_reduction(PAIR) + [[x((2, 3, 2)), x((2, 3, 2)), "mean"]],
           covers=[L.SquaredError]),
    OpCase("mae", lambda p, t, r: sn.mae(p, t, reduction=r), mae_reference,
           _by_reduction(PAIR), covers=[L.AbsoluteError]),
    OpCase("huber", lambda p, t, r: sn.huber(p, t, reduction=r),
           lambda p, t, r: huber_reference(p, t, 1.0, r), _by_reduction(PAIR),
           covers=[L.Huber]),
    OpCase("huber_delta", lambda p, t: sn.huber(p, t, delta=0.5),
           lambda p, t: huber_reference(p, t, 0.5), [[x((6, 2)), x((6, 2))]],
           covers=[L.Huber]),
    # -- binary classification -----------------------------------------------------------------
    OpCase("binary_cross_entropy", lambda p, t, r: sn.binary_cross_entropy(p, t, reduction=r),
           bce_reference, _by_reduction([x((4, 3), **PROBS), x((4, 3), **UNIT)]),
           covers=[L.BinaryCrossEntropy]),
    OpCase("binary_cross_entropy_with_logits",
           lambda p, t, r: sn.binary_cross_entropy_with_logits(p, t, reduction=r),
           bce_logits_reference,
           _by_reduction([x((4, 3)), x((4, 3), **UNIT)])
           + [[x((6,), low=-40, high=40), x((6,), **UNIT), "sum"]],
           covers=[L.BinaryCrossEntropyWithLogits]),
    # -- cross-entropy from logits, integer labels (the fused classifier loss) ----------------
    OpCase("cross_entropy_sparse", CE, CE_REFERENCE,
           [[x((5, 4)), const(LABELS), dict(reduction=r)] for r in REDUCTIONS]
           + [[x((2, 4, 3)), const(LABELS_2D), dict(axis=1, reduction=r)] for r in REDUCTIONS]
           + [[x((4,)), const(np.array(2)), dict()],
              [x((5, 4), low=-30, high=30), const(LABELS), dict(reduction="sum")],
              [x((5, 4)), const(LABELS.astype(np.int32)), dict()]],
           covers=[L.SparseSoftmaxCrossEntropy]),
    OpCase("cross_entropy_sparse_smoothing", CE, CE_REFERENCE,
           [[x((5, 4)), const(LABELS), dict(label_smoothing=0.1, reduction=r)]
            for r in REDUCTIONS]
           + [[x((2, 4, 3)), const(LABELS_2D), dict(axis=1, label_smoothing=0.3)]],
           covers=[L.SparseSoftmaxCrossEntropy]),
    # -- cross-entropy from logits, a target distribution --------------------------------------
    OpCase("cross_entropy_dense", CE, CE_REFERENCE,
           [[x((5, 4)), x((5, 4), **UNIT), dict(reduction=r)] for r in REDUCTIONS]
           + [[x((2, 4, 3)), x((2, 4, 3), **UNIT), dict(axis=1, reduction="sum")],
              [x((5, 4)), const(np.eye(4, dtype=bool)[LABELS]), dict()]],
           covers=[L.DenseSoftmaxCrossEntropy]),
    OpCase("cross_entropy_dense_smoothing", CE, CE_REFERENCE,
           [[x((5, 4)), x((5, 4), **UNIT), dict(label_smoothing=0.2, reduction=r)]
            for r in REDUCTIONS], covers=[L.DenseSoftmaxCrossEntropy]),
    # -- cross-entropy of probabilities (from_logits=False) ------------------------------------
    OpCase("cross_entropy_probs_sparse", CE, CE_REFERENCE,
           [[x((5, 4), **PROBS), const(LABELS), dict(from_logits=False, reduction=r)]
            for r in REDUCTIONS]
           + [[x((5, 4), **PROBS), const(LABELS), dict(from_logits=False, label_smoothing=0.1)],
              [x((2, 4, 3), **PROBS), const(LABELS_2D), dict(from_logits=False, axis=1)]],
           covers=[L.SparseNLL]),
    OpCase("cross_entropy_probs_dense", CE, CE_REFERENCE,
           [[x((5, 4), **PROBS), x((5, 4), **UNIT), dict(from_logits=False, reduction=r)]
            for r in REDUCTIONS]
           + [[x((5, 4), **PROBS), x((5, 4), **UNIT),
               dict(from_logits=False, label_smoothing=0.1)]],
           covers=[L.DenseNLL]),
    # -- negative log-likelihood ---------------------------------------------------------------
    OpCase("nll", lambda a, t, r: sn.nll(a, t, reduction=r), nll_reference,
           [[x((5, 4), low=-3, high=0), const(LABELS), r] for r in REDUCTIONS]
           + [[x((5, 4), low=-3, high=0), x((5, 4), **UNIT), r] for r in REDUCTIONS],
           covers=[L.SparseNLL, L.DenseNLL]),
    OpCase("nll_axis", lambda a, t: sn.nll(a, t, axis=1),
           lambda a, t: nll_reference(a, t, axis=1),
           [[x((2, 4, 3), low=-3, high=0), const(LABELS_2D)]], covers=[L.SparseNLL]),
    OpCase("nll_of_log_softmax", lambda a, t: sn.nll(sn.log_softmax(a), t),
           lambda a, t: nll_reference(log_softmax_reference(a, -1), t),
           [[x((5, 4)), const(LABELS)]], covers=[L.SparseNLL]),
]
