"""Registry entries for batch norm, layer norm, embedding and dropout (the layers'
ops): forward against NumPy, gradients against finite differences.

Dropout is random: its registry entries either drop nothing (p = 0) or reseed
before every call, so the op is a fixed function the gradient check can probe;
the mask's statistics are tested in test_dropout.py.
"""
import numpy as np

import somanet as sn
from somanet.backend import generator
from somanet.ops.dropout import Dropout
from somanet.ops.embedding import Embedding
from somanet.ops.normalization import BatchNorm, LayerNorm

from .registry import OpCase, const, x

EPS = 1e-5
RUNNING_MEAN = np.array([0.5, -1.0, 0.25])
RUNNING_VAR = np.array([2.0, 0.5, 1.5])


def batch_norm_reference(a, weight=None, bias=None, running_mean=None, running_var=None,
                         training=True, eps=EPS):
    """Normalise every channel (axis 1) over all the other axes, then scale and shift."""
    a = a.astype(np.float64)
    axes = (0,) + tuple(range(2, a.ndim))
    channels = (1, a.shape[1]) + (1,) * (a.ndim - 2)
    if training:
        mean, var = a.mean(axis=axes, keepdims=True), a.var(axis=axes, keepdims=True)
    else:
        mean, var = running_mean.reshape(channels), running_var.reshape(channels)
    out = (a - mean) / np.sqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(channels)
    if bias is not None:
        out = out + bias.reshape(channels)
    return out


def layer_norm_reference(a, normalized_shape, weight=None, bias=None, eps=EPS):
    """Normalise over the trailing ``normalized_shape`` axes."""
    a = a.astype(np.float64)
    count = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    axes = tuple(range(a.ndim - count, a.ndim))
    out = (a - a.mean(axis=axes, keepdims=True)) / np.sqrt(a.var(axis=axes, keepdims=True) + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _batch_norm_with_running(a, training):
    """batch_norm with fresh running tensors (of ``a``'s dtype) made inside each call,
    so repeated calls (the gradient check) see the same statistics."""
    running_mean = sn.tensor(RUNNING_MEAN, dtype=a.dtype, device=a.device)
    running_var = sn.tensor(RUNNING_VAR, dtype=a.dtype, device=a.device)
    return sn.batch_norm(a, running_mean=running_mean, running_var=running_var,
                         training=training)


SEED = 1234


def _seeded_dropout(a, p):
    """Dropout after reseeding: the same mask on every call."""
    sn.manual_seed(SEED)
    return sn.dropout(a, p)


def _seeded_dropout_reference(a, p):
    # The documented draw: u ~ U[0, 1) in float32 from the CPU generator, keep where u >= p.
    sn.manual_seed(SEED)
    keep = generator(sn.cpu()).random(a.shape, dtype=np.float32) >= p
    return a * keep / (1 - p)


CASES = [
    # -- batch norm ----------------------------------------------------------------------------
    OpCase("batch_norm_train", sn.batch_norm, batch_norm_reference,
           [[x((5, 3))], [x((4, 3, 2, 3))], [x((6, 3)), x((3,)), x((3,))],
            [x((2, 3, 3, 2)), x((3,)), x((3,))], [x((3, 2, 4)), x((2,))]],
           covers=[BatchNorm], atol=1e-4, rtol=1e-3),
    OpCase("batch_norm_weight_only_bias_only",
           lambda a, w: sn.batch_norm(a, None, w) + sn.batch_norm(a, w, None),
           lambda a, w: batch_norm_reference(a, None, w) + batch_norm_reference(a, w, None),
           [[x((4, 3)), x((3,))], [x((2, 3, 5)), x((3,))]], covers=[BatchNorm], atol=1e-4,
           rtol=1e-3),
    OpCase("batch_norm_train_updating_running",
           lambda a: _batch_norm_with_running(a, True), batch_norm_reference,
           [[x((5, 3))], [x((2, 3, 4, 2))]], covers=[BatchNorm], atol=1e-4, rtol=1e-3),
    OpCase("batch_norm_eval",
           lambda a: _batch_norm_with_running(a, False),
           lambda a: batch_norm_reference(a, running_mean=RUNNING_MEAN,
                                          running_var=RUNNING_VAR, training=False),
           [[x((5, 3))], [x((2, 3, 4))]], covers=[BatchNorm]),
    OpCase("batch_norm_eval_affine",
           lambda a, w, b: sn.batch_norm(
               a, w, b, sn.tensor(RUNNING_MEAN, dtype=a.dtype, device=a.device),
               sn.tensor(RUNNING_VAR, dtype=a.dtype, device=a.device), training=False),
           lambda a, w, b: batch_norm_reference(a, w, b, RUNNING_MEAN, RUNNING_VAR, False),
           [[x((4, 3)), x((3,)), x((3,))], [x((2, 3, 2, 2)), x((3,)), x((3,))]],
           covers=[BatchNorm]),
    # -- layer norm ----------------------------------------------------------------------------
    OpCase("layer_norm", sn.layer_norm, layer_norm_reference,
           [[x((4, 5)), 5], [x((2, 3, 4)), (3, 4)], [x((3, 6)), (6,), x((6,)), x((6,))],
            [x((2, 2, 3)), 3, x((3,)), x((3,))], [x((2, 4)), 4, x((4,))],
            [x((2, 4)), 4, None, x((4,))], [x((0, 4)), 4, x((4,)), x((4,))]],
           covers=[LayerNorm], atol=1e-4, rtol=1e-3),
    # -- embedding -----------------------------------------------------------------------------
    OpCase("embedding", sn.embedding, lambda indices, weight: weight[indices],
           [[const(np.array([0, 2, 2, 1])), x((3, 4))],
            [const(np.array([[0, 2], [2, 2], [1, 0]])), x((4, 3))],  # repeats add up
            [const(np.array(3)), x((5, 2))],
            [const(np.array([1, 1], dtype=np.int32)), x((2, 3))],
            [const(np.zeros((0, 2), dtype=np.int64)), x((3, 2))]],
           covers=[Embedding]),
    OpCase("embedding_padding_idx", sn.embedding,
           lambda indices, weight, padding_idx: weight[indices],
           [[const(np.array([[0, 2], [2, 1]])), x((3, 4)), 2],
            [const(np.array([3, 0, 3])), x((4, 2)), -1]], covers=[Embedding], grad=False),
    # The padding row's gradient is 0 by decree (not the derivative): finite differences
    # can check the op only where padding_idx is not looked up; test_embedding.py checks
    # the padding row's zero gradient against PyTorch.
    OpCase("embedding_padding_idx_not_looked_up", sn.embedding,
           lambda indices, weight, padding_idx: weight[indices],
           [[const(np.array([[0, 2], [2, 3]])), x((4, 3)), 1]], covers=[Embedding]),
    # -- dropout -------------------------------------------------------------------------------
    OpCase("dropout_p0", lambda a: sn.dropout(a, 0.0), lambda a: a, [[x((3, 4))]]),
    OpCase("dropout_eval", lambda a: sn.dropout(a, 0.5, training=False), lambda a: a,
           [[x((3, 4))]]),
    OpCase("dropout_function_p0", lambda a: Dropout.apply(a, p=0.0), lambda a: a,
           [[x((3, 4))], [x(())]], covers=[Dropout]),
    OpCase("dropout_seeded", _seeded_dropout, _seeded_dropout_reference,
           [[x((4, 5)), 0.5], [x((3, 2, 2)), 0.2]], covers=[Dropout]),
]
