"""``Model``: a Module with Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict`` /
``summary``.

Three ways to make one, as in Keras:

- subclass it: layers in ``__init__``, the computation in ``forward``;
- ``Sequential([...])``: layers one after another (``somanet.train.Sequential``);
- the functional API: ``Model(inputs, outputs)`` from ``Input`` placeholders
  (``somanet.train.functional``).

Seed 004's quickstart, line for line::

    >>> import somanet as sn
    >>> from somanet import nn
    >>> from somanet.train import losses
    >>> (x_train, y_train) = sn.datasets.mnist_small("train")
    >>> model = sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
    ...                        nn.Dropout(0.2), nn.Dense(10)])
    >>> loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    >>> history = model.fit(x_train[:256], y_train[:256], epochs=2, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'lr']

``fit`` is a loop around two small methods a subclass may override (STYLE.md,
habit 12): ``train_step(batch)`` (forward, loss, backward, update, metrics) and
``test_step(batch)`` (forward, loss, metrics); ``predict_step(x)`` for ``predict``.
Callbacks (``somanet.train.callbacks``) see every epoch and batch with a ``logs``
dict, and stop training by setting ``model.stop_training = True``.

Modes: ``fit`` trains in training mode (Dropout drops) and evaluates in evaluation
mode; ``fit``, ``evaluate`` and ``predict`` leave the model in evaluation mode,
so that calling a trained model gives its predictions (as in Keras). Call
``model.train()`` before a hand-written training loop.
"""
import copy
import inspect
import math
import numbers
import warnings

import numpy

from .. import distributed, nn
from ..autograd import no_grad
from ..backend import manual_seed, to_numpy
from ..nn.module import Module, Symbolic
from ..optim import Optimizer
from ..tensor import Tensor
from . import checkpointing, data_adapter, losses as losses_module, optimizers
from . import metrics as metrics_module
from .callbacks import CallbackList
from .checkpointing import Progress


class LossIncreasingWarning(UserWarning):
    """Issued by ``fit`` (once per call) the first time an epoch's training loss is higher
    than the previous epoch's by more than one part in a million (seed 004's "WARNING -
    Loss Increasing"). Silence it with
    ``warnings.simplefilter("ignore", LossIncreasingWarning)``."""


class Model(Module):
    """A trainable model with the Keras workflow: ``compile``, ``fit``, ``evaluate``,
    ``predict``, ``summary``.

    Subclass it like any Module::

        class Classifier(sn.Model):
            def __init__(self):
                super().__init__()
                self.hidden = nn.Dense(64, activation="relu")
                self.out = nn.Dense(10)

            def forward(self, x):
                return self.out(self.hidden(x))

    or call ``Model(inputs, outputs)`` with ``Input`` placeholders (the functional API).

    Attributes:
        optimizer: the Optimizer (``None`` until the model is built and compiled).
        history: the ``History`` of the last ``fit``.
        stop_training: set to True (by a callback) to end ``fit`` after the current batch.
    """

    optimizer = None
    history = None
    stop_training = False
    name = None
    _compiled = None
    _input_specs = None  # [(sample shape, dtype)] per input, once known
    _accumulator = None
    _output_count = None
    _metric_objects = ()
    _metric_names = ()
    _metric_slots = ()

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional  # Model(inputs, outputs): the functional API
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, name=None, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__ takes only name=; for the "
                            f"functional API call Model(inputs, outputs) with Input "
                            f"placeholders, got {len(args)} positional argument(s)"
                            + (f" and {sorted(kwargs)}" if kwargs else ""))
        super().__init__()
        self.name = name

    def forward(self, *args, **kwargs):
        call = getattr(self, "call", None)  # Keras's name for forward
        if call is not None:
            return call(*args, **kwargs)
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define "
                                  f"forward(self, x) (or Keras's call(self, x)) in the subclass")

    def __call__(self, *args, **kwargs):
        # Keras accepts NumPy arrays: make them Tensors (dtype policy: float64 -> float32).
        if args and any(_is_plain_array(arg) for arg in args):
            args = tuple(Tensor(arg) if _is_plain_array(arg) else arg for arg in args)
        return super().__call__(*args, **kwargs)

    # -- compile ----------------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                learning_rate=None):
        """Choose the optimiser, the loss and the metrics for ``fit`` and ``evaluate``.

        Args:
            optimizer: a name (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``,
                ``"adagrad"``, ``"rprop"``, ``"manhattan"``; Keras's default learning
                rates), an ``Optimizer`` made for this model's parameters, an Optimizer
                class, or a function ``params -> Optimizer``. Default ``"rmsprop"`` (Keras).
            loss: a name (``"mse"``, ``"mae"``, ``"sse"``, ``"huber"``,
                ``"binary_crossentropy"``, ``"categorical_crossentropy"``,
                ``"sparse_categorical_crossentropy"``; the cross-entropies expect
                probabilities, as in Keras), a ``losses`` object
                (``losses.SparseCategoricalCrossentropy(from_logits=True)``), an nn loss
                module (``nn.CrossEntropyLoss()``) or a function. Argument order: Keras
                objects and plain functions are called ``loss(y_true, y_pred)``; nn
                modules and ``somanet.ops`` functions ``loss(y_pred, y_true)`` (PyTorch's
                order), as they are written. For a model with several outputs, a list
                with one loss per output (or one loss used for each).
            metrics: a list of metric names (``"accuracy"``...) or Metric objects
                (``somanet.train.metrics``); with several outputs each metric is tracked
                per output, logged as ``output_<i>_<name>``.
            loss_weights: for several outputs, the weight of each output's loss in the
                total (default 1 each).
            learning_rate: overrides the optimiser's learning rate.
        """
        optimizers.check(optimizer)
        if loss is None:
            raise TypeError("compile: loss is required, e.g. loss='mse' or "
                            "loss=losses.SparseCategoricalCrossentropy(from_logits=True)")
        if isinstance(loss, (list, tuple)):
            if not loss:
                raise ValueError("compile: loss is an empty list")
            resolved = [CompiledLoss(item) for item in loss]
        else:
            resolved = CompiledLoss(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, bytes)) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        if learning_rate is not None and (isinstance(learning_rate, bool) or not isinstance(
                learning_rate, numbers.Real) or not learning_rate >= 0):
            raise ValueError(f"compile: learning_rate must be a non-negative number, got "
                             f"{learning_rate!r}")
        if loss_weights is not None:
            loss_weights = [float(weight) for weight in loss_weights]
        self._compiled = _CompileConfig(optimizer, resolved, list(metrics), loss_weights,
                                        learning_rate)
        self._output_count = None
        first_loss = resolved[0] if isinstance(resolved, list) else resolved
        # Create the metrics now, so an unknown name fails at compile time.
        self._set_metrics([self._make_metrics(first_loss)])
        self.optimizer = None
        if isinstance(optimizer, Optimizer):
            self.optimizer = optimizers.get(optimizer, (), learning_rate)
        elif self.is_built and any(True for _ in self.parameters()):
            self.optimizer = optimizers.get(optimizer, self.parameters(), learning_rate)
        self.stop_training = False

    @property
    def compiled(self):
        """Whether ``compile`` has been called."""
        return self._compiled is not None

    @property
    def loss(self):
        """The loss given to ``compile`` (``None`` before)."""
        return None if self._compiled is None else self._compiled.loss_identifier

    @property
    def metrics(self):
        """The Metric objects ``fit`` and ``evaluate`` update."""
        return list(self._metric_objects)

    @property
    def metrics_names(self):
        """The names in the logs: ``["loss", <metric names>...]``."""
        return ["loss"] + list(self._metric_names)

    def _require_compiled(self, who):
        if self._compiled is None:
            raise RuntimeError(f"{who}: the model is not compiled; call model.compile("
                               f"optimizer='adam', loss=..., metrics=['accuracy']) before "
                               f"{who}()")

    def _make_metrics(self, loss, fresh_copies=False):
        """The compiled metrics for an output whose loss is ``loss``; with ``fresh_copies``,
        Metric objects given to compile are copied (each output needs its own state)."""
        made = []
        for spec in self._compiled.metrics:
            metric = metrics_module.get(spec, loss=loss.identifier)
            if fresh_copies and not isinstance(spec, str):
                metric = copy.deepcopy(metric)
                metric.reset_state()
            made.append(metric)
        return made

    def _set_metrics(self, per_output):
        """``per_output``: one list of Metric objects per model output."""
        objects, names, slots = [], [], []
        many = len(per_output) > 1
        for output, metric_list in enumerate(per_output):
            for metric in metric_list:
                objects.append(metric)
                name = getattr(metric, "name", type(metric).__name__)
                names.append(f"output_{output}_{name}" if many else name)
                slots.append((metric, output if many else None))
        self._metric_objects, self._metric_names, self._metric_slots = objects, names, slots

    # -- the steps --------------------------------------------------------------------------------

    def train_step(self, batch):
        """Train on one batch: forward, loss, backward, optimiser update (every
        ``accumulate_steps`` batches), metrics. Override it for custom training.

        Args:
            batch: ``(x, y)``: ``x`` a Tensor (a tuple of Tensors for several inputs),
                ``y`` a Tensor (a list for several outputs).

        Returns:
            The batch's loss, a 0-d Tensor (or a float).
        """
        x, y = batch
        y_pred = self._call_model(x)
        loss = self.compute_loss(y, y_pred)
        self.minimize(loss, data_adapter.batch_size_of(x))
        self.update_metrics(y, y_pred)
        return loss

    def test_step(self, batch):
        """Evaluate one batch (no gradients): forward, loss, metrics. Returns the loss."""
        x, y = batch
        y_pred = self._call_model(x)
        loss = self.compute_loss(y, y_pred)
        self.update_metrics(y, y_pred)
        return loss

    def predict_step(self, x):
        """The model's output for one batch of inputs ``x``."""
        return self._call_model(x)

    def _call_model(self, x):
        return self(*x) if isinstance(x, tuple) else self(x)

    def compute_loss(self, y, y_pred):
        """The compiled loss of predictions ``y_pred`` against targets ``y`` (Keras's
        argument order); for several outputs the weighted sum of each output's loss."""
        losses = self._compiled.losses
        if not isinstance(losses, list) and not isinstance(y_pred, (list, tuple)):
            return losses(y_pred, y)
        count = len(y_pred)
        if not isinstance(y, (list, tuple)) or len(y) != count:
            found = len(y) if isinstance(y, (list, tuple)) else 1
            raise ValueError(f"the model has {count} outputs but the data gives {found} "
                             f"target(s) per batch; give one target per output "
                             f"(fit(x, [y1, y2]), or a Dataset yielding (x, y1, y2))")
        weights = self._compiled.loss_weights or [1.0] * count
        total = None
        for index in range(count):
            loss_fn = losses[index] if isinstance(losses, list) else losses
            value = loss_fn(y_pred[index], y[index])
            if weights[index] != 1:
                value = value * weights[index]
            total = value if total is None else total + value
        return total

    def minimize(self, loss, batch_size):
        """Backpropagate ``loss`` and update the weights with the optimiser; with
        ``fit(accumulate_steps=k)`` the update happens every k batches (see fit)."""
        accumulator = self._accumulator  # fit's; outside fit, a plain step
        if accumulator is None:
            accumulator = GradientAccumulator(self.optimizer, 1)
        accumulator.backward(loss, batch_size)

    def update_metrics(self, y, y_pred):
        """Feed one batch to every compiled metric."""
        if not self._metric_slots:
            return
        with no_grad():
            for metric, output in self._metric_slots:
                if output is None:
                    metric.update_state(y, _detached(y_pred))
                else:
                    metric.update_state(y[output], _detached(y_pred[output]))

    def reset_metrics(self):
        for metric in self._metric_objects:
            metric.reset_state()

    def _metric_results(self):
        return {name: float(metric.result())
                for name, metric in zip(self._metric_names, self._metric_objects)}

    # -- fit --------------------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            accumulate_steps=1, checkpoint_dir=None, checkpoint_every=None, resume=False,
            seed=None):
        """Train the model for ``epochs`` epochs.

        Args:
            x: inputs: an array (NumPy, Tensor), a list of arrays for several inputs, a
                ``Dataset`` yielding ``(x, y)``, or a ``DataLoader``.
            y: targets (an array, or a list for several outputs); ``None`` when ``x`` is
                a Dataset or DataLoader.
            batch_size: samples per batch (default 32; not with a DataLoader).
            epochs: train until this epoch: epochs ``initial_epoch`` .. ``epochs - 1``
                (counted from 0) are trained, so ``epochs`` epochs from the start.
            verbose: 0 silent, 1 a progress bar, 2 one line per epoch; ``"auto"`` is 1.
            callbacks: a list of ``Callback`` objects.
            validation_split: the fraction of the data (the *last* samples, before
                shuffling, as Keras) held out to validate after every epoch.
            validation_data: ``(x_val, y_val)``, a Dataset or a DataLoader to validate on.
            shuffle: reshuffle the training data every epoch (ignored for a DataLoader,
                whose own setting counts).
            initial_epoch: the epoch to start at (to continue an earlier run's counting).
            accumulate_steps: add up the gradients of this many batches before each
                update. Each batch's loss is weighted by its share of the group's samples,
                so with a mean loss (every loss here but ``"sse"``) one update equals an
                update on one batch ``accumulate_steps`` times larger; a group cut short
                by the end of the epoch is updated on its mean too.
            checkpoint_dir: a folder for the run's checkpoint (``somanet.io.load_checkpoint``
                reads it): model, optimiser, data position, RNG state and history, written
                atomically after every epoch (and every ``checkpoint_every`` batches). It is
                checked for writing before training starts.
            checkpoint_every: also checkpoint every this many batches (at the first
                optimiser update at or after each multiple). Default: epochs only.
            resume: continue from the checkpoint in ``checkpoint_dir`` if there is one
                (mid-epoch included): the resumed run ends with the same weights, bit for
                bit, as one never interrupted. Without a checkpoint it starts afresh.
                Callbacks' own state (e.g. EarlyStopping's patience) starts afresh.
            seed: seeds ``somanet.manual_seed`` (dropout, initialisation) and the shuffling,
                for a reproducible run.

        Returns:
            A ``History``: ``history.history`` maps ``"loss"``, each metric, ``"val_..."``
            and ``"lr"`` to one value per epoch; ``history.epoch`` lists the epochs.

        Raises:
            RuntimeError: the model is not compiled.
            FloatingPointError: the loss became nan or inf (unless a callback such as
                ``TerminateOnNaN`` stopped training).
            ValueError, TypeError: bad data (different lengths, labels out of range, shapes
                the model cannot take...), with what was received and expected.
        """
        self._require_compiled("fit")
        epochs = _check_int("fit", "epochs", epochs, minimum=1)
        initial_epoch = _check_int("fit", "initial_epoch", initial_epoch, minimum=0)
        accumulate_steps = _check_int("fit", "accumulate_steps", accumulate_steps, minimum=1)
        if checkpoint_every is not None:
            checkpoint_every = _check_int("fit", "checkpoint_every", checkpoint_every, 1)
        verbose = _check_verbose("fit", verbose)
        if (resume or checkpoint_every) and checkpoint_dir is None:
            raise ValueError("fit: resume=True and checkpoint_every need checkpoint_dir=, the "
                             "folder the checkpoints are written to")
        if validation_split and validation_data is not None:
            raise ValueError("fit: give validation_split or validation_data, not both")
        folder = None
        if checkpoint_dir is not None:
            folder = checkpointing.check_writable(checkpoint_dir)
        if seed is not None:
            manual_seed(seed)

        num_inputs = self._num_inputs()
        device = self._device()
        train_feed, val_feed = data_adapter.make_feed(
            "fit", x, y, batch_size, shuffle, seed, num_inputs, need_targets=True,
            validation_split=validation_split, device=device)
        if validation_data is not None:
            val_feed = data_adapter.validation_feed(validation_data, batch_size, num_inputs,
                                                    device)
        self._prepare_training(train_feed, val_feed)
        if not self._is_chief():
            verbose = 0
        loader = train_feed.loader

        progress = Progress(epoch=initial_epoch)
        saved_history = None
        if resume and checkpointing.exists(folder):
            progress, *saved_history = checkpointing.restore(
                folder, self, self.optimizer, loader, self._metric_objects)
        else:
            loader.set_epoch(initial_epoch)
        self._accumulator = GradientAccumulator(self.optimizer, accumulate_steps,
                                                self._loss_is_mean(), loader.batch_size)
        callback_list, history = self._callbacks(callbacks, verbose, epochs, len(loader),
                                                 with_history=True)
        self.history = history
        self.stop_training = False
        self.optimizer.zero_grad()
        run = _Run(train_feed, val_feed, callback_list, progress, folder, checkpoint_every)

        callback_list.on_train_begin({})
        if saved_history:
            history.history = {key: list(values) for key, values in saved_history[0].items()}
            history.epoch = list(saved_history[1])
        try:
            self._fit_epochs(run, epochs, history)
        except KeyboardInterrupt as interrupt:
            note = (f"fit was interrupted at epoch {progress.epoch + 1}, batch "
                    f"{progress.batch}")
            if folder is not None and checkpointing.exists(folder):
                note += (f"; the last checkpoint in {folder!r} is intact: call fit(..., "
                         f"checkpoint_dir={folder!r}, resume=True) to continue")
            interrupt.add_note(note)
            raise
        finally:
            self.eval()
            self._accumulator = None
        callback_list.on_train_end(dict(run.last_logs))
        return history

    def _fit_epochs(self, run, epochs, history):
        progress = run.progress
        losses = history.history.get("loss") if hasattr(history, "history") else None
        previous = losses[-1] if losses else None
        warned = False
        while progress.epoch < epochs:
            epoch = progress.epoch
            if progress.batch == 0:  # not resuming mid-epoch
                progress.start_epoch(epoch)
                self.reset_metrics()
            run.callbacks.on_epoch_begin(epoch, {})
            self.train()
            completed = self._train_epoch(run)
            self._accumulator.flush()
            logs = self._reduced_logs(progress.loss_sum, progress.seen)
            if run.val_feed is not None:
                val_logs = self._test_loop(run.val_feed, run.callbacks)
                logs.update(("val_" + key, value) for key, value in val_logs.items())
            logs["lr"] = self._learning_rate()
            run.last_logs = logs
            run.callbacks.on_epoch_end(epoch, logs)
            # Rounding noise (a loss equal up to summation order) is not an increase. Once
            # a fit: with mini-batches the epoch loss wobbles, and History has every value.
            if previous is not None and logs["loss"] > previous + 1e-6 * abs(previous) \
                    and not warned:
                warned = True
                warnings.warn(f"epoch {epoch + 1}: the training loss {logs['loss']:.6g} is "
                              f"higher than the previous epoch's {previous:.6g} "
                              f"(WARNING - Loss Increasing); a smaller learning rate may help "
                              f"(said once per fit; history.history['loss'] has every epoch)",
                              LossIncreasingWarning, stacklevel=3)
            previous = logs["loss"]
            progress.start_epoch(epoch + 1)
            if not completed:  # stopped part-way: like Keras, the epoch counts as done
                run.train_feed.loader.set_epoch(epoch + 1)
            if run.folder is not None and math.isfinite(logs["loss"]):
                self._save_checkpoint(run, history)
            if self.stop_training:
                break

    def _train_epoch(self, run):
        """Train on the epoch's remaining batches. Returns True when the epoch was completed
        (False when training was stopped part-way)."""
        progress, callbacks = run.progress, run.callbacks
        feed = run.train_feed
        num_inputs = feed.num_inputs
        steps = len(feed.loader)
        accumulator = self._accumulator
        for batch in feed.loader:
            index = progress.batch
            callbacks.on_train_batch_begin(index, {})
            x, y = data_adapter.unpack(batch, num_inputs)
            if y is None:
                raise ValueError("fit: the batches hold no targets; the dataset must yield "
                                 "(x, y)")
            value = float(self.train_step((x, y)))
            size = data_adapter.batch_size_of(x)
            progress.loss_sum += value * size
            progress.seen += size
            progress.batch += 1
            progress.step += 1
            logs = {"loss": progress.loss_sum / progress.seen}
            if self._metric_objects:
                logs.update(self._metric_results())
            callbacks.on_train_batch_end(index, logs)
            if not math.isfinite(value):
                if self.stop_training:  # a callback (TerminateOnNaN) handled it
                    return False
                raise FloatingPointError(
                    f"fit: the loss is {value} at epoch {progress.epoch + 1}, batch {index + 1} "
                    f"of {steps}; the weights are probably not finite any more. Lower the "
                    f"learning rate, check the data for nan/inf "
                    f"(numpy.isfinite(x).all()), or pass callbacks=[TerminateOnNaN()] to stop "
                    f"without an error" + (f"; the last checkpoint in {run.folder!r} is intact"
                                           if run.folder is not None else ""))
            if (run.every and accumulator.pending == 0 and progress.batch < steps
                    and progress.step - progress.last_saved_step >= run.every):
                self._save_checkpoint(run, self.history)
            if distributed.world_size() > 1:  # every rank stops at the same batch
                self.stop_training = distributed.all_agree(self.stop_training)
            if self.stop_training:
                return False
        return True

    def _save_checkpoint(self, run, history):
        """Write the run's checkpoint (only on the process that writes: see _is_chief)."""
        run.progress.last_saved_step = run.progress.step
        if not self._is_chief():
            return
        checkpointing.save(run.folder, self, self.optimizer, run.train_feed.loader,
                           run.progress, history, self._metric_objects)

    # The places a data-parallel run (somanet.distributed) hooks into: _prepare_training
    # (broadcast the parameters, shard the loader's sampler, wrap the optimiser to all-reduce
    # gradients), _reduced_logs (sum the loss and metric states over the processes), and
    # _is_chief (checkpoints and logs from one process only).

    def _prepare_training(self, feed, val_feed=None):
        """Build the model on one sample of the data (surfacing shape errors before
        training), create the optimiser and metrics, and check the targets. Under MPI
        (``mpiexec -n N``): every rank gets rank 0's weights, an optimiser that averages
        the gradients over the ranks, and its own share of every epoch (the batch size
        stays the global batch); validation data is split exactly between the ranks."""
        x, y = data_adapter.sample_batch(feed)
        outputs = self._dry_run(x)
        self._set_output_count(outputs, y)
        self._ensure_optimizer()
        self._check_loss_inputs(outputs)
        self._check_labels(feed, outputs)
        if distributed.world_size() > 1:
            self.optimizer, feed.loader = distributed.prepare(self, self.optimizer, feed.loader)
            if val_feed is not None:
                val_feed.loader = distributed.shard_loader(val_feed.loader, split_batch=False,
                                                           even=False)

    def _reduced_logs(self, loss_sum, seen):
        """The logs at the end of an epoch or evaluation, from the running sums: the mean
        loss and each metric's result, over every rank's samples under MPI (the sums are
        added up across the processes first, so every rank logs the same numbers)."""
        if distributed.world_size() > 1:
            loss_sum = distributed.allreduce(float(loss_sum), "sum")
            seen = distributed.allreduce(int(seen), "sum")
            distributed.reduce_metrics(self._metric_objects)
        return {"loss": loss_sum / seen if seen else float("nan"), **self._metric_results()}

    def _is_chief(self):
        """Whether this process writes checkpoints and shows progress (rank 0 under MPI)."""
        return distributed.is_main()

    # -- evaluate / predict -----------------------------------------------------------------------

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", callbacks=None,
                 return_dict=False):
        """The loss and metrics on data, in evaluation mode (no dropout, no updates).

        Args:
            x, y: as for ``fit`` (arrays, a Dataset or a DataLoader).
            batch_size: default 32.
            verbose: 0 silent, 1 a progress bar, 2 one line.
            callbacks: Callbacks (their ``on_test_*`` methods are called).
            return_dict: return ``{"loss": ..., "<metric>": ...}``.

        Returns:
            As Keras: the loss (a float) when no metrics were compiled, else the list
            ``[loss, metric1, ...]`` (in ``model.metrics_names`` order); a dict with
            ``return_dict=True``. Each is the average over all samples.
        """
        self._require_compiled("evaluate")
        verbose = _check_verbose("evaluate", verbose)
        feed, _ = data_adapter.make_feed("evaluate", x, y, batch_size, False, 0,
                                         self._num_inputs(), need_targets=True,
                                         device=self._device())
        sample_x, sample_y = data_adapter.sample_batch(feed)
        self._set_output_count(self._dry_run(sample_x), sample_y)
        if distributed.world_size() > 1:  # each rank evaluates its share; logs are summed
            feed.loader = distributed.shard_loader(feed.loader, split_batch=False, even=False)
        if not self._is_chief():
            verbose = 0
        callback_list, _ = self._callbacks(callbacks, verbose, 1, len(feed), with_history=False)
        try:
            logs = self._test_loop(feed, callback_list)
        finally:
            self.eval()
        if return_dict:
            return dict(logs)
        values = [logs["loss"]] + [logs[name] for name in self._metric_names]
        return values[0] if len(values) == 1 else values

    def _test_loop(self, feed, callback_list):
        self.eval()
        self.reset_metrics()
        loss_sum, seen = 0.0, 0
        logs = {}
        callback_list.on_test_begin({})
        with no_grad():
            for index, batch in enumerate(feed.loader):
                callback_list.on_test_batch_begin(index, {})
                x, y = data_adapter.unpack(batch, feed.num_inputs)
                if y is None:
                    raise ValueError("evaluate: the batches hold no targets; the dataset must "
                                     "yield (x, y)")
                size = data_adapter.batch_size_of(x)
                loss_sum += float(self.test_step((x, y))) * size
                seen += size
                logs = {"loss": loss_sum / seen, **self._metric_results()}
                callback_list.on_test_batch_end(index, logs)
        logs = self._reduced_logs(loss_sum, seen)
        callback_list.on_test_end(dict(logs))
        return logs

    def predict(self, x, batch_size=None, verbose=0, callbacks=None):
        """The model's outputs for ``x``, batch by batch, in evaluation mode.

        Args:
            x: inputs: an array, a list of arrays (several inputs), a Dataset (its
                targets, if any, are ignored) or a DataLoader.
            batch_size: default 32.
            verbose: 0 silent (the default), 1 a progress bar.
            callbacks: Callbacks (their ``on_predict_*`` methods are called).

        Returns:
            A NumPy array of shape ``(N, ...)`` (a list of arrays for several outputs),
            on the host whatever the model's device, as Keras.
        """
        verbose = _check_verbose("predict", verbose)
        feed, _ = data_adapter.make_feed("predict", x, None, batch_size, False, 0,
                                         self._num_inputs(), need_targets=False,
                                         device=self._device())
        callback_list, _ = self._callbacks(callbacks, verbose, 1, len(feed), with_history=False)
        parts = None
        single = True
        self.eval()
        callback_list.on_predict_begin({})
        with no_grad():
            for index, batch in enumerate(feed.loader):
                callback_list.on_predict_batch_begin(index, {})
                inputs, _ = data_adapter.unpack(batch, feed.num_inputs)
                out = self.predict_step(inputs)
                single = isinstance(out, Tensor)
                outs = [out] if single else list(out)
                arrays = [to_numpy(item.data if isinstance(item, Tensor) else item)
                          for item in outs]
                if parts is None:
                    parts = [[] for _ in arrays]
                for collected, array in zip(parts, arrays):
                    collected.append(array)
                callback_list.on_predict_batch_end(index, {"outputs": arrays[0] if single
                                                           else arrays})
        callback_list.on_predict_end({})
        results = [numpy.concatenate(collected) for collected in parts]
        return results[0] if single else results

    # -- building, summary ------------------------------------------------------------------------

    def build(self, input_shape):
        """Build the lazy layers (and record the input shape) by running the model on a
        batch of one sample of zeros.

        Args:
            input_shape: the batch shape, Keras style (``(None, 28, 28)``; the first entry
                is ignored), or a list of them for several inputs.
        """
        shapes = input_shape if _is_shape_list(input_shape) else [input_shape]
        samples = []
        for shape in shapes:
            shape = tuple(shape)
            if not shape:
                raise ValueError(f"build: input_shape {input_shape!r} has no batch axis; give "
                                 f"e.g. (None, 28, 28)")
            samples.append((tuple(1 if s is None else int(s) for s in shape[1:]), None))
        self._dry_run(_example_inputs(samples))
        return self

    def summary(self, input_shape=None, print_fn=None):
        """Print a table of the layers: name and type, output shape, parameter count,
        and the totals (trainable and non-trainable).

        Output shapes come from a dry run on one sample of zeros, when the input shape
        is known (from ``Input``, ``input_shape=``, ``build``, ``fit`` / ``evaluate``,
        or the ``input_shape`` argument, a per-sample shape like ``(28, 28)``); otherwise
        the table says so, and lazy layers not built yet show no parameters.

        Args:
            input_shape: the shape of one sample (without the batch axis), if not known.
            print_fn: called with the table's text (default ``print``).
        """
        from .summary import summarize
        text = summarize(self, input_shape)
        (print_fn or print)(text)

    def _device(self):
        """The device of the model's parameters (``None`` before a lazy model is built: it
        builds on its first input's device, the CPU for NumPy data)."""
        for module in self.modules():
            for param in module._parameters.values():
                if param is not None:
                    return param.device
        return None

    def _num_inputs(self):
        """How many of a batch's leading fields are inputs: the number of required
        positional parameters of ``forward`` (at least 1)."""
        if self._input_specs:
            return len(self._input_specs)
        try:
            parameters = inspect.signature(self.forward).parameters.values()
        except (TypeError, ValueError):
            return 1
        required = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                        p.POSITIONAL_OR_KEYWORD)
                    and p.default is p.empty]
        return max(1, len(required))

    def _dry_run(self, x):
        """The output for ``x`` (a batch of one) in evaluation mode, without gradients: it
        builds lazy layers and raises the layer's error (with its path) for a bad shape."""
        inputs = x if isinstance(x, tuple) else (x,)
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            with no_grad():
                outputs = self(*inputs)
        finally:
            for module, mode in modes:
                module.training = mode
        if not self._input_specs or len(self._input_specs) != len(inputs):
            self._input_specs = [(tuple(value.shape[1:]), value.dtype) for value in inputs]
        return outputs

    def _set_output_count(self, outputs, y):
        count = len(outputs) if isinstance(outputs, (list, tuple)) else 1
        losses = self._compiled.losses
        if isinstance(losses, list) and len(losses) != count:
            raise ValueError(f"compile got {len(losses)} losses but the model has {count} "
                             f"output(s); give one loss per output (or a single loss for all)")
        weights = self._compiled.loss_weights
        if weights is not None and len(weights) != count:
            raise ValueError(f"compile got {len(weights)} loss_weights but the model has "
                             f"{count} output(s)")
        if count > 1 and y is not None and (not isinstance(y, (list, tuple)) or
                                            len(y) != count):
            found = len(y) if isinstance(y, (list, tuple)) else 1
            raise ValueError(f"the model has {count} outputs but the data gives {found} "
                             f"target(s); give one target per output (fit(x, [y1, y2]), or "
                             f"a Dataset yielding (x, y1, y2))")
        if count != self._output_count:
            self._output_count = count
            per_output = []
            for index in range(count):
                loss = losses[index] if isinstance(losses, list) else losses
                per_output.append(self._metric_objects[:len(self._compiled.metrics)]
                                  if index == 0 and count == 1 else
                                  self._make_metrics(loss, fresh_copies=index > 0))
            self._set_metrics(per_output)

    def _ensure_optimizer(self):
        spec = self._compiled.optimizer
        if self.optimizer is None:
            self.optimizer = optimizers.get(spec, self.parameters(), self._compiled.learning_rate)
            return
        mine = {id(param) for param in self.parameters()}
        if not any(id(param) in mine for param in self.optimizer.parameters()):
            raise ValueError(f"compile: the {type(self.optimizer).__name__} holds none of this "
                             f"model's parameters; create it from model.parameters() (after "
                             f"the model is built), or pass its name or class "
                             f"(optimizer='adam' or sn.optim.Adam)")

    def _loss_is_mean(self):
        losses = self._compiled.losses
        return all(loss.reduction == "mean" for loss in
                   (losses if isinstance(losses, list) else [losses]))

    def _learning_rate(self):
        return float(self.optimizer.param_groups[0]["lr"])

    def _check_loss_inputs(self, outputs):
        """Warn once when a loss expecting probabilities gets values outside [0, 1] (the
        model outputs logits: Keras's commonest silent mistake)."""
        losses = self._compiled.losses
        outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for index, out in enumerate(outs):
            loss = losses[index] if isinstance(losses, list) else losses
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

    def _check_labels(self, feed, outputs):
        """Integer labels for a sparse cross-entropy must lie in [0, number of outputs)."""
        if feed.arrays is None or isinstance(outputs, (list, tuple)) or not feed.arrays[1]:
            return
        loss = self._compiled.losses
        if isinstance(loss, list) or not loss.sparse or outputs.ndim < 2:
            return
        labels = feed.arrays[1][0]
        if labels.dtype.kind not in "iu" or labels.size == 0:
            return
        classes = int(outputs.shape[loss.axis])
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= classes:
            bad = int(((labels < 0) | (labels >= classes)).sum())
            raise ValueError(f"fit: the labels in y must be class indices in [0, {classes}) for "
                             f"a model with {classes} outputs, got values from {low} to {high} "
                             f"({bad} out of range); check the labels, or give the last layer "
                             f"{high + 1} units")

    def _callbacks(self, callbacks, verbose, epochs, steps, with_history):
        """The CallbackList of one fit / evaluate / predict call, and its History."""
        params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        if callbacks and not self._is_chief():  # files are written by rank 0 alone
            callbacks = [callback for callback in callbacks
                         if not getattr(callback, "chief_only", False)]
        callback_list = CallbackList(callbacks, model=self, add_history=with_history,
                                     add_progbar=verbose != 0, params=params)
        return callback_list, callback_list.history if with_history else None


# -- helpers -------------------------------------------------------------------------------------

class CompiledLoss:
    """A compiled loss, always called ``(y_pred, y_true)`` inside fit, whatever its origin.

    Attributes:
        identifier: what compile was given.
        reduction: "mean", "sum" or "none" (accumulate_steps scales only means).
        sparse: whether it takes integer class labels (so fit checks their range).
        expects_probabilities: whether its input must lie in [0, 1].
    """

    def __init__(self, identifier):
        self.identifier = identifier
        if isinstance(identifier, type) and issubclass(identifier, (losses_module.Loss,
                                                                      Module)):
            identifier = identifier()  # loss=losses.MeanSquaredError without the ()
        if isinstance(identifier, str):
            identifier = losses_module.get(identifier)
        self.loss = identifier
        self.sparse = False
        self.axis = -1
        self.expects_probabilities = False
        if isinstance(identifier, losses_module.Loss):
            self.call = lambda y_pred, y_true: identifier(y_true, y_pred)
            self.reduction = identifier.reduction
            self.sparse = isinstance(identifier, losses_module.SparseCategoricalCrossentropy)
            self.axis = getattr(identifier, "axis", -1)
            self.expects_probabilities = not getattr(identifier, "from_logits", True)
        elif isinstance(identifier, Module):
            self.call = identifier
            self.reduction = getattr(identifier, "reduction", "mean")
            self.sparse = isinstance(identifier, (nn.CrossEntropyLoss, nn.NLLLoss))
            self.axis = getattr(identifier, "axis", -1)
            self.expects_probabilities = isinstance(identifier, nn.BCELoss) or (
                isinstance(identifier, nn.CrossEntropyLoss) and not identifier.from_logits)
        elif callable(identifier):
            if getattr(identifier, "__module__", "").startswith("somanet."):
                self.call = identifier  # somanet.ops losses: (input, target)
            else:
                self.call = lambda y_pred, y_true: identifier(y_true, y_pred)  # Keras order
            self.reduction = "mean"
        else:
            raise TypeError(f"compile: loss must be a name ({', '.join(losses_module.names())}"
                            f"), a loss object or a function, got {type(identifier).__name__}")

    def __call__(self, y_pred, y_true):
        return self.call(y_pred, y_true)

    def describe(self):
        return repr(self.identifier) if isinstance(self.identifier, str) else repr(self.loss)


class _CompileConfig:
    def __init__(self, optimizer, losses, metrics, loss_weights, learning_rate):
        self.optimizer = optimizer
        self.losses = losses  # a CompiledLoss, or a list of them (one per output)
        self.metrics = metrics
        self.loss_weights = loss_weights
        self.learning_rate = learning_rate

    @property
    def loss_identifier(self):
        if isinstance(self.losses, list):
            return [loss.identifier for loss in self.losses]
        return self.losses.identifier


class GradientAccumulator:
    """Backward passes, and an optimiser step every ``steps`` batches.

    With ``steps = k`` and a mean loss, batch ``i`` of a group (``n_i`` samples)
    contributes ``(n_i / (k B)) dL_i/dw``, ``B`` the loader's batch size; a
    group cut short by the end of the epoch (``sum n_i < k B`` samples) is
    rescaled by ``k B / sum n_i`` before its step. Either way the update uses
    ``sum_i n_i dL_i/dw / sum_i n_i``: the gradient of the mean loss over the
    group's samples, as one batch of all of them would give.
    """

    def __init__(self, optimizer, steps=1, mean=True, batch_size=None):
        self.optimizer = optimizer
        self.steps = steps
        self.mean = mean
        self.batch_size = batch_size
        self.pending = 0  # batches whose gradients wait for the next step
        self.pending_samples = 0

    def backward(self, loss, size):
        if self.steps == 1:
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad()
            return
        if self.batch_size is None:
            self.batch_size = size
        if self.mean:
            loss = loss * (size / (self.steps * self.batch_size))
        loss.backward()
        self.pending += 1
        self.pending_samples += size
        if self.pending == self.steps:
            self._step()

    def flush(self):
        """Apply a partly accumulated group (at the end of an epoch)."""
        if self.pending:
            self._step()

    def _step(self):
        full = self.steps * self.batch_size
        if self.mean and self.pending_samples != full:
            factor = full / self.pending_samples
            for param in self.optimizer.parameters():
                if param.grad is not None:  # a new array: gradients may share one
                    param.grad.data = param.grad.data * factor
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.pending = self.pending_samples = 0


class _Run:
    """What one fit call works with."""

    def __init__(self, train_feed, val_feed, callbacks, progress, folder, every):
        self.train_feed = train_feed
        self.val_feed = val_feed
        self.callbacks = callbacks
        self.progress = progress
        self.folder = folder
        self.every = every
        self.last_logs = {}


def _detached(value):
    return value.detach() if isinstance(value, Tensor) else value


def _is_plain_array(value):
    return (not isinstance(value, (Tensor, Symbolic)) and hasattr(value, "shape")
            and hasattr(value, "dtype") and hasattr(value, "__array__"))


def _is_shape_list(value):
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(item, (list, tuple)) for item in value)


def _example_inputs(specs):
    from ..ops import zeros
    tensors = tuple(zeros(1, *shape, dtype=dtype) for shape, dtype in specs)
    return tensors[0] if len(tensors) == 1 else tensors


def _check_int(who, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or \
            value < minimum:
        raise ValueError(f"{who}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_verbose(who, verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"{who}: verbose must be 0 (silent), 1 (progress bar), 2 (one line "
                         f"per epoch) or 'auto', got {verbose!r}")
    return int(verbose)
