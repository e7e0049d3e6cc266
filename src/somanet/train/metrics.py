"""Metrics: running values of a model's quality, accumulated batch by batch over an epoch.

A metric is a few accumulators (sums and counts) that ``update_state(y_true, y_pred)``
adds a batch to, and ``result()`` turns into one number (Keras's contract)::

    >>> import somanet as sn
    >>> from somanet.train import metrics
    >>> accuracy = metrics.SparseCategoricalAccuracy()
    >>> accuracy.update_state(sn.tensor([0, 2]), sn.tensor([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]]))
    >>> accuracy.update_state(sn.tensor([1]), sn.tensor([[0.1, 0.8, 0.1]]))
    >>> round(accuracy.result(), 4)   # 2 of 3 predictions are right
    0.6667
    >>> accuracy.get_state()          # [total, count]
    [2.0, 3.0]

Updates are vectorised on the batch's device; the accumulators are 0-d arrays there
(float64 sums and integer counts, so a long epoch does not drift), so an update does not
wait for the device. ``result()`` and ``get_state()`` give Python floats.

**Across processes.** Every metric's state is a short list of sums: ``get_state()``
returns it as floats, ``set_state(values)`` puts it back, and ``merge_state(other)`` adds
another metric's state (or such a list) to this one. The data-parallel layer all-reduces
(sums) ``get_state()`` over the processes and calls ``set_state`` with the total, after
which ``result()`` is the metric over the whole data set, not the mean of per-process
results.

**Names.** ``get("accuracy", loss=...)`` picks the accuracy the loss implies, as Keras
does (see ``get``). Inputs may be Tensors or arrays; labels and predictions must be on the
same device (a Python list is put on the predictions' device).
"""
import inspect
from numbers import Real

from .._checks import check_positive_int, check_real, lookup
from . import losses
from ..autograd import no_grad
from ..backend import cpu, device_of
from ..tensor import Tensor
from ..nn.serialization import track_class

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "SparseCategoricalAccuracy",
           "CategoricalAccuracy", "BinaryAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "Precision", "Recall", "MeanAbsoluteError",
           "MeanSquaredError", "AutoAccuracy", "get", "loss_kind"]


# -- inputs -------------------------------------------------------------------------------------

def _array(value, like=None):
    """The raw array of a Tensor / array; lists and numbers go to ``like``'s device."""
    if isinstance(value, Tensor):
        return value.data
    if device_of(value) is not None:
        return value
    device = device_of(like) if like is not None else None
    return (device or cpu()).xp.asarray(value)


def _operands(name, y_true, y_pred):
    """``(y_true, y_pred)`` as raw arrays on one device; an error names both devices."""
    y_pred = _array(y_pred)
    y_true = _array(y_true, like=y_pred)
    true_device, pred_device = device_of(y_true), device_of(y_pred)
    if true_device is not pred_device:
        raise ValueError(f"{name}: y_true is on {true_device} but y_pred on {pred_device}; "
                         f"move them to one device first (e.g. y_true.to(y_pred.device))")
    return y_true, y_pred


def _squeeze_pair(name, y_true, y_pred):
    """Make ``(N,)`` and ``(N, 1)`` comparable; any other difference of shape is an error."""
    if y_true.shape == y_pred.shape:
        return y_true, y_pred
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{name}: y_true has shape {tuple(y_true.shape)} and y_pred "
                         f"{tuple(y_pred.shape)}; expected the same shape (a trailing axis of "
                         f"size 1 may differ)")
    return y_true, y_pred


def _sparse_labels(name, y_true, y_pred):
    """Integer labels shaped like ``y_pred`` without its class axis."""
    if y_pred.ndim == 0:
        raise ValueError(f"{name}: y_pred must have a class axis, shape (N, C); got a scalar")
    expected = tuple(y_pred.shape[:-1])
    if tuple(y_true.shape) != expected:
        if tuple(y_true.shape) == expected + (1,):
            y_true = y_true[..., 0]
        else:
            hint = ""
            if tuple(y_true.shape) == tuple(y_pred.shape):
                hint = ("; y_true looks one-hot: use CategoricalAccuracy "
                        "('categorical_accuracy') instead")
            raise ValueError(f"{name}: expected integer labels of shape {expected} for y_pred "
                             f"of shape {tuple(y_pred.shape)} (classes on the last axis), got "
                             f"y_true of shape {tuple(y_true.shape)}{hint}")
    return y_true


def _batch_size(array):
    return array.shape[0] if array.ndim else 1


# -- the base class -----------------------------------------------------------------------------

class Metric:
    """Base class of the metrics: named accumulators, ``update_state``, ``result``.

    Subclasses set ``state_names`` (the accumulators, in ``get_state`` order), and define
    ``update_state`` (which calls ``self._add(name=increment, ...)``) and ``result``.

    Args:
        name: the key of this metric in the logs (default: the class's Keras name).

    Attributes:
        name: the metric's key in the logs (``"accuracy"``; ``"val_accuracy"`` for the
            validation value).
    """

    state_names = ()
    default_name = "metric"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        track_class(cls)  # its arguments are what model.save writes for compile(...)

    def __init__(self, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got "
                            f"{type(name).__name__} {name!r:.40}")
        self.name = name or self.default_name
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} has no update_state()")

    def result(self):
        """The metric over everything added since the last reset, a Python float."""
        raise NotImplementedError(f"{type(self).__name__} has no result()")

    def reset_state(self):
        """Forget every batch (called by ``fit`` at the start of each epoch)."""
        self._totals = dict.fromkeys(self.state_names, 0.0)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Add one batch and return the running result."""
        self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    # -- state as numbers (for all-reduce across processes and for checkpoints) --------------

    def get_state(self):
        """The accumulators as a list of Python floats, in ``state_names`` order."""
        return [float(self._totals[key]) for key in self.state_names]

    def set_state(self, values):
        """Replace the accumulators by ``values`` (a list like ``get_state()`` returns)."""
        self._totals = dict(zip(self.state_names, self._check_state(values, "set_state")))

    def merge_state(self, other):
        """Add other accumulators to this metric's: another metric of the same kind, a
        list of them, or a list of numbers like ``get_state()`` returns."""
        if isinstance(other, Metric):
            others = [other]
        elif isinstance(other, (list, tuple)) and other and all(
                isinstance(item, Metric) for item in other):
            others = list(other)
        else:
            others = [None]
        for item in others:
            if item is None:
                values = self._check_state(other, "merge_state")
            else:
                if item.state_names != self.state_names:
                    raise TypeError(f"{type(self).__name__}.merge_state: cannot merge a "
                                    f"{type(item).__name__} (state {list(item.state_names)}) "
                                    f"into a {type(self).__name__} (state "
                                    f"{list(self.state_names)})")
                values = item.get_state()
            for key, value in zip(self.state_names, values):
                self._totals[key] = float(self._totals[key]) + value

    def _check_state(self, values, method):
        owner = f"{type(self).__name__}.{method}"
        if not isinstance(values, (list, tuple)) or len(values) != len(self.state_names):
            raise ValueError(f"{owner}: expected a list of {len(self.state_names)} numbers "
                             f"{list(self.state_names)} (as get_state() returns), got "
                             f"{values!r:.80}")
        checked = []
        for key, value in zip(self.state_names, values):
            if hasattr(value, "item") and getattr(value, "size", 1) == 1:
                value = value.item()
            checked.append(check_real(owner, key, value, finite=False))
        return checked

    def _add(self, **increments):
        """Add 0-d arrays (or numbers) to the accumulators, on the batch's device."""
        for key, value in increments.items():
            total = self._totals[key]
            here, there = device_of(total), device_of(value)
            if here is not None and there is not None and here is not there:
                total = float(total)  # a metric reused on another device: start from a float
            self._totals[key] = total + value

    def __repr__(self):
        state = ", ".join(f"{key}={value:g}" for key, value in
                          zip(self.state_names, self.get_state()))
        return f"{type(self).__name__}(name={self.name!r}, {state})"


track_class(Metric)


def _ratio(numerator, denominator):
    """``numerator / denominator`` as a float, 0.0 when nothing was counted (Keras)."""
    denominator = float(denominator)
    return float(numerator) / denominator if denominator else 0.0


class _MeanOfValues(Metric):
    """A (weighted) mean of values computed per element: ``total / count``.

    Subclasses define ``values(y_true, y_pred)`` on raw arrays: one value per element
    (e.g. 1.0 where the prediction is right), with the batch on axis 0.
    """

    state_names = ("total", "count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch: ``y_true`` labels / targets, ``y_pred`` the model's outputs,
        ``sample_weight`` optional weights of shape (N,) (or broadcastable to the values)."""
        y_true, y_pred = _operands(self.name, y_true, y_pred)
        self._accumulate(self.values(y_true, y_pred), sample_weight)

    def values(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} has no values()")

    def _accumulate(self, values, sample_weight=None):
        xp = device_of(values).xp
        if sample_weight is None:
            self._add(total=values.sum(dtype=xp.float64), count=values.size)
            return
        weight = _array(sample_weight, like=values)
        if device_of(weight) is not device_of(values):
            raise ValueError(f"{self.name}: sample_weight is on {device_of(weight)} but the "
                             f"predictions on {device_of(values)}")
        if weight.ndim < values.ndim:  # (N,) weights for (N, T) values: one per sample
            weight = weight.reshape(weight.shape + (1,) * (values.ndim - weight.ndim))
        try:
            weight = xp.broadcast_to(weight, values.shape)
        except ValueError:
            raise ValueError(f"{self.name}: sample_weight of shape {tuple(weight.shape)} does "
                             f"not fit values of shape {tuple(values.shape)}; give one weight "
                             f"per sample, shape ({_batch_size(values)},)") from None
        self._add(total=(values * weight).sum(dtype=xp.float64),
                  count=weight.sum(dtype=xp.float64))

    def result(self):
        """``total / count`` (0.0 before the first batch)."""
        return _ratio(self._totals["total"], self._totals["count"])


# -- running means ------------------------------------------------------------------------------

class Mean(_MeanOfValues):
    """The running (weighted) mean of the values given; ``fit`` keeps the epoch's loss
    in one, weighting each batch's mean loss by the batch size.

        >>> m = Mean(name="loss")
        >>> m.update_state(0.5, sample_weight=2)    # a batch of 2 with mean loss 0.5
        >>> m.update_state(0.2, sample_weight=1)
        >>> round(m.result(), 4)                    # (0.5 * 2 + 0.2) / 3
        0.4

    Args:
        name: the key in the logs (default ``"mean"``).
    """

    default_name = "mean"

    def update_state(self, values, sample_weight=None):
        """Add ``values`` (a number, Tensor or array: every element counts once), each
        weighted by ``sample_weight`` (a number or an array broadcastable to it)."""
        if isinstance(values, Real) and not isinstance(values, bool):
            weight = 1.0 if sample_weight is None else sample_weight
            if isinstance(weight, Real) and not isinstance(weight, bool):
                self._add(total=float(values) * float(weight), count=float(weight))
                return
        self._accumulate(_array(values), sample_weight)


class MeanMetricWrapper(_MeanOfValues):
    """A metric from a plain function ``fn(y_true, y_pred)``: the mean of what it returns.

    A function that returns one value per sample (shape (N,)) is averaged over samples;
    one that returns a scalar (the batch's mean) counts with the batch size as weight, so
    the epoch's value is the mean over samples either way. The function gets the inputs
    as given (Tensors stay Tensors) and runs under ``no_grad``.

    Args:
        fn: the function; its ``__name__`` is the default name.
        name: the key in the logs.
    """

    def __init__(self, fn, name=None):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: fn must be callable, got "
                            f"{type(fn).__name__}")
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", None) or type(fn).__name__)

    def update_state(self, y_true, y_pred, sample_weight=None):
        with no_grad():
            out = self.fn(y_true, y_pred)
        values = _array(out, like=_array(y_pred))
        if values.ndim == 0 and sample_weight is None:
            batch = _batch_size(_array(y_pred))
            xp = device_of(values).xp
            self._add(total=values.astype(xp.float64) * batch, count=batch)
            return
        self._accumulate(values, sample_weight)


# -- accuracies ---------------------------------------------------------------------------------

class Accuracy(_MeanOfValues):
    """How often ``y_pred`` equals ``y_true`` exactly (both labels, not scores).

    Shape: y_true and y_pred the same shape ((N,) and (N, 1) are matched).
    """

    default_name = "accuracy"

    def values(self, y_true, y_pred):
        y_true, y_pred = _squeeze_pair(self.name, y_true, y_pred)
        return y_true == y_pred


class SparseCategoricalAccuracy(_MeanOfValues):
    """How often the top-scoring class is the integer label: ``argmax(y_pred) == y_true``.
    Scores may be logits or probabilities (the arg-max is the same).

    Shape: y_true (N,) or (N, 1) integer labels, y_pred (N, C) (or (N, T) and (N, T, C)).
    """

    default_name = "sparse_categorical_accuracy"

    def values(self, y_true, y_pred):
        y_true = _sparse_labels(self.name, y_true, y_pred)
        return y_pred.argmax(axis=-1) == y_true


class CategoricalAccuracy(_MeanOfValues):
    """How often the top-scoring class is the one-hot label's: ``argmax(y_pred) ==
    argmax(y_true)``.

    Shape: y_true (N, C) one-hot (or class probabilities), y_pred (N, C).
    """

    default_name = "categorical_accuracy"

    def values(self, y_true, y_pred):
        if y_true.shape != y_pred.shape or y_pred.ndim == 0:
            hint = ""
            if y_pred.ndim and tuple(y_true.shape) in (tuple(y_pred.shape[:-1]),
                                                      tuple(y_pred.shape[:-1]) + (1,)):
                hint = ("; y_true looks like integer labels: use SparseCategoricalAccuracy "
                        "('sparse_categorical_accuracy') instead")
            raise ValueError(f"{self.name}: expected one-hot y_true of the same shape as "
                             f"y_pred {tuple(y_pred.shape)}, got {tuple(y_true.shape)}{hint}")
        return y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)


class BinaryAccuracy(_MeanOfValues):
    """How often a binary prediction is right: ``(y_pred > threshold) == (y_true > 0.5)``.

    Args:
        threshold: the decision threshold on ``y_pred``: 0.5 for probabilities (after a
            sigmoid), 0 for logits.
        name: the key in the logs.

    Shape: y_true and y_pred the same shape ((N,) and (N, 1) are matched); labels 0 / 1.
    """

    default_name = "binary_accuracy"

    def __init__(self, threshold=0.5, name=None):
        self.threshold = _check_threshold(type(self).__name__, threshold)
        super().__init__(name)

    def values(self, y_true, y_pred):
        y_true, y_pred = _squeeze_pair(self.name, y_true, y_pred)
        return (y_pred > self.threshold) == (y_true > 0.5)


def _check_threshold(owner, threshold):
    return check_real(owner, "threshold", threshold,
                      what="a finite number (0.5 for probabilities, 0 for logits)")


def _check_k(owner, k):
    return check_positive_int(owner, "k", k)


def _in_top_k(y_pred, labels, k):
    """Whether each label's score is among the ``k`` highest. Ties at the boundary count as
    in (``tf.math.in_top_k``): the label is in when fewer than ``k`` classes score higher."""
    xp = device_of(y_pred).xp
    if labels.dtype.kind not in "iu":
        labels = labels.astype(xp.int64)
    true_score = xp.take_along_axis(y_pred, labels[..., None], axis=-1)
    return (y_pred > true_score).sum(axis=-1) < k


class SparseTopKCategoricalAccuracy(_MeanOfValues):
    """How often the integer label is among the ``k`` top-scoring classes.

    Args:
        k: how many of the top classes count (default 5).
        name: the key in the logs.

    Shape: y_true (N,) or (N, 1) integer labels, y_pred (N, C).
    """

    default_name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k=5, name=None):
        self.k = _check_k(type(self).__name__, k)
        super().__init__(name)

    def values(self, y_true, y_pred):
        y_true = _sparse_labels(self.name, y_true, y_pred)
        return _in_top_k(y_pred, y_true, self.k)


class TopKCategoricalAccuracy(_MeanOfValues):
    """How often the one-hot label's class is among the ``k`` top-scoring classes.

    Args:
        k: how many of the top classes count (default 5).
        name: the key in the logs.

    Shape: y_true (N, C) one-hot, y_pred (N, C).
    """

    default_name = "top_k_categorical_accuracy"

    def __init__(self, k=5, name=None):
        self.k = _check_k(type(self).__name__, k)
        super().__init__(name)

    def values(self, y_true, y_pred):
        if y_true.shape != y_pred.shape or y_pred.ndim == 0:
            raise ValueError(f"{self.name}: expected one-hot y_true of the same shape as "
                             f"y_pred {tuple(y_pred.shape)}, got {tuple(y_true.shape)}; for "
                             f"integer labels use SparseTopKCategoricalAccuracy")
        return _in_top_k(y_pred, y_true.argmax(axis=-1), self.k)


class AutoAccuracy(_MeanOfValues):
    """``"accuracy"`` when the loss does not say which one: decided from the shapes of the
    first batch, as Keras does (``get`` returns a concrete class when the loss decides).

    - y_pred with one column (or none) -> binary accuracy (threshold 0 when the loss
      takes logits, else 0.5);
    - y_true with fewer axes than y_pred, or one column against several -> sparse
      categorical accuracy (integer labels);
    - otherwise -> categorical accuracy (one-hot labels).

    Attributes:
        kind: the accuracy chosen (a metric instance), ``None`` before the first batch.
    """

    default_name = "accuracy"

    def __init__(self, name=None, from_logits=False):
        self.from_logits = bool(from_logits)
        self.kind = None
        super().__init__(name)

    def values(self, y_true, y_pred):
        if self.kind is None:
            self.kind = _accuracy_from_shapes(self.name, y_true, y_pred, self.from_logits)
        return self.kind.values(y_true, y_pred)


def _accuracy_from_shapes(name, y_true, y_pred, from_logits):
    """Keras's rule (``compile_utils.get_metric``) for "accuracy" from the shapes."""
    if y_pred.ndim <= 1 or y_pred.shape[-1] == 1:
        return BinaryAccuracy(threshold=0.0 if from_logits else 0.5, name=name)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


# -- precision and recall -----------------------------------------------------------------------

class _Confusion(Metric):
    """Counts of a binary confusion matrix at a threshold (micro-averaged over every
    element: one label per element)."""

    def __init__(self, threshold=0.5, name=None):
        self.threshold = _check_threshold(type(self).__name__, threshold)
        super().__init__(name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch: labels (positive where > 0.5) and scores (positive where >
        ``threshold``), same shape; optional per-sample weights of shape (N,)."""
        y_true, y_pred = _operands(self.name, y_true, y_pred)
        y_true, y_pred = _squeeze_pair(self.name, y_true, y_pred)
        predicted, actual = y_pred > self.threshold, y_true > 0.5
        xp = device_of(y_pred).xp
        weight = None
        if sample_weight is not None:
            weight = _array(sample_weight, like=y_pred)
            if weight.ndim < predicted.ndim:
                weight = weight.reshape(weight.shape + (1,) * (predicted.ndim - weight.ndim))
            weight = xp.broadcast_to(weight, predicted.shape)
        counts = {}
        for key, mask in self._masks(predicted, actual):
            counts[key] = mask.sum() if weight is None else (mask * weight).sum(dtype=xp.float64)
        self._add(**counts)


class Precision(_Confusion):
    """The fraction of predicted positives that are positive: TP / (TP + FP).

    Args:
        threshold: a prediction is positive where ``y_pred > threshold`` (0.5 for
            probabilities, 0 for logits).
        name: the key in the logs.

        >>> import somanet as sn
        >>> p = Precision()
        >>> p.update_state(sn.tensor([1, 0, 1, 0]), sn.tensor([0.9, 0.8, 0.2, 0.1]))
        >>> p.result()   # predicted positive: samples 0 and 1, of which one is positive
        0.5
    """

    state_names = ("true_positives", "false_positives")
    default_name = "precision"

    def _masks(self, predicted, actual):
        return [("true_positives", predicted & actual), ("false_positives", predicted & ~actual)]

    def result(self):
        tp = float(self._totals["true_positives"])
        return _ratio(tp, tp + float(self._totals["false_positives"]))


class Recall(_Confusion):
    """The fraction of positives predicted positive: TP / (TP + FN).

    Args:
        threshold: a prediction is positive where ``y_pred > threshold`` (0.5 for
            probabilities, 0 for logits).
        name: the key in the logs.
    """

    state_names = ("true_positives", "false_negatives")
    default_name = "recall"

    def _masks(self, predicted, actual):
        return [("true_positives", predicted & actual), ("false_negatives", ~predicted & actual)]

    def result(self):
        tp = float(self._totals["true_positives"])
        return _ratio(tp, tp + float(self._totals["false_negatives"]))


# -- regression ---------------------------------------------------------------------------------

class MeanAbsoluteError(_MeanOfValues):
    """The mean of ``|y_true - y_pred|`` over every element.

    Shape: y_true and y_pred the same shape ((N,) and (N, 1) are matched).
    """

    default_name = "mean_absolute_error"

    def values(self, y_true, y_pred):
        y_true, y_pred = _squeeze_pair(self.name, y_true, y_pred)
        return abs(y_pred - y_true)


class MeanSquaredError(_MeanOfValues):
    """The mean of ``(y_true - y_pred) ** 2`` over every element.

    Shape: y_true and y_pred the same shape ((N,) and (N, 1) are matched).
    """

    default_name = "mean_squared_error"

    def values(self, y_true, y_pred):
        y_true, y_pred = _squeeze_pair(self.name, y_true, y_pred)
        difference = y_pred - y_true
        return difference * difference


# -- names --------------------------------------------------------------------------------------

_BY_NAME = {
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}
_ACCURACY_NAMES = ("accuracy", "acc")
KNOWN_NAMES = _ACCURACY_NAMES + tuple(_BY_NAME)


LABEL_KINDS = ("sparse", "categorical", "binary", "sparse_or_categorical")


def loss_kind(loss):
    """What a loss declares about its targets: ``(kind, from_logits)``.

    ``kind`` is ``"sparse"`` (integer class indices), ``"categorical"`` (one row of
    class probabilities per sample, e.g. one-hot), ``"binary"`` (a 0/1 target per
    output), ``"sparse_or_categorical"`` (either, as PyTorch's ``CrossEntropyLoss``
    takes), or ``None`` (the loss does not say: a regression loss, a plain function).
    ``from_logits`` is whether its input is logits rather than probabilities.

    A loss declares them with the attributes ``label_kind`` and ``from_logits``:
    the Keras-named classes of ``somanet.train.losses`` and the ``somanet.nn`` loss
    modules do, and so may a user's loss class or function
    (``my_loss.label_kind = "sparse"``). A name is looked up with
    ``losses.get``; a ``functools.partial`` is read through to its function; the
    loss functions of ``somanet.ops`` are listed in ``losses.OPS_LABEL_KINDS``.
    Nothing is guessed from names.

        >>> loss_kind("sparse_categorical_crossentropy")
        ('sparse', False)
    """
    if loss is None:
        return None, False
    if isinstance(loss, str):
        loss = losses.get(loss)
    function = getattr(loss, "func", loss)  # a functools.partial
    try:
        declared = losses.OPS_LABEL_KINDS.get(function)
    except TypeError:  # an unhashable callable object
        declared = None
    if declared is not None:
        return declared
    kind = getattr(loss, "label_kind", getattr(function, "label_kind", None))
    if kind is not None and kind not in LABEL_KINDS:
        raise ValueError(f"{loss!r:.60} declares label_kind={kind!r}; expected one of "
                         f"{', '.join(LABEL_KINDS)} or None")
    from_logits = getattr(loss, "from_logits", False)
    return kind, from_logits if isinstance(from_logits, bool) else False


def get(identifier, loss=None):
    """A metric from what a user types in ``compile(metrics=[...])``.

    Args:
        identifier: a ``Metric`` (returned as is), a ``Metric`` subclass (instantiated),
            a name, or a function ``fn(y_true, y_pred) -> values`` (wrapped in a
            ``MeanMetricWrapper`` named after it).
        loss: the compiled loss (a string, function, loss module or class instance):
            decides what ``"accuracy"`` means, as in Keras -- a sparse categorical loss
            gives ``SparseCategoricalAccuracy``, a categorical one
            ``CategoricalAccuracy``, a binary one ``BinaryAccuracy`` (threshold 0 when the
            loss takes logits); otherwise ``AutoAccuracy`` decides from the first batch's
            shapes (see ``loss_kind``: what the loss declares).

    Names: ``"accuracy"`` / ``"acc"``, ``"sparse_categorical_accuracy"``,
    ``"categorical_accuracy"``, ``"binary_accuracy"``, ``"top_k_categorical_accuracy"``,
    ``"sparse_top_k_categorical_accuracy"``, ``"precision"``, ``"recall"``, ``"mae"`` /
    ``"mean_absolute_error"``, ``"mse"`` / ``"mean_squared_error"``. The metric's ``name``
    (its key in the logs) is the name as typed.

        >>> get("accuracy", loss="sparse_categorical_crossentropy")
        SparseCategoricalAccuracy(name='accuracy', total=0, count=0)
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        if key in _ACCURACY_NAMES:
            kind, from_logits = loss_kind(loss)
            if kind == "sparse":
                return SparseCategoricalAccuracy(name=identifier)
            if kind == "categorical":
                return CategoricalAccuracy(name=identifier)
            if kind == "binary":
                return BinaryAccuracy(threshold=0.0 if from_logits else 0.5, name=identifier)
            return AutoAccuracy(name=identifier, from_logits=from_logits)
        if key in _BY_NAME:
            return _BY_NAME[key](name=identifier)
        lookup(None, "metric", identifier, dict.fromkeys(KNOWN_NAMES),
               hint="; or pass a Metric object or a function fn(y_true, y_pred)")
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"a metric must be a name (e.g. 'accuracy'), a Metric object or a function "
                    f"fn(y_true, y_pred); got {type(identifier).__name__} {identifier!r:.40}")
