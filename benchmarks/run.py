"""The benchmark suite: somanet side by side with PyTorch (and JAX) on five workloads.

    python benchmarks/run.py [W1 W2 ...] [--frameworks somanet,torch,jax] [--repeat N]

Each workload runs in a fresh subprocess per framework (so peak memory is per
workload), frameworks interleaved, 2 threads, float32, the same data, initial
weights and shuffles. Prints a table and one JSON line per run:

  s/epoch     median seconds per epoch over epochs 2..5 (W5: total seconds, 10,000 steps)
  accuracy    test accuracy after 5 epochs (W5: the four images classified)
  loss        the last epoch's mean training loss
  peak MB     peak resident memory of the training phase (data loading excluded)
  torch/sn    torch seconds / somanet seconds (above 1: somanet is faster)

| id | model | optimiser | batch |
|---|---|---|---|
| W1 | seed 004 quickstart MLP (784-128 relu, dropout 0.2, 10), fit() | Adam 1e-3 | 32 |
| W2 | 784-512-512-10 ReLU | SGD momentum 0.9, lr 0.05 | 128 |
| W3 | LeNet: conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, 10 | Adam 1e-3 | 64 |
| W4 | LSTM(128) over the 28 image rows, last state -> 10 | Adam 1e-3 | 64 |
| W5 | seed 000's 3-4-1 sigmoid net, squared error, 10,000 steps | GD lr 1.0 | 4 |
"""
import argparse
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = ["W1", "W2", "W3", "W4", "W5"]
FRAMEWORKS = {"somanet": "somanet", "torch": "torch", "jax": "jax"}


def worker(framework, workload):
    """Run one workload of one framework in this process; print its JSON line."""
    sys.path.insert(0, str(HERE))
    from workloads.common import load_data
    module = importlib.import_module(f"workloads.{framework}_impl")
    data = load_data()
    result = getattr(module, workload.lower())(data)
    print("RESULT " + result.to_json(), flush=True)


def run_one(framework, workload):
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        env[name] = "2"
    process = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                              framework, workload], capture_output=True, text=True, env=env)
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (process.stderr or process.stdout).strip().splitlines()[-3:]
    return {"framework": framework, "workload": workload, "error": " | ".join(tail)}


def available(framework):
    return importlib.util.find_spec(FRAMEWORKS[framework]) is not None


def main():
    parser = argparse.ArgumentParser(description="somanet vs PyTorch/JAX benchmarks")
    parser.add_argument("workloads", nargs="*", default=WORKLOADS, metavar="W",
                        help="workload ids (default: all)")
    parser.add_argument("--frameworks", default="somanet,torch",
                        help="comma-separated: somanet, torch, jax (default somanet,torch)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per workload and framework; the median is reported")
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(*args.worker)

    workloads = [w.upper() for w in args.workloads]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {WORKLOADS}")
    frameworks = []
    for name in args.frameworks.split(","):
        name = name.strip()
        if name not in FRAMEWORKS:
            parser.error(f"unknown framework {name!r}; choose from {list(FRAMEWORKS)}")
        if available(name):
            frameworks.append(name)
        else:
            hint = "pip install torch==2.13.0" if name == "torch" else "pip install jax"
            print(f"note: {name} is not installed, skipping it ({hint})")

    results = {}
    for workload in workloads:
        for _ in range(args.repeat):
            for framework in frameworks:  # interleaved, so drift hits every framework alike
                result = run_one(framework, workload)
                print(json.dumps(result), flush=True)
                results.setdefault((workload, framework), []).append(result)
    print()
    print(table(workloads, frameworks, results))


def _median(runs, key):
    values = [run[key] for run in runs if key in run]
    return statistics.median(values) if values else float("nan")


def table(workloads, frameworks, results):
    header = (f"{'':<4} {'framework':<9} {'s/epoch':>9} {'accuracy':>9} {'loss':>8} "
              f"{'peak MB':>8} {'torch/sn':>9}")
    lines = [header, "-" * len(header)]
    for workload in workloads:
        torch_seconds = _median(results.get((workload, "torch"), []), "seconds")
        for framework in frameworks:
            runs = results.get((workload, framework), [])
            errors = [run["error"] for run in runs if "error" in run]
            if errors:
                lines.append(f"{workload:<4} {framework:<9} failed: {errors[0]}")
                continue
            seconds = _median(runs, "seconds")
            ratio = f"{torch_seconds / seconds:9.2f}" if framework == "somanet" else ""
            lines.append(f"{workload:<4} {framework:<9} {seconds:9.3f} "
                         f"{_median(runs, 'test_accuracy'):9.3f} {_median(runs, 'final_loss'):8.4f} "
                         f"{_median(runs, 'peak_rss_mb'):8.0f} {ratio}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
