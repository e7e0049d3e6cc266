"""The benchmark suite: somanet (eager and compiled) side by side with PyTorch and JAX on
five workloads.

    python benchmarks/run.py [W1 W2 ...] [--frameworks somanet,somanet-jit,torch,jax]
                             [--repeat N]

Frameworks (workloads/<module>.py): somanet (eager, somanet_impl), somanet-jit (compiled
steps: ``compile(jit=True)`` and ``somanet.graph.compile``, somanet_jit_impl), torch
(PyTorch eager, torch_impl), jax (``jax.jit`` + optax, jax_impl). Those not installed are
skipped.

Each workload runs in a fresh subprocess per framework (so peak memory is per
workload), frameworks interleaved, 2 threads, float32, the same data, initial
weights and shuffles. Prints a table and one JSON line per run:

  s/epoch     median seconds per epoch over epochs 2..5 (W5: total seconds, 10,000 steps)
  accuracy    test accuracy after 5 epochs (W5: the four images classified)
  loss        the last epoch's mean training loss
  peak MB     peak resident memory of the training phase (data loading excluded)
  torch/sn    on the somanet and somanet-jit rows: torch seconds / this row's seconds
              (above 1: this row is faster)
  jax/sn      the same with jax's seconds

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
# name -> (module in workloads/, what must import for it to run)
FRAMEWORKS = {"somanet": ("somanet_impl", ["somanet"]),
              "somanet-jit": ("somanet_jit_impl", ["somanet"]),
              "torch": ("torch_impl", ["torch"]),
              "jax": ("jax_impl", ["jax", "optax"])}
SOMANET_ROWS = ("somanet", "somanet-jit")  # the rows with ratio columns
INSTALL_HINTS = {"torch": "pip install torch==2.13.0", "jax": 'pip install "jax[cpu]" optax'}


def worker(framework, workload):
    """Run one workload of one framework in this process; print its JSON line."""
    sys.path.insert(0, str(HERE))
    # the framework first: somanet sets how OpenBLAS's threads wait before NumPy loads
    module = importlib.import_module(f"workloads.{FRAMEWORKS[framework][0]}")
    from workloads.common import load_data
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
    """Whether the framework's packages are there; jax is imported (in a subprocess, so
    this process stays free of its threads) since a half-installed jax is found but fails."""
    packages = FRAMEWORKS[framework][1]
    if any(importlib.util.find_spec(name) is None for name in packages):
        return False
    if framework != "jax":
        return True
    check = subprocess.run([sys.executable, "-c", "import " + ", ".join(packages)],
                           capture_output=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    return check.returncode == 0


def main():
    parser = argparse.ArgumentParser(description="somanet vs PyTorch/JAX benchmarks")
    parser.add_argument("workloads", nargs="*", default=WORKLOADS, metavar="W",
                        help="workload ids (default: all)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated: somanet, somanet-jit, torch, jax (default: "
                             "all four, skipping those not installed)")
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
            print(f"note: {name} is not installed, skipping it ({INSTALL_HINTS.get(name)})")

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


def _ratio(other_seconds, seconds):
    ratio = other_seconds / seconds
    return f"{ratio:9.2f}" if ratio == ratio else f"{'-':>9}"  # NaN: the other did not run


def table(workloads, frameworks, results):
    """The table: a row per workload and framework; on the somanet rows, how many times
    torch's and jax's seconds this row's are (above 1: this row is faster); then notes."""
    header = (f"{'':<4} {'framework':<11} {'s/epoch':>9} {'accuracy':>9} {'loss':>8} "
              f"{'peak MB':>8} {'torch/sn':>9} {'jax/sn':>9}")
    lines, notes = [header, "-" * len(header)], []
    for workload in workloads:
        other = {name: _median(results.get((workload, name), []), "seconds")
                 for name in ("torch", "jax")}
        for framework in frameworks:
            runs = results.get((workload, framework), [])
            errors = [run["error"] for run in runs if "error" in run]
            if errors:
                lines.append(f"{workload:<4} {framework:<11} failed: {errors[0]}")
                continue
            seconds = _median(runs, "seconds")
            ratios = (f"{_ratio(other['torch'], seconds)} {_ratio(other['jax'], seconds)}"
                      if framework in SOMANET_ROWS else "")
            lines.append(f"{workload:<4} {framework:<11} {seconds:9.3f} "
                         f"{_median(runs, 'test_accuracy'):9.3f} "
                         f"{_median(runs, 'final_loss'):8.4f} "
                         f"{_median(runs, 'peak_rss_mb'):8.0f} {ratios}".rstrip())
            for note in dict.fromkeys(run["note"] for run in runs if run.get("note")):
                notes.append(f"  {workload} {framework}: {note}")
    return "\n".join(lines + (["", "notes:"] + notes if notes else []))


if __name__ == "__main__":
    main()
