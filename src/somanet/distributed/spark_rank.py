"""One rank of a training job on Spark: the process a Spark task starts.

``somanet.distributed.spark`` runs each rank as ``mpiexec -n 1 python -m
somanet.distributed.spark_rank WORKDIR INDEX SIZE TASK_PID``, one per barrier task.
Each such process is an MPI job of one; the ranks then join into one world with
MPI's own dynamic-process calls (rank 0 opens a port, the others connect, every
join is merged into one intracommunicator, ``Split`` orders it by task index), so
the gradient all-reduce runs on MPI exactly as under ``mpiexec -n N``.

Files in ``WORKDIR`` (the task's scratch folder) are the only channel to the task:
``job.pkl`` (the function and its arguments, as Spark itself ships functions),
``port`` (rank 0 writes its MPI port name there; the task passes it on to the others
through Spark's ``allGather``), ``data.arrow`` (the task's partition, when training
on a DataFrame), and ``result.pkl`` (rank 0's return value).
"""
import os
import sys
import threading
import time

PORT_FILE = "port"
JOB_FILE = "job.pkl"
RESULT_FILE = "result.pkl"
DATA_FILE = "data.arrow"
WORKDIR_VARIABLE = "SOMANET_SPARK_WORKDIR"  # the rank's WORKDIR, for the function it runs
CONNECT_SECONDS = 120.0  # how long a rank waits for rank 0's port name


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file and a rename, so a
    reader polling for ``path`` never sees half of it."""
    temporary = path + ".tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def wait_for_file(path, seconds, alive=lambda: True, what="a file"):
    """The bytes of ``path`` once it exists; ``TimeoutError`` after ``seconds``, or
    ``RuntimeError`` as soon as ``alive()`` is false."""
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if not alive():
            raise RuntimeError(f"the process that was to write {what} has ended")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {seconds:.0f} s")
        time.sleep(0.02)
    with open(path, "rb") as handle:
        return handle.read()


def _watch_task(pid):
    """End this rank when the Spark task that started it is gone (Spark killed the
    stage): a rank must never outlive its task, even while blocked in MPI."""
    def watch():
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(3)
            except PermissionError:
                pass
            time.sleep(0.5)
    threading.Thread(target=watch, name="somanet-spark-task-watch", daemon=True).start()


def connect(MPI, index, size, workdir):
    """The intracommunicator of the ``size`` ranks, this one being rank ``index``.

    Rank 0 opens a port and writes its name to ``workdir/port``; the others read it
    there (their task puts it there) and connect. Every member of the group built so
    far takes part in each accept, and each join is merged, so the group grows one
    process at a time whatever order the connections come in; ``Split`` then numbers
    the ranks by task index.
    """
    port = None
    if index == 0:
        port = MPI.Open_port()
        write_atomically(os.path.join(workdir, PORT_FILE), port.encode("ascii"))
        group = MPI.COMM_SELF
    else:
        port = wait_for_file(os.path.join(workdir, PORT_FILE), CONNECT_SECONDS,
                             what="port name of rank 0").decode("ascii")
        group = MPI.COMM_SELF.Connect(port).Merge(high=True)
    while group.Get_size() < size:
        group = group.Accept(port if index == 0 else None, root=0).Merge(high=False)
    if index == 0:
        MPI.Close_port(port)
    return group.Split(0, index)


def main(argv):
    workdir, index, size, task_pid = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    _watch_task(task_pid)
    os.environ[WORKDIR_VARIABLE] = workdir
    from mpi4py import MPI

    from . import process
    from .communicator import MPICommunicator
    from .spark import load_payload
    comm = MPICommunicator(MPI, launcher="spark", comm=connect(MPI, index, size, workdir))
    process.adopt(comm, MPI)
    with open(os.path.join(workdir, JOB_FILE), "rb") as handle:
        function, kwargs = load_payload(handle.read())
    result = function(**kwargs)
    if comm.rank == 0:
        from .spark import dump_payload
        write_atomically(os.path.join(workdir, RESULT_FILE), dump_payload(result))


if __name__ == "__main__":
    main(sys.argv[1:])
