"""Two ranks, one GPU each: gradients all-reduced by NCCL match one process on the CPU.

    mpiexec -n 2 python gpu.py        # prints "rank R OK" on both ranks
"""
import numpy as np

import somanet as sn
from somanet import distributed, nn
from somanet.backend import nccl

rank, world = distributed.rank(), distributed.world_size()
assert nccl.available()
device = sn.gpu(rank)
rng = np.random.default_rng(0)
x = rng.standard_normal((32, 6)).astype(np.float32)
y = rng.integers(0, 3, 32)


def train(model, optimizer, rows, where):
    for _ in range(3):
        loss = sn.cross_entropy(model(sn.tensor(x[rows]).to(where)), sn.tensor(y[rows]).to(where))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {key: value.numpy() for key, value in model.state_dict().items()}


sn.manual_seed(0)
reference_model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
expected = train(reference_model, sn.optim.SGD(reference_model.parameters(), lr=0.1),
                 np.arange(32), "cpu")

sn.manual_seed(0)
with device:  # this rank's GPU is the current one
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    distributed.broadcast_parameters(model)
    optimizer = distributed.DistributedOptimizer(sn.optim.SGD(model.parameters(), lr=0.1))
    found = train(model, optimizer, np.arange(rank, 32, world), device)
assert optimizer._buckets[0].buffer.device.id == rank  # the buffer lives on this GPU
for key in expected:
    np.testing.assert_allclose(found[key], expected[key], rtol=1e-4, atol=1e-5)
total = distributed.allreduce(sn.tensor([1.0 + rank]).to(device), "sum")
assert total.device == device and total.tolist() == [3.0]
print(f"rank {rank} OK", flush=True)
