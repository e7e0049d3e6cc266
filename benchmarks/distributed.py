"""Data-parallel W2 over MPI on this machine: throughput with 1 and 2 processes, the time
spent in the gradient all-reduce, and the all-reduce bandwidth.

    python benchmarks/distributed.py [--epochs 4] [--repeat 20] [--runs 3]

W2 is the benchmark suite's 784-512-512-10 ReLU MLP (669,706 parameters), SGD with
momentum 0.9, lr 0.05, trained on somanet.datasets.mnist_small()'s 4,000 training
digits (the first 4,000 of default_rng(0).permutation). Configurations, each in fresh
processes (the first epoch, a warm-up, is not counted):

  1p x 1t     one process, one BLAS thread, batch 128
  1p x 2t     one process, two BLAS threads, batch 128
  2p x 1t     mpiexec -n 2, one thread each, global batch 128 (64 per rank): the same
              steps as one process ("strong scaling")
  2p x 1t w   mpiexec -n 2, one thread each, 128 per rank (global 256: "weak scaling")
  ... ov      the same with DistributedOptimizer(overlap=True), the default: each bucket's
              all-reduce starts from the grad-ready hooks while backward still runs; the
              others use overlap=False (everything reduced at the step, the old path)

For each: examples per second (global batch / median step; "epoch" in the JSON: from
whole epochs, stalls from other work on the machine included), milliseconds per step, the
milliseconds per step one
rank waits for the other before the reduction (a barrier, timed apart: on a shared
2-core machine the ranks drift), and the milliseconds per step in
DistributedOptimizer.reduce_gradients() (pack, all-reduce, unpack; with overlap: the wait
for the reductions still in flight, and any bucket not started yet). Then a sweep of the bare
all-reduce (a barrier first, so no waiting) over sizes up to a 25M-parameter model's
gradients gives the bus bandwidth of the ring model, busbw = 2 (N-1)/N * bytes / time.
Prints a table and one JSON line per measurement ("RESULT {...}").
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
MPIEXEC = Path(sys.executable).with_name("mpiexec")
W2_PARAMETERS = 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
SWEEP_PARAMETERS = [W2_PARAMETERS, 4_000_000, 25_000_000]


def worker(args):
    """Train W2 in this process (one rank of a job, or alone); rank 0 prints RESULT."""
    import numpy as np
    import somanet as sn
    from somanet import distributed, nn
    from somanet.data import DataLoader, TensorDataset

    world = distributed.world_size()
    images, labels = sn.datasets.mnist_small("train")
    data = TensorDataset(images.reshape(len(images), -1).astype(np.float32), labels)
    sn.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    optimizer = distributed.DistributedOptimizer(
        sn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), overlap=args.overlap)
    loader = DataLoader(data, batch_size=args.batch, shuffle=True, seed=1, drop_last=True)
    optimizer, loader = distributed.prepare(model, optimizer, loader,
                                            split_batch=not args.per_rank)
    step_times, wait_times, reduce_times, epoch_times = [], [], [], []
    for epoch in range(args.epochs):
        distributed.barrier()
        epoch_start = time.perf_counter()
        for x, y in loader:
            start = time.perf_counter()
            loss = sn.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            arrived = time.perf_counter()
            distributed.barrier()  # the wait for the slower rank, timed apart from the reduce
            before = time.perf_counter()
            optimizer.reduce_gradients()
            after = time.perf_counter()
            optimizer.step()
            if epoch > 0:
                step_times.append(time.perf_counter() - start)
                wait_times.append(before - arrived)
                reduce_times.append(after - before)
        epoch_times.append(time.perf_counter() - epoch_start)
    steps = len(loader)
    global_batch = loader.batch_size * world
    seconds = statistics.median(epoch_times[1:])
    step = statistics.median(step_times)
    result = {"kind": "train", "processes": world, "threads": args.threads,
              "overlap": args.overlap, "buckets": len(optimizer._buckets or []),
              "batch_per_rank": loader.batch_size, "global_batch": global_batch,
              "steps_per_epoch": steps, "examples_per_s": global_batch / step,
              "epoch_examples_per_s": steps * global_batch / seconds,
              "step_ms": 1e3 * step,
              "wait_ms": 1e3 * statistics.median(wait_times),
              "reduce_ms": 1e3 * statistics.median(reduce_times),
              "final_loss": float(loss)}
    if distributed.is_main():
        print("RESULT " + json.dumps(result), flush=True)


def sweep(args):
    """Time the bare all-reduce of float32 buffers of each size (rank 0 prints RESULT)."""
    import numpy as np
    from somanet import distributed

    comm = distributed.communicator()
    for parameters in SWEEP_PARAMETERS:
        buffer = np.ones(parameters, dtype=np.float32)
        times = []
        for _ in range(args.repeat + 2):
            comm.barrier()
            start = time.perf_counter()
            comm.allreduce_(buffer, "sum")
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times[2:])
        size = comm.size
        busbw = 2 * (size - 1) / size * buffer.nbytes / seconds
        if comm.rank == 0:
            print("RESULT " + json.dumps({"kind": "allreduce", "processes": size,
                                          "parameters": parameters, "bytes": buffer.nbytes,
                                          "ms": 1e3 * seconds, "busbw_GBps": busbw / 1e9}),
                  flush=True)


def launch(processes, threads, extra):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PMI_", "OMPI_", "HYDRA_"))}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    command = [sys.executable, str(HERE), "--worker", "--threads", str(threads), *extra]
    if processes > 1:
        command = [str(MPIEXEC), "-n", str(processes)] + command
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
    results = [json.loads(line[len("RESULT "):]) for line in done.stdout.splitlines()
               if line.startswith("RESULT ")]
    if done.returncode != 0 or not results:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the first "
                        "is a warm-up)")
    parser.add_argument("--repeat", type=int, default=20, help="all-reduces per size")
    parser.add_argument("--runs", type=int, default=3, help="runs of each configuration; "
                        "the fastest is reported (the machine is shared)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sweep", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=128, help=argparse.SUPPRESS)
    parser.add_argument("--per-rank", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--overlap", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return sweep(args) if args.sweep else worker(args)
    if not MPIEXEC.exists():
        sys.exit(f"no mpiexec next to {sys.executable}: pip install 'somanet[distributed]'")

    common = ["--epochs", str(args.epochs)]
    overlap, weak = ["--overlap"], ["--per-rank"]
    runs = [("1p x 1t", 1, 1, common), ("1p x 2t", 1, 2, common),
            ("2p x 1t", 2, 1, common), ("2p x 1t ov", 2, 1, common + overlap),
            ("2p x 1t w", 2, 1, common + weak), ("2p x 1t w ov", 2, 1, common + weak + overlap)]
    load_before = os.getloadavg()[0]
    rows = []
    for name, processes, threads, extra in runs:
        tries = [launch(processes, threads, extra)[0] for _ in range(args.runs)]
        result = max(tries, key=lambda row: row["examples_per_s"])
        result["config"] = name
        rows.append(result)
        print("RESULT " + json.dumps(result), flush=True)
    sweeps = []
    for _ in range(args.runs):
        found = launch(2, 1, ["--sweep", "--repeat", str(args.repeat)])
        sweeps = found if not sweeps else [min(old, new, key=lambda row: row["ms"])
                                           for old, new in zip(sweeps, found)]
    for result in sweeps:
        print("RESULT " + json.dumps(result), flush=True)
    load_after = os.getloadavg()[0]

    print(f"\nW2 ({W2_PARAMETERS:,} parameters), mnist_small 4,000 training digits, "
          f"median of epochs 2..{args.epochs}, best of {args.runs} runs; load average "
          f"{load_before:.1f} before, {load_after:.1f} after (2 cores)")
    print(f"{'config':<13} {'batch/rank':>10} {'global':>6} {'examples/s':>10} "
          f"{'ms/step':>8} {'wait ms':>8} {'all-reduce ms':>13} {'share':>6}")
    for row in rows:
        share = row["reduce_ms"] / row["step_ms"]
        print(f"{row['config']:<13} {row['batch_per_rank']:>10} {row['global_batch']:>6} "
              f"{row['examples_per_s']:>10.0f} {row['step_ms']:>8.2f} {row['wait_ms']:>8.3f} "
              f"{row['reduce_ms']:>13.3f} {share:>6.1%}")
    by_name = {row["config"]: row for row in rows}
    one = by_name["1p x 1t"]["examples_per_s"]
    for mode in ("", " ov"):
        strong = by_name["2p x 1t" + mode]["examples_per_s"] / (2 * one)
        weak = by_name["2p x 1t w" + mode]["examples_per_s"] / (2 * one)
        print(f"scaling efficiency{mode or ' (blocking)':>14}: strong {strong:.0%}, weak "
              f"{weak:.0%} (examples/s over twice one process's)")
    print("\nbare all-reduce, 2 processes (barrier first)")
    print(f"{'parameters':>11} {'MB':>8} {'ms':>8} {'busbw GB/s':>11}")
    for result in sweeps:
        print(f"{result['parameters']:>11,} {result['bytes'] / 1e6:>8.2f} {result['ms']:>8.3f} "
              f"{result['busbw_GBps']:>11.2f}")
    estimate(rows[0], sweeps)


def estimate(single, sweeps):
    """Step time on N machines, one rank each, 128 examples per rank (weak scaling):
    compute (measured: 1 process, 1 thread) + the ring all-reduce,
    2 (N-1)/N * bytes / busbw, with the busbw measured above for that size, and with
    10 Gb/s Ethernet (1.25 GB/s) and 100 Gb/s InfiniBand (about 12 GB/s) for
    comparison. The 25M-parameter model's compute is W2's scaled by the parameter
    count (a dense network). Latency (2 (N-1) hops of a few microseconds) is left out.

    With overlap, the all-reduce of every bucket but the one finished last hides
    behind the rest of backward (taken as 60% of the compute, backward being about
    twice the forward): the exposed part is max(ring - 0.6 compute, the last bucket's
    ring time), the last bucket being BUCKET_MB of the parameters' bytes."""
    compute_w2 = single["step_ms"]
    models = [("W2", W2_PARAMETERS, compute_w2),
              ("25M", 25_000_000, compute_w2 * 25_000_000 / W2_PARAMETERS)]
    busbw = {result["parameters"]: result["busbw_GBps"] for result in sweeps}
    links = [("here", None), ("10GbE", 1.25), ("IB100", 12.0)]
    from somanet.distributed.optimizer import BUCKET_MB
    for overlapped in (False, True):
        print(f"\nestimated ms per step on N machines (share of the step in the all-reduce), "
              f"{'with overlap' if overlapped else 'blocking'}")
        print(f"{'N':>4}" + "".join(f" {name + ' ' + link:>16}" for name, _, _ in models
                                     for link, _ in links))
        for machines in (1, 2, 4, 8, 16, 64, 256):
            cells = []
            for name, parameters, compute in models:
                for _, bandwidth in links:
                    bandwidth = busbw[parameters] if bandwidth is None else bandwidth
                    ring = 2 * (machines - 1) / machines * 4 * parameters / (bandwidth * 1e9) \
                        * 1e3
                    if overlapped:
                        last = ring * min(1.0, BUCKET_MB * 2 ** 20 / (4 * parameters))
                        ring = max(ring - 0.6 * compute, last)
                    cells.append(f"{compute + ring:.1f} ({ring / (compute + ring):.0%})")
            print(f"{machines:>4}" + "".join(f" {cell:>16}" for cell in cells))

if __name__ == "__main__":
    main()
