"""Datasets: indexable collections of examples, each example a tuple of arrays.

A ``Dataset`` answers ``len(dataset)`` and ``dataset[i]`` (one example). Datasets
that can fetch many examples at once also answer ``dataset.__getitems__(indices)``
with whole batches (one array per field), which the ``DataLoader`` prefers: one
fancy-indexing gather per field instead of stacking ``batch_size`` rows.

    >>> import numpy as np
    >>> from somanet.data import TensorDataset
    >>> data = TensorDataset(np.zeros((6, 2), "float32"), np.arange(6))
    >>> len(data), int(data[2][1])
    (6, 2)
"""
import math
import os

import numpy

from .._checks import check_positive_int, is_int
from ..backend import CPU, device_of, fresh_generator, generator, to_numpy
from ..tensor import Tensor


class Dataset:
    """Base class of datasets: subclasses define ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one example, usually a tuple ``(x, y)`` of arrays
    or numbers. A subclass may also define ``__getitems__(indices)`` returning the
    batch as fresh arrays (a tuple with one per field), for speed, and
    ``in_memory = True`` when that gather is too cheap to be worth a prefetch thread.
    """

    in_memory = False

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


def _as_field(value, position):
    """A dataset field as an array: a Tensor gives its array, anything else its NumPy array."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "__getitem__"):
        return value  # NumPy/CuPy arrays and numpy.memmap, kept as they are (no copy)
    try:
        array = CPU.xp.asarray(value)
    except ValueError as error:
        raise ValueError(f"TensorDataset: field {position} is not an array: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"TensorDataset: field {position} has dtype {array.dtype}; expected "
                        f"numbers (bool, int or float)")
    return array


class TensorDataset(Dataset):
    """Examples given as arrays of equal length: example ``i`` is ``(a[i], b[i], ...)``.

    Args:
        *arrays: NumPy/CuPy arrays, ``numpy.memmap`` s, Tensors or nested lists,
            all with the same length (first axis). Arrays are kept, not copied.
        num_classes: if given, the last array holds integer class labels, each
            checked to lie in ``[0, num_classes)``.

    Shape:
        arrays: ``(N, ...)`` each; ``dataset[i]`` gives ``(a[i], b[i], ...)``.

        >>> import numpy as np
        >>> data = TensorDataset(np.ones((4, 3)), np.array([0, 1, 1, 0]), num_classes=2)
        >>> x, y = data.__getitems__(np.array([0, 3]))
        >>> x.shape, y.tolist()
        ((2, 3), [0, 0])
    """

    def __init__(self, *arrays, num_classes=None):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array, e.g. "
                             "TensorDataset(x, y)")
        arrays = tuple(_as_field(array, position) for position, array in enumerate(arrays))
        for position, array in enumerate(arrays):
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: field {position} is a scalar (shape ()); each "
                                 f"field needs a first axis that indexes the examples")
        lengths = [int(array.shape[0]) for array in arrays]
        if len(set(lengths)) > 1:
            shapes = ", ".join(str(tuple(array.shape)) for array in arrays)
            raise ValueError(f"TensorDataset: the arrays have different lengths {lengths} "
                             f"(shapes {shapes}); every array needs one row per example, "
                             f"e.g. x of shape (N, ...) and y of shape (N,)")
        if lengths[0] == 0:
            raise ValueError("TensorDataset: the dataset is empty (0 examples); check that "
                             "the data was loaded")
        if num_classes is not None:
            check_labels(arrays[-1], num_classes)
        self.arrays = arrays
        self.num_classes = num_classes

    def __len__(self):
        return int(self.arrays[0].shape[0])

    @property
    def in_memory(self):
        """True when every array is a plain array in memory (not a memmap or other lazy
        array), all on one device: gathering a batch then takes microseconds."""
        devices = {device_of(array) for array in self.arrays}
        return len(devices) == 1 and None not in devices and all(
            type(array) is device.array_type for array in self.arrays for device in devices)

    @property
    def device(self):
        """The device of the arrays (``None`` when they are not all on one)."""
        devices = {device_of(array) for array in self.arrays}
        return devices.pop() if len(devices) == 1 else None

    def __getitem__(self, index):
        return tuple(array[index] for array in self.arrays)

    def __getitems__(self, indices):
        """The examples at ``indices`` (an int64 array), batched: one gather per field."""
        return tuple(_gather(array, indices) for array in self.arrays)

    def __repr__(self):
        shapes = ", ".join(f"{tuple(array.shape)} {array.dtype}" for array in self.arrays)
        return f"{type(self).__name__}({len(self)} examples: {shapes})"


def _gather(array, indices):
    """``array[indices]`` as a fresh array (``take`` is NumPy's fastest row gather)."""
    if type(array) is CPU.array_type or isinstance(array, CPU.array_type):
        return CPU.xp.take(array, indices, axis=0)
    return array[indices]  # CuPy (takes host indices) or any other array-like


def stack_examples(examples):
    """A list of examples as batched arrays: a tuple with one stacked array per field,
    a dict with one per key for dict examples, or one stacked array when the examples
    are single arrays or numbers."""
    if not examples:
        raise ValueError("stack_examples: the batch holds no examples")
    first = examples[0]
    if isinstance(first, dict):
        for example in examples:
            if not isinstance(example, dict) or example.keys() != first.keys():
                found = sorted(example) if isinstance(example, dict) else type(example).__name__
                raise ValueError(f"collate: examples must all have the keys {sorted(first)}, "
                                 f"like the first; got {found}")
        return {key: _stack([example[key] for example in examples]) for key in first}
    if isinstance(first, (tuple, list)):
        width = len(first)
        for example in examples:
            if not isinstance(example, (tuple, list)) or len(example) != width:
                size = len(example) if isinstance(example, (tuple, list)) else 1
                raise ValueError(f"collate: examples must all have {width} fields, like the "
                                 f"first; got a {type(example).__name__} with {size}")
        return tuple(_stack([example[field] for example in examples])
                     for field in range(width))
    return _stack(examples)


def _stack(values):
    values = [value.data if isinstance(value, Tensor) else value for value in values]
    source = device_of(values[0])  # None for Python numbers: they stack on the CPU
    return (CPU.xp if source is None else source.xp).stack(values)


def check_labels(labels, num_classes, what="labels"):
    """Raise a clear error unless ``labels`` are integers in ``[0, num_classes)``.

    Args:
        labels: an array (or Tensor) of class indices.
        num_classes: the number of classes (a positive int).
        what: how the error message names the labels.
    """
    num_classes = check_positive_int("check_labels", "num_classes", num_classes,
                                     what="a positive int")
    values = to_numpy(labels.data if isinstance(labels, Tensor) else labels)
    values = CPU.xp.asarray(values)
    if values.dtype.kind not in "iu":
        if values.dtype.kind == "f" and values.size and (values == numpy.round(values)).all():
            hint = "; cast them with .astype('int64')"
        else:
            hint = ""
        raise TypeError(f"{what} must be integer class indices, got dtype {values.dtype}{hint}")
    if values.size == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= num_classes:
        bad = values[(values < 0) | (values >= num_classes)]
        raise ValueError(f"{what} must lie in [0, {num_classes}) for {num_classes} classes, "
                         f"got values from {low} to {high} ({bad.size} out of range, e.g. "
                         f"{int(bad[0])}); check num_classes or the labels")


class MemmapDataset(TensorDataset):
    """A ``TensorDataset`` whose arrays stay on disk and stream in batch by batch.

    Each source is a path to a ``.npy`` file, opened with
    ``numpy.load(path, mmap_mode="r")``, or an already-open ``numpy.memmap``
    (for raw binary files: ``numpy.memmap(path, dtype, mode="r", shape=...)``).
    The operating system pages in only the rows a batch gathers, so a dataset
    larger than RAM trains with the memory of a few batches; the DataLoader's
    background thread reads the next batches while the current one computes
    (mini-batches stream from disk to CPU RAM to the GPU).

    Args:
        *sources: ``.npy`` paths or memmaps, all with the same first-axis length.
        num_classes: as for ``TensorDataset``; checking labels reads the whole label file.

        >>> import numpy as np, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> np.save(os.path.join(folder, "x.npy"), np.zeros((10, 4), "float32"))
        >>> np.save(os.path.join(folder, "y.npy"), np.arange(10))
        >>> data = MemmapDataset(os.path.join(folder, "x.npy"), os.path.join(folder, "y.npy"))
        >>> len(data)
        10
    """

    def __init__(self, *sources, num_classes=None):
        if not sources:
            raise ValueError("MemmapDataset needs at least one .npy path or numpy.memmap")
        super().__init__(*(_open_source(source) for source in sources), num_classes=num_classes)


def _open_source(source):
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"MemmapDataset: no file {path!r}")
        try:
            return numpy.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as error:
            raise ValueError(f"MemmapDataset: {path!r} is not a .npy array file that can be "
                             f"memory-mapped ({error}); save it with numpy.save") from None
    if isinstance(source, numpy.ndarray):
        return source
    raise TypeError(f"MemmapDataset takes .npy paths or numpy.memmap arrays, got "
                    f"{type(source).__name__}")


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        indices = CPU.xp.asarray(indices, dtype=numpy.int64).reshape(-1)
        size = len(dataset)
        if indices.size and (indices.min() < -size or indices.max() >= size):
            raise IndexError(f"Subset: indices must lie in [0, {size}) for a dataset of "
                             f"{size} examples, got {int(indices.min())}..{int(indices.max())}")
        self.dataset = dataset
        self.indices = indices % size if size else indices

    def __len__(self):
        return int(self.indices.size)

    @property
    def in_memory(self):
        return getattr(self.dataset, "in_memory", False)

    @property
    def device(self):
        return getattr(self.dataset, "device", None)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        inner = self.indices[indices]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(inner)
        return stack_examples([self.dataset[int(i)] for i in inner])

    def __repr__(self):
        return f"Subset({len(self)} of {len(self.dataset)} examples)"


def random_split(dataset, lengths, seed=None):
    """Split ``dataset`` into non-overlapping random ``Subset`` s of the given sizes.

    Args:
        dataset: any Dataset (anything with ``len`` and ``[i]``).
        lengths: sizes that sum to ``len(dataset)``, or fractions that sum to 1
            (the rows left over by rounding go to the first subsets, one each).
        seed: an int for a split that does not depend on ``somanet.manual_seed``;
            ``None`` draws from the global CPU generator.

        >>> import numpy as np
        >>> train, test = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(test)
        (8, 2)
    """
    size = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split needs at least one length")
    if all(is_int(length) for length in lengths):
        counts = [int(length) for length in lengths]
        if any(count < 0 for count in counts) or sum(counts) != size:
            raise ValueError(f"random_split: lengths {counts} must be non-negative and sum to "
                             f"the dataset's size {size} (they sum to {sum(counts)})")
    else:
        fractions = [float(length) for length in lengths]
        if any(f < 0 or f > 1 for f in fractions) or not math.isclose(sum(fractions), 1.0,
                                                                        abs_tol=1e-6):
            raise ValueError(f"random_split: fractions {fractions} must lie in [0, 1] and "
                             f"sum to 1 (they sum to {sum(fractions)})")
        counts = [int(math.floor(size * f)) for f in fractions]
        for i in range(size - sum(counts)):
            counts[i % len(counts)] += 1
    rng = generator(CPU) if seed is None else fresh_generator(seed)
    order = rng.permutation(size)
    subsets, start = [], 0
    for count in counts:
        subsets.append(Subset(dataset, order[start:start + count]))
        start += count
    return subsets
