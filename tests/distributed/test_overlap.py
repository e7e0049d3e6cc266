"""DistributedOptimizer's overlap: buckets reduced while backward runs, the same numbers."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.distributed import DistributedOptimizer

from .fakes import MirrorCommunicator, run_ranks

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 6)).astype(np.float32)
Y = RNG.integers(0, 3, size=32)


def _model():
    sn.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3))


def _run(overlap, accumulate=1, clip=None, steps=4, bucket_mb=0.0005, compression=None):
    """Two simulated ranks training on their halves; returns rank 0's weights."""
    models = [_model(), _model()]  # made here: threads drawing from one generator interleave

    def rank_run(comm):
        model = models[comm.rank]
        optimizer = DistributedOptimizer(sn.optim.SGD(model.parameters(), lr=0.1,
                                                      momentum=0.9),
                                         communicator=comm, overlap=overlap,
                                         bucket_mb=bucket_mb, compression=compression)
        rows = np.arange(comm.rank, 32, 2)
        for _ in range(steps):
            optimizer.zero_grad()
            for part in np.array_split(rows, accumulate):
                loss = sn.cross_entropy(model(sn.tensor(X[part])), sn.tensor(Y[part]))
                loss.backward()
            if clip:
                optimizer.reduce_gradients()
                sn.optim.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
        return [p.numpy().copy() for p in model.parameters()], optimizer
    return run_ranks(2, rank_run)


def test_several_buckets_give_the_blocking_paths_numbers_bitwise():
    (blocking, _), _ = _run(overlap=False)
    (overlapped, optimizer), _ = _run(overlap=True)
    assert len(optimizer._buckets) > 1  # 0.5 KB buckets: one per layer or so
    for a, b in zip(blocking, overlapped):
        np.testing.assert_array_equal(a, b)  # two ranks: a + b in any order


@pytest.mark.parametrize("options", [dict(accumulate=2), dict(clip=0.5)])
def test_accumulation_and_clipping_stay_exact(options):
    (blocking, _), _ = _run(overlap=False, **options)
    (overlapped, _), _ = _run(overlap=True, **options)
    for a, b in zip(blocking, overlapped):
        np.testing.assert_array_equal(a, b)


def test_buckets_start_during_backward_last_layer_first():
    model = _model()
    comm = MirrorCommunicator(size=2)
    optimizer = DistributedOptimizer(sn.optim.SGD(model.parameters(), lr=0.1), comm,
                                     bucket_mb=0.0005)
    started = []

    def step():
        optimizer.zero_grad()
        sn.cross_entropy(model(sn.tensor(X)), sn.tensor(Y)).backward()
        started.append([bucket.pending is not None for bucket in optimizer._buckets or []])
        optimizer.step()

    step()  # the first step makes the buckets and their hooks
    step()
    assert all(started[-1])  # every bucket was started by backward, before step()
    last_layer = [id(p) for p in model[4].parameters()]
    assert [id(p) for p in optimizer._buckets[0].params][-2:] == last_layer
    with optimizer.no_sync():
        sn.cross_entropy(model(sn.tensor(X)), sn.tensor(Y)).backward()
    assert not any(bucket.pending for bucket in optimizer._buckets)
    optimizer.step()


def _half_gradients(rank):
    model = _model()
    rows = np.arange(rank, 32, 2)
    sn.cross_entropy(model(sn.tensor(X[rows])), sn.tensor(Y[rows])).backward()
    return [p.grad.numpy() for p in model.parameters()]


@pytest.mark.parametrize("overlap", [False, True])
def test_fp16_compression_sums_float16_halves_and_widens_them(overlap):
    # mean over 2 ranks = float32(float16(g0 / 2) + float16(g1 / 2)), bitwise
    halves = [_half_gradients(rank) for rank in range(2)]
    expected = [((a * np.float32(0.5)).astype(np.float16) +
                 (b * np.float32(0.5)).astype(np.float16)).astype(np.float32)
                for a, b in zip(*halves)]
    models = [_model(), _model()]

    def rank_run(comm):
        model = models[comm.rank]
        optimizer = DistributedOptimizer(sn.optim.SGD(model.parameters(), lr=0.1), comm,
                                         overlap=overlap, bucket_mb=0.0005,
                                         compression="fp16")
        rows = np.arange(comm.rank, 32, 2)
        for _ in range(2):  # the second backward packs from the grad-ready hooks
            optimizer.zero_grad()
            sn.cross_entropy(model(sn.tensor(X[rows])), sn.tensor(Y[rows])).backward()
            optimizer.reduce_gradients()
            grads = [p.grad.numpy().copy() for p in model.parameters()]
            optimizer.zero_grad()  # no update: the second step sees the same weights
        return grads, optimizer

    (grads, optimizer), _ = run_ranks(2, rank_run)
    assert optimizer.compression == "fp16"
    assert all(bucket.wire.dtype == np.float16 for bucket in optimizer._buckets)
    for got, want in zip(grads, expected):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


def test_fp16_compression_trains_within_float16_rounding_of_float32():
    (exact, _), _ = _run(overlap=True)
    (compressed, _), _ = _run(overlap=True, compression="fp16")
    for a, b in zip(exact, compressed):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-3 * np.abs(a).max())
    assert any(not np.array_equal(a, b) for a, b in zip(exact, compressed))


def test_options_are_checked():
    with pytest.raises(ValueError, match="unknown compression 'fp8'.*Known compressions: "
                                         "none, fp16 \\(or None\\)"):
        DistributedOptimizer(sn.optim.SGD([sn.zeros(1, requires_grad=True)], lr=0.1),
                             compression="fp8")
    with pytest.raises(ValueError, match="bucket_mb must be a finite number > 0"):
        DistributedOptimizer(sn.optim.SGD([sn.zeros(1, requires_grad=True)], lr=0.1),
                             bucket_mb=0)
    with pytest.raises(TypeError, match="overlap must be True or False"):
        DistributedOptimizer(sn.optim.SGD([sn.zeros(1, requires_grad=True)], lr=0.1),
                             overlap="yes")
