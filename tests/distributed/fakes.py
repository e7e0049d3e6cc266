"""Communicators that simulate several ranks inside one test process (no MPI)."""
import json
import threading

import numpy as np

from somanet.distributed import Communicator
from somanet.distributed.communicator import check_op


def _reduce(values, op, size):
    if op in ("sum", "mean"):
        result = values[0].copy()
        for value in values[1:]:
            result += value
        if op == "mean":
            result *= result.dtype.type(1.0 / size)
        return result
    stacked = np.stack(values)
    return stacked.max(axis=0) if op == "max" else stacked.min(axis=0)


class ThreadCommunicator(Communicator):
    """Rank ``rank`` of ``size`` threads that exchange arrays through shared slots."""

    def __init__(self, rank, size, shared):
        self.rank, self.size, self._shared = rank, size, shared
        self.calls = []

    def _exchange(self, value):
        shared = self._shared
        shared["slots"][self.rank] = value
        shared["barrier"].wait(timeout=10)
        values = list(shared["slots"])
        shared["barrier"].wait(timeout=10)
        return values

    def allreduce_(self, array, op="sum", timeout=None):
        check_op(op, "allreduce")
        self.calls.append("allreduce")
        array[...] = _reduce(self._exchange(array.copy()), op, self.size)
        return array

    def broadcast_(self, array, root=0, timeout=None):
        self.calls.append("broadcast")
        array[...] = self._exchange(array.copy())[root]
        return array

    def allgather_object(self, value, timeout=None):
        self.calls.append("allgather")
        return [json.loads(json.dumps(item)) for item in self._exchange(value)]

    def broadcast_object(self, value, root=0, timeout=None):
        self.calls.append("broadcast")
        return json.loads(json.dumps(self._exchange(value)[root]))

    def barrier(self, timeout=None):
        self._exchange(None)


def run_ranks(size, function):
    """Call ``function(communicator)`` in ``size`` threads, one per simulated rank; return
    the results by rank (re-raising the first exception)."""
    shared = {"slots": [None] * size, "barrier": threading.Barrier(size)}
    results, errors = [None] * size, [None] * size

    def worker(rank):
        try:
            results[rank] = function(ThreadCommunicator(rank, size, shared))
        except BaseException as error:  # reported by the main thread
            errors[rank] = error
            shared["barrier"].abort()

    threads = [threading.Thread(target=worker, args=(rank,)) for rank in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for error in errors:
        if error is not None and not isinstance(error, threading.BrokenBarrierError):
            raise error
    return results


class MirrorCommunicator(Communicator):
    """Rank ``rank`` of ``size``, where every other rank holds ``peer(value)`` of this
    rank's value (by default the same value): a scripted view of one rank."""

    def __init__(self, size=2, rank=0, peer=lambda value: value, peer_object=None):
        self.size, self.rank = size, rank
        self._peer = peer
        self._peer_object = peer_object or peer
        self.calls = []

    def allreduce_(self, array, op="sum", timeout=None):
        check_op(op, "allreduce")
        self.calls.append(("allreduce", op))
        values = [array.copy() if rank == self.rank else np.asarray(self._peer(array.copy()))
                  for rank in range(self.size)]
        array[...] = _reduce(values, op, self.size)
        return array

    def broadcast_(self, array, root=0, timeout=None):
        self.calls.append(("broadcast", root))
        if root != self.rank:
            array[...] = self._peer(array.copy())
        return array

    def allgather_object(self, value, timeout=None):
        self.calls.append(("allgather", None))
        return [json.loads(json.dumps(value if rank == self.rank else self._peer_object(value)))
                for rank in range(self.size)]

    def broadcast_object(self, value, root=0, timeout=None):
        self.calls.append(("broadcast_object", root))
        return value if root == self.rank else self._peer_object(value)

    def barrier(self, timeout=None):
        self.calls.append(("barrier", None))
