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
  ... bN      overlap with buckets of N MB (the default, BUCKET_MB, otherwise)
  ... fp16    overlap with compression="fp16": the gradients travel as float16

For each: examples per second (global batch / median step; "epoch" in the JSON: from
whole epochs, stalls from other work on the machine included), milliseconds per step, the
milliseconds per step one
rank waits for the other before the reduction (a barrier, timed apart: on a shared
2-core machine the ranks drift), and the milliseconds per step in
DistributedOptimizer.reduce_gradients() (pack, all-reduce, unpack; with overlap: the wait
for the reductions still in flight, and any bucket not started yet). A run with
--fp16-error (not timed) measures what compression="fp16" does to the averaged gradients
of W2 at every step: the norm of the difference from the float32 mean over its norm.
Then a sweep of the bare
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
        sn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9), overlap=args.overlap,
        bucket_mb=args.bucket_mb, compression=args.compression)
    loader = DataLoader(data, batch_size=args.batch, shuffle=True, seed=1, drop_last=True)
    optimizer, loader = distributed.prepare(model, optimizer, loader,
                                            split_batch=not args.per_rank)
    step_times, wait_times, reduce_times, epoch_times, errors = [], [], [], [], []
    comm = distributed.communicator()
    for epoch in range(args.epochs):
        distributed.barrier()
        epoch_start = time.perf_counter()
        for x, y in loader:
            start = time.perf_counter()
            loss = sn.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            arrived = time.perf_counter()
            if args.fp16_error:
                exact = [p.grad.numpy().copy() for p in model.parameters()]
            distributed.barrier()  # the wait for the slower rank, timed apart from the reduce
            before = time.perf_counter()
            optimizer.reduce_gradients()
            after = time.perf_counter()
            if args.fp16_error:
                exact = np.concatenate([grad.ravel() for grad in exact])
                comm.allreduce_(exact, "mean")
                got = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
                errors.append(float(np.linalg.norm(got - exact) / np.linalg.norm(exact)))
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
              "bucket_mb": args.bucket_mb, "compression": args.compression,
              "batch_per_rank": loader.batch_size, "global_batch": global_batch,
              "steps_per_epoch": steps, "examples_per_s": global_batch / step,
              "epoch_examples_per_s": steps * global_batch / seconds,
              "step_ms": 1e3 * step,
              "wait_ms": 1e3 * statistics.median(wait_times),
              "reduce_ms": 1e3 * statistics.median(reduce_times),
              "final_loss": float(loss), "accuracy": _accuracy(model)}
    if errors:
        result["fp16_error_median"] = statistics.median(errors)
        result["fp16_error_max"] = max(errors)
    if distributed.is_main():
        print("RESULT " + json.dumps(result), flush=True)


def _accuracy(model):
    """Test accuracy on mnist_small's 1,000 test digits."""
    import numpy as np
    import somanet as sn
    images, labels = sn.datasets.mnist_small("test")
    with sn.no_grad():
        logits = model(sn.tensor(images.reshape(len(images), -1).astype(np.float32)))
    return float((logits.numpy().argmax(1) == labels).mean())


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
    parser.add_argument("--buckets", type=float, nargs="*", default=[0.25, 1.0],
                        help="bucket sizes (MB) to try besides the default, with overlap")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sweep", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=128, help=argparse.SUPPRESS)
    parser.add_argument("--per-rank", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--overlap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bucket-mb", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--compression", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--fp16-error", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if args.bucket_mb is None:
            from somanet.distributed.optimizer import BUCKET_MB
            args.bucket_mb = BUCKET_MB
        return sweep(args) if args.sweep else worker(args)
    if not MPIEXEC.exists():
        sys.exit(f"no mpiexec next to {sys.executable}: pip install 'somanet[distributed]'")

    common = ["--epochs", str(args.epochs)]
    overlap, weak = ["--overlap"], ["--per-rank"]
    fp16 = overlap + ["--compression", "fp16"]
    runs = [("1p x 1t", 1, 1, common), ("1p x 2t", 1, 2, common),
            ("2p x 1t", 2, 1, common), ("2p x 1t ov", 2, 1, common + overlap),
            ("2p x 1t w", 2, 1, common + weak), ("2p x 1t w ov", 2, 1, common + weak + overlap)]
    runs += [(f"2p x 1t w ov b{mb:g}", 2, 1, common + weak + overlap + ["--bucket-mb", str(mb)])
             for mb in args.buckets]
    runs += [("2p x 1t ov fp16", 2, 1, common + fp16),
             ("2p x 1t w ov fp16", 2, 1, common + weak + fp16)]
    load_before = os.getloadavg()[0]
    rows = []
    for name, processes, threads, extra in runs:
        tries = [launch(processes, threads, extra)[0] for _ in range(args.runs)]
        result = max(tries, key=lambda row: row["examples_per_s"])
        result["config"] = name
        rows.append(result)
        print("RESULT " + json.dumps(result), flush=True)
    error = launch(2, 1, common + fp16 + ["--fp16-error"])[0]
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
    print(f"{'config':<19} {'buckets':>7} {'batch/rank':>10} {'global':>6} {'examples/s':>10} "
          f"{'ms/step':>8} {'wait ms':>8} {'all-reduce ms':>13} {'share':>6} {'loss':>7} "
          f"{'acc.':>6}")
    for row in rows:
        share = row["reduce_ms"] / row["step_ms"]
        print(f"{row['config']:<19} {row['buckets']:>7} {row['batch_per_rank']:>10} "
              f"{row['global_batch']:>6} {row['examples_per_s']:>10.0f} {row['step_ms']:>8.2f} "
              f"{row['wait_ms']:>8.3f} {row['reduce_ms']:>13.3f} {share:>6.1%} "
              f"{row['final_loss']:>7.4f} {row['accuracy']:>6.3f}")
    by_name = {row["config"]: row for row in rows}
    one = by_name["1p x 1t"]["examples_per_s"]
    for mode in ("", " ov"):
        strong = by_name["2p x 1t" + mode]["examples_per_s"] / (2 * one)
        weak = by_name["2p x 1t w" + mode]["examples_per_s"] / (2 * one)
        print(f"scaling efficiency{mode or ' (blocking)':>14}: strong {strong:.0%}, weak "
              f"{weak:.0%} (examples/s over twice one process's)")
    print(f"fp16 compression, W2, every step of {args.epochs - 1} epochs: |mean16 - mean32| / "
          f"|mean32| median {error['fp16_error_median']:.2e}, max {error['fp16_error_max']:.2e}")
    print("\nbare all-reduce, 2 processes (barrier first)")
    print(f"{'parameters':>11} {'MB':>8} {'ms':>8} {'busbw GB/s':>11}")
    for result in sweeps:
        print(f"{result['parameters']:>11,} {result['bytes'] / 1e6:>8.2f} {result['ms']:>8.3f} "
              f"{result['busbw_GBps']:>11.2f}")
    estimate(rows[0], sweeps)


W2_SIZES = [784 * 512, 512, 512 * 512, 512, 512 * 10, 10]  # the optimiser's order


def bucket_shares(sizes, megabytes):
    """Each bucket's share of the parameters, in the order backward completes them (the
    cut DistributedOptimizer makes: runs of whole parameters from the last, >= bucket)."""
    shares, run = [], 0
    for size in reversed(sizes):
        run += size
        if 4 * run >= megabytes * 2 ** 20:
            shares.append(run)
            run = 0
    if run:
        shares.append(run)
    return [share / sum(sizes) for share in shares]


def exposed_ms(ring, compute, shares):
    """The all-reduce time left after overlapping it with backward (2/3 of the compute,
    spent on each bucket's layers in proportion to their parameters): each bucket's
    reduction (its share of ``ring``) starts when its gradients are ready and the one
    before has finished; what runs past the end of backward is exposed."""
    backward = 2 / 3 * compute
    ready = end = 0.0
    for share in shares:
        ready += share * backward
        end = max(end, ready) + share * ring
    return max(0.0, end - backward)


def fp16_ms_per_parameter():
    """Milliseconds per parameter that compression="fp16" adds to a step, measured here:
    rounding the gradients to float16, MPI's float16 sum (``half_reduce``) and widening
    the result back (median of 20, on W2's size)."""
    import numpy as np
    from somanet.backend import kernels_half
    gradients = np.random.default_rng(0).standard_normal(W2_PARAMETERS).astype(np.float32)
    wire, other = np.empty(W2_PARAMETERS, np.float16), np.empty(W2_PARAMETERS, np.float16)
    kernels_half.float_to_half(gradients, other)
    times = []
    for _ in range(22):
        start = time.perf_counter()
        kernels_half.float_to_half(gradients, wire)
        kernels_half.half_reduce(np.add, wire, other)
        kernels_half.half_to_float(wire, gradients)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[2:]) / W2_PARAMETERS


def estimate(single, sweeps):
    """Step time on N machines, one rank each, 128 examples per rank (weak scaling):
    compute (measured: 1 process, 1 thread) + the ring all-reduce,
    2 (N-1)/N * bytes / busbw, with the busbw measured above for that size, and with
    10 Gb/s Ethernet (1.25 GB/s) and 100 Gb/s InfiniBand (about 12 GB/s) for
    comparison. The 25M-parameter model is W2 with every layer 37x larger (a dense
    network of three layers); its compute is W2's scaled by the parameter count.
    Latency (2 (N-1) hops of a few microseconds) is left out.

    Three cases: blocking (everything reduced after backward), overlap (the default:
    buckets of BUCKET_MB reduced as backward completes them, ``exposed_ms``), and
    overlap with fp16 compression (half the bytes, plus the conversions and the float16
    sum, ``fp16_ms_per_parameter``, counted as exposed). In a three-layer network the first
    layer (60% of the parameters) is finished last, so at least its reduction is
    exposed: overlap hides at most the other 40%."""
    from somanet.distributed.optimizer import BUCKET_MB
    compute_w2 = single["step_ms"]
    scale = 25_000_000 / W2_PARAMETERS
    models = [("W2", W2_SIZES, compute_w2),
              ("25M", [size * scale for size in W2_SIZES], compute_w2 * scale)]
    busbw = {result["parameters"]: result["busbw_GBps"] for result in sweeps}
    convert = fp16_ms_per_parameter()
    print(f"\nfp16 conversions and float16 sum: {convert * W2_PARAMETERS:.2f} ms for W2's "
          f"gradients ({convert * 1e6:.2f} ns a parameter)")
    links = [("here", None), ("10GbE", 1.25), ("IB100", 12.0)]
    for case in ("blocking", "overlap", "overlap + fp16"):
        print(f"\nestimated ms per step on N machines (share of the step in the all-reduce), "
              f"{case}")
        print(f"{'N':>4}" + "".join(f" {name + ' ' + link:>16}" for name, _, _ in models
                                     for link, _ in links))
        for machines in (1, 2, 4, 8, 16, 64, 256):
            cells = []
            for name, sizes, compute in models:
                parameters = round(sum(sizes))
                for _, bandwidth in links:
                    bandwidth = busbw[min(busbw, key=lambda n: abs(n - parameters))] \
                        if bandwidth is None else bandwidth
                    nbytes = (2 if case.endswith("fp16") else 4) * parameters
                    ring = 2 * (machines - 1) / machines * nbytes / (bandwidth * 1e9) * 1e3
                    if case != "blocking":
                        ring = exposed_ms(ring, compute, bucket_shares(sizes, BUCKET_MB))
                    if case.endswith("fp16"):
                        ring += convert * parameters
                    cells.append(f"{compute + ring:.1f} ({ring / (compute + ring):.0%})")
            print(f"{machines:>4}" + "".join(f" {cell:>16}" for cell in cells))


if __name__ == "__main__":
    main()
