"""``DistributedSampler``: this rank's share of every epoch, as just another Sampler.

Every rank draws the same permutation of the whole dataset from ``(seed, epoch)``
(the permutation ``RandomSampler(n, seed)`` draws, so one process and N processes
see the same order), makes its length a multiple of the number of ranks ``W``,
and takes every ``W``-th index starting at its rank::

    order  = permutation(n) from (seed, epoch)      (arange(n) without shuffle)
    padded = order + order[:pad]                    (pad = ceil(n / W) * W - n;
                                                     or cut to floor(n / W) * W
                                                     with drop_last)
    shard  = padded[rank::W]                        (ceil(n / W) or floor(n / W) each)

Interleaving, rather than cutting the order into W blocks, makes the union of
the ranks' ``j``-th batches of ``B / W`` examples exactly the ``j``-th batch of
``B`` that one process would take, so W ranks averaging their gradients follow the
same trajectory as one process with the global batch.

    >>> sampler = DistributedSampler(10, num_replicas=4, rank=1, shuffle=False)
    >>> sampler.indices(0).tolist()     # 10 -> padded to 12: 0..9, 0, 1
    [1, 5, 9]
"""
import numpy

from .._checks import check_int, check_non_negative_int
from ..backend import CPU, fresh_generator, generator
from ..data.sampler import Sampler, _num_samples
from .process import communicator


def _shard_size(count, replicas, rank, drop_last, even):
    if drop_last:
        return count // replicas
    if even:
        return -(-count // replicas)
    return len(range(rank, count, replicas))


class DistributedSampler(Sampler):
    """This rank's disjoint, equal-length share of a dataset, reshuffled every epoch.

    Args:
        data_source: the dataset, or its number of examples.
        shuffle: a new permutation every epoch from ``(seed, epoch)``; ``False`` keeps
            the dataset's order (evaluation).
        seed: the shuffling seed, the same on every rank. ``None`` draws one on rank 0
            from the global generator (reproducible after ``somanet.manual_seed``) and
            sends it to the others (a collective: create the sampler on every rank).
        drop_last: drop the tail that does not divide evenly among the ranks, instead
            of padding it with examples from the start of the epoch's order.
        even: ``True`` (training): every rank gets the same number of examples, so the
            ranks take the same number of steps. ``False`` (evaluation): an exact
            partition with no repeated example, shards differing in length by at most one.
        num_replicas, rank: the number of ranks and this one's rank; default
            ``world_size()`` and ``rank()``.

    Shape:
        ``indices(epoch)``: int64 ``(ceil(n / W),)`` (``floor`` with ``drop_last``).

    Use ``set_epoch`` (or the DataLoader's epoch counter) for a new shuffle every epoch;
    ``state_dict()`` holds the settings, so a checkpoint resumes the same shards.
    """

    def __init__(self, data_source, shuffle=True, seed=0, drop_last=False, even=True,
                 num_replicas=None, rank=None):
        count = _num_samples(data_source, "DistributedSampler")
        if num_replicas is None or rank is None or seed is None:
            comm = communicator()
            num_replicas = comm.size if num_replicas is None else num_replicas
            rank = comm.rank if rank is None else rank
        num_replicas = check_int("DistributedSampler", "num_replicas", num_replicas)
        rank = check_int("DistributedSampler", "rank", rank)
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, num_replicas), got "
                             f"rank={rank}, num_replicas={num_replicas}")
        if seed is None:
            drawn = int(generator(CPU).integers(0, 2**63 - 1)) if communicator().rank == 0 \
                else None
            seed = communicator().broadcast_object(drawn)
        seed = check_non_negative_int("DistributedSampler", "seed", seed,
                                      what="a non-negative int (the same on every rank)")
        if drop_last and count < num_replicas:
            raise ValueError(f"DistributedSampler: {count} examples cannot give each of "
                             f"{num_replicas} ranks one with drop_last=True; use fewer "
                             f"processes or drop_last=False (pads by repeating examples)")
        self.dataset_size = count
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.seed = bool(shuffle), int(seed)
        self.drop_last, self.even = bool(drop_last), bool(even)
        self.num_samples = _shard_size(count, self.num_replicas, self.rank, self.drop_last,
                                       self.even)
        if count == 0 or (self.num_samples == 0 and self.even):
            raise ValueError(f"DistributedSampler: the dataset is empty (0 examples); "
                             f"there is nothing to share among {num_replicas} ranks")

    def indices(self, epoch):
        return self._indices(self.seed, epoch)

    def _indices(self, seed, epoch):
        count, replicas = self.dataset_size, self.num_replicas
        if self.shuffle:
            order = fresh_generator([seed, int(epoch)]).permutation(count)
        else:
            order = numpy.arange(count, dtype=numpy.int64)
        if self.drop_last:
            order = order[:(count // replicas) * replicas]
        elif self.even and count % replicas:
            order = numpy.resize(order, -(-count // replicas) * replicas)  # repeats the start
        return numpy.ascontiguousarray(order[self.rank::replicas], dtype=numpy.int64)

    def state_dict(self):
        return {**super().state_dict(), "dataset_size": self.dataset_size,
                "num_replicas": self.num_replicas, "rank": self.rank, "seed": self.seed,
                "shuffle": self.shuffle, "drop_last": self.drop_last, "even": self.even}

    def load_state_dict(self, state):
        """Restore ``state_dict()``: the seed is taken from the state. The state may come
        from another rank (checkpoints are written by rank 0), but must come from a run
        with the same number of ranks and the same dataset (``check_state``)."""
        self.check_state(state)
        self.seed = int(state["seed"])

    def resume_order(self, state, epoch, saved_order):
        """This rank's order of epoch ``epoch`` under the seed in ``state``: the loader's
        saved order is rank 0's, and each rank's share follows from the seed and epoch."""
        return None if saved_order is None else self._indices(int(state["seed"]), epoch)

    def check_state(self, state):
        """Raise ``ValueError`` unless ``state`` comes from a DistributedSampler of a run
        with the same number of processes, dataset and settings; changes nothing."""
        where = "DistributedSampler.load_state_dict"
        if not isinstance(state, dict) or state.get("type") != "DistributedSampler":
            found = state.get("type") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{where}: the state is from a {found}, not a "
                             f"DistributedSampler")
        if state.get("num_replicas") != self.num_replicas:
            raise ValueError(f"{where}: the state was saved by a run with "
                             f"{state.get('num_replicas')} processes, this one has "
                             f"{self.num_replicas}; resume with the same number (mpiexec -n "
                             f"{state.get('num_replicas')}) to continue exactly, or restore "
                             f"the checkpoint without the loader to start a new epoch order")
        if state.get("dataset_size") != self.dataset_size:
            raise ValueError(f"{where}: the state was saved for {state.get('dataset_size')} "
                             f"examples, this sampler has {self.dataset_size}; was the "
                             f"dataset changed?")
        for key in ("shuffle", "drop_last", "even"):
            if state.get(key) != getattr(self, key):
                raise ValueError(f"{where}: the state was saved with {key}={state.get(key)}, "
                                 f"this sampler has {key}={getattr(self, key)}; create it "
                                 f"with the same settings to resume")
        check_non_negative_int(where, "the state's seed", state.get("seed"),
                               what="a non-negative int")

    def __repr__(self):
        return (f"DistributedSampler(rank {self.rank} of {self.num_replicas}: "
                f"{self.num_samples} of {self.dataset_size} examples, shuffle={self.shuffle}, "
                f"seed={self.seed})")
