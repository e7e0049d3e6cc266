"""What ``fit`` / ``evaluate`` / ``predict`` accept as data, turned into one thing: a ``Feed``
(a DataLoader, plus how many fields of each batch are model inputs).

Accepted:

- arrays: ``fit(x, y)`` with NumPy arrays, Tensors or nested lists; several inputs
  or targets as a list of arrays (``fit([x1, x2], [y1, y2])``);
- a ``Dataset`` whose examples are ``(x, y)`` (or ``(x1, x2, y)`` for a model with
  two inputs: the first fields are the inputs, the rest the targets);
- a ``DataLoader`` of such a dataset (its batch size and order are used as they are).

``validation_split`` takes the *last* fraction of the arrays (or dataset) before
any shuffling, as Keras does: the split does not depend on the seed.
"""
import math

import numpy

from .._checks import check_positive_int, check_real
from ..backend import CPU
from ..data import DataLoader, Dataset, Subset, TensorDataset, default_collate
from ..tensor import Tensor

DEFAULT_BATCH_SIZE = 32


class Feed:
    """A DataLoader and the layout of its batches.

    Attributes:
        loader: the DataLoader.
        num_inputs: how many leading fields of a batch are model inputs.
        arrays: ``(xs, ys)``, the lists of arrays it was made from (``None`` for a
            Dataset or DataLoader given by the user): fit checks labels on them.
    """

    def __init__(self, loader, num_inputs, arrays=None):
        self.loader = loader
        self.num_inputs = num_inputs
        self.arrays = arrays

    def __len__(self):
        return len(self.loader)


def unpack(batch, num_inputs):
    """A batch from the loader as ``(x, y)``: ``x`` a Tensor (or a tuple of Tensors for
    several inputs), ``y`` a Tensor, a list of Tensors (several targets) or ``None``."""
    if isinstance(batch, Tensor):
        return batch, None
    if isinstance(batch, dict):
        raise TypeError("fit: batches that are dicts are not supported; make the dataset "
                        "return (x, y) tuples")
    fields = tuple(batch)
    x = fields[0] if num_inputs == 1 else fields[:num_inputs]
    rest = fields[num_inputs:]
    if not rest:
        return x, None
    return x, (rest[0] if len(rest) == 1 else list(rest))


def batch_size_of(x):
    """The number of samples in a batch's inputs."""
    first = x[0] if isinstance(x, tuple) else x
    return int(first.shape[0])


def _is_array_list(value):
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(item, Tensor) or (hasattr(item, "shape") and hasattr(item, "dtype"))
        for item in value)


def _as_arrays(value, who, name):
    """``value`` as a list of arrays (one per model input or target)."""
    items = list(value) if _is_array_list(value) else [value]
    arrays = []
    for item in items:
        if isinstance(item, (str, bytes)) or hasattr(item, "__fspath__"):
            raise TypeError(f"{who}: {name} must be an array (NumPy array, Tensor or nested "
                            f"lists of numbers), a Dataset or a DataLoader, got "
                            f"{type(item).__name__} {item!r:.60}; load files first (e.g. "
                            f"numpy.load, or somanet.data.MemmapDataset for .npy files)")
        if isinstance(item, Tensor):
            item = item.data
        elif not (hasattr(item, "shape") and hasattr(item, "dtype")):
            try:
                item = CPU.xp.asarray(item)
            except (ValueError, TypeError) as error:
                raise TypeError(f"{who}: {name} must be an array (NumPy array, Tensor or nested "
                                f"lists of numbers), got {type(item).__name__}: "
                                f"{error}") from None
        if item.ndim == 0:
            raise ValueError(f"{who}: {name} is a scalar; it needs a first axis with one entry "
                             f"per sample")
        if item.dtype.kind not in "biuf":
            raise TypeError(f"{who}: {name} has dtype {item.dtype}; expected numbers")
        arrays.append(item)
    return arrays


def _check_lengths(who, xs, ys):
    lengths = [int(array.shape[0]) for array in xs]
    if len(set(lengths)) > 1:
        raise ValueError(f"{who}: the input arrays have different numbers of samples "
                         f"{lengths}; every input needs one row per sample")
    if ys:
        target_lengths = [int(array.shape[0]) for array in ys]
        if len(set(target_lengths)) > 1 or target_lengths[0] != lengths[0]:
            shown = target_lengths[0] if len(target_lengths) == 1 else target_lengths
            raise ValueError(f"{who}: x has {lengths[0]} samples but y has {shown}; x and y "
                             f"need the same number of samples (one label per input row)")
    if lengths[0] == 0:
        raise ValueError(f"{who}: the data is empty (x has 0 samples); check that it was "
                         f"loaded")


def _loader(dataset, batch_size, shuffle, seed, device):
    # device: the model's; a CPU model gets the batches where the arrays are (no copy).
    if device is not None and getattr(device, "index", None) is None:
        device = None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, seed=seed,
                      device=device)


def _check_batch_size(who, batch_size):
    if batch_size is None:
        return DEFAULT_BATCH_SIZE
    return check_positive_int(who, "batch_size", batch_size, what="a positive int")


def make_feed(who, x, y, batch_size, shuffle, seed, num_inputs, need_targets,
              validation_split=0.0, device=None):
    """The Feed for ``x`` (and ``y``), and the validation Feed cut off by
    ``validation_split`` (``None`` when it is 0).

    Args:
        who: "fit", "evaluate" or "predict", for messages.
        num_inputs: the model's number of inputs (for a Dataset or DataLoader's batches).
        need_targets: whether targets are required (fit, evaluate).
        device: where the batches go (the model's device); a DataLoader given by the user
            keeps its own ``device`` setting.
    """
    if x is None:
        raise TypeError(f"{who}: no data given; pass x and y (arrays), a Dataset or a "
                        f"DataLoader")
    if isinstance(x, DataLoader):
        if y is not None:
            raise TypeError(f"{who}: x is a DataLoader, which yields the targets too; do not "
                            f"pass y")
        if batch_size is not None:
            raise ValueError(f"{who}: batch_size is set by the DataLoader "
                             f"(batch_size={x.batch_size}); do not pass batch_size with a "
                             f"DataLoader")
        if validation_split:
            raise ValueError(f"{who}: validation_split cannot split a DataLoader; split the "
                             f"dataset (somanet.data.random_split) and pass validation_data")
        return Feed(x, num_inputs), None
    batch_size = _check_batch_size(who, batch_size)
    if isinstance(x, Dataset):
        if y is not None:
            raise TypeError(f"{who}: x is a Dataset, which yields the targets too; do not "
                            f"pass y")
        size = len(x)
        if size == 0:
            raise ValueError(f"{who}: the dataset is empty (0 examples)")
        train, val = _split(who, x, size, validation_split, lambda lo, hi: Subset(
            x, numpy.arange(lo, hi)))
        return (Feed(_loader(train, batch_size, shuffle, seed, device), num_inputs),
                None if val is None else Feed(_loader(val, batch_size, False, 0, device),
                                              num_inputs))
    xs = _as_arrays(x, who, "x")
    ys = [] if y is None else _as_arrays(y, who, "y")
    if need_targets and not ys:
        raise TypeError(f"{who}: y (the targets) is missing; pass {who}(x, y), or a Dataset / "
                        f"DataLoader that yields (x, y)")
    _check_lengths(who, xs, ys)
    size = int(xs[0].shape[0])

    def cut(lo, hi):
        return [array[lo:hi] for array in xs], [array[lo:hi] for array in ys]

    train, val = _split(who, (xs, ys), size, validation_split, cut)
    feed = Feed(_loader(TensorDataset(*train[0], *train[1]), batch_size, shuffle, seed,
                        device), len(xs), arrays=train)
    if val is None:
        return feed, None
    return feed, Feed(_loader(TensorDataset(*val[0], *val[1]), batch_size, False, 0, device),
                      len(xs), arrays=val)


def _split(who, data, size, fraction, cut):
    if not fraction:
        return data, None
    fraction = check_real(who, "validation_split", fraction, minimum=0.0, maximum=1.0,
                          min_open=True, max_open=True, what="a fraction in (0, 1)")
    split_at = int(math.floor(size * (1.0 - fraction)))  # Keras: the last fraction validates
    if split_at == 0 or split_at == size:
        raise ValueError(f"{who}: validation_split={fraction} of {size} samples leaves "
                         f"{split_at} for training and {size - split_at} for validation; both "
                         f"need at least one")
    return cut(0, split_at), cut(split_at, size)


def validation_feed(validation_data, batch_size, num_inputs, device=None):
    """The Feed for fit's ``validation_data``: ``(x_val, y_val)``, a Dataset or a DataLoader."""
    who = "fit(validation_data=...)"
    if isinstance(validation_data, (DataLoader, Dataset)):
        feed, _ = make_feed(who, validation_data, None,
                            None if isinstance(validation_data, DataLoader) else batch_size,
                            False, 0, num_inputs, need_targets=True, device=device)
        return feed
    if isinstance(validation_data, (list, tuple)) and len(validation_data) == 2:
        x_val, y_val = validation_data
        feed, _ = make_feed(who, x_val, y_val, batch_size, False, 0, num_inputs,
                            need_targets=True, device=device)
        return feed
    raise TypeError(f"{who}: expected (x_val, y_val), a Dataset or a DataLoader, got "
                    f"{type(validation_data).__name__}"
                    + (f" of length {len(validation_data)}"
                       if isinstance(validation_data, (list, tuple)) else ""))


def sample_batch(feed):
    """The first example of the feed's dataset as a batch of one, ``(x, y)``, without
    touching the loader's position (for the dry run that builds and checks the model)."""
    loader = feed.loader
    example = loader.dataset[0]
    if loader.collate_fn is not None:
        batch = loader.collate_fn([example])
    else:
        batch = default_collate([example], loader.device)
    return unpack(batch, feed.num_inputs)
