"""The trainer: ``fit``, ``evaluate`` and ``predict``, their epoch and batch loops, the
training and test steps, and gradient accumulation.

``Trainer`` is the half of ``Model`` that trains (Keras 3 splits its Model the same
way): ``Model`` inherits it, so a subclass overrides ``train_step(batch)`` (forward,
loss, backward, update, metrics), ``test_step(batch)`` or ``predict_step(x)`` to
change what one batch does, while ``fit`` keeps the loop, the callbacks, the
checkpoints and the data-parallel hooks.

Modes: ``fit`` trains in training mode (Dropout drops) and evaluates in evaluation
mode; ``fit``, ``evaluate`` and ``predict`` leave the model in evaluation mode,
so that calling a trained model gives its predictions (as in Keras). Call
``model.train()`` before a hand-written training loop.
"""
import contextlib
import math
import warnings

import numpy

from .. import distributed, graph
from ..io import check_writable, is_checkpoint
from .._checks import check_int
from ..autograd import no_grad
from ..backend import manual_seed, to_numpy
from ..optim.schedules import ReduceLROnPlateau as _PlateauSchedule
from ..optim.schedules import attached_to
from ..tensor import Tensor
from . import checkpointing, data_adapter, optimizers
from .callbacks import CallbackList
from .callbacks.checkpoints import FitCheckpoint
from .checkpointing import Progress


class LossIncreasingWarning(UserWarning):
    """Issued by ``fit`` (once per call) the first time an epoch's training loss is higher
    than the previous epoch's by more than one part in a million: often a learning rate
    too high. Silence it with
    ``warnings.simplefilter("ignore", LossIncreasingWarning)``."""


class ScheduleNotSteppedWarning(UserWarning):
    """Issued by ``fit`` when a learning-rate schedule built on the model's optimiser
    (``sn.optim.ExponentialLR(model.optimizer, ...)``) is not given to it as a
    ``LearningRateScheduler`` callback: fit never calls ``schedule.step()``, so the
    schedule would silently leave the learning rate as it is."""


class Trainer:
    """``fit`` / ``evaluate`` / ``predict`` and the steps they run, for ``Model``.

    It relies on the Model's compiled configuration (``compile``), its metrics and the
    model-side helpers (``_call_model``, ``_dry_run``, ``_num_inputs``, ``_device``).
    """

    _accumulator = None
    _jit_steps = None  # "train" / "test" / "predict" -> a CompiledStep (compile(jit=True))

    def _step(self, kind):
        """The function running one batch of ``kind``: ``train_step`` / ``test_step`` /
        ``predict_step`` called with the batch's ``x`` and ``y`` (``x`` alone to predict),
        compiled with ``somanet.graph.compile`` when ``compile(jit=...)`` asked for it."""
        eager = {"train": lambda x, y: self.train_step((x, y)),
                 "test": lambda x, y: self.test_step((x, y)),
                 "predict": self.predict_step}[kind]
        jit = self._compiled.jit if self._compiled is not None else False
        if not jit:
            return eager
        if kind == "train" and self._accumulator is not None and self._accumulator.steps > 1:
            if "accumulate" not in self._jit_steps:  # its step count lives in Python
                self._jit_steps["accumulate"] = True
                warnings.warn("fit: accumulate_steps > 1 runs eagerly under jit (the "
                              "accumulator decides in Python when to step)",
                              graph.CompileWarning, stacklevel=4)
            return eager
        step = self._jit_steps.get(kind)
        if step is None:
            step = self._jit_steps[kind] = graph.compile(eager, strict=jit == "strict")
            step.__name__ = f"{type(self).__name__}.{kind}_step"
        return step

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
        argument order); for several outputs the weighted sum of each output's loss (each
        output's own loss goes to the logs as ``<output name>_loss``)."""
        tracked = self._compiled_metrics is not None and self._compiled_metrics.output_count
        if not tracked or tracked < 2 or not isinstance(y_pred, (list, tuple)):
            return self._compiled.compute(y, y_pred)
        parts = []
        total = self._compiled.compute(y, y_pred, parts)
        self._compiled_metrics.update_losses(parts, int(y_pred[0].shape[0]))
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
        self._compiled_metrics.update(y, y_pred)

    def reset_metrics(self):
        """Reset every compiled metric's running state."""
        self._compiled_metrics.reset()

    def _metric_results(self):
        return self._compiled_metrics.results()

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
                Callbacks' own state (``Callback.state_dict``: EarlyStopping's patience,
                ReduceLROnPlateau's counters, the schedules', ModelCheckpoint's best,
                CSVLogger's rows, the History) is in the checkpoint too and comes back
                after ``on_train_begin``. A run that had finished its epochs, or that a
                callback stopped (EarlyStopping), trains no further.
            seed: seeds ``somanet.manual_seed`` (dropout, initialisation) and the shuffling,
                for a reproducible run.

        Returns:
            A ``History``: ``history.history`` maps ``"loss"``, each metric, ``"val_..."``
            and ``"lr"`` to one value per epoch; ``history.epoch`` lists the epochs.

        Raises:
            RuntimeError: the model is not compiled.
            FloatingPointError: the loss became nan or inf (unless a callback such as
                ``TerminateOnNaN`` stopped training).
            ValueError, FileNotFoundError: with ``resume=True``, a damaged checkpoint,
                naming the file (nothing has changed then).

        Warns:
            ScheduleNotSteppedWarning: a schedule built on the optimiser is not given as
                a ``LearningRateScheduler`` callback, so nothing steps it.
            DoubleSoftmaxWarning: the loss takes logits but the model already ends in a
                softmax (once per compile).
            ValueError, TypeError: bad data (different lengths, labels out of range, shapes
                the model cannot take...), with what was received and expected.
        """
        self._require_compiled("fit")
        epochs = check_int("fit", "epochs", epochs, minimum=1)
        initial_epoch = check_int("fit", "initial_epoch", initial_epoch, minimum=0)
        accumulate_steps = check_int("fit", "accumulate_steps", accumulate_steps, minimum=1)
        if checkpoint_every is not None:
            checkpoint_every = check_int("fit", "checkpoint_every", checkpoint_every, minimum=1)
        verbose = _check_verbose("fit", verbose)
        if (resume or checkpoint_every) and checkpoint_dir is None:
            raise ValueError("fit: resume=True and checkpoint_every need checkpoint_dir=, the "
                             "folder the checkpoints are written to")
        if validation_split and validation_data is not None:
            raise ValueError("fit: give validation_split or validation_data, not both")
        folder = None
        if checkpoint_dir is not None:
            folder = check_writable(checkpoint_dir, who="fit", what="checkpoints",
                                    hint="choose a folder you can write to (checkpoint_dir=...)")
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
        resumed = None
        if resume and is_checkpoint(folder):
            resumed = checkpointing.restore(folder, self, self.optimizer, loader,
                                            self._compiled_metrics.objects,
                                            chief=self._is_chief())
            progress = resumed.progress
        else:
            loader.set_epoch(initial_epoch)
        self._accumulator = GradientAccumulator(self.optimizer, accumulate_steps,
                                                self._compiled.is_mean(), loader.batch_size)
        run = _Run(train_feed, val_feed, progress, self._accumulator, folder)
        extra = [FitCheckpoint(folder, run, every=checkpoint_every)] if folder else []
        callback_list, history = self._callbacks(callbacks, verbose, epochs, len(loader),
                                                 with_history=True, extra=extra)
        run.callbacks = callback_list
        self._warn_unstepped_schedules(callback_list)
        self.history = history
        self.stop_training = False
        self.optimizer.zero_grad()

        self._fit_run = run  # ModelCheckpoint(save_weights_only=False) saves through it
        try:
            callback_list.on_train_begin({})
            if resumed is not None:
                resumed.restore_callbacks(callback_list, chief=self._is_chief())
            self._fit_epochs(run, epochs, history)
        except KeyboardInterrupt as interrupt:
            note = (f"fit was interrupted at epoch {progress.epoch + 1}, batch "
                    f"{progress.batch}")
            if folder is not None and is_checkpoint(folder):
                note += (f"; the last checkpoint in {folder!r} is intact: call fit(..., "
                         f"checkpoint_dir={folder!r}, resume=True) to continue")
            interrupt.add_note(note)
            raise
        finally:
            self.eval()
            self._accumulator = None
            self._fit_run = None
        callback_list.on_train_end(dict(run.last_logs))
        return history

    def _warn_unstepped_schedules(self, callback_list):
        """Warn about each schedule built on the optimiser that no callback steps."""
        held = {id(getattr(callback, "schedule", None)) for callback in callback_list}
        optimizers_here = [self.optimizer, getattr(self.optimizer, "optimizer", None)]
        for optimizer in optimizers_here:
            if optimizer is None:
                continue
            for schedule in attached_to(optimizer):
                if id(schedule) in held:
                    continue
                name = type(schedule).__name__
                if isinstance(schedule, _PlateauSchedule):
                    fix = ("use the callback instead: callbacks=[sn.train.ReduceLROnPlateau("
                           "monitor='val_loss', ...)]")
                else:
                    fix = "pass it as callbacks=[sn.train.LearningRateScheduler(schedule)]"
                warnings.warn(f"fit: the {name} built on this model's optimizer is not "
                              f"stepped by fit (fit never calls schedule.step()), so the "
                              f"learning rate stays {self._learning_rate():g}; to have fit "
                              f"follow it, {fix}", ScheduleNotSteppedWarning, stacklevel=3)

    def _fit_epochs(self, run, epochs, history):
        progress = run.progress
        losses = history.history.get("loss") if hasattr(history, "history") else None
        previous = losses[-1] if losses else None
        warned = False
        while progress.epoch < epochs and not progress.stopped:
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
            progress.start_epoch(epoch + 1)  # what an end-of-epoch checkpoint resumes from
            if not completed:  # stopped part-way: like Keras, the epoch counts as done
                run.train_feed.loader.set_epoch(epoch + 1)
            run.callbacks.on_epoch_end(epoch, logs)
            progress.stopped = bool(self.stop_training)  # a stopped run stays stopped
            run.write_pending(self)
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
            if self.stop_training:
                break

    def _train_epoch(self, run):
        """Train on the epoch's remaining batches. Returns True when the epoch was completed
        (False when training was stopped part-way)."""
        progress, callbacks = run.progress, run.callbacks
        feed = run.train_feed
        num_inputs = feed.num_inputs
        steps = len(feed.loader)
        for batch in feed.loader:
            index = progress.batch
            callbacks.on_train_batch_begin(index, {})
            x, y = data_adapter.unpack(batch, num_inputs)
            if y is None:
                raise ValueError("fit: the batches hold no targets; the dataset must yield "
                                 "(x, y)")
            value = float(self._step("train")(x, y))
            size = data_adapter.batch_size_of(x)
            progress.loss_sum += value * size
            progress.seen += size
            progress.batch += 1
            progress.step += 1
            logs = {"loss": progress.loss_sum / progress.seen}
            if self._compiled_metrics.objects:
                logs.update(self._metric_results())
            callbacks.on_train_batch_end(index, logs)
            run.write_pending(self)
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
            if distributed.world_size() > 1:  # every rank stops at the same batch
                self.stop_training = distributed.all_agree(self.stop_training)
            if self.stop_training:
                return False
        return True

    # The places a data-parallel run (somanet.distributed) hooks into: _prepare_training
    # (broadcast the parameters, shard the loader's sampler, wrap the optimiser to all-reduce
    # gradients), _reduced_logs (sum the loss and metric states over the processes), and
    # _is_chief (progress on one process; callbacks that write files, fit's checkpoint
    # among them, are chief_only: see CallbackList).

    def _prepare_training(self, feed, val_feed=None):
        """Build the model on one sample of the data (surfacing shape errors before
        training), create the optimiser and metrics, and check the targets. Under MPI
        (``mpiexec -n N``): every rank gets rank 0's weights, an optimiser that averages
        the gradients over the ranks, and its own share of every epoch (the batch size
        stays the global batch); validation data is split exactly between the ranks."""
        x, y = data_adapter.sample_batch(feed)
        outputs = self._dry_run(x)
        self._build_outputs(outputs, y)
        self._ensure_optimizer()
        self._compiled.check_probabilities(outputs)
        self._compiled.check_double_softmax(outputs)
        labels = feed.arrays[1][0] if feed.arrays is not None and feed.arrays[1] else None
        self._compiled.check_labels(labels, outputs)
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
            distributed.reduce_metrics(self._compiled_metrics.objects)
        return {"loss": loss_sum / seen if seen else float("nan"), **self._metric_results()}

    def _is_chief(self):
        """Whether this process writes files and shows progress (rank 0 under MPI)."""
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
        self._build_outputs(self._dry_run(sample_x), sample_y)
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
        values = [logs["loss"]] + [logs[name] for name in self._compiled_metrics.names]
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
                loss_sum += float(self._step("test")(x, y)) * size
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
                out = self._step("predict")(inputs)
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

    def _build_outputs(self, outputs, y):
        """Check the losses and targets against the model's ``outputs`` (for a sample
        batch) and make the metrics of each output."""
        count = len(outputs) if isinstance(outputs, (list, tuple)) else 1
        self._compiled.check_output_count(count, y)
        self._compiled_metrics.build_for(count, self._output_names_for(count))

    def _ensure_optimizer(self):
        spec = self._compiled.optimizer
        if self.optimizer is None or not self.optimizer.built:
            self.optimizer = optimizers.get(spec, self.parameters(), self._compiled.learning_rate)
            return
        mine = {id(param) for param in self.parameters()}
        if not any(id(param) in mine for param in self.optimizer.parameters()):
            raise ValueError(f"compile: the {type(self.optimizer).__name__} holds none of this "
                             f"model's parameters (one bound to another model at its compile "
                             f"or fit?); make one optimizer per model: create it from "
                             f"model.parameters() (after the model is built), without "
                             f"parameters (sn.optim.Adam(lr=...)), or pass its name or class "
                             f"(optimizer='adam' or sn.optim.Adam)")

    def _learning_rate(self):
        return float(self.optimizer.param_groups[0]["lr"])

    def _callbacks(self, callbacks, verbose, epochs, steps, with_history, extra=()):
        """The CallbackList of one fit / evaluate / predict call (the user's callbacks, then
        ``extra``), and its History."""
        params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        callback_list = CallbackList(callbacks, model=self, add_history=with_history,
                                     add_progbar=verbose != 0, params=params,
                                     chief=self._is_chief())
        for callback in extra:
            callback_list.append(callback)
        return callback_list, callback_list.history if with_history else None



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
        last = self.pending + 1 == self.steps
        no_sync = getattr(self.optimizer, "no_sync", None)  # a DistributedOptimizer's
        with (no_sync() if no_sync is not None and not last else contextlib.nullcontext()):
            loss.backward()  # only the group's last backward starts the all-reduces
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
    """What one fit call works with: the data, where training is, the gradient
    accumulator, the checkpoint folder (or ``None``), the callbacks, the last logs, and
    the checkpoints callbacks asked for during the hook being run."""

    def __init__(self, train_feed, val_feed, progress, accumulator, folder):
        self.train_feed = train_feed
        self.val_feed = val_feed
        self.progress = progress
        self.accumulator = accumulator
        self.folder = folder
        self.callbacks = None
        self.last_logs = {}
        self._pending = []

    def save_later(self, folder):
        """Ask for the run's checkpoint in ``folder``, written once every callback has
        run the current hook (``on_train_batch_end`` / ``on_epoch_end``), so that it
        holds what each of them did (with ``accumulate_steps``, once the group's update
        is done: accumulated gradients are not part of a checkpoint)."""
        if folder not in self._pending:
            self._pending.append(folder)

    def write_pending(self, model):
        if self.accumulator.pending:  # gradients wait for their update: not resumable yet
            return  # (kept for the first batch after the update, as FitCheckpoint does)
        pending, self._pending = self._pending, []
        for folder in pending:
            if folder == self.folder:
                self.progress.last_saved_step = self.progress.step
            checkpointing.save(folder, model, self)


def _check_verbose(who, verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"{who}: verbose must be 0 (silent), 1 (progress bar), 2 (one line "
                         f"per epoch) or 'auto', got {verbose!r}")
    return int(verbose)
