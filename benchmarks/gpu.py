"""Eager training steps on a GPU, somanet (CuPy) against PyTorch (CUDA), in one process.

    python benchmarks/gpu.py [--device gpu:0] [--batch 256] [--steps 50] [--warmup 10]

Workloads (the weights of benchmarks/workloads, batches of mnist_small's training digits
already on the device, cycled in the same order by both frameworks):

  W2    784-512-512-10 ReLU MLP, SGD momentum 0.9
  W3    LeNet (conv 5x5 x6, pool, conv 5x5 x16, pool, 400-120-84-10), Adam
  LSTM  LSTM(28 -> 128) over the 28 image rows, dense head, Adam
  W5    seed 000's 3-4-1 sigmoid network on its four 3-bit images, gradient descent
        (per step: what a GPU costs a tiny network, launch overhead only)

For each: milliseconds per step (median of ``--steps``, after ``--warmup`` steps and a
device synchronisation around each timed step) and torch / somanet (above 1: somanet is
faster). ``--device cpu`` runs the same on the CPU (to check the script anywhere).
Prints a table and one JSON line per workload ("RESULT {...}").
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads.common import load_data, three_bit_images  # noqa: E402


def _batches(data, batch, count, image=False):
    """``count`` batches (x, y) of the training digits, in order, as NumPy arrays."""
    x = data.x_train[:, None] if image else data.x_train
    total = len(x) // batch
    return [(x[i % total * batch:(i % total + 1) * batch],
             data.y_train[i % total * batch:(i % total + 1) * batch]) for i in range(count)]


def _time(step, batches, warmup, sync):
    """Median milliseconds of ``step(x, y)`` over ``batches``, after ``warmup`` of them."""
    times = []
    for index, (x, y) in enumerate(batches):
        sync()
        start = time.perf_counter()
        step(x, y)
        sync()
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def somanet_steps(device):
    import somanet as sn
    from workloads import somanet_impl

    device = sn.device(device)

    def classifier(model, optimizer):
        def step(x, y):
            loss = sn.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return step

    w2, w3, lstm = (build().to(device) for build in (somanet_impl.w2_model,
                                                     somanet_impl.w3_model,
                                                     somanet_impl.w4_model))
    x_np, d_np, w1_np, w2_np = three_bit_images()
    tiny_x, tiny_d = sn.tensor(x_np, device=device), sn.tensor(d_np, device=device)
    tiny_w1 = sn.tensor(w1_np, device=device, requires_grad=True)
    tiny_w2 = sn.tensor(w2_np, device=device, requires_grad=True)

    def tiny(x, y):
        nonlocal tiny_w1, tiny_w2
        z = sn.sigmoid(sn.sigmoid(tiny_x @ tiny_w1) @ tiny_w2)
        (0.5 * ((z - tiny_d) ** 2).sum()).backward()
        with sn.no_grad():
            tiny_w1 -= tiny_w1.grad
            tiny_w2 -= tiny_w2.grad
            tiny_w1.grad = tiny_w2.grad = None

    steps = {"W2": classifier(w2, sn.optim.SGD(w2.parameters(), lr=0.05, momentum=0.9)),
             "W3": classifier(w3, sn.optim.Adam(w3.parameters(), lr=1e-3)),
             "LSTM": classifier(lstm, sn.optim.Adam(lstm.parameters(), lr=1e-3)),
             "W5": tiny}

    def to_device(x, y):
        return sn.tensor(x, device=device), sn.tensor(y, device=device)
    return steps, to_device, device.synchronize


def torch_steps(device):
    import torch
    import torch.nn.functional as F
    from workloads import torch_impl

    device = torch.device("cuda:" + device.partition(":")[2] if device.startswith("gpu")
                          else device)

    def classifier(model, optimizer):
        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return step

    w2, w3, lstm = (build().to(device) for build in (torch_impl.w2_model,
                                                     torch_impl.w3_model,
                                                     torch_impl.w4_model))
    x_np, d_np, w1_np, w2_np = three_bit_images()
    tiny_x, tiny_d = torch.from_numpy(x_np).to(device), torch.from_numpy(d_np).to(device)
    tiny_w1 = torch.from_numpy(w1_np).to(device).requires_grad_()
    tiny_w2 = torch.from_numpy(w2_np).to(device).requires_grad_()

    def tiny(x, y):
        nonlocal tiny_w1, tiny_w2
        z = torch.sigmoid(torch.sigmoid(tiny_x @ tiny_w1) @ tiny_w2)
        (0.5 * ((z - tiny_d) ** 2).sum()).backward()
        with torch.no_grad():
            tiny_w1 -= tiny_w1.grad
            tiny_w2 -= tiny_w2.grad
            tiny_w1.grad = tiny_w2.grad = None

    steps = {"W2": classifier(w2, torch.optim.SGD(w2.parameters(), lr=0.05, momentum=0.9)),
             "W3": classifier(w3, torch.optim.Adam(w3.parameters(), lr=1e-3)),
             "LSTM": classifier(lstm, torch.optim.Adam(
                 [p for p in lstm.parameters() if p.requires_grad], lr=1e-3)),
             "W5": tiny}

    def to_device(x, y):
        return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return steps, to_device, sync


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="gpu:0", help="gpu:N, or cpu (default gpu:0)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per workload")
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    data = load_data()
    count = args.warmup + args.steps
    inputs = {"W2": _batches(data, args.batch, count), "LSTM": _batches(data, args.batch, count),
              "W3": _batches(data, args.batch, count, image=True),
              "W5": [(np.zeros(1, np.float32), np.zeros(1, np.int64))] * count}
    results = {}
    for name, build in (("somanet", somanet_steps), ("torch", torch_steps)):
        steps, to_device, sync = build(args.device)
        for workload, step in steps.items():
            batches = [to_device(x, y) for x, y in inputs[workload]]
            results[name, workload] = _time(step, batches, args.warmup, sync)
    print(f"device {args.device}, batch {args.batch}, median of {args.steps} steps "
          f"after {args.warmup}")
    print(f"{'workload':<8} {'somanet ms':>11} {'torch ms':>9} {'torch/somanet':>14}")
    for workload in inputs:
        ours, theirs = results["somanet", workload], results["torch", workload]
        print(f"{workload:<8} {ours:>11.3f} {theirs:>9.3f} {theirs / ours:>14.2f}")
        print("RESULT " + json.dumps({"device": args.device, "batch": args.batch,
                                      "workload": workload, "somanet_ms": ours,
                                      "torch_ms": theirs}), flush=True)


if __name__ == "__main__":
    main()
