"""The GPU path: NCCL all-reduce through somanet.backend.nccl (skipped without GPUs)."""
import pytest

import somanet as sn
from somanet.backend import gpu_count, nccl

from .test_mpi import MPIEXEC, _run

needs_nccl = pytest.mark.skipif(gpu_count() < 1 or not nccl.available(),
                                reason="needs a CUDA GPU and CuPy with NCCL")


def test_availability_is_a_plain_answer():
    assert nccl.available() in (True, False)
    if not nccl.available():
        with pytest.raises(RuntimeError, match="CuPy"):
            nccl.unique_id()


@pytest.mark.gpu
@needs_nccl
def test_a_one_rank_nccl_communicator_reduces_in_place():
    device = sn.gpu(0)
    comm = nccl.NcclCommunicator(device, 0, 1, nccl.unique_id())
    array = device.xp.arange(6, dtype=device.xp.float32)
    pending = comm.allreduce_(array, "sum")
    device.synchronize()
    assert pending.done and array.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    comm.broadcast_(array, 0)
    device.synchronize()
    with pytest.raises(TypeError, match="NCCL cannot reduce dtype bool"):
        comm.allreduce_(device.xp.zeros(2, dtype=bool))
    with pytest.raises(ValueError, match="op must be one of"):
        comm.allreduce_(array, "mean")
    with pytest.raises(ValueError, match="128 values"):
        nccl.NcclCommunicator(device, 0, 1, [0] * 5)
    comm.abort()


@pytest.mark.gpu
@pytest.mark.mpi
@pytest.mark.skipif(gpu_count() < 2 or not nccl.available() or not MPIEXEC.exists(),
                    reason="needs two CUDA GPUs, CuPy with NCCL, and mpiexec")
def test_two_ranks_on_two_gpus_match_one_process():
    code, output, _ = _run("gpu.py")
    assert code == 0, output
    assert "rank 0 OK" in output and "rank 1 OK" in output
