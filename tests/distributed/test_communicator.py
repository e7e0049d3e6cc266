"""The communicator layer without MPI: the one-process communicator and the watchdog's
helpers (the MPI communicator itself is exercised by test_mpi.py)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from somanet.distributed import LocalCommunicator
from somanet.distributed.communicator import _process_alive, _rank_list


def test_local_collectives_return_at_once_unchanged():
    comm = LocalCommunicator()
    array = np.arange(3.0)
    assert comm.allreduce_(array, "mean") is array and array.tolist() == [0.0, 1.0, 2.0]
    assert comm.broadcast_(array, 0) is array
    assert comm.allgather_object({"a": (1, 2)}) == [{"a": [1, 2]}]  # what JSON makes of it
    assert comm.broadcast_object("x") == "x"
    comm.barrier()
    assert (comm.rank, comm.size) == (0, 1) and repr(comm) == "LocalCommunicator(rank=0, size=1)"


def test_local_argument_errors():
    comm = LocalCommunicator()
    with pytest.raises(ValueError, match=r"root must be a rank in \[0, 1\), got 1"):
        comm.broadcast_(np.zeros(1), root=1)
    with pytest.raises(ValueError, match="op must be one of"):
        comm.allreduce_(np.zeros(1), "prod")
    with pytest.raises(TypeError, match="allgather_object: the value must be JSON-able"):
        comm.allgather_object({1, 2})


def test_a_finished_process_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert _process_alive(child.pid) or child.poll() is not None
    child.wait()
    assert not _process_alive(child.pid)
    assert _process_alive(os.getpid())


def test_rank_lists_read_naturally():
    assert _rank_list([3]) == "rank 3" and _rank_list([2, 0]) == "ranks [0, 2]"
