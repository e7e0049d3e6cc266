"""Samplers: the order in which a DataLoader visits a dataset's examples, epoch by epoch.

A sampler's whole contract is ``indices(epoch)``: the example indices of that
epoch, in order, as an int64 array. Because an epoch's order is a pure function
of (the sampler's settings, epoch), a DataLoader resumes mid-epoch from just
``(epoch, position)`` plus ``state_dict()``; sharding data across processes is
one more sampler that returns this process's share (``somanet.distributed``).

    >>> from somanet.data import RandomSampler
    >>> sampler = RandomSampler(5, seed=0)
    >>> sampler.indices(0).tolist() == sampler.indices(0).tolist()
    True
"""
import numpy

from .._checks import check_non_negative_int, is_int
from ..backend import CPU, fresh_generator, generator


def _num_samples(data_source, who):
    if is_int(data_source):
        count = int(data_source)
    else:
        try:
            count = len(data_source)
        except TypeError:
            raise TypeError(f"{who} takes a dataset (anything with len()) or a number of "
                            f"examples, got {type(data_source).__name__}") from None
    if count < 0:
        raise ValueError(f"{who}: the number of examples must be non-negative, got {count}")
    return count


class Sampler:
    """Base class: subclasses define ``indices(epoch)``, and ``state_dict`` /
    ``check_state`` / ``load_state_dict`` for any setting that the order depends on.

    ``iter(sampler)`` yields the indices of epoch ``sampler.epoch`` (set with
    ``set_epoch``), for code that iterates a sampler directly.
    """

    epoch = 0

    def __init__(self, data_source):
        self.num_samples = _num_samples(data_source, type(self).__name__)

    def indices(self, epoch):
        raise NotImplementedError(f"{type(self).__name__} must define indices(epoch)")

    def __len__(self):
        return self.num_samples

    def __iter__(self):
        return iter(self.indices(self.epoch).tolist())

    def set_epoch(self, epoch):
        """Choose the epoch that ``iter(sampler)`` walks."""
        self.epoch = int(epoch)

    def state_dict(self):
        """JSON-able settings that, with the epoch, determine every epoch's order."""
        return {"type": type(self).__name__, "num_samples": self.num_samples}

    def load_state_dict(self, state):
        """Restore ``state_dict()``; the dataset's size must match. Checks everything
        (``check_state``) before changing anything."""
        self.check_state(state)

    def resume_order(self, state, epoch, saved_order):
        """The order in which to continue epoch ``epoch`` of a restored run: the order the
        loader saved (``saved_order``, ``None`` if it had none). A sampler whose order
        follows from its ``state`` may derive it instead (``DistributedSampler`` does:
        each process continues with its own share, while the file holds rank 0's)."""
        return saved_order

    def check_state(self, state):
        """Raise ``ValueError`` naming the problem unless ``state`` (from ``state_dict()``)
        fits this sampler; changes nothing."""
        if not isinstance(state, dict) or state.get("type") != type(self).__name__:
            found = state.get("type") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state is from a "
                             f"{found}, not a {type(self).__name__}")
        if state.get("num_samples") != self.num_samples:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state was saved for "
                             f"{state.get('num_samples')} examples, this sampler has "
                             f"{self.num_samples}; was the dataset changed?")


class SequentialSampler(Sampler):
    """Visits examples ``0, 1, ..., N-1`` every epoch.

    Args:
        data_source: the dataset, or its number of examples.
    """

    def indices(self, epoch):
        return CPU.xp.arange(self.num_samples, dtype=numpy.int64)


class RandomSampler(Sampler):
    """Visits examples in a new random order every epoch: a permutation drawn from
    ``(seed, epoch)``, so epoch ``e`` always gets the same order for the same seed.

    Shuffling every epoch is what makes mini-batch gradient descent stochastic: the data
    is shuffled at the start of each epoch, then cut into mini-batches.

    Args:
        data_source: the dataset, or its number of examples.
        seed: an int. ``None`` draws one from the global CPU generator, so
            ``somanet.manual_seed(n)`` before creating the sampler makes it reproducible.
    """

    def __init__(self, data_source, seed=None):
        super().__init__(data_source)
        if seed is None:
            seed = int(generator(CPU).integers(0, 2**63 - 1))
        self.seed = check_non_negative_int("RandomSampler", "seed", seed,
                                           what="a non-negative int")

    def indices(self, epoch):
        return fresh_generator([self.seed, int(epoch)]).permutation(self.num_samples)

    def state_dict(self):
        return {**super().state_dict(), "seed": self.seed}

    def check_state(self, state):
        super().check_state(state)
        check_non_negative_int("RandomSampler.load_state_dict", "the state's seed",
                               state.get("seed"), what="a non-negative int")

    def load_state_dict(self, state):
        self.check_state(state)
        self.seed = int(state["seed"])
