"""DistributedOptimizer: the mean gradient in one reused buffer, then the wrapped update."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.distributed import DistributedOptimizer, LocalCommunicator
from somanet.io import load_checkpoint, save_checkpoint
from somanet.nn.parameter import Parameter

from .fakes import MirrorCommunicator, run_ranks

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 16)


def _model():
    sn.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def _train(model, optimizer, rows, steps=3):
    for _ in range(steps):
        loss = sn.cross_entropy(model(sn.tensor(X[rows])), sn.tensor(Y[rows]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {key: value.numpy().copy() for key, value in model.state_dict().items()}


@pytest.mark.parametrize("make", [lambda p: sn.optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: sn.optim.Adam(p, lr=0.01)])
def test_two_ranks_with_half_batches_follow_one_process(make):
    model = _model()
    expected = _train(model, make(model.parameters()), np.arange(16))

    models = [_model(), _model()]  # built here: init runs under no_grad, a process-wide switch

    def rank_run(comm):
        model = models[comm.rank]
        optimizer = DistributedOptimizer(make(model.parameters()), communicator=comm)
        return _train(model, optimizer, np.arange(comm.rank, 16, 2))

    for weights in run_ranks(2, rank_run):
        for key in expected:
            np.testing.assert_allclose(weights[key], expected[key], rtol=1e-5, atol=1e-6)


def test_one_buffer_reused_and_grads_are_views_of_it():
    model = _model()
    comm = MirrorCommunicator(size=2)
    optimizer = DistributedOptimizer(sn.optim.SGD(model.parameters(), lr=0.1), comm)
    _train(model, optimizer, np.arange(8), steps=1)
    (bucket,) = optimizer._buckets
    buffer = bucket.buffer
    assert buffer.dtype == np.float32 and buffer.size == model.num_parameters() + 4
    _train(model, optimizer, np.arange(8), steps=2)
    assert optimizer._buckets[0].buffer is buffer
    assert all(np.shares_memory(param.grad.data, buffer) for param in model.parameters())
    assert comm.calls == [("allreduce", "sum")] * 3  # one all-reduce a step


def test_mean_gradient_and_parameters_without_gradients():
    used, half, unused = (Parameter(sn.tensor([1.0, 2.0])) for _ in range(3))
    # the other rank's buffer: gradient 3 for `used` (divided by 2 ranks when packed),
    # nothing for `half` or `unused`; then the presence counts
    other = np.array([1.5, 1.5, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0], np.float32)
    comm = MirrorCommunicator(size=2, peer=lambda mine: other)
    optimizer = DistributedOptimizer(sn.optim.SGD([used, half, unused], lr=1.0), comm)
    used.grad, half.grad = sn.tensor([1.0, 5.0]), sn.tensor([4.0, 4.0])
    optimizer.reduce_gradients()
    assert used.grad.tolist() == [2.0, 4.0]  # (1 + 3) / 2, (5 + 3) / 2
    assert half.grad.tolist() == [2.0, 2.0]  # the other rank counts as zero
    assert unused.grad is None  # no rank had one: the update skips it
    optimizer.step()
    assert comm.calls == [("allreduce", "sum")]  # step() did not reduce again
    assert used.tolist() == [-1.0, -2.0] and unused.tolist() == [1.0, 2.0]


def test_a_gradient_only_another_rank_has_arrives_here():
    weight = Parameter(sn.tensor([0.0, 0.0]))
    other = np.array([2.0, 3.0, 1.0], np.float32)  # gradient (4, 6) / 2 ranks, present
    optimizer = DistributedOptimizer(sn.optim.SGD([weight], lr=1.0),
                                     MirrorCommunicator(size=2, peer=lambda mine: other))
    optimizer.step()
    assert weight.grad.tolist() == [2.0, 3.0] and weight.tolist() == [-2.0, -3.0]


def test_each_device_and_dtype_gets_its_own_buffer():
    a = Parameter(sn.tensor([1.0], dtype="float64"))
    b = Parameter(sn.tensor([1.0, 2.0]))
    optimizer = DistributedOptimizer(sn.optim.SGD([a, b], lr=0.5), MirrorCommunicator(size=3))
    a.grad, b.grad = sn.tensor([2.0], dtype="float64"), sn.tensor([2.0, 4.0])
    optimizer.step()
    assert sorted(str(bucket.buffer.dtype) for bucket in optimizer._buckets) == \
        ["float32", "float64"]
    assert a.tolist() == [0.0] and b.tolist() == [0.0, 0.0]
    assert a.grad.dtype == np.float64


def test_wrapper_forwards_so_schedules_checkpoints_and_clipping_work(tmp_path):
    model = _model()
    inner = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    optimizer = DistributedOptimizer(inner, MirrorCommunicator(size=2))
    assert optimizer.param_groups is inner.param_groups and optimizer.defaults is inner.defaults
    schedule = sn.optim.StepLR(optimizer, step_size=1, gamma=0.5)
    _train(model, optimizer, np.arange(8), steps=1)
    schedule.step()
    assert inner.param_groups[0]["lr"] == pytest.approx(0.05)
    optimizer.param_groups[0]["lr"] = 0.2
    assert inner.param_groups[0]["lr"] == 0.2
    state = optimizer.state_dict()
    assert state["type"] == "SGD" and optimizer.state is inner.state
    save_checkpoint(tmp_path / "ckpt", model, optimizer)
    plain = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    load_checkpoint(tmp_path / "ckpt", model, plain)  # a wrapper's checkpoint, plain optimiser
    assert plain.param_groups[0]["lr"] == 0.2
    optimizer.momentum_note = "x"  # unknown attributes live on the wrapped optimiser
    assert inner.momentum_note == "x" and optimizer.momentum_note == "x"
    optimizer.zero_grad()
    assert all(param.grad is None for param in model.parameters())
    assert repr(optimizer).startswith("DistributedOptimizer(SGD(")


def test_reduce_then_clip_then_step():
    weight = Parameter(sn.tensor([0.0, 0.0]))
    comm = MirrorCommunicator(size=2, peer=lambda mine: np.array([3.0, 4.0, 1.0], np.float32))
    optimizer = DistributedOptimizer(sn.optim.SGD([weight], lr=1.0), comm)
    weight.grad = sn.tensor([0.0, 0.0])
    optimizer.reduce_gradients()  # mean: (3, 4), norm 5
    sn.optim.clip_grad_norm_([weight], max_norm=1.0)
    optimizer.step()
    np.testing.assert_allclose(weight.numpy(), [-0.6, -0.8], rtol=1e-5)
    assert len(comm.calls) == 1


def test_add_param_group_repacks():
    a, b = Parameter(sn.tensor([1.0])), Parameter(sn.tensor([1.0]))
    optimizer = DistributedOptimizer(sn.optim.SGD([a], lr=1.0), MirrorCommunicator(size=2))
    a.grad = sn.tensor([1.0])
    optimizer.step()
    optimizer.add_param_group({"params": [b], "lr": 0.5})
    a.grad, b.grad = sn.tensor([1.0]), sn.tensor([2.0])
    optimizer.step()
    assert a.tolist() == [-1.0] and b.tolist() == [0.0]


def test_one_process_is_the_plain_optimizer():
    model = _model()
    expected = _train(model, sn.optim.Adam(model.parameters(), lr=0.01), np.arange(16))
    model = _model()
    optimizer = DistributedOptimizer(sn.optim.Adam(model.parameters(), lr=0.01))
    weights = _train(model, optimizer, np.arange(16))
    assert isinstance(optimizer.communicator, LocalCommunicator)
    assert optimizer._buckets is None  # nothing packed with one process
    assert all(np.array_equal(weights[key], expected[key]) for key in expected)


def test_closure_runs_before_the_reduction():
    weight = Parameter(sn.tensor([1.0]))
    optimizer = DistributedOptimizer(sn.optim.SGD([weight], lr=0.5), MirrorCommunicator(2))

    def closure():
        optimizer.zero_grad()
        loss = (weight * weight).sum()
        loss.backward()
        return loss
    assert float(optimizer.step(closure)) == 1.0
    assert weight.tolist() == [0.0]


def test_wrapping_errors():
    with pytest.raises(TypeError, match="wraps a somanet.optim optimizer.*got list"):
        DistributedOptimizer([1])
    optimizer = DistributedOptimizer(sn.optim.SGD([Parameter(sn.zeros(1))], lr=0.1))
    with pytest.raises(TypeError, match="already a DistributedOptimizer"):
        DistributedOptimizer(optimizer)


def test_mismatched_gradient_is_named():
    weight = Parameter(sn.zeros(2))
    optimizer = DistributedOptimizer(sn.optim.SGD([weight], lr=0.1), MirrorCommunicator(2))
    weight.grad = sn.zeros(3)
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(2,\).*grad has shape \(3,\)"):
        optimizer.step()
