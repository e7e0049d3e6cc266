"""Communicators: the few collectives data parallelism needs, for one process or over MPI.

A communicator knows this process's ``rank`` among ``size`` processes and offers
in-place collectives on arrays (``allreduce_``, ``broadcast_``), small JSON
exchanges (``allgather_object``, ``broadcast_object``) and ``barrier``. Two kinds:

- ``LocalCommunicator``: one process; every collective returns at once.
- ``MPICommunicator``: processes started by ``mpiexec``/``srun``, talking through
  mpi4py. CPU arrays go through MPI; GPU arrays through NCCL
  (``somanet.backend.nccl``), chosen per device, with MPI host copies as the
  fallback where NCCL is missing.

**Fail fast, name the rank.** Every MPI collective is started non-blocking and
waited for by a watchdog that polls it, so a wait can end in a clear error
rather than a hang:

- a peer process that has died (on the same machine) is noticed within about
  two seconds: ``RankFailedError`` naming its rank and pid;
- a peer that exits (its script ended or called ``sys.exit``) while others wait
  in a collective sends an "exiting" notice: ``RankFailedError`` naming it;
- a wait longer than the timeout (``set_timeout``, default 300 s) asks every
  peer, over a separate control channel, which collective it is in, and raises
  ``CollectiveTimeoutError`` listing the ranks that have not arrived and the
  ranks waiting in a different collective.

The watchdog spins for the first second of a wait (a collective between ranks
that arrived together completes in microseconds to milliseconds, and MPI only
progresses while polled), then sleeps 0.5 ms between polls so a long wait (rank 0
writing a checkpoint) does not burn a core.
"""
import json
import math
import os
import socket
import sys
import time
import numpy

from .._checks import check_choice, check_int, check_real
from ..backend import CPU, device_of, kernels_half, nccl, to_device, to_numpy, xp_of

OPS = ("sum", "mean", "max", "min")
DEFAULT_TIMEOUT = 300.0
_settings = {"timeout": DEFAULT_TIMEOUT}  # the one place the collective timeout lives

_SPIN_SECONDS = 1.0  # poll without sleeping for this long, then sleep between polls
_IDLE_SLEEP = 0.0005
_CONTROL_EVERY = 0.01  # how often a waiting rank reads its control messages
_LIVENESS_EVERY = 1.0  # how often a long-waiting rank checks that its peers are alive
_EXIT_GRACE = 3.0  # how long a collective may still finish after a peer said it exits
_OUTPUT_GRACE = 0.5  # how long a failing rank lets its last output travel before MPI_Abort
_QUERY_GRACE = 1.0  # how long a timed-out rank waits for its peers to say where they are
_QUERY, _ANSWER, _EXITING = 1, 2, 3  # control-channel message tags
_KINDS = ("none", "allreduce", "broadcast", "allgather", "barrier", "exit")


class DistributedError(RuntimeError):
    """A collective could not complete: a peer failed, exited or did not arrive."""


class CollectiveTimeoutError(DistributedError):
    """A collective waited longer than the timeout (``set_timeout``)."""


class RankFailedError(DistributedError):
    """Another rank died or exited while this one waited for it in a collective."""


def set_timeout(seconds):
    """How long any collective may wait for the other ranks before it raises
    ``CollectiveTimeoutError`` naming the ranks that have not arrived.

    Args:
        seconds: a positive number, or ``None`` to wait forever. The default is 300 s:
            long enough for rank 0 to write a checkpoint or evaluate while the others
            wait, short enough that a hung job ends in minutes, not at the scheduler's
            wall-clock limit.

    Returns:
        The previous setting.
    """
    if seconds is not None:
        seconds = check_real("set_timeout", "seconds", seconds, minimum=0.0, min_open=True,
                             finite=False, what="a positive number or None (wait forever)")
    previous = _settings["timeout"]
    _settings["timeout"] = seconds
    return previous


def get_timeout():
    """The collective timeout in seconds (``None``: wait forever); see ``set_timeout``."""
    return _settings["timeout"]


def check_op(op, who):
    check_choice(who, "op", op, OPS)


def _json_round_trip(value, who):
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as error:
        raise TypeError(f"{who}: the value must be JSON-able (numbers, strings, lists, "
                        f"dicts), got {type(value).__name__}: {error}") from None


def _check_root(root, size, who):
    return check_int(who, "root", root, minimum=0, maximum=size - 1,
                     what=f"a rank in [0, {size})")


class Communicator:
    """The interface: ``rank``, ``size`` and the collectives. See the module docstring."""

    rank = 0
    size = 1
    launcher = None

    def allreduce_(self, array, op="sum", timeout=None):
        """Reduce ``array`` over all ranks with ``op`` ("sum", "mean", "max", "min"), in
        place; returns ``array``."""
        raise NotImplementedError

    def start_allreduce_(self, array, op="sum"):
        """Start summing (or ``op``) ``array`` over all ranks in place, and return a
        ``Pending`` at once: ``pending.test()`` says (without waiting) whether it is
        done and helps it along, ``pending.wait(timeout)`` waits for it, under the
        same watchdog as every collective, and returns ``array``. Work may go on
        meanwhile (backward, while the gradients of the last layers travel), but
        ``array`` must not be touched until the wait. Here: done at once, blocking."""
        self.allreduce_(array, op)
        return Pending(lambda: True, lambda timeout: None, array)

    def broadcast_(self, array, root=0, timeout=None):
        """Overwrite ``array`` with rank ``root``'s values, in place; returns ``array``."""
        raise NotImplementedError

    def allgather_object(self, value, timeout=None):
        """Every rank's JSON-able ``value``, as a list indexed by rank."""
        raise NotImplementedError

    def broadcast_object(self, value, root=0, timeout=None):
        """Rank ``root``'s JSON-able ``value``, on every rank."""
        raise NotImplementedError

    def barrier(self, timeout=None):
        """Return when every rank has called ``barrier``."""
        raise NotImplementedError

    def abort(self, code=1):
        """End every process of the job with exit status ``code``."""
        raise NotImplementedError


class Pending:
    """A collective started and not waited for (``Communicator.start_allreduce_``)."""

    __slots__ = ("_test", "_wait", "array", "done")

    def __init__(self, test, wait, array):
        self._test, self._wait, self.array, self.done = test, wait, array, False

    def test(self):
        """Whether it has finished (asking also drives it forward); never waits."""
        if not self.done:
            self.done = bool(self._test())
        return self.done

    def wait(self, timeout=None):
        """Wait until it has finished (``timeout``: seconds, as for every collective);
        returns the array."""
        if not self.done:
            self._wait(timeout)
            self.done = True
        return self.array


class LocalCommunicator(Communicator):
    """A single process: every collective returns at once, values unchanged."""

    def allreduce_(self, array, op="sum", timeout=None):
        check_op(op, "allreduce")
        return array

    def broadcast_(self, array, root=0, timeout=None):
        _check_root(root, 1, "broadcast")
        return array

    def allgather_object(self, value, timeout=None):
        return [_json_round_trip(value, "allgather_object")]

    def broadcast_object(self, value, root=0, timeout=None):
        _check_root(root, 1, "broadcast_object")
        return _json_round_trip(value, "broadcast_object")

    def barrier(self, timeout=None):
        pass

    def abort(self, code=1):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def __repr__(self):
        return "LocalCommunicator(rank=0, size=1)"


def _pid_namespace():
    """This process's PID namespace (``None`` where /proc cannot tell), so pids are only
    compared between processes that see the same pids."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _process_alive(pid):
    """False when process ``pid`` (on this machine) is gone or a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _float16_op(MPI, ufunc):
    """A commutative MPI op that reduces float16 buffers (sent as uint16) with the NumPy
    ``ufunc``, computed as NumPy does, through ``kernels_half.half_reduce``."""
    def reduce(inbuf, inoutbuf, datatype):
        kernels_half.half_reduce(ufunc, numpy.frombuffer(inoutbuf, dtype=numpy.float16),
                                 numpy.frombuffer(inbuf, dtype=numpy.float16))
    return MPI.Op.Create(reduce, commute=True)


def _rank_list(ranks):
    ranks = sorted(ranks)
    return f"rank {ranks[0]}" if len(ranks) == 1 else f"ranks {ranks}"


class MPICommunicator(Communicator):
    """The processes of an MPI job (``MPI.COMM_WORLD``), through mpi4py.

    Args:
        MPI: the ``mpi4py.MPI`` module (imported by the caller, only under a launcher).
        launcher: the launcher's name, for messages.
        comm: the intracommunicator of the ranks, when it is not ``MPI.COMM_WORLD``
            (a world assembled by connecting separately started processes, as
            ``somanet.distributed.spark`` does).
    """

    def __init__(self, MPI, launcher=None, comm=None):
        self._MPI = MPI
        self._comm = MPI.COMM_WORLD if comm is None else comm
        self._control = self._comm.Dup()  # watchdog messages never match user traffic
        self.rank, self.size = self._comm.Get_rank(), self._comm.Get_size()
        self.launcher = launcher
        self._sequence = 0  # collectives started so far (the same count on every rank)
        self._waiting = None  # the kind of collective this rank is waiting in, if any
        self._sends = []  # control messages in flight: (request, buffer)
        self._answers = {}  # peer -> (query id, its sequence, its kind code)
        self._query_id = 0
        self._exited = {}  # peer -> when its "exiting" notice arrived
        self._finished = False
        self._status = MPI.Status()
        self._device_comms = {}
        self._types = {numpy.dtype(numpy.float32): MPI.FLOAT,
                       numpy.dtype(numpy.float64): MPI.DOUBLE,
                       numpy.dtype(numpy.int32): MPI.INT32_T,
                       numpy.dtype(numpy.int64): MPI.INT64_T,
                       numpy.dtype(numpy.uint8): MPI.UINT8_T,
                       numpy.dtype(numpy.int8): MPI.INT8_T}
        self._ops = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
        # float16 travels as uint16 and is summed by our own op: MPICH's MPIX_C_FLOAT16
        # sum is 7x slower than its float32 one (8 ms for 670k numbers, ours 3.5 ms),
        # and other MPIs have no float16 at all
        self._types[numpy.dtype(numpy.float16)] = MPI.UINT16_T
        self._float16_ops = None  # made on first use
        self.peers = self.allgather_object({"host": socket.gethostname(), "pid": os.getpid(),
                                            "pidns": _pid_namespace()})

    def __repr__(self):
        return f"MPICommunicator(rank={self.rank}, size={self.size})"

    # -- the collectives --------------------------------------------------------------------

    def allreduce_(self, array, op="sum", timeout=None):
        check_op(op, "allreduce")
        if op == "mean" and array.dtype.kind != "f":
            raise TypeError(f"allreduce: op='mean' needs a float array, got {array.dtype}; "
                            f"reduce with op='sum' and divide by world_size()")
        if device_of(array) is not CPU:
            return self._device_allreduce(array, op, timeout)
        target = self._mpi_ready(array)
        MPI = self._MPI
        buffer = [target, self._types[target.dtype]]
        self._run("allreduce", lambda: self._comm.Iallreduce(MPI.IN_PLACE, buffer,
                                                             self._op(op, target)).Test,
                  timeout)
        if target is not array:
            numpy.copyto(array, target, casting="unsafe")
        if op == "mean":
            array *= array.dtype.type(1.0 / self.size)
        return array

    def start_allreduce_(self, array, op="sum"):
        if device_of(array) is not CPU or array.dtype not in self._types or \
                not (array.flags.c_contiguous and array.flags.writeable) or op == "mean":
            return super().start_allreduce_(array, op)  # staged or on a GPU: at once
        check_op(op, "allreduce")
        self._sequence += 1
        try:
            request = self._comm.Iallreduce(self._MPI.IN_PLACE,
                                            [array, self._types[array.dtype]],
                                            self._op(op, array))
        except self._MPI.Exception as error:
            self._mpi_failed(error)

        def test():
            try:
                return request.Test()
            except self._MPI.Exception as error:
                self._mpi_failed(error)

        return Pending(test, lambda timeout: self._wait("allreduce", test, timeout), array)

    def broadcast_(self, array, root=0, timeout=None):
        _check_root(root, self.size, "broadcast")
        if device_of(array) is not CPU:
            return self._device_broadcast(array, root, timeout)
        target = self._mpi_ready(array)
        buffer = [target, self._types[target.dtype]]
        self._run("broadcast", lambda: self._comm.Ibcast(buffer, root).Test, timeout)
        if target is not array:
            numpy.copyto(array, target, casting="unsafe")
        return array

    def allgather_object(self, value, timeout=None):
        MPI = self._MPI
        data = numpy.frombuffer(json.dumps(_json_round_trip(value, "allgather_object"))
                                .encode("utf-8"), dtype=numpy.uint8).copy()
        mine = numpy.array([data.size], dtype=numpy.int64)
        lengths = numpy.empty(self.size, dtype=numpy.int64)
        self._run("allgather", lambda: self._comm.Iallgather(
            [mine, MPI.INT64_T], [lengths, MPI.INT64_T]).Test, timeout)
        counts = [int(length) for length in lengths]
        offsets = [sum(counts[:index]) for index in range(self.size)]
        gathered = numpy.empty(sum(counts), dtype=numpy.uint8)
        self._run("allgather", lambda: self._comm.Iallgatherv(
            [data, MPI.BYTE], [gathered, (counts, offsets), MPI.BYTE]).Test, timeout)
        return [json.loads(gathered[start:start + count].tobytes().decode("utf-8"))
                for start, count in zip(offsets, counts)]

    def broadcast_object(self, value, root=0, timeout=None):
        _check_root(root, self.size, "broadcast_object")
        MPI = self._MPI
        data = numpy.zeros(0, dtype=numpy.uint8)
        if self.rank == root:
            data = numpy.frombuffer(json.dumps(_json_round_trip(value, "broadcast_object"))
                                    .encode("utf-8"), dtype=numpy.uint8).copy()
        length = numpy.array([data.size], dtype=numpy.int64)
        self._run("broadcast", lambda: self._comm.Ibcast([length, MPI.INT64_T], root).Test,
                  timeout)
        if self.rank != root:
            data = numpy.empty(int(length[0]), dtype=numpy.uint8)
        self._run("broadcast", lambda: self._comm.Ibcast([data, MPI.BYTE], root).Test, timeout)
        return json.loads(data.tobytes().decode("utf-8"))

    def barrier(self, timeout=None):
        self._run("barrier", lambda: self._comm.Ibarrier().Test, timeout)

    def abort(self, code=1):
        for device_comm in self._device_comms.values():
            if device_comm is not None:
                device_comm.abort()
        sys.stdout.flush()
        sys.stderr.flush()
        # The launcher forwards our output through pipes and stops forwarding once it
        # kills the job: give the last lines (the error) a moment to get through.
        time.sleep(_OUTPUT_GRACE)
        try:
            self._comm.Abort(code)
        finally:
            os._exit(code)  # MPI_Abort may return before the launcher has killed us

    def _op(self, op, array):
        """The MPI reduction ``op`` for ``array``'s dtype: MPI's own, or for float16
        (which travels as uint16) a user-defined op computing NumPy's float16 result
        (the sum of float16 numbers, rounded to float16 each time)."""
        if array.dtype != numpy.float16:
            return self._ops[op]
        if self._float16_ops is None:
            self._float16_ops = {name: _float16_op(self._MPI, ufunc) for name, ufunc in
                                 (("sum", numpy.add), ("mean", numpy.add),
                                  ("max", numpy.maximum), ("min", numpy.minimum))}
        return self._float16_ops[op]

    def _mpi_ready(self, array):
        """``array`` itself when MPI can use it in place, else a contiguous staging copy
        in a dtype MPI reduces (bfloat16 -> float64, bool -> int64...)."""
        if array.dtype in self._types:
            if array.flags.c_contiguous and array.flags.writeable:
                return array
            return numpy.array(array, order="C")
        if array.dtype.kind == "f":
            return array.astype(numpy.float64)
        if array.dtype.kind in "biu":
            return array.astype(numpy.int64)
        raise TypeError(f"cannot all-reduce an array of dtype {array.dtype}")

    # -- GPU arrays: NCCL when every rank has it, else through host memory ------------------

    def _device_communicator(self, device):
        if device not in self._device_comms:
            everyone = self.allgather_object(nccl.available())
            comm = None
            if all(everyone):
                unique_id = self.broadcast_object(nccl.unique_id() if self.rank == 0 else None)
                comm = nccl.NcclCommunicator(device, self.rank, self.size, unique_id)
            self._device_comms[device] = comm
        return self._device_comms[device]

    def _device_allreduce(self, array, op, timeout):
        device = device_of(array)
        comm = self._device_communicator(device)
        if comm is None or not nccl.supports(array):  # through host memory and MPI
            host = to_numpy(array)
            self.allreduce_(host, op, timeout)
            xp_of(array).copyto(array, to_device(host, device))
            return array

        def start():
            pending = comm.allreduce_(array, "sum" if op == "mean" else op)
            return lambda: pending.done
        self._run("allreduce", start, timeout)
        if op == "mean":
            array *= array.dtype.type(1.0 / self.size)
        return array

    def _device_broadcast(self, array, root, timeout):
        device = device_of(array)
        comm = self._device_communicator(device)
        if comm is None or not nccl.supports(array):
            host = to_numpy(array)
            self.broadcast_(host, root, timeout)
            xp_of(array).copyto(array, to_device(host, device))
            return array

        def start():
            pending = comm.broadcast_(array, root)
            return lambda: pending.done
        self._run("broadcast", start, timeout)
        return array

    # -- the watchdog -----------------------------------------------------------------------

    def _run(self, kind, start, timeout):
        """Start a non-blocking collective (``start()`` returns its test function) and
        wait for it under the watchdog."""
        self._sequence += 1
        self._wait(kind, None, timeout, start=start)

    def _wait(self, kind, test, timeout, start=None):
        """Wait until ``test()`` says the collective ``kind`` is done (started first by
        ``start()``, which returns ``test``, when given), under the watchdog: dead peers,
        timeouts, answers to other ranks' questions."""
        self._waiting = kind
        try:
            if start is not None:
                test = start()
            if not test():
                self._watch(test, kind, timeout)
        except self._MPI.Exception as error:  # MPI noticed a broken peer before we did
            self._mpi_failed(error)
        finally:
            self._waiting = None

    def _mpi_failed(self, error):
        dead = self._dead_peers()
        if dead:
            self._peers_died(dead, error)
        raise RankFailedError(f"MPI failed in {self._where()} on rank {self.rank}: "
                              f"{error}; another rank has probably died") from error

    def _watch(self, test, kind, timeout):
        limit = get_timeout() if timeout is None else timeout
        if limit is not None and math.isinf(limit):
            limit = None
        begin = time.monotonic()
        next_control = begin + _CONTROL_EVERY
        next_liveness = begin + _SPIN_SECONDS
        while not test():
            now = time.monotonic()
            waited = now - begin
            if waited > _SPIN_SECONDS:
                time.sleep(_IDLE_SLEEP)
            if now < next_control:
                continue
            next_control = now + _CONTROL_EVERY
            self._serve_control()
            if self._exited and kind != "exit":
                self._peer_exited(test, kind)
            if waited > _SPIN_SECONDS and now >= next_liveness:
                next_liveness = now + _LIVENESS_EVERY
                dead = self._dead_peers()
                if kind == "exit":  # gone after saying goodbye: it passed the exit barrier
                    dead = [peer for peer in dead if peer not in self._exited]
                if dead and not test():
                    self._peers_died(dead)
            if limit is not None and waited > limit:
                if self._timed_out(test, kind, waited, limit):
                    return

    def _serve_control(self):
        """Read every control message that has arrived: answer "where are you?" queries,
        note answers and exit notices."""
        MPI, status = self._MPI, self._status
        while self._control.Iprobe(MPI.ANY_SOURCE, MPI.ANY_TAG, status):
            source, tag = status.Get_source(), status.Get_tag()
            message = numpy.empty(3, dtype=numpy.int64)
            self._control.Recv([message, MPI.INT64_T], source, tag)
            if tag == _QUERY:
                kind = _KINDS.index(self._waiting) if self._waiting in _KINDS else 0
                self._send_control(source, _ANSWER, (message[0], self._sequence, kind))
            elif tag == _ANSWER:
                self._answers[source] = tuple(int(value) for value in message)
            elif tag == _EXITING:
                self._exited.setdefault(source, time.monotonic())
        self._sends = [(request, buffer) for request, buffer in self._sends
                       if not request.Test()]

    def _send_control(self, peer, tag, values):
        buffer = numpy.array(values, dtype=numpy.int64)
        request = self._control.Isend([buffer, self._MPI.INT64_T], peer, tag)
        self._sends.append((request, buffer))

    def _where(self):
        return f"{self._waiting or 'a collective'} #{self._sequence}"

    def _peer_exited(self, test, kind):
        """A peer said it is exiting while this rank waits: unless the collective
        completes within a short grace (the peer finished it and then exited), fail."""
        first = min(self._exited.values())
        while time.monotonic() - first < _EXIT_GRACE:
            if test():
                return
            self._serve_control()
            time.sleep(_IDLE_SLEEP)
        if test():
            return
        gone = sorted(self._exited)
        raise RankFailedError(
            f"{_rank_list(gone)} exited (the script ended, or called "
            f"sys.exit) while rank {self.rank} waits for it in {self._where()}. Every rank "
            f"must make the same collective calls in the same order: is a collective "
            f"inside `if is_main():`, or did one rank leave the training loop early?")

    def _dead_peers(self):
        """The peers on this machine (same host and PID namespace) that are gone."""
        me = self.peers[self.rank]
        return [peer for peer, info in enumerate(self.peers)
                if peer != self.rank and info["host"] == me["host"]
                and info["pidns"] is not None and info["pidns"] == me["pidns"]
                and not _process_alive(info["pid"])]

    def _peers_died(self, dead, cause=None):
        described = ", ".join(f"rank {peer} (pid {self.peers[peer]['pid']} on "
                              f"{self.peers[peer]['host']})" for peer in dead)
        raise RankFailedError(
            f"{described} died while rank {self.rank} waits for it in "
            f"{self._where()}; it was killed (out of memory? a signal?) or crashed without "
            f"a Python error") from cause

    def _timed_out(self, test, kind, waited, limit):
        """Ask every peer where it is; return True if the collective completes meanwhile,
        else raise CollectiveTimeoutError saying who has not arrived."""
        self._query_id += 1
        query = self._query_id
        peers = [peer for peer in range(self.size) if peer != self.rank]
        for peer in peers:
            self._send_control(peer, _QUERY, (query, 0, 0))
        deadline = time.monotonic() + _QUERY_GRACE
        while time.monotonic() < deadline:
            if test():
                return True
            self._serve_control()
            if all(self._answers.get(peer, (0,))[0] == query for peer in peers):
                break
            time.sleep(0.001)
        if test():
            return True
        answers = {peer: self._answers[peer] for peer in peers
                   if self._answers.get(peer, (0,))[0] == query}
        missing = [peer for peer in peers if peer not in answers]
        here = [self.rank] + [peer for peer, (_, sequence, code) in answers.items()
                              if sequence == self._sequence and _KINDS[code] == kind]
        elsewhere = {peer: f"{_KINDS[code]} #{sequence}"
                     for peer, (_, sequence, code) in answers.items() if peer not in here}
        text = (f"rank {self.rank} waited {waited:.1f} s in "
                f"{self._where()} (the limit, {limit:g} s, is set by "
                f"somanet.distributed.set_timeout).")
        if missing:
            text += (f" Not arrived: {_rank_list(missing)} (still computing, hung, or "
                     f"dead).")
        text += f" Waiting in {self._where()}: {_rank_list(here)}."
        if elsewhere:
            places = ", ".join(f"rank {peer} in {where}" for peer, where in elsewhere.items())
            text += (f" Waiting in another collective: {places}; the ranks called "
                     f"collectives in different orders (is one inside `if is_main():`?).")
        raise CollectiveTimeoutError(text)

    # -- the end ----------------------------------------------------------------------------

    def finish(self):
        """At exit: tell the peers this rank is leaving (so one waiting in a collective
        fails at once instead of hanging), then wait until every rank has left."""
        if self._finished or self._MPI.Is_finalized():
            return
        self._finished = True
        try:
            peers = [peer for peer in range(self.size) if peer != self.rank]
            for peer in peers:
                self._send_control(peer, _EXITING, (0, 0, 0))
            self._run("exit", lambda: self._control.Ibarrier().Test, math.inf)
            deadline = time.monotonic() + 10.0
            while len(self._exited) < len(peers) and time.monotonic() < deadline:
                self._serve_control()  # read every notice before MPI_Finalize
                time.sleep(_IDLE_SLEEP)
            for request, _ in self._sends:
                request.Wait()
            self._sends = []
        except BaseException as error:
            sys.stderr.write(f"somanet.distributed: rank {self.rank} failed while exiting: "
                             f"{type(error).__name__}: {error}\n")
            self.abort(1)
