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
                            reduction="mean", weight=None, ignore_index=-100):
    axis = axis % a.ndim
    if from_logits:
        log_probs = log_softmax_reference(a, axis)
    else:
        log_probs = np.log(np.clip(a.astype(np.float64), 1e-7, None))
    return _weighted_nll(log_probs, target, label_smoothing, axis, reduction, weight,
                         ignore_index)


def _weighted_nll(log_probs, target, smoothing, axis, reduction, weight, ignore_index):
    """PyTorch's rules, written out: labels weigh w[label] (0 when ignored) and "mean"
    divides by the sum of those weights; distributions weigh w per class and "mean"
    averages over samples."""
    classes = log_probs.shape[axis]
    w = np.ones(classes) if weight is None else np.asarray(weight, np.float64)
    along = w.reshape((1,) * axis + (-1,) + (1,) * (log_probs.ndim - axis - 1))
    if target.dtype.kind in "iu":
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        picked = -(target_distribution(safe, classes, axis, 0.0) * log_probs).sum(axis=axis)
        sample = w[safe] * valid
        smooth = -(along * log_probs).sum(axis=axis) * valid
        values = (1 - smoothing) * sample * picked + smoothing / classes * smooth
        if reduction == "mean":
            with np.errstate(invalid="ignore"):  # every label ignored: 0/0, nan as PyTorch
                return values.sum() / sample.sum()
        return reduce(values, reduction)
    q = target_distribution(target, classes, axis, smoothing)
    return reduce(-(along * q * log_probs).sum(axis=axis), reduction)


def nll_reference(log_probs, target, reduction="mean", axis=-1, weight=None, ignore_index=-100):
    axis = axis % log_probs.ndim
    return _weighted_nll(log_probs.astype(np.float64), target, 0.0, axis, reduction, weight,
                         ignore_index)


def smooth_l1_reference(pred, target, beta=1.0, reduction="mean"):
    d = np.abs(pred.astype(np.float64) - target)
    if beta == 0:
        return reduce(d, reduction)
    return reduce(np.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta), reduction)


def kl_div_reference(log_q, target, reduction="mean", log_target=False):
    log_q = log_q.astype(np.float64)
    if log_target:
        values = np.exp(target) * (target - log_q)
    else:
        values = np.where(target > 0, target * (np.log(np.where(target > 0, target, 1)) - log_q),
                          0.0)
    if reduction == "batchmean":
        return values.sum() / log_q.shape[0]
    return reduce(values, reduction)


def bce_weighted_reference(probs, target, reduction="mean", weight=None):
    values = bce_reference(probs, target, "none")
    return reduce(values if weight is None else values * weight, reduction)


def bce_logits_weighted_reference(logits, target, reduction="mean", weight=None,
                                  pos_weight=None):
    logits = logits.astype(np.float64)
    c = 1.0 if pos_weight is None else pos_weight
    log_sigmoid = -np.logaddexp(0, -logits)
    log_one_minus = -np.logaddexp(0, logits)
    values = -(c * target * log_sigmoid + (1 - target) * log_one_minus)
    return reduce(values if weight is None else values * weight, reduction)


def _by_reduction(inputs):
    """One sample per reduction: ``inputs`` (a list of x(...)) then the reduction."""
    return [list(inputs) + [reduction] for reduction in REDUCTIONS]


PAIR = [x((4, 3)), x((4, 3))]


def _keyword(fn):
    """``fn(input, target, options)`` as ``fn(input, target, **options)``."""
    return lambda a, target, options: fn(a, target, **options)


CE = _keyword(sn.cross_entropy)
CE_REFERENCE = _keyword(cross_entropy_reference)
NLL = _keyword(sn.nll)
NLL_REFERENCE = _keyword(nll_reference)
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])  # 4 classes
IGNORED = np.array([0, -100, 1, 3, -100])  # PyTorch's default ignore_index twice
ZERO_TARGETS = np.array([[[0.0, 1], [0.5, 0.5], [1, 0]], [[0.2, 0.8], [0, 1], [0.3, 0.7]]])
IGNORED_2D = np.array([[2, -100, 1], [3, 3, -100]])

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
    # -- class weights, ignore_index (PyTorch's weighted mean) -------------------------------
    OpCase("cross_entropy_weight", CE, CE_REFERENCE,
           [[x((5, 4)), const(LABELS), dict(weight=CLASS_WEIGHT, reduction=r)]
            for r in REDUCTIONS]
           + [[x((5, 4)), const(LABELS), dict(weight=CLASS_WEIGHT, label_smoothing=0.2,
                                              reduction=r)] for r in REDUCTIONS]
           + [[x((2, 4, 3)), const(LABELS_2D), dict(axis=1, weight=CLASS_WEIGHT)]],
           covers=[L.SparseSoftmaxCrossEntropy]),
    OpCase("cross_entropy_ignore_index", CE, CE_REFERENCE,
           [[x((5, 4)), const(IGNORED), dict(reduction=r)] for r in REDUCTIONS]
           + [[x((5, 4)), const(IGNORED), dict(label_smoothing=0.1, reduction=r)]
              for r in REDUCTIONS]
           + [[x((5, 4)), const(LABELS), dict(ignore_index=1)],  # a real class ignored
              [x((5, 4)), const(LABELS - 1), dict(ignore_index=-1, weight=CLASS_WEIGHT,
                                                  label_smoothing=0.3)],
              [x((2, 4, 3)), const(IGNORED_2D), dict(axis=1, weight=CLASS_WEIGHT,
                                                     reduction="sum")],
              [x((5, 4)), const(np.full(5, -100)), dict(reduction="sum")]],
           covers=[L.SparseSoftmaxCrossEntropy]),
    OpCase("cross_entropy_all_ignored_mean_is_nan", CE, CE_REFERENCE,
           [[x((3, 4)), const(np.full(3, -100)), dict()]],
           covers=[L.SparseSoftmaxCrossEntropy], grad=False),
    OpCase("cross_entropy_dense_weight", CE, CE_REFERENCE,
           [[x((5, 4)), x((5, 4), **UNIT), dict(weight=CLASS_WEIGHT, reduction=r)]
            for r in REDUCTIONS]
           + [[x((5, 4)), x((5, 4), **UNIT), dict(weight=CLASS_WEIGHT, label_smoothing=0.1)],
              [x((2, 4, 3)), x((2, 4, 3), **UNIT), dict(axis=1, weight=CLASS_WEIGHT)]],
           covers=[L.DenseSoftmaxCrossEntropy]),
    OpCase("cross_entropy_probs_weight_ignore_index", CE, CE_REFERENCE,
           [[x((5, 4), **PROBS), const(IGNORED), dict(from_logits=False, weight=CLASS_WEIGHT,
                                                      reduction=r)] for r in REDUCTIONS]
           + [[x((5, 4), **PROBS), const(IGNORED),
               dict(from_logits=False, weight=CLASS_WEIGHT, label_smoothing=0.2)],
              [x((5, 4), **PROBS), const(IGNORED), dict(from_logits=False, label_smoothing=0.2)],
              [x((5, 4), **PROBS), x((5, 4), **UNIT), dict(from_logits=False,
                                                           weight=CLASS_WEIGHT)]],
           covers=[L.SparseNLL, L.DenseNLL]),
    OpCase("nll_weight_ignore_index", NLL, NLL_REFERENCE,
           [[x((5, 4), low=-3, high=0), const(IGNORED), dict(weight=CLASS_WEIGHT, reduction=r)]
            for r in REDUCTIONS]
           + [[x((5, 4), low=-3, high=0), const(LABELS), dict(weight=CLASS_WEIGHT)],
              [x((5, 4), low=-3, high=0), const(IGNORED), dict(reduction="mean")],
              [x((2, 4, 3), low=-3, high=0), const(IGNORED_2D), dict(axis=1,
                                                                     weight=CLASS_WEIGHT)],
              [x((5, 4), low=-3, high=0), x((5, 4), **UNIT), dict(weight=CLASS_WEIGHT)]],
           covers=[L.SparseNLL, L.DenseNLL]),
    # -- BCE weight, pos_weight ----------------------------------------------------------------
    OpCase("binary_cross_entropy_weight",
           lambda p, t, r, w: sn.binary_cross_entropy(p, t, reduction=r, weight=w),
           bce_weighted_reference,
           [[x((4, 3), **PROBS), x((4, 3), **UNIT), r, np.array([[0.5], [1.0], [2.0], [0.0]])]
            for r in REDUCTIONS]
           + [[x((4, 3), **PROBS), x((4, 3), **UNIT), "mean", np.array([1.0, 2.0, 3.0])]],
           covers=[L.BinaryCrossEntropy]),
    OpCase("binary_cross_entropy_with_logits_pos_weight",
           lambda p, t, r, w, c: sn.binary_cross_entropy_with_logits(p, t, reduction=r,
                                                                     weight=w, pos_weight=c),
           bce_logits_weighted_reference,
           [[x((4, 3)), x((4, 3), **UNIT), r, None, np.array([1.0, 3.0, 0.5])]
            for r in REDUCTIONS]
           + [[x((4, 3)), x((4, 3), **UNIT), "mean", np.array([[2.0], [1.0], [0.5], [1.0]]),
               np.array([2.0, 1.0, 4.0])],
              [x((4, 3)), x((4, 3), **UNIT), "sum", np.array([2.0, 1.0, 0.5]), None],
              [x((6,), low=-40, high=40), x((6,), **UNIT), "sum", None, np.array(3.0)]],
           covers=[L.BinaryCrossEntropyWithLogits]),
    # -- smooth L1, KL divergence --------------------------------------------------------------
    OpCase("smooth_l1", lambda p, t, beta, r: sn.smooth_l1(p, t, beta=beta, reduction=r),
           smooth_l1_reference,
           [[x((4, 3), low=-3, high=3, avoid=(-1.0, 1.0)), const(np.zeros((4, 3), np.int64)), 1.0, r]
            for r in REDUCTIONS]
           + [[x((5, 2), low=-2, high=2, avoid=(-0.5, 0.5)), const(np.zeros((5, 2), np.int64)), 0.5,
               "mean"],
              [x((5, 2), avoid=(0.0,)), const(np.zeros((5, 2), np.int64)), 0.0, "sum"],  # beta 0: L1
              [x((3, 2)), x((3, 2)), 10.0, "mean"]],
           covers=[L.Huber, L.AbsoluteError]),
    OpCase("kl_div", lambda q, t, r, log_target: sn.kl_div(q, t, reduction=r,
                                                          log_target=log_target),
           kl_div_reference,
           [[x((4, 3), low=-3, high=0), x((4, 3), low=0.05, high=1.0), r, False]
            for r in ("mean", "batchmean", "sum", "none")]
           + [[x((4, 3), low=-3, high=0), x((4, 3), low=-3, high=0), r, True]
              for r in ("mean", "batchmean", "sum", "none")]
           + [[x((2, 3, 2), low=-3, high=0), x((2, 3, 2), low=0.05, high=1.0), "batchmean",
               False]],
           covers=[L.KLDivergence]),
    # Targets with zeros: 0 log 0 counts as 0 (the target is built in the input's dtype).
    OpCase("kl_div_zero_targets",
           lambda q: sn.kl_div(q, sn.tensor(ZERO_TARGETS, dtype=q.dtype, device=q.device),
                               reduction="batchmean"),
           lambda q: kl_div_reference(q, ZERO_TARGETS, "batchmean"),
           [[x((2, 3, 2), low=-3, high=0)]], covers=[L.KLDivergence]),
]
