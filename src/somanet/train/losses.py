"""Losses under the names Keras users type, called Keras's way: ``loss(y_true, y_pred)``.

Each class wraps the fused loss function of ``somanet.ops`` (``ops/loss.py``),
which takes PyTorch's order ``(prediction, target)``; the classes here only
swap the arguments, line up shapes the way Keras does, and translate Keras's
options. The Keras quickstart's loss::

    >>> import somanet as sn
    >>> from somanet.train import losses
    >>> loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> round(float(loss_fn([3], sn.zeros(1, 10))), 4)    # untrained: -log(1/10)
    2.3026

Shapes are lined up as in Keras: a target of shape ``(N,)`` against predictions
of shape ``(N, 1)`` (a one-unit regression or sigmoid output) is reshaped to
``(N, 1)`` rather than broadcast to ``(N, N)``; sparse labels of shape ``(N, 1)``
are flattened. Integer targets of a regression or binary loss are cast to the
predictions' dtype.

``reduction``: ``"sum_over_batch_size"`` (Keras's name for the mean, the
default; ``"mean"`` is accepted too), ``"sum"``, or ``"none"`` / ``None`` (one
loss per sample: regression losses average over the last axis, as Keras).

``loss(y_true, y_pred, sample_weight)`` weighs each sample's loss, as Keras: the
per-sample losses are multiplied by ``sample_weight`` (shape (N,) or broadcasting to
them; a class weight is ``sample_weight = class_weight[y_true]``), then reduced --
``"sum_over_batch_size"`` divides the weighted sum by the number of losses, not by
the sum of the weights (Keras's rule; PyTorch's weighted mean is ``weight=`` of
``nn.CrossEntropyLoss``).

``get(identifier)`` turns the strings ``compile(loss=...)`` accepts into these
objects: ``"mse"``, ``"mae"``, ``"sse"``, ``"huber"``, ``"kl_divergence"``
(``"kld"``), ``"binary_crossentropy"``,
``"categorical_crossentropy"``, ``"sparse_categorical_crossentropy"`` and the
long Keras spellings (``"mean_squared_error"``...). As in Keras, the
cross-entropy strings expect probabilities (``from_logits=False``); for a model
that outputs logits use the class with ``from_logits=True``.
"""
from .. import ops
from .._checks import check_fraction, check_int, check_real, lookup
from ..tensor import Tensor
from ..nn.serialization import track_class

_REDUCTIONS = {"sum_over_batch_size": "mean", "mean": "mean", "sum": "sum", "none": "none",
               None: "none"}


def _check_reduction(owner, reduction):
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(f"{owner}: reduction must be 'sum_over_batch_size' (the mean), 'sum' "
                         f"or 'none', got {reduction!r}") from None


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


def _align(y_true, y_pred):
    """Keras's ``squeeze_or_expand_to_same_rank``: a target one axis short of predictions
    whose last axis is 1 gets that axis; one axis too many (of size 1) loses it."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1:] == (1,):
        return y_true.reshape(y_pred.shape)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1:] == (1,):
        return y_true.reshape(y_true.shape[:-1])
    return y_true


def _float_target(y_true, y_pred):
    if y_true.dtype != y_pred.dtype and y_pred.dtype.kind == "f":
        return y_true.astype(y_pred.dtype)
    return y_true


class Loss:
    """Base class of the Keras-named losses: ``loss(y_true, y_pred)`` returns a Tensor.

    Subclasses define ``compute(y_pred, y_true, reduction)`` in PyTorch's order with
    the reduction already translated to ``"mean"``, ``"sum"`` or ``"none"``.

    Attributes:
        name: the Keras name, e.g. ``"mean_squared_error"`` (used in logs).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (Keras's names translated).
        label_kind: what its targets are (``somanet.train.metrics.loss_kind``): ``None``
            for a regression loss; the cross-entropies say ``"binary"``,
            ``"categorical"`` or ``"sparse"``, which is what ``"accuracy"`` follows.
    """

    default_name = "loss"
    label_kind = None
    default_reduction = "sum_over_batch_size"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        track_class(cls)  # its arguments are what model.save writes for compile(...)

    def __init__(self, reduction="default", name=None):
        if isinstance(reduction, str) and reduction == "default":
            reduction = self.default_reduction
        self.reduction = _check_reduction(type(self).__name__, reduction)
        self.name = name or self.default_name

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred, y_true = self.prepare(y_true, y_pred)
        if sample_weight is None:
            return self.compute(y_pred, y_true, self.reduction)
        values = self.compute(y_pred, y_true, "none")  # Keras's per-sample losses
        values = values * _sample_weight(sample_weight, values, type(self).__name__)
        if self.reduction == "none":
            return values
        total = values.sum()
        if self.reduction == "sum":
            return total
        return total * (1 / max(self.mean_count(y_true, values), 1e-7))

    def prepare(self, y_true, y_pred):
        """(y_pred, y_true) as Tensors, shapes lined up the Keras way."""
        y_pred = _as_tensor(y_pred)
        return y_pred, _align(_as_tensor(y_true), y_pred)

    def mean_count(self, y_true, values):
        """What ``"sum_over_batch_size"`` divides a weighted sum by: the number of losses."""
        return values.size

    def compute(self, y_pred, y_true, reduction):
        raise NotImplementedError(f"{type(self).__name__} must define compute()")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    def __repr__(self):
        settings = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items()
                             if key != "name")
        return f"{type(self).__name__}({settings})"


track_class(Loss)


def _sample_weight(sample_weight, values, owner):
    """Keras's ``sample_weight`` as a constant Tensor in the losses' dtype, shaped to
    broadcast against the per-sample ``values`` from the batch axis on: a trailing
    axis of 1 is dropped (Keras's squeeze), a short one gains trailing axes."""
    if isinstance(sample_weight, Tensor):
        array = sample_weight.data
    else:
        array = Tensor(sample_weight).data
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: sample_weight must hold numbers, got dtype {array.dtype}")
    shape = tuple(array.shape)
    if len(shape) == values.ndim + 1 and shape[-1:] == (1,):
        shape = shape[:-1]
    if len(shape) < values.ndim:
        shape = shape + (1,) * (values.ndim - len(shape))
    if len(shape) > values.ndim or any(size not in (1, full) for size, full in
                                       zip(shape, values.shape)):
        raise ValueError(f"{owner}: sample_weight of shape {tuple(array.shape)} does not fit "
                         f"the per-sample losses of shape {values.shape}; expected one weight "
                         f"per sample, shape {values.shape[:1]}, or a shape that broadcasts")
    weight = Tensor.__new__(Tensor)
    weight.data = array.reshape(shape).astype(values.dtype, copy=False)
    return weight


def _per_sample(values):
    """Per-element regression losses averaged over the last axis (Keras's "none")."""
    return values.mean(axis=-1) if values.ndim >= 2 else values


class _Regression(Loss):
    op = None  # the ops function, (pred, target, reduction=)

    def compute(self, y_pred, y_true, reduction):
        y_true = _float_target(y_true, y_pred)
        if reduction == "none":
            return _per_sample(self.call_op(y_pred, y_true, "none"))
        return self.call_op(y_pred, y_true, reduction)

    def call_op(self, y_pred, y_true, reduction):
        return type(self).op(y_pred, y_true, reduction=reduction)


class MeanSquaredError(_Regression):
    """``mean((y_pred - y_true)^2)``. String: ``"mse"`` / ``"mean_squared_error"``."""

    default_name = "mean_squared_error"
    op = staticmethod(ops.mse)


class MeanAbsoluteError(_Regression):
    """``mean(|y_pred - y_true|)``. String: ``"mae"`` / ``"mean_absolute_error"``."""

    default_name = "mean_absolute_error"
    op = staticmethod(ops.mae)


class SumSquaredError(_Regression):
    """Half the sum of squared errors, ``E = 1/2 sum (y_true - y_pred)^2``: the error of
    the classic backpropagation derivations (the 1/2 makes its gradient ``y_pred -
    y_true``). String: ``"sse"``.
    Reduction defaults to ``"sum"``."""

    default_name = "sum_squared_error"
    default_reduction = "sum"
    op = staticmethod(ops.sse)


class Huber(_Regression):
    """Huber loss: ``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``,
    ``d = y_pred - y_true``. String: ``"huber"``."""

    default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="default", name=None):
        super().__init__(reduction, name)
        self.delta = check_real("Huber", "delta", delta, minimum=0.0, min_open=True,
                                what="a positive number")

    def call_op(self, y_pred, y_true, reduction):
        return ops.huber(y_pred, y_true, delta=self.delta, reduction=reduction)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class KLDivergence(Loss):
    """Kullback-Leibler divergence, Keras's: ``sum(y_true log(y_true / y_pred))`` over the
    last axis of probabilities, both clipped to ``[1e-7, 1]`` first. Strings:
    ``"kl_divergence"``, ``"kld"``, ``"kullback_leibler_divergence"``.

    (PyTorch's ``nn.KLDivLoss`` takes log-probabilities in the reverse roles:
    ``KLDivLoss(reduction="batchmean")(log(y_pred), y_true)`` is this for 2-D inputs.)
    """

    default_name = "kl_divergence"

    def compute(self, y_pred, y_true, reduction):
        y_true = ops.clip(_float_target(y_true, y_pred), PROBABILITY_EPS, 1.0)
        log_pred = ops.log(ops.clip(y_pred, PROBABILITY_EPS, 1.0))
        if reduction == "none":
            values = ops.kl_div(log_pred, y_true, reduction="none")
            return values.sum(axis=-1) if values.ndim else values
        total = ops.kl_div(log_pred, y_true, reduction="sum")
        if reduction == "sum" or y_pred.ndim == 0:
            return total
        samples = y_pred.size // max(y_pred.shape[-1], 1)  # the mean of per-sample sums
        return total * (1 / max(samples, 1))


PROBABILITY_EPS = 1e-7  # Keras's backend.epsilon()


def _check_smoothing(owner, value):
    return check_fraction(owner, "label_smoothing", value, inclusive=True, what="in [0, 1]")


class BinaryCrossentropy(Loss):
    """Binary cross-entropy ``-(t log p + (1 - t) log(1 - p))``, averaged.

    Args:
        from_logits: ``False`` (Keras's default): ``y_pred`` holds probabilities (after
            a sigmoid); ``True``: logits, and the stable fused form is used.
        label_smoothing: in [0, 1]; targets become ``t (1 - s) + s / 2``.

    String: ``"binary_crossentropy"`` (probabilities).
    """

    default_name = "binary_crossentropy"
    label_kind = "binary"

    def __init__(self, from_logits=False, label_smoothing=0.0, reduction="default",
                 name=None):
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing("BinaryCrossentropy", label_smoothing)

    def compute(self, y_pred, y_true, reduction):
        y_true = _float_target(y_true, y_pred)
        if self.label_smoothing:
            y_true = y_true * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        op = ops.binary_cross_entropy_with_logits if self.from_logits else \
            ops.binary_cross_entropy
        if reduction == "none":
            return _per_sample(op(y_pred, y_true, reduction="none"))
        return op(y_pred, y_true, reduction=reduction)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(Loss):
    """Cross-entropy with one-hot (or probability) targets ``y_true`` of shape (N, C).

    Args:
        from_logits: ``False`` (Keras's default): ``y_pred`` holds probabilities (after a
            softmax); ``True``: logits (a stable log-softmax is taken).
        label_smoothing: in [0, 1].
        axis: the class axis (default last).

    String: ``"categorical_crossentropy"`` (probabilities).
    """

    default_name = "categorical_crossentropy"
    label_kind = "categorical"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="default",
                 name=None):
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(type(self).__name__, label_smoothing)
        self.axis = int(axis)

    def compute(self, y_pred, y_true, reduction):
        y_true = _float_target(y_true, y_pred)
        return ops.cross_entropy(y_pred, y_true, from_logits=self.from_logits,
                                 label_smoothing=self.label_smoothing, axis=self.axis,
                                 reduction=reduction)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class labels ``y_true`` of shape (N,) (or (N, 1)).

    Args:
        from_logits: ``False`` (Keras's default): ``y_pred`` holds probabilities (after a
            softmax); ``True``: logits, as the Keras quickstart uses with a ``Dense(10)``
            output.
        axis: the class axis (default last).
        ignore_class: optional label (any int, e.g. -1 or a padding class) whose samples
            count for nothing, Keras's: their loss is 0 and ``"sum_over_batch_size"``
            divides by the number of the others (0 when every label is ignored).

    String: ``"sparse_categorical_crossentropy"`` (probabilities).

    Shape: y_true (N,) ints in [0, C), y_pred (N, C) -> ().
    """

    default_name = "sparse_categorical_crossentropy"
    label_kind = "sparse"

    def __init__(self, from_logits=False, axis=-1, reduction="default", name=None, *,
                 ignore_class=None):
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)
        self.axis = int(axis)
        self.ignore_class = None if ignore_class is None else check_int(
            type(self).__name__, "ignore_class", ignore_class, what="an int or None")

    def prepare(self, y_true, y_pred):
        y_pred = _as_tensor(y_pred)
        y_true = _as_tensor(y_true)
        if y_true.ndim == y_pred.ndim and y_true.shape[-1:] == (1,) and y_pred.ndim >= 2:
            y_true = y_true.reshape(y_true.shape[:-1])  # Keras accepts (N, 1) labels
        return y_pred, y_true

    def mean_count(self, y_true, values):
        if self.ignore_class is None:
            return values.size
        return int((y_true.data != self.ignore_class).sum())

    def compute(self, y_pred, y_true, reduction):
        if y_true.dtype.kind == "f":  # Keras casts float labels; only whole numbers are labels
            labels = y_true.data
            if not bool((labels == labels.round()).all()):
                raise TypeError(f"SparseCategoricalCrossentropy: y_true must hold integer "
                                f"class labels, got non-integer floats (dtype {y_true.dtype});"
                                f" for one-hot or soft targets use CategoricalCrossentropy")
            y_true = y_true.astype("int64")
        if self.ignore_class is None:
            return ops.cross_entropy(y_pred, y_true, from_logits=self.from_logits,
                                     axis=self.axis, reduction=reduction)
        options = dict(from_logits=self.from_logits, axis=self.axis,
                       ignore_index=self.ignore_class)
        if reduction != "mean":
            return ops.cross_entropy(y_pred, y_true, reduction=reduction, **options)
        total = ops.cross_entropy(y_pred, y_true, reduction="sum", **options)
        return total * (1 / max(self.mean_count(y_true, None), 1e-7))  # 0 if all ignored

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "axis": self.axis,
                "ignore_class": self.ignore_class}


# -- by name ----------------------------------------------------------------------------------

# What the loss functions of somanet.ops (which compile also takes) say about their targets,
# as (label kind, takes logits): the functions cannot carry the attributes the classes do.
OPS_LABEL_KINDS = {
    ops.binary_cross_entropy: ("binary", False),
    ops.binary_cross_entropy_with_logits: ("binary", True),
    ops.cross_entropy: ("sparse_or_categorical", True),
    ops.nll: ("sparse", False),
}

_BY_NAME = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "sse": SumSquaredError, "sum_squared_error": SumSquaredError,
    "huber": Huber, "huber_loss": Huber,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def names():
    """The loss names ``get`` accepts."""
    return list(_BY_NAME)


def get(identifier):
    """A loss object from a name (``"mse"``, ``"sparse_categorical_crossentropy"``...);
    a ``Loss`` object is returned as it is.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, Loss):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"losses.get expects a loss name or a Loss object, got "
                        f"{type(identifier).__name__}")
    found = lookup(None, "loss", identifier, _BY_NAME,
                   hint="; or pass a loss object such as losses.SparseCategoricalCrossentropy("
                        "from_logits=True), an nn loss module, or a function "
                        "(y_true, y_pred) -> loss")
    return found()
