"""Putting a training run on several processes: ``prepare``, ``shard_loader``, and
checkpoints written by rank 0 and resumed by every rank.

``prepare(model, optimizer, loader)`` is the one call a training loop (or ``fit``)
makes: with one process it returns its arguments unchanged; under MPI it checks
that every rank built the same model, copies rank 0's weights to every rank,
wraps the optimiser in ``DistributedOptimizer`` and gives the loader a
``DistributedSampler``.
"""
from ..data import DataLoader, RandomSampler, SequentialSampler
from .. import io
from .collectives import broadcast_parameters, check_same_model
from .optimizer import DistributedOptimizer
from .process import communicator, is_main
from .sampler import DistributedSampler


def shard_loader(loader, split_batch=True, even=True):
    """A DataLoader like ``loader`` that walks only this rank's share of each epoch.

    Args:
        loader: a ``DataLoader`` with shuffling (``RandomSampler``) or without
            (``SequentialSampler``); the shards shuffle with rank 0's seed.
        split_batch: ``True``: ``loader.batch_size`` is the global batch, and each of
            the W ranks takes ``batch_size / W`` examples a step, so one process and W
            processes take the same steps over the same batches (Keras's convention for
            data parallelism). ``False``: every rank takes ``batch_size`` (a global
            batch of ``W * batch_size``, PyTorch's convention).
        even: ``True`` for training (equal shards, padded by repeating examples);
            ``False`` for evaluation (an exact partition; shards differ by one at most).

    Returns:
        A new DataLoader (the same dataset, collate, prefetch and device), at the same
        epoch; ``loader`` itself with one process or if it already has a
        ``DistributedSampler``.
    """
    comm = communicator()
    if not isinstance(loader, DataLoader):
        raise TypeError(f"shard_loader takes a somanet.data.DataLoader, got "
                        f"{type(loader).__name__}")
    if comm.size == 1 or isinstance(loader.sampler, DistributedSampler):
        return loader
    sampler = loader.sampler
    if isinstance(sampler, RandomSampler):
        shuffle, seed = True, sampler.seed
    elif isinstance(sampler, SequentialSampler):
        shuffle, seed = False, 0
    else:
        raise TypeError(f"shard_loader: cannot shard a loader whose sampler is a "
                        f"{type(sampler).__name__}; create the loader with "
                        f"sampler=DistributedSampler(...) yourself")
    batch_size = loader.batch_size
    if split_batch:
        if batch_size % comm.size:
            raise ValueError(f"shard_loader: the batch size {batch_size} does not split "
                             f"evenly over {comm.size} processes; use a multiple of "
                             f"{comm.size}, or split_batch=False (each process takes "
                             f"{batch_size} examples a step)")
        batch_size //= comm.size
    seed = comm.broadcast_object(seed)  # rank 0's: every rank must shuffle alike
    sharded = DataLoader(loader.dataset, batch_size=batch_size, drop_last=loader.drop_last,
                         sampler=DistributedSampler(len(loader.dataset), shuffle=shuffle,
                                                    seed=seed, even=even),
                         collate_fn=loader.collate_fn, prefetch=loader.prefetch,
                         device=loader.device)
    sharded.set_epoch(loader.epoch)
    return sharded


def prepare(model, optimizer=None, loader=None, split_batch=True, timeout=None):
    """Make a training run data-parallel; with one process, return the arguments unchanged.

    Under MPI: ``check_same_model(model)``, ``broadcast_parameters(model)`` from rank 0,
    ``DistributedOptimizer(optimizer)``, ``shard_loader(loader, split_batch)``.

    Args:
        model: the Module, built (a lazy layer must have seen its first input).
        optimizer: its optimiser, or ``None`` (evaluation only).
        loader: the training DataLoader, or ``None``.
        split_batch: see ``shard_loader``: ``True`` keeps ``batch_size`` the global batch.

    Returns:
        ``(optimizer, loader)`` to train with: use these, not the originals.
    """
    comm = communicator()
    if comm.size == 1:
        return optimizer, loader
    check_same_model(model, timeout)
    broadcast_parameters(model, 0, timeout)
    if optimizer is not None and not isinstance(optimizer, DistributedOptimizer):
        optimizer = DistributedOptimizer(optimizer)
    if loader is not None:
        loader = shard_loader(loader, split_batch=split_batch)
    return optimizer, loader


def save_checkpoint(path, model, optimizer=None, loader=None, **options):
    """``somanet.io.save_checkpoint`` on the main process only (``is_main()``: rank 0; the
    others return at once): one writer, atomic, so a failure on any rank at any moment
    leaves the previous checkpoint intact. Takes the same arguments."""
    if is_main():
        io.save_checkpoint(path, model, optimizer, loader, **options)


def load_checkpoint(path, model=None, optimizer=None, loader=None, **options):
    """``somanet.io.load_checkpoint`` on every rank, then ``check_same_checkpoint``.

    A loader with a ``DistributedSampler`` continues with *this rank's* share of the
    saved epoch (the file holds rank 0's order; the sampler derives each rank's from
    the saved seed), and refuses a checkpoint of a run with another number of
    processes. Takes the same arguments and returns the same dict as
    ``somanet.io.load_checkpoint``.
    """
    info = io.load_checkpoint(path, model, optimizer, loader, **options)
    check_same_checkpoint(path, info)
    return info


def check_same_checkpoint(path, info):
    """Raise ``ValueError`` unless every rank read the same checkpoint (the same epoch,
    step and creation time in ``info``, the dict ``load_checkpoint`` returns): a
    checkpoint folder that is not on a file system every node shares would otherwise
    resume the ranks from different points. A no-op with one process."""
    comm = communicator()
    if comm.size == 1:
        return
    mine = [info["epoch"], info["step"], info["created"]]
    everyone = comm.allgather_object(mine)
    different = [rank for rank, seen in enumerate(everyone) if seen != everyone[0]]
    if different:
        raise ValueError(
            f"somanet.distributed.load_checkpoint: the ranks read different checkpoints "
            f"from {path}: rank 0 (epoch, step, created) = {everyone[0]}, rank "
            f"{different[0]} = {everyone[different[0]]}. Put the checkpoint folder on a "
            f"file system every node shares, or copy the same checkpoint to every node")
