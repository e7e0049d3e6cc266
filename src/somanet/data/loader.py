"""``DataLoader``: mini-batches from a dataset, shuffled every epoch, prefetched in the
background, and resumable mid-epoch.

The pipeline is dataset -> sampler -> collate, as in PyTorch:

- the **sampler** gives the epoch's order of example indices (``SequentialSampler``,
  ``RandomSampler(seed)`` reshuffling from ``(seed, epoch)``, or any other sampler,
  such as one that shards the data across processes);
- the loader cuts that order into batches of ``batch_size`` indices;
- **collate** turns the batch's examples into Tensors. A dataset with
  ``__getitems__`` (``TensorDataset``, ``MemmapDataset``, ``Subset``) gathers a whole
  batch per field with one fancy-indexing call, instead of stacking examples.

A background thread builds the next ``prefetch`` batches while the current one
computes, so loading overlaps compute (reading a memmap from disk, per-example
Python datasets, copies to a GPU). An in-memory ``TensorDataset`` whose arrays are
already where the batches go needs no thread: its gather takes microseconds, less
than handing a batch between threads, so the loader gathers it when asked.

The loader's ``state_dict()`` holds the epoch, the position (batches already
handed out) and the epoch's order, so a checkpoint taken mid-epoch resumes at the
next batch.

    >>> import numpy as np, somanet as sn
    >>> from somanet.data import DataLoader, TensorDataset
    >>> data = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> loader = DataLoader(data, batch_size=2, shuffle=True, seed=0)
    >>> [tuple(x.shape) for x, y in loader]
    [(2, 2), (2, 2), (1, 2)]
"""
import queue
import threading

import numpy

from .._checks import check_non_negative_int, check_positive_int
from ..backend import CPU, device as as_device, infer_dtype, to_device
from ..tensor import Tensor
from .dataset import stack_examples
from .sampler import RandomSampler, Sampler, SequentialSampler

_THREAD_NAME = "somanet-DataLoader-prefetch"
_POLL_SECONDS = 0.05  # how often a blocked prefetch thread checks whether it should stop


def _as_tensor(array, device=None):
    """A batched array as a Tensor by the dtype policy (float64 -> the default float,
    integers stay integers), without copying an array that is already right."""
    if isinstance(array, Tensor):
        array = array.data
    elif not hasattr(array, "dtype") or not hasattr(array, "shape"):
        array = CPU.xp.asarray(array)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"DataLoader: cannot make a tensor from a batch of dtype {array.dtype}; "
                        f"datasets must return numbers (bool, int or float arrays)")
    dtype = infer_dtype(array.dtype)
    if array.dtype != dtype:
        array = array.astype(dtype)
    if isinstance(array, CPU.array_type) and type(array) is not CPU.array_type:
        array = CPU.xp.asarray(array)  # a numpy.memmap view: the Tensor holds a plain array
    if device is not None:
        array = to_device(array, device)
    tensor = Tensor.__new__(Tensor)  # the array is fresh: no need for Tensor()'s copy
    tensor.data = array
    return tensor


def default_collate(examples, device=None):
    """Stack a list of examples into a batch of Tensors.

    Each example is a tuple of arrays/numbers (a batch is then a tuple of
    Tensors, field by field), a dict (a batch is a dict of Tensors), or a single
    array/number (a batch is one Tensor).
    """
    return _collate_batched(stack_examples(examples), device)


def _collate_batched(fields, device):
    """What ``dataset.__getitems__`` returned (a tuple of batched arrays) as Tensors."""
    if isinstance(fields, tuple):
        return tuple(_as_tensor(field, device) for field in fields)
    if isinstance(fields, dict):
        return {key: _as_tensor(field, device) for key, field in fields.items()}
    return _as_tensor(fields, device)


class DataLoader:
    """Iterate a dataset in mini-batches of Tensors.

    Args:
        dataset: a ``Dataset`` (``len`` and ``[i]``; ``__getitems__`` makes it fast).
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: visit the examples in a new random order every epoch
            (a ``RandomSampler(dataset, seed)``).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        seed: the shuffling seed; ``None`` draws one from the global CPU
            generator at construction (reproducible after ``somanet.manual_seed``).
        sampler: a ``Sampler`` giving each epoch's order (instead of ``shuffle``).
        collate_fn: turns a list of examples into a batch (default
            ``default_collate``); used only for datasets without ``__getitems__``.
        prefetch: how many batches a background thread prepares ahead (0: no thread,
            batches are built when asked for). A dataset whose ``in_memory`` is True
            (an in-memory ``TensorDataset`` or a ``Subset`` of one) with no device
            copy to make is gathered without a thread either: it has no loading
            to overlap.
        device: where batches go (``"gpu:0"``); the copy happens in the background
            thread. ``None`` leaves them where the dataset's arrays are.

    Each ``iter(loader)`` walks one epoch, ``loader.epoch``; finishing it moves to
    the next epoch, so ``for epoch in range(n): for x, y in loader: ...`` sees a
    new order each time. An iteration abandoned early (``break``,
    ``next(iter(loader))``) leaves the epoch counter alone.

    Shape:
        a batch from ``TensorDataset(x, y)``: ``(x[idx], y[idx])`` with
        ``idx`` the ``batch_size`` indices of the batch, ``x[idx]`` of shape
        ``(batch_size, *x.shape[1:])``.

        >>> import numpy as np
        >>> from somanet.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(np.arange(6)), batch_size=4, drop_last=True)
        >>> [batch[0].tolist() for batch in loader]
        [[0, 1, 2, 3]]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 sampler=None, collate_fn=None, prefetch=2, device=None):
        batch_size = check_positive_int("DataLoader", "batch_size", batch_size,
                                        what="a positive int")
        prefetch = check_non_negative_int("DataLoader", "prefetch", prefetch,
                                          what="a non-negative int")
        try:
            size = len(dataset)
        except TypeError:
            raise TypeError(f"DataLoader needs a dataset with len() and [i], got "
                            f"{type(dataset).__name__}") from None
        if size == 0:
            raise ValueError("DataLoader: the dataset is empty (0 examples); there is "
                             "nothing to iterate")
        if sampler is not None:
            if shuffle:
                raise ValueError("DataLoader: give either shuffle=True or a sampler, not both "
                                 "(the sampler decides the order)")
            if not isinstance(sampler, Sampler):
                raise TypeError(f"DataLoader: sampler must be a somanet.data.Sampler, got "
                                f"{type(sampler).__name__}")
        elif shuffle:
            sampler = RandomSampler(size, seed=seed)
        else:
            sampler = SequentialSampler(size)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.collate_fn = collate_fn
        self.prefetch = int(prefetch)
        self.device = None if device is None else as_device(device)
        self.epoch = 0
        self._position = 0  # batches handed out in the current epoch
        self._order = None  # the current epoch's indices (None until an iteration starts)
        self._resume = False  # True after load_state_dict: the next iter() continues there

    # -- sizes ------------------------------------------------------------------------------

    def __len__(self):
        """The number of batches in an epoch."""
        count = len(self.sampler)
        if self.drop_last:
            return count // self.batch_size
        return -(-count // self.batch_size)

    @property
    def position(self):
        """How many batches of the current epoch have been handed out."""
        return self._position

    # -- iteration --------------------------------------------------------------------------

    def __iter__(self):
        if self._resume:
            self._resume = False
            order, start = self._order, self._position
        else:
            order, start = self._epoch_order(self.epoch), 0
            self._order, self._position = order, 0
        return _LoaderIterator(self, self.epoch, order, start)

    def set_epoch(self, epoch):
        """Make the next ``iter(loader)`` walk epoch ``epoch`` from its start."""
        self.epoch = check_non_negative_int("DataLoader.set_epoch", "epoch", epoch,
                                            what="a non-negative int")
        self._position, self._order, self._resume = 0, None, False

    def _epoch_order(self, epoch):
        order = CPU.xp.asarray(self.sampler.indices(epoch), dtype=numpy.int64)
        if order.ndim != 1 or order.size != len(self.sampler):
            raise ValueError(f"{type(self.sampler).__name__}.indices({epoch}) must return "
                             f"{len(self.sampler)} indices in a 1-D array, got shape "
                             f"{order.shape}")
        return order

    def _batch_slices(self, order, start):
        """The index arrays of batches ``start, start+1, ...`` of an epoch with ``order``."""
        count = order.size // self.batch_size if self.drop_last else \
            -(-order.size // self.batch_size)
        for number in range(start, count):
            yield order[number * self.batch_size:(number + 1) * self.batch_size]

    def _uses_thread(self):
        """Whether iterating builds batches in a background thread (see ``prefetch``)."""
        if self.prefetch == 0:
            return False
        if self.collate_fn is not None or not getattr(self.dataset, "in_memory", False):
            return True
        return self.device is not None and self.device is not self.dataset.device

    def _make_batch(self, indices):
        dataset = self.dataset
        if self.collate_fn is None and hasattr(dataset, "__getitems__"):
            return _collate_batched(dataset.__getitems__(indices), self.device)
        examples = [dataset[int(index)] for index in indices]
        if self.collate_fn is None:
            return default_collate(examples, self.device)
        return self.collate_fn(examples)

    # -- resuming ---------------------------------------------------------------------------

    def state_dict(self):
        """Where the loader is: epoch, position, the epoch's order and the sampler's settings.

        Everything is JSON-able except ``"order"``, an int64 array (``None`` before
        the first iteration). ``position`` counts the batches handed to the caller
        (not the ones prefetched); ``position == len(loader)`` means the epoch's
        batches are all out and the next ``iter()`` only finishes the epoch.
        """
        return {
            "epoch": self.epoch,
            "position": self._position,
            "batch_size": self.batch_size,
            "drop_last": self.drop_last,
            "num_samples": len(self.sampler),
            "sampler": self.sampler.state_dict(),
            "order": None if self._order is None else self._order.copy(),
        }

    def load_state_dict(self, state):
        """Restore ``state_dict()``: the next ``iter(loader)`` continues that epoch at
        that position, with the saved order. Checks everything before changing anything."""
        order = self._check_state(state)
        self.sampler.load_state_dict(state["sampler"])
        self.epoch = int(state["epoch"])
        self._position = int(state["position"])
        if order is None:
            self._order, self._resume = None, False
        else:
            self._order = CPU.xp.array(order, dtype=numpy.int64)
            self._resume = True

    def _check_state(self, state):
        """Raise ValueError naming the problem unless ``state`` fits this loader; return
        the order to resume the epoch with (``Sampler.resume_order``)."""
        where = "DataLoader.load_state_dict"
        if not isinstance(state, dict):
            raise ValueError(f"{where} expects the dict from DataLoader.state_dict(), got "
                             f"{type(state).__name__}")
        missing = [key for key in ("epoch", "position", "batch_size", "num_samples", "sampler",
                                   "order") if key not in state]
        if missing:
            raise ValueError(f"{where}: the state lacks {missing}")
        for key in ("epoch", "position"):
            check_non_negative_int(where, key, state[key], what="a non-negative int")
        # The sampler first: it names the deeper cause (another sampler, another number of
        # processes) of what the loader would only see as a different epoch length.
        self.sampler.check_state(state["sampler"])
        if state["num_samples"] != len(self.sampler):
            raise ValueError(f"{where}: the state was saved for {state['num_samples']} "
                             f"examples per epoch, this loader has {len(self.sampler)}; "
                             f"was the dataset changed?")
        if state["batch_size"] != self.batch_size or \
                bool(state.get("drop_last", self.drop_last)) != self.drop_last:
            raise ValueError(f"{where}: the state was saved with batch_size="
                             f"{state['batch_size']}, drop_last={state.get('drop_last')}; "
                             f"this loader has batch_size={self.batch_size}, "
                             f"drop_last={self.drop_last}. Create the loader with the same "
                             f"settings to resume mid-epoch")
        if state["position"] > len(self):
            raise ValueError(f"{where}: position {state['position']} is past the epoch's "
                             f"{len(self)} batches")
        order = self.sampler.resume_order(state["sampler"], int(state["epoch"]), state["order"])
        if order is not None:
            order = CPU.xp.asarray(order)
            if order.ndim != 1 or order.size != len(self.sampler) or \
                    order.dtype.kind not in "iu":
                raise ValueError(f"{where}: the saved order must be {len(self.sampler)} "
                                 f"integer indices, got shape {order.shape}, dtype "
                                 f"{order.dtype}")
            size = len(self.dataset)
            if order.size and (int(order.min()) < 0 or int(order.max()) >= size):
                raise ValueError(f"{where}: the saved order holds indices outside "
                                 f"[0, {size}); was the dataset changed?")
        return order

    def __repr__(self):
        return (f"DataLoader({len(self)} batches of {self.batch_size}, "
                f"sampler={type(self.sampler).__name__}, epoch={self.epoch})")


class _LoaderIterator:
    """One pass over an epoch. With prefetching, a daemon thread fills a small queue;
    abandoning the iterator (or ``close()``) stops the thread."""

    def __init__(self, loader, epoch, order, start):
        self._loader = loader
        self._epoch = epoch
        self._position = start
        self._done = False
        slices = loader._batch_slices(order, start)
        if not loader._uses_thread():
            self._batches = (loader._make_batch(indices) for indices in slices)
            self._queue = self._thread = None
        else:
            self._batches = None
            self._queue = queue.Queue(maxsize=loader.prefetch)
            self._stop = threading.Event()
            # The thread holds the loader's batch maker and the queue, never this
            # iterator, so dropping the iterator lets it be collected (and closed).
            self._thread = threading.Thread(
                target=_prefetch, args=(loader._make_batch, slices, self._queue, self._stop),
                name=_THREAD_NAME, daemon=True)
            self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        if self._queue is None:
            try:
                batch = next(self._batches)
            except StopIteration:
                self._finish()
                raise
        else:
            kind, batch = self._queue.get()
            if kind == "end":
                self._finish()
                raise StopIteration
            if kind == "error":
                self.close()
                raise batch  # the worker's exception, with its traceback
        self._position += 1
        loader = self._loader
        if loader.epoch == self._epoch and not loader._resume:
            loader._position = self._position
        return batch

    def _finish(self):
        self._done = True
        loader = self._loader
        if loader.epoch == self._epoch and not loader._resume:
            loader.epoch = self._epoch + 1
            loader._position, loader._order = 0, None
        self.close()

    def close(self):
        """Stop the prefetch thread (called on exhaustion, on error and on deletion)."""
        self._done = True
        if self._thread is not None:
            self._stop.set()
            try:  # free a slot so a worker blocked on put() sees the stop flag at once
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            if self._thread is not threading.current_thread():
                self._thread.join(timeout=5 * _POLL_SECONDS + 1.0)
            self._thread = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to clean
            pass


def _prefetch(make_batch, slices, out, stop):
    """The background thread: build batches and queue them until done or told to stop."""
    def put(item):
        while not stop.is_set():
            try:
                out.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    try:
        for indices in slices:
            if stop.is_set():
                return
            if not put(("batch", make_batch(indices))):
                return
    except BaseException as error:  # re-raised in the main thread by __next__
        put(("error", error))
        return
    put(("end", None))
