"""Train a small MLP with SGD (momentum) and with Adam; rank 0 saves the final weights.

    python equivalence.py OUT.npz GLOBAL_BATCH            # one process, batch GLOBAL_BATCH
    mpiexec -n 2 python equivalence.py OUT.npz GLOBAL_BATCH   # two ranks, GLOBAL_BATCH / 2 each
    ... OUT.npz GLOBAL_BATCH jit                          # the steps compiled (graph.compile)
    ... OUT.npz GLOBAL_BATCH native                       # compiled, lowered to native code

The SGD run uses the explicit API (check_same_model, broadcast_parameters,
DistributedSampler, DistributedOptimizer); the Adam run uses prepare(). Each rank
initialises its model from a different seed, so the weights only agree if rank 0's
were broadcast.
"""
import sys

import numpy as np

import somanet as sn
from somanet import distributed, nn
from somanet.data import DataLoader, TensorDataset

out, global_batch = sys.argv[1], int(sys.argv[2])
jit = sys.argv[3:] in (["jit"], ["native"])
native = sys.argv[3:] == ["native"]
world, rank = distributed.world_size(), distributed.rank()
rng = np.random.default_rng(0)
x = rng.standard_normal((96, 6)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
data = TensorDataset(x, y)
saved = {}
for name in ("sgd", "adam"):
    sn.manual_seed(10 + rank)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    if name == "sgd":
        distributed.check_same_model(model)
        distributed.broadcast_parameters(model)
        optimizer = distributed.DistributedOptimizer(
            sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
        sampler = distributed.DistributedSampler(len(data), shuffle=True, seed=5)
        loader = DataLoader(data, batch_size=global_batch // world, sampler=sampler)
    else:
        optimizer = sn.optim.Adam(model.parameters(), lr=0.01)
        loader = DataLoader(data, batch_size=global_batch, shuffle=True, seed=5)
        optimizer, loader = distributed.prepare(model, optimizer, loader)
    def train_step(xb, yb):
        loss = sn.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()  # under MPI: the all-reduce, inside the compiled step too
        return loss

    step = sn.graph.compile(train_step, strict=True, native=native,
                            native_after=0) if jit else train_step
    steps = 0
    for epoch in range(2):
        for xb, yb in loader:
            step(xb, yb)
            steps += 1
    saved[name + ".steps"] = np.array(steps)
    if native and distributed.is_main():
        for program in step.programs.values():
            print(name, "native" if program.native else program.native_reason, flush=True)
    for key, value in model.state_dict().items():
        saved[f"{name}.{key}"] = value.numpy()
        if world > 1:  # every rank holds the same weights
            gathered = distributed.allreduce(value, op="max") - distributed.allreduce(value,
                                                                                    op="min")
            assert float(abs(gathered).max()) == 0.0, (name, key)
if distributed.is_main():
    np.savez(out, **saved)
