"""What ``Model.compile`` turns its arguments into: the compiled losses and metrics.

- ``CompiledLoss``: one loss, whatever its origin (a name, a Keras-named ``losses``
  object, an ``nn`` loss module, a function), always called ``(y_pred, y_true)``,
  with what it declares about its labels.
- ``CompileConfig``: the optimiser, the loss of each output and its weight, the
  metric specs; the total loss of a batch and the checks of a model's outputs and
  labels against the losses.
- ``CompiledMetrics``: the Metric objects of each output, their names in the logs
  (for several outputs ``<output name>_loss`` and ``<output name>_<metric>``), and
  their update, reset and results.
"""
import copy
import warnings

from ..autograd import no_grad, recordable
from ..backend import to_numpy
from ..nn.module import Module
from ..tensor import Tensor
from . import losses as losses_module
from . import metrics as metrics_module


class DoubleSoftmaxWarning(UserWarning):
    """Issued by ``fit`` (once per ``compile``) when a loss that takes logits
    (``from_logits=True``, ``nn.CrossEntropyLoss()``) gets outputs that are already
    probabilities (each row non-negative and summing to 1: the last layer is a
    softmax). The loss takes a second softmax of them, whose gradients are flat: the
    model trains slowly and badly, without an error. Drop the softmax from the model,
    or use ``from_logits=False``."""


class CompiledLoss:
    """A compiled loss, always called ``(y_pred, y_true)`` inside fit, whatever its origin.

    Argument order: Keras objects and plain functions are called ``loss(y_true, y_pred)``;
    ``nn`` modules and ``somanet.ops`` functions ``loss(y_pred, y_true)`` (PyTorch's
    order), as they are written.

    Attributes:
        identifier: what compile was given.
        loss: the loss object or function it resolved to.
        reduction: "mean", "sum" or "none" (accumulate_steps scales only means).
        label_kind: what the loss declares about its targets (``metrics.loss_kind``).
        sparse: whether it takes integer class labels (so fit checks their range).
        expects_probabilities: whether its input must lie in [0, 1].
        axis: the class axis of a classification loss.
    """

    def __init__(self, identifier):
        self.identifier = identifier
        if isinstance(identifier, type) and issubclass(identifier, (losses_module.Loss,
                                                                      Module)):
            identifier = identifier()  # loss=losses.MeanSquaredError without the ()
        if isinstance(identifier, str):
            identifier = losses_module.get(identifier)
        self.loss = identifier
        if isinstance(identifier, losses_module.Loss):
            self.call = lambda y_pred, y_true: identifier(y_true, y_pred)
            self.reduction = identifier.reduction
        elif isinstance(identifier, Module):
            self.call = identifier
            self.reduction = getattr(identifier, "reduction", "mean")
        elif callable(identifier):
            if getattr(identifier, "__module__", "").startswith("somanet."):
                self.call = identifier  # somanet.ops losses: (input, target)
            else:
                self.call = lambda y_pred, y_true: identifier(y_true, y_pred)  # Keras order
            self.reduction = "mean"
        else:
            raise TypeError(f"compile: loss must be a name ({', '.join(losses_module.names())}"
                            f"), a loss object or a function, got {type(identifier).__name__}")
        self.label_kind, from_logits = metrics_module.loss_kind(identifier)
        self.from_logits = bool(from_logits)
        self.sparse = self.label_kind in ("sparse", "sparse_or_categorical")
        # Only a loss that declares from_logits=False takes probabilities (log-probabilities,
        # regression targets and undeclared functions are not checked).
        self.expects_probabilities = self.label_kind is not None and \
            getattr(identifier, "from_logits", None) is False and not from_logits
        self.axis = getattr(identifier, "axis", -1)

    def __call__(self, y_pred, y_true):
        return self.call(y_pred, y_true)

    def describe(self):
        return repr(self.identifier) if isinstance(self.identifier, str) else repr(self.loss)


class CompileConfig:
    """What ``compile`` was given, resolved and checked.

    Attributes:
        optimizer: the optimiser spec (a name, an Optimizer, a class or a factory).
        losses: a ``CompiledLoss``, or a list of them (one per output).
        metrics: the metric specs (names or Metric objects), as given.
        loss_weights: the weight of each output's loss (``None``: 1 each).
        learning_rate: overrides the optimiser's learning rate (``None``: its own).
        jit: run compiled steps (``True``, ``"strict"``) or eager ones (``False``).
    """

    def __init__(self, optimizer, loss, metrics, loss_weights, learning_rate, jit=False):
        if isinstance(loss, (list, tuple)):
            if not loss:
                raise ValueError("compile: loss is an empty list")
            losses = [CompiledLoss(item) for item in loss]
        else:
            losses = CompiledLoss(loss)
        self.optimizer = optimizer
        self.losses = losses
        self.metrics = metrics
        self.loss_weights = loss_weights
        self.learning_rate = learning_rate
        self.jit = jit
        self._warned_softmax = False

    @property
    def loss_identifier(self):
        if isinstance(self.losses, list):
            return [loss.identifier for loss in self.losses]
        return self.losses.identifier

    def loss_of(self, output):
        """The ``CompiledLoss`` of output number ``output``."""
        return self.losses[output] if isinstance(self.losses, list) else self.losses

    def compute(self, y, y_pred, parts=None):
        """The loss of predictions ``y_pred`` against targets ``y``; for several outputs the
        weighted sum of each output's loss. ``parts``, a list, receives each output's own
        (unweighted) loss, for several outputs."""
        if not isinstance(self.losses, list) and not isinstance(y_pred, (list, tuple)):
            return self.losses(y_pred, y)
        count = len(y_pred)
        if not isinstance(y, (list, tuple)) or len(y) != count:
            found = len(y) if isinstance(y, (list, tuple)) else 1
            raise ValueError(f"the model has {count} outputs but the data gives {found} "
                             f"target(s) per batch; give one target per output "
                             f"(fit(x, [y1, y2]), or a Dataset yielding (x, y1, y2))")
        weights = self.loss_weights or [1.0] * count
        total = None
        for index in range(count):
            value = self.loss_of(index)(y_pred[index], y[index])
            if parts is not None:
                parts.append(value)
            if weights[index] != 1:
                value = value * weights[index]
            total = value if total is None else total + value
        return total

    def is_mean(self):
        """Whether every loss is a mean (so accumulating k batches rescales by 1/k)."""
        losses = self.losses if isinstance(self.losses, list) else [self.losses]
        return all(loss.reduction == "mean" for loss in losses)

    def check_output_count(self, count, y):
        """Raise unless the losses, loss weights and targets fit a model of ``count``
        outputs."""
        if isinstance(self.losses, list) and len(self.losses) != count:
            raise ValueError(f"compile got {len(self.losses)} losses but the model has "
                             f"{count} output(s); give one loss per output (or a single loss "
                             f"for all)")
        if self.loss_weights is not None and len(self.loss_weights) != count:
            raise ValueError(f"compile got {len(self.loss_weights)} loss_weights but the model "
                             f"has {count} output(s)")
        if count > 1 and y is not None and (not isinstance(y, (list, tuple)) or
                                            len(y) != count):
            found = len(y) if isinstance(y, (list, tuple)) else 1
            raise ValueError(f"the model has {count} outputs but the data gives {found} "
                             f"target(s); give one target per output (fit(x, [y1, y2]), or "
                             f"a Dataset yielding (x, y1, y2))")

    def check_probabilities(self, outputs):
        """Warn once when a loss expecting probabilities gets values outside [0, 1] (the
        model outputs logits: Keras's commonest silent mistake)."""
        outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for index, out in enumerate(outs):
            loss = self.loss_of(index)
            if not loss.expects_probabilities or not isinstance(out, Tensor):
                continue
            data = to_numpy(out.data)
            if data.size and (float(data.min()) < 0 or float(data.max()) > 1):
                warnings.warn(f"the loss {loss.describe()} expects probabilities in [0, 1], "
                              f"but the model's output has values from {float(data.min()):.3g} "
                              f"to {float(data.max()):.3g}: it looks like logits. Use "
                              f"from_logits=True (e.g. losses.SparseCategoricalCrossentropy("
                              f"from_logits=True)) or end the model with a Softmax/Sigmoid",
                              UserWarning, stacklevel=4)

    def check_double_softmax(self, outputs):
        """Warn (once per compile) when a categorical loss that takes logits gets an output
        that is already a softmax: every value in [0, 1] and every row along the class
        axis summing to 1 (the sample batch ``fit`` runs first)."""
        if self._warned_softmax:
            return
        outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for index, out in enumerate(outs):
            loss = self.loss_of(index)
            if not loss.from_logits or loss.label_kind not in (
                    "sparse", "categorical", "sparse_or_categorical") \
                    or not isinstance(out, Tensor) or out.ndim < 2:
                continue
            data = to_numpy(out.data).astype("float64")
            if data.size == 0 or data.shape[loss.axis] < 2:
                continue
            sums = data.sum(axis=loss.axis)
            if float(data.min()) >= 0 and float(abs(sums - 1).max()) <= 1e-4:
                self._warned_softmax = True
                where = f"output {index} of the model" if len(outs) > 1 else "the model's output"
                warnings.warn(f"the loss {loss.describe()} takes logits (from_logits=True), "
                              f"but {where} is already a softmax (its rows are probabilities "
                              f"that sum to 1): the loss applies a second softmax, and a "
                              f"double softmax trains badly (flat gradients, no error). Drop "
                              f"the last Softmax / activation='softmax', or use "
                              f"from_logits=False", DoubleSoftmaxWarning, stacklevel=4)
                return

    def check_labels(self, labels, outputs):
        """Integer labels for a sparse cross-entropy must lie in [0, number of outputs),
        but for the label the loss ignores (its ``ignore_index`` / ``ignore_class``).

        Args:
            labels: the targets as an array (``None``: nothing to check).
            outputs: the model's output for a sample batch.
        """
        if labels is None or isinstance(outputs, (list, tuple)) or \
                isinstance(self.losses, list):
            return
        loss = self.losses
        if not loss.sparse or outputs.ndim < 2 or labels.dtype.kind not in "iu" \
                or labels.size == 0:
            return
        classes = int(outputs.shape[loss.axis])
        ignored = getattr(loss.loss, "ignore_index", getattr(loss.loss, "ignore_class", None))
        if ignored is not None:
            labels = labels[labels != ignored]
            if labels.size == 0:
                return
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= classes:
            negative, over = int((labels < 0).sum()), int((labels >= classes).sum())
            fixes = []
            if negative:  # more units would not help: say what a negative label is instead
                fixes.append(f"negative labels ({negative}): class indices count from 0 (to "
                             f"leave samples out of the loss, give them the loss's "
                             f"ignore_index / ignore_class)")
            if over:
                fixes.append(f"labels >= {classes} ({over}): check the labels, or give the last "
                             f"layer {high + 1} units")
            raise ValueError(f"fit: the labels in y must be class indices in [0, {classes}) for "
                             f"a model with {classes} outputs, got values from {low} to {high} "
                             f"({negative + over} out of range); " + "; ".join(fixes))


class CompiledMetrics:
    """The compiled metrics of a model: for each output, one Metric per spec; with
    several outputs also each output's loss, as Keras logs them.

    Created at compile time for one output (so an unknown name fails then), and again
    by ``build_for(count, names)`` once the number of outputs is known (each output after
    the first gets fresh copies of Metric objects: each needs its own state).

    With several outputs, named ``out1``, ``out2``... (``Model.output_names``), the logs
    hold ``out1_loss``, ``out2_loss`` (each output's own loss, unweighted, averaged over
    the samples as ``loss`` is; ``loss`` is the weighted total), then ``out1_<metric>``,
    ``out2_<metric>``... in that order.

    Attributes:
        objects: every Metric: the output losses' ``Mean`` trackers, then the metrics,
            output by output.
        names: their names in the logs.
    """

    def __init__(self, config):
        self.config = config
        self.output_count = None
        self.output_names = None
        self._loss_trackers = []
        self._set([self._make(config.loss_of(0))])

    def _make(self, loss, fresh_copies=False):
        made = []
        for spec in self.config.metrics:
            metric = metrics_module.get(spec, loss=loss.identifier)
            if fresh_copies and not isinstance(spec, str):
                metric = copy.deepcopy(metric)
                metric.reset_state()
            made.append(metric)
        return made

    def _set(self, per_output, output_names=None):
        objects, slots = list(self._loss_trackers), []
        names = [tracker.name for tracker in self._loss_trackers]
        many = len(per_output) > 1
        for output, metric_list in enumerate(per_output):
            for metric in metric_list:
                objects.append(metric)
                name = getattr(metric, "name", type(metric).__name__)
                names.append(f"{output_names[output]}_{name}" if many else name)
                slots.append((metric, output if many else None))
        self.objects, self.names, self._slots = objects, names, slots

    def build_for(self, count, output_names=None):
        """Make the metrics of a model with ``count`` outputs named ``output_names``
        (default ``output_0``, ``output_1``...); nothing if already so."""
        if output_names is None or len(output_names) != count:
            output_names = [f"output_{index}" for index in range(count)]
        output_names = list(output_names)
        if count == self.output_count and output_names == self.output_names:
            return
        self.output_count = count
        self.output_names = output_names
        self._loss_trackers = [metrics_module.Mean(name=f"{name}_loss")
                               for name in output_names] if count > 1 else []
        per_output = []
        for index in range(count):
            if index == 0 and count == 1:
                per_output.append(self.objects[:len(self.config.metrics)])
            else:
                per_output.append(self._make(self.config.loss_of(index),
                                             fresh_copies=index > 0))
        self._set(per_output, output_names)

    @recordable
    def update_losses(self, parts, batch_size):
        """Add one batch's loss of each output (``parts``, 0-d Tensors or floats), each
        weighted by the batch size (a compiled training step replays it)."""
        for tracker, value in zip(self._loss_trackers, parts):
            value = value.detach() if isinstance(value, Tensor) else value
            tracker.update_state(float(to_numpy(value.data)) if isinstance(value, Tensor)
                                 else float(value), sample_weight=batch_size)

    @recordable
    def update(self, y, y_pred):
        """Feed one batch to every metric (a compiled training step replays it)."""
        if not self._slots:
            return
        with no_grad():
            for metric, output in self._slots:
                if output is None:
                    metric.update_state(y, _detached(y_pred))
                else:
                    metric.update_state(y[output], _detached(y_pred[output]))

    def reset(self):
        for metric in self.objects:
            metric.reset_state()

    def results(self):
        """``{name: float result}`` of every metric."""
        return {name: float(metric.result()) for name, metric in zip(self.names, self.objects)}


def _detached(value):
    return value.detach() if isinstance(value, Tensor) else value
