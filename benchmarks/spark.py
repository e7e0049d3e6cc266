"""W2 data-parallel on two Spark barrier tasks against the same two ranks under mpiexec.

    python benchmarks/spark.py [--epochs 3] [--batch 128]

The workload is benchmarks/distributed.py's W2 worker (784-512-512-10 ReLU MLP, SGD
momentum 0.9, mnist_small's 4,000 digits, global batch 128 split over 2 ranks, one BLAS
thread each, the first epoch a warm-up), run twice in fresh processes:

  mpiexec   mpiexec -n 2 python benchmarks/distributed.py --worker ...
  spark     somanet.distributed.spark.run(worker, num_workers=2) on local[2]

Reported: the median training step (ms) of each and their ratio (the per-step overhead of
the Spark path), and the Spark job's fixed costs: the SparkSession's start and the wall
time of run() beyond the training itself (tasks, the ranks' processes, assembling the MPI
world). One JSON line per measurement ("RESULT {...}").
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def spark_worker(options):
    """Rank code shipped to the tasks: benchmarks/distributed.py's worker, its RESULT."""
    import contextlib
    import importlib
    import io
    sys.path.insert(0, options["benchmarks"])
    distributed_benchmark = importlib.import_module("distributed")
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        distributed_benchmark.worker(argparse.Namespace(**options["worker"]))
    lines = [line for line in printed.getvalue().splitlines() if line.startswith("RESULT ")]
    result = json.loads(lines[0][len("RESULT "):]) if lines else None
    if result is not None:
        result["train_seconds"] = time.perf_counter() - start
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    worker = {"epochs": args.epochs, "batch": args.batch, "threads": 1, "overlap": True,
              "per_rank": False}
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")

    command = [str(Path(sys.executable).with_name("mpiexec")), "-n", "2", sys.executable,
               str(HERE / "distributed.py"), "--worker", "--threads", "1", "--epochs",
               str(args.epochs), "--batch", str(args.batch), "--overlap"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    plain = json.loads(lines[0][len("RESULT "):])
    print("RESULT " + json.dumps({"path": "mpiexec", **plain}), flush=True)

    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                      PYSPARK_PYTHON=sys.executable)
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    from somanet.distributed import spark
    session = (SparkSession.builder.master("local[2]").appName("somanet-benchmark")
               .config("spark.ui.enabled", "false").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    session_seconds = time.perf_counter() - started
    started = time.perf_counter()
    on_spark = spark.run(spark_worker, num_workers=2, spark=session,
                         options={"benchmarks": str(HERE), "worker": worker})
    run_seconds = time.perf_counter() - started
    session.stop()
    print("RESULT " + json.dumps({"path": "spark", "session_s": session_seconds,
                                  "run_s": run_seconds,
                                  "fixed_s": run_seconds - on_spark["train_seconds"],
                                  **on_spark}), flush=True)
    print(f"\nW2, 2 ranks x 1 thread, global batch {args.batch}:")
    print(f"  mpiexec  step {plain['step_ms']:.2f} ms")
    print(f"  spark    step {on_spark['step_ms']:.2f} ms "
          f"(x{on_spark['step_ms'] / plain['step_ms']:.2f} of mpiexec's)")
    print(f"  spark    fixed costs: session start {session_seconds:.1f} s, run() beyond "
          f"training {run_seconds - on_spark['train_seconds']:.1f} s")


if __name__ == "__main__":
    main()
