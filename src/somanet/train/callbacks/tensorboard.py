"""``TensorBoard``: the run's logs as TensorBoard event files (no TensorFlow needed)."""
import os
import warnings

from ...backend import (get_device_rng_states, get_rng_state, set_device_rng_states,
                        set_rng_state, to_numpy)
from ...io import events
from .base import Callback

UPDATE_FREQS = ("epoch", "batch")


class TensorBoard(Callback):
    """Write the logs of ``fit`` as TensorBoard event files, as Keras's callback lays them
    out: ``tensorboard --logdir LOG_DIR`` then shows them.

    ``log_dir/train`` gets

    - ``epoch_loss``, ``epoch_<metric>`` and ``epoch_learning_rate`` at the end of every
      epoch (step: the epoch, counted from 0, as Keras);
    - with ``update_freq="batch"`` (or N), ``batch_loss`` and ``batch_<metric>`` (the
      epoch's running values, as the progress bar shows them) after every (N-th) batch,
      step = the number of batches trained since the run began;
    - every ``histogram_freq`` epochs a histogram of each parameter, tagged by its path in
      the model with ``/`` for ``.`` (``1/weight``; Keras's default is 0, no histograms);
    - with ``write_graph``, the model's graph, traced once by ``somanet.graph.trace`` on
      one sample of the training data in evaluation mode (the Graphs tab: one node per op,
      the parameters as inputs, output shapes on the edges). A model the graph layer
      cannot trace is warned about, and trains without a graph.

    ``log_dir/validation`` gets ``epoch_loss`` and ``epoch_<metric>`` of the validation
    data (``val_loss`` ... in the logs), so TensorBoard draws training and validation in
    one chart.

    Each ``fit`` call starts new event files (TensorBoard reads them all). A run resumed
    from a checkpoint (``fit(..., resume=True)``) continues the step count and begins
    with a ``SessionLog.START`` at its step, by which TensorBoard's loader (its
    ``EventAccumulator``, which purges orphaned data) drops the batch values the killed
    run had written after its checkpoint. Files are written by the chief only
    under MPI. The format is written by ``somanet.io.events`` (TFRecord framing with
    masked CRC-32C, protocol buffers encoded by hand); ``somanet.io.events.read_events``
    reads it back.

    Args:
        log_dir: the folder of the logs (created if needed).
        histogram_freq: weight histograms every this many epochs (0: none).
        write_graph: write the model's graph at the start of training.
        update_freq: ``"epoch"`` (scalars at the end of each epoch only), ``"batch"``
            (also after every batch) or an int N (also after every N-th batch).

        >>> import numpy as np, os, tempfile, somanet as sn
        >>> from somanet import nn
        >>> from somanet.train.callbacks import TensorBoard
        >>> model = sn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(2)])
        >>> model.compile(optimizer="adam", metrics=["accuracy"],
        ...               loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True))
        >>> x, y = np.ones((8, 3), "float32"), np.arange(8) % 2
        >>> logs = tempfile.mkdtemp()
        >>> _ = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25,
        ...               callbacks=[TensorBoard(logs)])
        >>> sorted(sn.io.events.read_scalars(os.path.join(logs, "validation")))
        ['epoch_accuracy', 'epoch_loss']
    """

    chief_only = True

    def __init__(self, log_dir="logs", histogram_freq=1, write_graph=True,
                 update_freq="epoch"):
        super().__init__()
        try:
            self.log_dir = os.fspath(log_dir)
        except TypeError:
            raise TypeError(f"TensorBoard: log_dir must be a folder path, got "
                            f"{type(log_dir).__name__}") from None
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) \
                or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0 (0: no "
                             f"histograms), got {histogram_freq!r}")
        if update_freq not in UPDATE_FREQS and (
                isinstance(update_freq, bool) or not isinstance(update_freq, int)
                or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or an int "
                             f">= 1 (every N batches), got {update_freq!r}")
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.step = 0  # batches trained since the run began
        self._writers = {}

    # -- the writers ----------------------------------------------------------------------

    def _writer(self, name):
        if name not in self._writers:
            self._writers[name] = events.EventFileWriter(os.path.join(self.log_dir, name))
        return self._writers[name]

    def _close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # -- the hooks ------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._close()
        run = getattr(self.model, "_fit_run", None)  # where fit is (after a resume, too)
        progress = getattr(run, "progress", None)
        self.step = int(getattr(progress, "step", 0) or 0)
        train = self._writer("train")
        if self.step:
            for name in ("train", "validation"):
                self._writer(name).add_session_start(self.step + 1)
        if self.write_graph:
            graph_def = self._graph_def(run)
            if graph_def is not None:
                train.add_graph_def(graph_def)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.update_freq == "epoch" or self.step % self.update_freq:
            return
        values = _numbers(logs)
        self._writer("train").add_scalars({"batch_" + key: value for key, value in
                                           values.items()}, self.step)

    def on_epoch_end(self, epoch, logs=None):
        values = _numbers(logs)
        train = {("epoch_learning_rate" if key == "lr" else "epoch_" + key): value
                 for key, value in values.items() if not key.startswith("val_")}
        validation = {"epoch_" + key[4:]: value for key, value in values.items()
                      if key.startswith("val_")}
        self._writer("train").add_scalars(train, epoch)
        if validation:
            self._writer("validation").add_scalars(validation, epoch)
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0 \
                and self.model is not None:
            self._writer("train").add_histograms(
                {name.replace(".", "/"): to_numpy(param.data)
                 for name, param in self.model.named_parameters()}, epoch)

    def on_train_end(self, logs=None):
        self._close()

    # -- the graph ------------------------------------------------------------------------

    def _graph_def(self, run):
        """The model traced on one training sample, as a GraphDef; ``None`` (with a
        warning) when it cannot be traced."""
        from ...graph import trace
        from .. import data_adapter
        feed = getattr(run, "train_feed", None)
        if feed is None:
            return None
        training = getattr(self.model, "training", True)
        # the trace must not change the run's random numbers
        state, device_states = get_rng_state(), get_device_rng_states()
        try:
            x, _ = data_adapter.sample_batch(feed)
            inputs = x if isinstance(x, (list, tuple)) else [x]
            self.model.eval()
            graph = trace(self.model, *inputs, name=type(self.model).__name__)
            return graph_def(graph)
        except Exception as error:  # the graph layer cannot hold every Python model
            warnings.warn(f"TensorBoard: the model's graph is not written: tracing it "
                          f"failed ({type(error).__name__}: {error}); pass write_graph=False "
                          f"to skip it", RuntimeWarning, stacklevel=2)
            return None
        finally:
            set_rng_state(state)
            set_device_rng_states(device_states)
            self.model.train(training)


def _numbers(logs):
    """The plain numbers of ``logs``."""
    values = {}
    for key, value in (logs or {}).items():
        if hasattr(value, "item") and getattr(value, "size", 0) == 1:
            value = value.item()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values[key] = float(value)
    return values


def _tf_name(name):
    return str(name).replace(".", "/")


def _shape(shape):
    """A ``TensorShapeProto`` (``None`` dimensions are -1, unknown)."""
    if shape is None:
        return events.field_varint(3, 1)  # unknown_rank
    return b"".join(events.field_bytes(2, events.field_varint(1, -1 if size is None else size))
                    for size in shape)


def graph_def(graph):
    """A ``somanet.graph.Graph`` as an encoded TensorFlow ``GraphDef``: a ``NodeDef`` per
    node (its name with ``/`` for ``.``, its op or kind as the op, its inputs as
    ``name:index``), the output shapes as the ``_output_shapes`` attribute and the op's
    attributes as strings."""
    nodes = []
    for node in graph.nodes:
        data = events.field_bytes(1, _tf_name(node.name)) + events.field_bytes(2, node.what)
        for tensor in node.inputs:
            index = next(i for i, out in enumerate(tensor.node.outputs) if out is tensor)
            source = _tf_name(tensor.node.name)
            data += events.field_bytes(3, source if index == 0 else f"{source}:{index}")
        attributes = [("_output_shapes", events.field_bytes(1, b"".join(
            events.field_bytes(7, _shape(getattr(out, "static_shape", None)))
            for out in node.outputs)))]
        attributes += [(key, events.field_bytes(2, repr(value)[:200]))
                       for key, value in node.params.items() if key != "outer"]
        for key, value in attributes:
            data += events.field_bytes(5, events.field_bytes(1, key) + events.field_bytes(2, value))
        nodes.append(events.field_bytes(1, data))
    return b"".join(nodes) + events.field_bytes(4, events.field_varint(1, 22))
