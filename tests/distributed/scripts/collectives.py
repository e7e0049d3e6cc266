"""The communicator's collectives between real processes, each result asserted.

    mpiexec -n 2 python collectives.py        # prints "rank R OK" on both ranks
"""
import numpy as np

import somanet as sn
from somanet import distributed

comm = distributed.communicator()
rank, size = comm.rank, comm.size
assert size == 2 and distributed.is_initialized()

# arrays of every kind MPI takes directly, and some it needs staged (bool, strided)
for dtype in ("float32", "float64", "int32", "int64", "uint8", "float16"):
    array = np.full(5, rank + 1, dtype=dtype)
    assert comm.allreduce_(array, "sum") is array and array.tolist() == [3] * 5, dtype
# float16 sums in float16, rounded as NumPy rounds (it travels as uint16, summed by our op)
halves = [np.float16(0.1), np.float16(1.1)]
array = np.full(3, halves[rank])
assert comm.allreduce_(array, "sum").dtype == np.float16
assert array.tolist() == [float(halves[0] + halves[1])] * 3, array
array = np.full(2, halves[rank])
comm.start_allreduce_(array, "max").wait()
assert array.tolist() == [float(halves[1])] * 2
array[:] = halves[rank]
comm.broadcast_(array, root=0)
assert array.tolist() == [float(halves[0])] * 2
ours = np.random.default_rng(rank).standard_normal(100_000).astype(np.float16)
theirs = np.random.default_rng(1 - rank).standard_normal(100_000).astype(np.float16)
summed = comm.allreduce_(ours.copy(), "sum")
assert np.array_equal(summed.view(np.uint16), (ours + theirs).view(np.uint16))

# a compressed step: the gradients travel as float16 and come back float32
sn.manual_seed(0)
linear = sn.nn.Linear(4, 2)
optimizer = distributed.DistributedOptimizer(sn.optim.SGD(linear.parameters(), lr=0.1),
                                             compression="fp16")
for _ in range(2):  # the second step reduces from the grad-ready hooks
    optimizer.zero_grad()
    inputs = np.full((3, 4), rank + 1.0, np.float32)
    linear(sn.tensor(inputs)).sum().backward()
    optimizer.reduce_gradients()
    grad = linear.weight.grad.numpy()
    assert grad.dtype == np.float32 and optimizer._buckets[0].wire.dtype == np.float16
    assert np.all(grad == 4.5), grad  # (3 + 6) / 2: every term exact in float16
    optimizer.step()

flags = np.array([rank == 0, False])
comm.allreduce_(flags, "max")
assert flags.tolist() == [True, False]
strided = np.arange(10.0)[::2] * (rank + 1)
comm.allreduce_(strided, "sum")
assert strided.tolist() == [0.0, 6.0, 12.0, 18.0, 24.0]
mean = np.array([rank * 2.0], np.float32)
assert comm.allreduce_(mean, "mean").tolist() == [1.0] and mean.dtype == np.float32
assert distributed.allreduce(rank, "max") == 1 and distributed.allreduce(rank + 1.0) == 3.0
assert distributed.allreduce(sn.tensor([1.0 + rank]), "min").tolist() == [1.0]
try:
    comm.allreduce_(np.ones(2, np.int64), "mean")
    raise AssertionError("mean of ints")
except TypeError as error:
    assert "op='mean' needs a float array" in str(error)

block = np.full((2, 3), float(rank), np.float32)
comm.broadcast_(block, root=1)
assert block.tolist() == [[1.0] * 3] * 2
assert comm.allgather_object({"rank": rank, "text": "é" * rank}) == [
    {"rank": 0, "text": ""}, {"rank": 1, "text": "é"}]
assert distributed.broadcast_object(["run", rank], root=1) == ["run", 1]
assert distributed.all_agree(rank == 1) and not distributed.all_agree(rank == 1, "all")
assert distributed.all_agree(rank == 1, "main") is False
distributed.barrier()

model = sn.nn.Sequential(sn.nn.Linear(3, 4), sn.nn.BatchNorm1D(4))
sn.manual_seed(rank)
for param in model.parameters():
    param.data[...] = rank
distributed.broadcast_parameters(model, root=1)
assert all(float(p.data.min()) == 1.0 for p in model.parameters())
print(f"rank {rank} OK", flush=True)
