"""TensorFlow's ``tf.nn`` names for somanet's ops (the same functions as ``somanet``'s:
on graph tensors they are recorded, on eager tensors they compute)."""
from .. import ops
from ..ops import elu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh

__all__ = ["dropout", "elu", "leaky_relu", "log_softmax", "relu", "sigmoid", "softmax",
           "softmax_cross_entropy_with_logits", "softplus",
           "sparse_softmax_cross_entropy_with_logits", "tanh"]


def dropout(x, rate=0.5):
    """Zero each element with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)`` (TensorFlow 2's ``rate``; TensorFlow 1's ``keep_prob`` is
    ``1 - rate``)."""
    return ops.dropout(x, p=rate, training=True)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1):
    """The cross-entropy of ``softmax(logits)`` against the distributions ``labels``
    (e.g. one-hot), one value per sample (reduce it with ``reduce_mean``)."""
    return ops.cross_entropy(logits, labels, from_logits=True, axis=axis, reduction="none")


def sparse_softmax_cross_entropy_with_logits(labels, logits):
    """The cross-entropy of ``softmax(logits)`` against integer class ``labels``, one value
    per sample."""
    return ops.cross_entropy(logits, labels, from_logits=True, reduction="none")
