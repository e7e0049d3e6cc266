"""A plain data-parallel training loop with checkpoints, and ways to make one rank fail.

    mpiexec -n 2 python train_loop.py --steps 8 --checkpoint DIR --out final.npz
    mpiexec -n 2 python train_loop.py ... --fail raise --fail-rank 1 --fail-step 5
    mpiexec -n 2 python train_loop.py ... --resume

Every step rank 0 writes a checkpoint (model, optimiser, loader position). --fail makes
rank --fail-rank, at the start of step --fail-step: raise an exception ("raise"), kill
itself with SIGKILL ("kill"), leave with sys.exit(3) ("exit"), or sleep 120 s ("sleep",
with --timeout to see the collective timeout).
"""
import argparse
import os
import signal
import sys
import time

import numpy as np

import somanet as sn
from somanet import distributed, nn
from somanet.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=8)
parser.add_argument("--checkpoint")
parser.add_argument("--resume", action="store_true")
parser.add_argument("--out")
parser.add_argument("--fail", choices=["raise", "kill", "exit", "sleep", "mismatch"])
parser.add_argument("--fail-rank", type=int, default=1)
parser.add_argument("--fail-step", type=int, default=5)
parser.add_argument("--timeout", type=float)
args = parser.parse_args()
if args.timeout:
    distributed.set_timeout(args.timeout)
rank = distributed.rank()
failing = args.fail is not None and rank == args.fail_rank

rng = np.random.default_rng(0)
x = rng.standard_normal((40, 5)).astype(np.float32)
y = (x.sum(axis=1) > 0).astype(np.int64)
data = TensorDataset(x, y)
sn.manual_seed(3)
hidden = 9 if failing and args.fail == "mismatch" else 8
model = nn.Sequential(nn.Linear(5, hidden), nn.Tanh(), nn.Linear(hidden, 2))
optimizer = sn.optim.Adam(model.parameters(), lr=0.05)
loader = DataLoader(data, batch_size=8, shuffle=True, seed=7)
optimizer, loader = distributed.prepare(model, optimizer, loader)  # 4 examples per rank

step = 0
if args.resume:
    info = distributed.load_checkpoint(args.checkpoint, model, optimizer, loader)
    step = info["step"]
    print(f"rank {rank} resumed at step {step}", flush=True)
while step < args.steps:
    for xb, yb in loader:
        if failing and step == args.fail_step:
            if args.fail == "raise":
                raise RuntimeError(f"injected failure at step {step}")
            if args.fail == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if args.fail == "exit":
                sys.exit(3)
            if args.fail == "sleep":
                time.sleep(120)
        loss = sn.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if args.checkpoint:
            distributed.save_checkpoint(args.checkpoint, model, optimizer, loader, step=step)
        if step >= args.steps:
            break
if args.out and distributed.is_main():
    np.savez(args.out, **{key: value.numpy() for key, value in model.state_dict().items()})
print(f"rank {rank} done after step {step}", flush=True)
