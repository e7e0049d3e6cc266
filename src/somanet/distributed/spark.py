"""Data-parallel training on a Spark cluster, where the data already is.

``run(train_fn, num_workers=N)`` runs ``train_fn`` on N Spark tasks in barrier
execution mode (all start together, or none) as the N ranks of one somanet job:
inside it, ``somanet.distributed`` works exactly as under ``mpiexec -n N``
(``prepare``, ``DistributedOptimizer``, ``fit``, rank-0 checkpoints), and rank 0's
return value comes back to the driver::

    from pyspark.sql import SparkSession
    import somanet as sn
    from somanet.distributed import spark as sn_spark

    def train(epochs):
        model = build_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=epochs, batch_size=64)   # each rank takes 64 / N a step
        return {k: v.numpy() for k, v in model.state_dict().items()}

    session = SparkSession.builder.master("local[2]").getOrCreate()
    weights = sn_spark.run(train, num_workers=2, spark=session, epochs=5)

``fit(model, dataframe, features=, label=)`` trains a compiled Model on a Spark
DataFrame: each task writes its own partition, as Arrow record batches, to a file on
its machine's local disk, and its rank trains on that file memory-mapped, so no data
goes through the driver (never ``collect()``) and a dataset larger than any one
machine's memory trains. The driver's model gets the trained weights.

How the ranks talk: MPI, not a new protocol. Each task starts its rank as an MPI
job of one (``mpiexec -n 1 python -m somanet.distributed.spark_rank``, a fresh
process, so a reused Spark Python worker never meets an MPI already finalised); rank
0 opens an MPI port, its name goes to the other tasks through
``BarrierTaskContext.allGather``, they connect, and the joins are merged into one
intracommunicator (``somanet.distributed.spark_rank``). This was chosen over
starting one ``mpiexec -n N`` from the driver (as Horovod on Spark does), which
needs a remote-shell agent into the executors; here each executor only needs the
``mpiexec`` of the environment (the ``mpich`` wheel of the ``distributed`` extra).
Then every collective is plain MPI. ``benchmarks/spark.py`` (W2, 2 ranks x 1 thread,
global batch 128, on a 2-core machine busy with other work, so the numbers are rough): a
training step takes 44.7 ms on Spark's local[2] against 37.3 ms under ``mpiexec -n 2``
(x1.20, the Spark JVM's threads sharing the two cores), with the same final loss to the
last bit; the fixed costs are the SparkSession's start (55 s there) and about 25 s per
``run`` for the tasks, the ranks' processes and assembling the MPI world.

Faults: a rank that raises or is killed fails its task, Spark fails the barrier
stage (or retries it, per ``spark.task.maxFailures``), the other ranks notice within
seconds (the collectives' watchdog) or are ended with their tasks, and the driver
raises ``SparkJobError`` naming the task and rank. Rank 0's checkpoints are written
atomically, so the last one is intact and a new run with ``resume`` continues.

On a real cluster: install somanet with the ``spark`` and ``distributed`` extras on
every node (or ship a packed environment with ``--archives``), one task per core or
GPU (``spark.task.cpus``, ``spark.task.resource.gpu.amount=1``), and submit as any
PySpark job::

    spark-submit --master yarn --deploy-mode cluster \\
        --conf spark.executor.cores=4 --conf spark.task.cpus=1 \\
        --conf spark.dynamicAllocation.enabled=false train.py
    spark-submit --master k8s://https://HOST:443 --conf spark.executor.instances=8 ...

Barrier mode needs N free task slots at once (dynamic allocation off). Ranks on
different machines reach each other over TCP as MPICH does (``MPIR_CVAR_CH4_NETMOD``,
``FI_PROVIDER`` choose the network).
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy

from .spark_rank import (DATA_FILE, JOB_FILE, PORT_FILE, RESULT_FILE, WORKDIR_VARIABLE,
                         wait_for_file, write_atomically)

_MARK = "somanet.distributed.spark: "
_LOG_LINES = 20  # the last lines of a failed rank's output the error quotes


class SparkJobError(RuntimeError):
    """The Spark job of a training run failed; the message names the task and rank."""


def _pyspark():
    try:
        import pyspark
        from pyspark import BarrierTaskContext  # noqa: F401  (barrier mode: Spark >= 2.4)
    except ImportError:
        raise ImportError("somanet.distributed.spark needs pyspark and a Java runtime: "
                          "pip install 'somanet[spark]' (and e.g. apt-get install "
                          "openjdk-17-jre-headless)") from None
    return pyspark


def dump_payload(value):
    """Functions and values to and from the ranks, as Spark ships functions (cloudpickle)."""
    from pyspark import cloudpickle
    return cloudpickle.dumps(value)


def load_payload(data):
    import pickle
    return pickle.loads(data)


def _session(spark):
    _pyspark()
    if spark is not None:
        return spark
    from pyspark.sql import SparkSession
    active = SparkSession.getActiveSession()
    if active is None:
        raise ValueError("somanet.distributed.spark: no active SparkSession; pass spark= "
                         "(e.g. SparkSession.builder.master('local[2]').getOrCreate())")
    return active


def _workers(spark, num_workers):
    if num_workers is None:
        return spark.sparkContext.defaultParallelism
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError(f"somanet.distributed.spark: num_workers must be a positive int, "
                         f"got {num_workers!r}")
    return num_workers


def _mpiexec():
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep +
                         os.environ.get("PATH", ""))
    if found is None:
        raise RuntimeError(f"{_MARK}no mpiexec next to {sys.executable} or on PATH: "
                           f"pip install 'somanet[distributed]' (mpi4py and the mpich "
                           f"wheel) on every executor")
    return found


# -- the task side (runs in Spark's Python workers) ---------------------------------------

def _rank_task(payload, size, batches=None):
    """One barrier task: start this task's rank, pass rank 0's port name around, wait
    for the rank, and return rank 0's result (``None`` on the other ranks)."""
    from pyspark import BarrierTaskContext
    context = BarrierTaskContext.get()
    index = context.partitionId()
    workdir = tempfile.mkdtemp(prefix=f"somanet-spark-{index}-")
    try:
        write_atomically(os.path.join(workdir, JOB_FILE), payload)
        if batches is not None:
            _write_arrow(batches, os.path.join(workdir, DATA_FILE))
        log_path = os.path.join(workdir, "rank.log")
        environment = dict(os.environ)
        environment.setdefault("OMP_NUM_THREADS", context.getLocalProperty(
            "spark.task.cpus") or "1")
        with open(log_path, "wb") as log:
            rank = subprocess.Popen(
                [_mpiexec(), "-n", "1", sys.executable, "-m", "somanet.distributed.spark_rank",
                 workdir, str(index), str(size), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment)
        try:
            port = ""
            if index == 0:
                port = wait_for_file(os.path.join(workdir, PORT_FILE), 120.0,
                                     alive=lambda: rank.poll() is None,
                                     what="MPI port name").decode("ascii")
            ports = context.allGather(port)
            if index != 0:
                write_atomically(os.path.join(workdir, PORT_FILE), ports[0].encode("ascii"))
            code = rank.wait()
        except BaseException as error:
            rank.kill()
            rank.wait()
            if isinstance(error, (RuntimeError, TimeoutError)):
                raise _failed(index, rank.returncode, log_path) from None
            raise
        if code != 0:
            raise _failed(index, code, log_path)
        if index != 0:
            return None
        with open(os.path.join(workdir, RESULT_FILE), "rb") as handle:
            return handle.read()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _failed(index, code, log_path):
    try:
        with open(log_path, "rb") as handle:
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    how = f"was killed by signal {-code}" if code is not None and code < 0 else \
        f"exited with status {code}"
    if code is not None and code > 128:  # mpiexec reports a killed process as 128 + signal
        how += f" (signal {code - 128})"
    reason = next((line for line in reversed(lines) if "Error" in line or "error" in line),
                  lines[-1] if lines else "no output")
    tail = "\n".join(lines[-_LOG_LINES:])
    return RuntimeError(f"{_MARK}task {index} (rank {index}) failed: its process {how}: "
                        f"{reason.strip()}\n--- the rank's last output ---\n{tail}")


def _write_arrow(batches, path):
    """Stream the task's Arrow record batches to an Arrow IPC file on local disk."""
    import pyarrow
    writer = None
    try:
        for batch in batches:
            if writer is None:
                writer = pyarrow.ipc.new_file(path, batch.schema)
            writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()


# -- the driver side ----------------------------------------------------------------------

def _explain(error):
    """The ``somanet.distributed.spark:`` line of a failed job's error, else its first."""
    text = str(error)
    for line in text.splitlines():
        if _MARK in line:
            return line[line.index(_MARK):].strip()
    if "BarrierJobSlotsNumberCheckFailed" in text or "not enough slots" in text.lower():
        return (f"{_MARK}the cluster has fewer free task slots than num_workers; barrier "
                f"mode starts all tasks at once (lower num_workers, or give Spark more cores)")
    first = next((line for line in text.splitlines() if line.strip()), type(error).__name__)
    return f"{_MARK}the Spark job failed: {first.strip()}"


def run(train_fn, num_workers=None, spark=None, **kwargs):
    """Run ``train_fn(**kwargs)`` as ``num_workers`` ranks of one data-parallel job on
    Spark barrier tasks, and return rank 0's result.

    Args:
        train_fn: an ordinary somanet training function (it may use ``prepare``,
            ``DistributedOptimizer``, ``fit``; ``world_size()`` is ``num_workers``
            inside). It and its arguments are shipped to the executors as Spark ships
            functions; its result must be picklable (e.g. a dict of NumPy arrays).
        num_workers: the number of ranks (tasks); default Spark's default parallelism.
            The cluster needs that many free task slots at once.
        spark: the SparkSession (default: the active one).

    Raises:
        SparkJobError: a task or rank failed (naming them), or the job could not start.
    """
    session = _session(spark)
    size = _workers(session, num_workers)
    payload = dump_payload((train_fn, kwargs))

    def task(_):
        result = _rank_task(payload, size)
        return [] if result is None else [result]

    rdd = session.sparkContext.parallelize(range(size), size).barrier().mapPartitions(task)
    try:
        results = rdd.collect()
    except Exception as error:  # py4j's and PySpark's errors carry the task's message
        raise SparkJobError(_explain(error)) from None
    return load_payload(results[0])


_FEATURE_TYPES = ("float", "double", "int", "bigint", "smallint", "tinyint", "boolean")
_LABEL_TYPES = ("int", "bigint", "smallint", "tinyint", "float", "double")


def _check_columns(dataframe, features, label):
    """The features as a list of column names, after checking names and types."""
    types = dict(dataframe.dtypes)
    names = [features] if isinstance(features, str) else list(features)
    if not names:
        raise ValueError("somanet.distributed.spark.fit: features must name at least one "
                         "column")
    for name in names + [label]:
        if name not in types:
            raise ValueError(f"somanet.distributed.spark.fit: the DataFrame has no column "
                             f"{name!r}; its columns are {list(types)}")
    for name in names:
        kind = types[name]
        element = kind[len("array<"):-1] if kind.startswith("array<") else kind
        if element not in _FEATURE_TYPES or (kind.startswith("array<") and len(names) > 1):
            raise TypeError(f"somanet.distributed.spark.fit: feature column {name!r} has "
                            f"type {kind}; expected numeric columns, or one array<float> "
                            f"column of the whole feature vector")
    if types[label] not in _LABEL_TYPES:
        raise TypeError(f"somanet.distributed.spark.fit: label column {label!r} has type "
                        f"{types[label]}; expected an integer (class) or a number")
    return names


class ArrowDataset:
    """Examples from an Arrow table (memory-mapped from a file): ``x`` from the feature
    columns (float32, ``(n, features)``, or the array column's vectors reshaped to
    ``shape``), ``y`` from the label column. Rows are read per batch, so the table's
    pages are only touched as they are used."""

    in_memory = False

    def __init__(self, table, features, label, count=None, shape=None):
        self.table, self.features, self.label = table, list(features), label
        self.count = table.num_rows if count is None else int(count)
        self.shape = None if shape is None else tuple(shape)
        for name in self.features + [label]:
            column = table.column(name)
            if column.null_count:
                raise ValueError(f"somanet.distributed.spark.fit: column {name!r} holds "
                                 f"{column.null_count} null value(s) in this partition; "
                                 f"drop or fill them first (dataframe.dropna() / fillna())")

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        x, y = self.__getitems__(numpy.array([index]))
        return x[0], y[0]

    def __getitems__(self, indices):
        import pyarrow
        rows = self.table.take(pyarrow.array(numpy.asarray(indices, dtype=numpy.int64)))
        if len(self.features) == 1 and pyarrow.types.is_list(rows.schema.field(
                self.features[0]).type):
            column = rows.column(self.features[0]).combine_chunks()
            x = column.flatten().to_numpy(zero_copy_only=False).astype(numpy.float32)
            x = x.reshape((len(indices),) + (self.shape or (-1,)))
        else:
            x = numpy.stack([rows.column(name).to_numpy().astype(numpy.float32)
                             for name in self.features], axis=1)
            if self.shape is not None:
                x = x.reshape((len(indices),) + self.shape)
        y = rows.column(self.label).to_numpy()
        if y.dtype.kind == "f":
            y = y.astype(numpy.float32)
        return x, y


def _fit_rank(model, features, label, shape, batch_size, seed, fit_options):
    """What each rank runs for ``fit``: train on this task's partition file, return
    ``(weights, history)`` from rank 0."""
    import pyarrow

    from ..data import DataLoader
    from .process import communicator
    from .sampler import DistributedSampler
    comm = communicator()
    path = os.path.join(os.environ[WORKDIR_VARIABLE], DATA_FILE)
    table = pyarrow.ipc.open_file(pyarrow.memory_map(path)).read_all() \
        if os.path.exists(path) else None
    local = 0 if table is None else table.num_rows
    counts = comm.allgather_object(local)
    count = min(counts)
    if count == 0:
        raise ValueError(f"somanet.distributed.spark.fit: a partition is empty (rows per "
                         f"task: {counts}); give the DataFrame at least num_workers rows")
    dataset = ArrowDataset(table, features, label, count=count, shape=shape)
    if batch_size % comm.size:
        raise ValueError(f"somanet.distributed.spark.fit: batch_size {batch_size} does not "
                         f"split evenly over {comm.size} workers")
    # Each rank's data is already its own: a sampler of one replica over it (the
    # loader is not sharded again), the same number of steps on every rank.
    sampler = DistributedSampler(count, num_replicas=1, rank=0, shuffle=True,
                                 seed=seed + comm.rank)
    loader = DataLoader(dataset, batch_size=batch_size // comm.size, sampler=sampler)
    history = model.fit(loader, **fit_options)
    from ..io.weights import safetensors_bytes, state_arrays
    # the weights travel as safetensors, read back by the checked loader
    return safetensors_bytes(state_arrays(model)), dict(history.history)


def fit(model, dataframe, features, label, num_workers=None, spark=None, batch_size=32,
        epochs=1, seed=0, shape=None, **fit_options):
    """Train a compiled ``model`` on a Spark DataFrame, data-parallel over
    ``num_workers`` barrier tasks, each streaming its own partition (see the module
    docstring); the driver's ``model`` gets the trained weights.

    Args:
        model: a compiled somanet Model (shipped to the executors).
        dataframe: the training data; it is repartitioned into ``num_workers`` parts.
        features: a list of numeric column names, or the name of one array<float>
            column holding each example's feature vector.
        label: the label column (integer classes or numbers).
        num_workers: the number of ranks (default Spark's default parallelism).
        batch_size: the global batch; each rank takes ``batch_size / num_workers`` rows
            of its partition a step. Every rank takes as many steps as the smallest
            partition allows (the others' extra rows are left out of the epoch).
        epochs, seed: as ``Model.fit`` (the shuffle of each partition's rows).
        shape: the shape of one example (e.g. ``(28, 28)``), if not a flat vector.
        fit_options: more ``Model.fit`` arguments (``callbacks``, ``verbose``...).

    Returns:
        The History's ``history`` dict of rank 0 (the metrics are over all ranks).

    Raises:
        ValueError / TypeError: a missing column, a column of the wrong type (named),
            nulls in a column (named, from the task that met them: ``SparkJobError``).
    """
    session = _session(spark)
    size = _workers(session, num_workers)
    names = _check_columns(dataframe, features, label)
    if not getattr(model, "compiled", False):
        raise ValueError("somanet.distributed.spark.fit: compile the model first "
                         "(model.compile(optimizer=..., loss=...))")
    fit_options = dict(fit_options, epochs=epochs)
    fit_options.setdefault("verbose", 0)
    payload = dump_payload((_fit_rank, dict(model=model, features=names, label=label,
                                            shape=shape, batch_size=batch_size, seed=seed,
                                            fit_options=fit_options)))

    def task(batches):
        import pyarrow
        result = _rank_task(payload, size, batches)
        if result is not None:
            yield pyarrow.RecordBatch.from_pydict({"result": [result]},
                                                  schema=pyarrow.schema(
                                                      [("result", pyarrow.binary())]))

    frame = dataframe.select(*names, label).repartition(size)
    try:
        rows = frame.mapInArrow(task, "result binary", barrier=True).collect()
    except Exception as error:
        raise SparkJobError(_explain(error)) from None
    weights, history = load_payload(rows[0]["result"])
    from ..io import load_weights
    with tempfile.TemporaryDirectory(prefix="somanet-spark-") as folder:
        path = os.path.join(folder, "model.safetensors")
        write_atomically(path, weights)
        load_weights(path, model)
    return history
