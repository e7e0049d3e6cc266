"""Collectives on models, metrics, logs and flags, seen from one simulated rank."""
import numpy as np
import pytest

import somanet as sn
from somanet import distributed, nn
from somanet.data import DataLoader, TensorDataset
from somanet.distributed import DistributedOptimizer, DistributedSampler
from somanet.distributed.collectives import _signature

from .fakes import MirrorCommunicator


def _model(hidden=8):
    return nn.Sequential(nn.Linear(4, hidden), nn.BatchNorm1D(hidden), nn.Linear(hidden, 2))


def test_same_model_costs_one_small_gather(as_process):
    comm = as_process(MirrorCommunicator(size=3))
    distributed.check_same_model(_model())
    assert comm.calls == [("allgather", None)]


def test_different_models_name_the_ranks_and_the_first_parameter(as_process):
    other = _signature(_model(hidden=6))
    # the peers' digest is "x", their model has 6 hidden units; this rank (2) has 8
    as_process(MirrorCommunicator(size=3, rank=2, peer_object=lambda value: "x"
                                  if isinstance(value, str) else other))
    with pytest.raises(ValueError, match=r"rank 0 and rank 2 built different models: "
                                         r"parameter 0 is '0.weight' shape \(4, 6\) float32 "
                                         r"on rank 0 but '0.weight' shape \(4, 8\) float32 on "
                                         r"rank 2\. Ranks \[0, 1\] have rank 0's model, ranks "
                                         r"\[2\] another"):
        distributed.check_same_model(_model(hidden=8))


def test_a_missing_layer_is_named(as_process):
    short = _signature(nn.Sequential(nn.Linear(4, 8)))
    as_process(MirrorCommunicator(size=2, rank=1, peer_object=lambda value: "x"
                                  if isinstance(value, str) else short))
    with pytest.raises(ValueError, match=r"rank 0 has 2 parameters and buffers, rank 1 \d+: "
                                         r"rank 0 has nothing at position 2, where rank 1 has "
                                         r"'1.weight'"):
        distributed.check_same_model(_model())


def test_broadcast_parameters_overwrites_weights_and_buffers(as_process):
    as_process(MirrorCommunicator(size=2, rank=1, peer=lambda mine: np.arange(mine.size)
                                  .astype(mine.dtype)))
    model = _model()
    shared = nn.Linear(2, 2)
    model.add_module("again", shared)
    model.add_module("twice", shared)  # a shared layer travels once
    distributed.broadcast_parameters(model)
    values = np.concatenate([tensor.numpy().reshape(-1) for tensor in
                             dict((id(t), t) for t in model.state_dict(keep_vars=True)
                                  .values()).values()])
    assert values.tolist() == list(range(values.size))  # running_mean/var included


def test_broadcast_parameters_on_the_root_changes_nothing(as_process):
    as_process(MirrorCommunicator(size=2, rank=0, peer=lambda mine: mine * 0))
    model = _model()
    before = [tensor.numpy().copy() for tensor in model.state_dict().values()]
    distributed.broadcast_parameters([param for param in model.parameters()])
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, model.state_dict()
                                                             .values()))
    with pytest.raises(TypeError, match="takes a Module, a dict of tensors or a list"):
        distributed.broadcast_parameters(3)


class _Sums:
    """A metric's contract for reduction: get_state() / set_state(values)."""

    def __init__(self, *values):
        self.values = list(values)

    def get_state(self):
        return list(self.values)

    def set_state(self, values):
        self.values = list(values)


def test_reduce_metrics_sums_every_state_in_one_allreduce(as_process):
    comm = as_process(MirrorCommunicator(size=2, peer=lambda mine: mine * 10))
    accuracy, mean = _Sums(3.0, 4.0), _Sums(1.5)
    assert distributed.reduce_metrics({"acc": accuracy, "mean": mean})["acc"] is accuracy
    assert accuracy.values == [33.0, 44.0] and mean.values == [16.5]
    assert comm.calls == [("allreduce", "sum")]


def test_reduce_logs_averages_numbers_only(as_process):
    as_process(MirrorCommunicator(size=2, peer=lambda mine: mine + 1))
    logs = {"loss": 1.0, "accuracy": sn.tensor(0.5), "lr": np.float32(0.25), "name": "run",
            "flag": True}
    reduced = distributed.reduce_logs(logs)
    assert reduced == {"loss": 1.5, "accuracy": 1.0, "lr": 0.75, "name": "run", "flag": True}
    assert logs["loss"] == 1.0


def test_all_agree_rules(as_process):
    as_process(MirrorCommunicator(size=2, peer=lambda mine: 1 - mine,
                                  peer_object=lambda value: True))
    assert distributed.all_agree(False, "any") is True
    assert distributed.all_agree(True, "all") is False
    assert distributed.all_agree(False, "main") is False  # this rank is rank 0


def test_allreduce_kinds_over_two_ranks(as_process):
    as_process(MirrorCommunicator(size=2, peer=lambda mine: mine * 3))
    assert distributed.allreduce(sn.tensor([1.0, 2.0]), "mean").tolist() == [2.0, 4.0]
    assert distributed.allreduce(2) == 8 and distributed.allreduce(2.0, "max") == 6.0
    assert distributed.allreduce(np.array([1, 2]), "min").tolist() == [1, 2]


def test_prepare_wraps_shards_and_broadcasts(as_process):
    comm = as_process(MirrorCommunicator(size=2, rank=1, peer_object=lambda value: 99
                                         if isinstance(value, int) else value))
    model = _model()
    loader = DataLoader(TensorDataset(np.zeros((10, 4), np.float32)), batch_size=4,
                        shuffle=True, seed=5, prefetch=0)
    optimizer, sharded = distributed.prepare(model, sn.optim.SGD(model.parameters(), lr=0.1),
                                             loader)
    assert isinstance(optimizer, DistributedOptimizer)
    assert isinstance(sharded.sampler, DistributedSampler) and sharded.batch_size == 2
    assert (sharded.sampler.seed, sharded.sampler.rank, len(sharded.sampler)) == (99, 1, 5)
    assert sharded.prefetch == 0 and loader.batch_size == 4  # the original is untouched
    kinds = [kind for kind, _ in comm.calls]
    assert kinds == ["allgather", "broadcast", "broadcast_object"]
    assert distributed.prepare(model, optimizer, sharded) == (optimizer, sharded)
    evaluation = distributed.shard_loader(DataLoader(TensorDataset(np.zeros((5, 4))),
                                                     batch_size=4), split_batch=False,
                                          even=False)
    assert evaluation.batch_size == 4 and len(evaluation.sampler) == 2


def test_shard_loader_errors(as_process):
    as_process(MirrorCommunicator(size=3))
    data = TensorDataset(np.zeros((6, 2), np.float32))
    with pytest.raises(ValueError, match=r"batch size 4 does not split evenly over 3 "
                                         r"processes"):
        distributed.shard_loader(DataLoader(data, batch_size=4))

    class Reversed(sn.data.Sampler):
        def indices(self, epoch):
            return np.arange(self.num_samples)[::-1]
    with pytest.raises(TypeError, match="sampler is a Reversed; create the loader with "
                                        "sampler=DistributedSampler"):
        distributed.shard_loader(DataLoader(data, batch_size=3, sampler=Reversed(6)))
