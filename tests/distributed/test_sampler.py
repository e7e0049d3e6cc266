"""DistributedSampler: disjoint equal shards, shared reshuffles, state, and resuming."""
import numpy as np
import pytest

import somanet as sn
from somanet import distributed, nn
from somanet.data import DataLoader, RandomSampler, TensorDataset
from somanet.distributed import DistributedSampler
from somanet.io import save_checkpoint

from .fakes import MirrorCommunicator


def _shards(count, replicas, epoch=0, **options):
    return [DistributedSampler(count, num_replicas=replicas, rank=rank, **options)
            .indices(epoch) for rank in range(replicas)]


@pytest.mark.parametrize("count", [1, 3, 10, 12])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
def test_shards_are_equal_disjoint_and_cover_the_data(count, replicas):
    shards = _shards(count, replicas, epoch=2, seed=3)
    size = -(-count // replicas)
    assert all(shard.shape == (size,) and shard.dtype == np.int64 for shard in shards)
    everything = np.concatenate(shards)
    assert sorted(set(everything.tolist())) == list(range(count))
    assert everything.size - count == size * replicas - count  # only the padding repeats


def test_padding_repeats_the_start_of_the_order_and_drop_last_cuts():
    shards = _shards(10, 4, shuffle=False)
    assert [shard.tolist() for shard in shards] == [[0, 4, 8], [1, 5, 9], [2, 6, 0],
                                                    [3, 7, 1]]
    shards = _shards(10, 4, shuffle=False, drop_last=True)
    assert [shard.tolist() for shard in shards] == [[0, 4], [1, 5], [2, 6], [3, 7]]


def test_uneven_shards_for_evaluation_are_an_exact_partition():
    shards = _shards(10, 4, seed=1, even=False)
    assert [len(shard) for shard in shards] == [3, 3, 2, 2]
    assert sorted(np.concatenate(shards).tolist()) == list(range(10))
    assert len(DistributedSampler(2, num_replicas=3, rank=2, even=False)) == 0


def test_one_replica_is_random_sampler_and_ranks_split_its_batches():
    """W ranks with batches of B / W take, step by step, the examples that one process
    with batches of B takes: the same trajectory after averaging gradients."""
    for epoch in range(3):
        single = RandomSampler(24, seed=9).indices(epoch)
        assert np.array_equal(DistributedSampler(24, seed=9, num_replicas=1, rank=0)
                              .indices(epoch), single)
        shards = _shards(24, 3, epoch=epoch, seed=9)
        for step in range(4):  # global batch 6 = 3 ranks x 2
            together = np.concatenate([shard[2 * step:2 * step + 2] for shard in shards])
            assert sorted(together.tolist()) == sorted(single[6 * step:6 * step + 6].tolist())


def test_every_epoch_reshuffles_the_same_way_on_every_rank():
    first = _shards(50, 2, epoch=0, seed=4)
    again = _shards(50, 2, epoch=0, seed=4)
    second = _shards(50, 2, epoch=1, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], second[0])
    sampler = DistributedSampler(50, seed=4, num_replicas=2, rank=1)
    sampler.set_epoch(1)
    assert list(sampler) == second[1].tolist()


def test_defaults_come_from_the_process():
    sampler = DistributedSampler(TensorDataset(np.zeros((5, 2), np.float32)))
    assert (sampler.num_replicas, sampler.rank, sampler.seed, len(sampler)) == (1, 0, 0, 5)
    sn.manual_seed(0)
    first = DistributedSampler(5, seed=None).seed
    sn.manual_seed(0)
    assert DistributedSampler(5, seed=None).seed == first  # drawn from the global RNG


def test_seed_none_is_rank_zeros(as_process):
    as_process(MirrorCommunicator(size=2, rank=1, peer_object=lambda value: 1234))
    assert DistributedSampler(8, seed=None).seed == 1234


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"rank must be in \[0, num_replicas\), got rank=2"):
        DistributedSampler(10, num_replicas=2, rank=2)
    with pytest.raises(TypeError, match="num_replicas must be an int"):
        DistributedSampler(10, num_replicas=2.0, rank=0)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        DistributedSampler(10, seed=-1)
    with pytest.raises(ValueError, match="3 examples cannot give each of 4 ranks"):
        DistributedSampler(3, num_replicas=4, rank=0, drop_last=True)
    with pytest.raises(ValueError, match="the dataset is empty"):
        DistributedSampler(0)
    with pytest.raises(TypeError, match="takes a dataset"):
        DistributedSampler(None)


def test_state_round_trip_from_another_rank_and_mismatches():
    saved = DistributedSampler(20, seed=6, num_replicas=2, rank=0).state_dict()
    other = DistributedSampler(20, seed=0, num_replicas=2, rank=1)
    other.load_state_dict(saved)  # checkpoints hold rank 0's state
    assert other.seed == 6 and other.rank == 1
    with pytest.raises(ValueError, match=r"saved by a run with 2 processes, this one has 3.*"
                                         r"mpiexec -n 2"):
        DistributedSampler(20, num_replicas=3, rank=1).load_state_dict(saved)
    with pytest.raises(ValueError, match="saved for 20 examples"):
        DistributedSampler(22, num_replicas=2, rank=1).load_state_dict(
            {**saved, "num_samples": 11})
    with pytest.raises(ValueError, match="saved with shuffle=True"):
        DistributedSampler(20, num_replicas=2, rank=1, shuffle=False).load_state_dict(saved)
    with pytest.raises(ValueError, match="from a RandomSampler, not a DistributedSampler"):
        other.load_state_dict(RandomSampler(20, seed=1).state_dict())


def _loader(rank, data):
    return DataLoader(data, batch_size=2, sampler=DistributedSampler(
        len(data), seed=3, num_replicas=2, rank=rank))


def test_resuming_mid_epoch_continues_this_ranks_shard(tmp_path, as_process):
    """Rank 0 writes the checkpoint; rank 1 resumes from it with its own order."""
    data = TensorDataset(np.arange(24, dtype=np.float32).reshape(12, 2))
    model = nn.Linear(2, 1)
    writer = _loader(0, data)
    batches = iter(writer)
    next(batches), next(batches)
    save_checkpoint(tmp_path / "ckpt", model, loader=writer)

    expected = _loader(1, data)
    walk = iter(expected)
    next(walk), next(walk)
    rest = [batch[0].numpy().tolist() for batch in walk]

    as_process(MirrorCommunicator(size=2, rank=1))
    resumed = _loader(1, data)
    info = distributed.load_checkpoint(tmp_path / "ckpt", model, loader=resumed)
    assert info["loader_position"] == 2
    assert [batch[0].numpy().tolist() for batch in resumed] == rest


def test_ranks_reading_different_checkpoints_is_an_error(tmp_path, as_process):
    save_checkpoint(tmp_path / "ckpt", nn.Linear(2, 1), step=4)
    as_process(MirrorCommunicator(size=2, rank=0,
                                  peer_object=lambda value: [value[0], 3, value[2]]))
    with pytest.raises(ValueError, match=r"the ranks read different checkpoints.*rank 1 = "
                                         r"\[None, 3,.*file system every node shares"):
        distributed.load_checkpoint(tmp_path / "ckpt", nn.Linear(2, 1))


def test_resuming_with_another_number_of_processes_says_so(tmp_path, as_process):
    data = TensorDataset(np.zeros((12, 2), np.float32))
    save_checkpoint(tmp_path / "ckpt", nn.Linear(2, 1), loader=_loader(0, data))
    as_process(MirrorCommunicator(size=3, rank=2))
    three = DataLoader(data, batch_size=2, sampler=DistributedSampler(
        len(data), seed=3, num_replicas=3, rank=2))
    with pytest.raises(ValueError, match=r"saved by a run with 2 processes, this one has 3; "
                                         r"resume with the same number \(mpiexec -n 2\)"):
        distributed.load_checkpoint(tmp_path / "ckpt", nn.Linear(2, 1), loader=three)
