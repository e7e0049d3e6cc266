"""This process's place in the job: its communicator, made once, and the fail-fast hooks.

Started by an MPI launcher with more than one process, ``somanet.distributed``
starts MPI when it is imported (so a rank that fails at any later point, even
before training, takes the whole job down at once instead of leaving the others
waiting in ``MPI_Init``) and installs two hooks:

- ``sys.excepthook``: an uncaught exception on any rank prints its traceback and
  ``somanet.distributed: rank R failed: <error>``, then ``MPI_Abort`` ends every
  process of the job (the launcher exits non-zero);
- an ``atexit`` handler that tells the other ranks this one is leaving, so a rank
  that ends early (``sys.exit``) makes the others fail at once, not hang.

Rank 0 prints one line naming every rank's pid and host. A process killed from outside
(``SIGKILL``, the out-of-memory killer) can print nothing, and the launcher kills the
other ranks at once, so rank 0 also starts a guardian process (``guardian.py``) that
every rank on its machine tells its rank and pid at start: when a rank vanishes without
a Python error or a normal exit, the guardian names it from that record (the
launcher's own report of the pid is not reliable).

Without a launcher, or with one process, none of this happens and mpi4py is not
imported: every function answers as the only process of a job of one.
"""
import atexit
import json
import os
import select
import socket
import subprocess
import sys
import tempfile

from .communicator import LocalCommunicator, MPICommunicator
from .launch import detect_launch

_state = {"communicator": None, "error": None, "guardian": None, "guardian_process": None}
_GUARDIAN_START_SECONDS = 10.0
_SHOWN_RANKS = 16  # how many ranks the start-up line lists


def communicator():
    """This process's communicator: ``LocalCommunicator`` for a lone process, else the
    ``MPICommunicator`` of the job (started on first use, normally at import).

    Raises:
        RuntimeError: launched by mpiexec/srun but MPI cannot start (mpi4py missing,
            or built against another MPI than the launcher's).
    """
    comm = _state["communicator"]
    if comm is None:
        if _state["error"] is not None:
            raise RuntimeError(_state["error"])
        comm = _state["communicator"] = start(os.environ)
    return comm


def start(environ):
    """The communicator the environment calls for (see ``communicator``)."""
    launch = detect_launch(environ)
    if launch is None or launch.size == 1:
        return LocalCommunicator()
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError(
            f"somanet.distributed: this process was started by {launch.launcher} as rank "
            f"{launch.rank} of {launch.size}, but mpi4py is not installed. Install it with "
            f"`pip install 'somanet[distributed]'` (mpi4py and the mpich wheel), or, with a "
            f"cluster MPI, `pip install --no-binary mpi4py mpi4py` with that MPI's mpicc on "
            f"PATH") from None
    comm = MPICommunicator(MPI, launch.launcher)
    if comm.size != launch.size:
        raise RuntimeError(
            f"somanet.distributed: {launch.launcher} started {launch.size} processes, but MPI "
            f"sees {comm.size}: mpi4py is built against another MPI than the launcher's. Use "
            f"the mpiexec that belongs to mpi4py's MPI (`python -m mpi4py --mpi-lib-version` "
            f"names it), or rebuild mpi4py against the cluster's MPI (`pip install "
            f"--no-binary mpi4py mpi4py`); with srun, pass --mpi=pmix (or pmi2)")
    _started(comm, MPI)
    return comm


def adopt(comm, MPI):
    """Make ``comm`` (an ``MPICommunicator`` over a world assembled by hand, as Spark's
    tasks do) this process's communicator, with the same fail-fast hooks, guardian and
    start-up line as a launcher's job."""
    if _state["communicator"] is not None and not isinstance(_state["communicator"],
                                                             LocalCommunicator):
        raise RuntimeError("somanet.distributed: this process already belongs to a job of "
                           f"{_state['communicator'].size} processes")
    _state["communicator"], _state["error"] = comm, None
    _started(comm, MPI)
    return comm


def _started(comm, MPI):
    _install_hooks(comm)
    _join_guardian(comm)
    if comm.rank == 0:
        sys.stderr.write(_start_line(comm, MPI) + "\n")
        sys.stderr.flush()


def _local_to_rank_0(comm, rank):
    """Whether ``rank`` runs on rank 0's machine, in its PID namespace."""
    first, info = comm.peers[0], comm.peers[rank]
    return info["host"] == first["host"] and info["pidns"] == first["pidns"]


def _join_guardian(comm):
    """Rank 0 starts the guardian; every rank on its machine sends it its rank and pid.
    Without a guardian (it could not start) the job runs as before."""
    path = None
    if comm.rank == 0:
        local = sum(1 for rank in range(comm.size) if _local_to_rank_0(comm, rank))
        path = _start_guardian(local)
    path = comm.broadcast_object(path)
    if path is None or not _local_to_rank_0(comm, comm.rank):
        return
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(5.0)
        connection.connect(path)
        record = {"rank": comm.rank, "pid": os.getpid(), "host": comm.peers[comm.rank]["host"]}
        connection.sendall(json.dumps(record).encode("utf-8") + b"\n")
    except OSError:
        return
    _state["guardian"] = connection
    atexit.register(_tell_guardian, "bye")  # runs before comm.finish (registered earlier)


def _start_guardian(count):
    """Start the guardian for ``count`` ranks; its socket's path, or ``None``."""
    try:
        folder = tempfile.mkdtemp(prefix="somanet-")
        path = os.path.join(folder, "guardian.sock")
        if len(path) > 100:  # the limit of a Unix socket's path
            os.rmdir(folder)
            return None
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guardian.py")
        process = subprocess.Popen([sys.executable, "-I", "-S", script, path, str(count)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   start_new_session=True)  # the launcher's kill misses it
        ready, _, _ = select.select([process.stdout], [], [], _GUARDIAN_START_SECONDS)
        if not ready or process.stdout.readline().strip() != b"ready":
            process.kill()
            return None
        process.stdout.close()
    except OSError:
        return None
    _state["guardian_process"] = process
    return path


def _tell_guardian(word):
    """Tell the guardian this rank is leaving normally ("bye") or has reported its own
    error ("failed"), so that its exit is not taken for a kill."""
    connection = _state["guardian"]
    if connection is None:
        return
    try:
        connection.sendall(word.encode("ascii") + b"\n")
    except OSError:
        pass


def _start_line(comm, MPI):
    try:
        library = " ".join(MPI.Get_library_version().splitlines()[0].split())
    except Exception:  # an MPI without the call: the line is informative only
        library = "MPI"
    ranks = ", ".join(f"rank {rank} = pid {info['pid']} on {info['host']}"
                      for rank, info in enumerate(comm.peers[:_SHOWN_RANKS]))
    more = f", ... ({comm.size - _SHOWN_RANKS} more)" if comm.size > _SHOWN_RANKS else ""
    return (f"somanet.distributed: {comm.size} processes, started by {comm.launcher}, "
            f"{library}: {ranks}{more}")


def _install_hooks(comm):
    previous = sys.excepthook

    def excepthook(kind, value, trace):
        try:
            _tell_guardian("failed")
            previous(kind, value, trace)
            error = f"{kind.__name__}: {value}" if str(value) else kind.__name__
            sys.stderr.write(f"somanet.distributed: rank {comm.rank} failed: {error}\n"
                             f"somanet.distributed: stopping all {comm.size} processes "
                             f"(MPI_Abort)\n")
        finally:
            comm.abort(1)

    sys.excepthook = excepthook
    atexit.register(comm.finish)


def start_at_import():
    """Called when ``somanet.distributed`` is imported: start MPI now if a launcher
    started several processes. A failure is kept and raised by the first call that
    needs the communicator, so ``import somanet`` itself always works."""
    launch = detect_launch(os.environ)
    if launch is None or launch.size == 1:
        return
    try:
        communicator()
    except (RuntimeError, ValueError) as error:
        _state["error"] = str(error)


def is_initialized():
    """True when this process is one of several started by an MPI launcher, with MPI
    running (``world_size() > 1``)."""
    return isinstance(communicator(), MPICommunicator)


def world_size():
    """How many processes train together (1 without an MPI launcher)."""
    return communicator().size


def rank():
    """This process's number, ``0 <= rank() < world_size()`` (0 without MPI)."""
    return communicator().rank


def is_main():
    """True on rank 0, the process that prints, logs and writes checkpoints."""
    return communicator().rank == 0


def barrier(timeout=None):
    """Wait until every rank has called ``barrier``.

    Args:
        timeout: seconds before ``CollectiveTimeoutError`` names the missing ranks;
            ``None`` uses ``set_timeout``'s setting, ``math.inf`` waits forever.
    """
    communicator().barrier(timeout)
