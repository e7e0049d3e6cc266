"""One process: launch detection, no mpi4py, and every function a cheap identity."""
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import somanet as sn
from somanet import distributed, nn
from somanet.data import DataLoader, TensorDataset
from somanet.distributed import LocalCommunicator, detect_launch, process
from somanet.distributed.launch import LAUNCHERS


@pytest.mark.parametrize("environ, expected", [
    ({}, None),
    ({"PMI_RANK": "1", "PMI_SIZE": "4"}, (4, 1, "MPICH/Intel MPI mpiexec (hydra)")),
    ({"OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2"}, (2, 0, "Open MPI mpiexec")),
    ({"MV2_COMM_WORLD_RANK": "2", "MV2_COMM_WORLD_SIZE": "3"}, (3, 2, "MVAPICH mpiexec")),
    ({"SLURM_PROCID": "5", "SLURM_STEP_NUM_TASKS": "8", "SLURM_NTASKS": "8"},
     (8, 5, "Slurm srun")),
    # inside an sbatch script, outside srun: one process, even with SLURM_NTASKS=8
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "8", "SLURM_JOB_ID": "12"}, None),
    ({"PMI_RANK": "0"}, None),  # half a launch is no launch
])
def test_detect_launch(environ, expected):
    found = detect_launch(environ)
    assert (found if found is None else tuple(found)) == expected


def test_detect_launch_rejects_garbage():
    with pytest.raises(ValueError, match=r"PMI_SIZE='two'.*integers"):
        detect_launch({"PMI_RANK": "0", "PMI_SIZE": "two"})
    with pytest.raises(ValueError, match=r"0 <= rank < size"):
        detect_launch({"PMI_RANK": "3", "PMI_SIZE": "2"})


def _clean_environ():
    names = {name for triple in LAUNCHERS for name in triple[:2]}
    return {key: value for key, value in os.environ.items() if key not in names}


def test_plain_python_never_imports_mpi4py():
    code = ("import sys, somanet; from somanet import distributed; "
            "print(distributed.world_size(), distributed.rank(), distributed.is_main(), "
            "distributed.is_initialized(), 'mpi4py' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=_clean_environ(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "True", "False", "False"]


def test_launch_without_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # `from mpi4py import MPI` fails
    with pytest.raises(RuntimeError, match=r"rank 1 of 2, but mpi4py is not installed.*"
                                           r"somanet\[distributed\]"):
        process.start({"PMI_RANK": "1", "PMI_SIZE": "2"})
    assert isinstance(process.start({"PMI_RANK": "0", "PMI_SIZE": "1"}), LocalCommunicator)


def test_a_failed_start_is_raised_by_the_first_call(as_process):
    as_process(None)
    process._state["error"] = "somanet.distributed: mpi4py is not installed"
    with pytest.raises(RuntimeError, match="mpi4py is not installed"):
        distributed.world_size()


def test_single_process_answers():
    assert distributed.world_size() == 1 and distributed.rank() == 0
    assert distributed.is_main() and not distributed.is_initialized()
    distributed.barrier()
    assert isinstance(distributed.communicator(), LocalCommunicator)


def test_allreduce_single_process_returns_a_copy_of_the_same_kind():
    x = sn.tensor([1.0, -2.0], requires_grad=True)
    for op in ("sum", "mean", "max", "min"):
        out = distributed.allreduce(x, op)
        assert isinstance(out, sn.Tensor) and out.dtype == x.dtype and not out.requires_grad
        assert out.tolist() == [1.0, -2.0] and out.data is not x.data
    array = np.arange(3, dtype=np.int32)
    out = distributed.allreduce(array)
    assert out.dtype == np.int32 and out is not array and out.tolist() == [0, 1, 2]
    assert distributed.allreduce(3) == 3 and isinstance(distributed.allreduce(3), int)
    assert distributed.allreduce(2.5, "mean") == 2.5
    assert distributed.allreduce(np.float32(1.5)) == 1.5


def test_allreduce_rejects_bad_input():
    with pytest.raises(ValueError, match=r"op must be one of 'sum', 'mean', 'max', 'min'"):
        distributed.allreduce(1.0, op="avg")
    with pytest.raises(TypeError, match="use all_agree"):
        distributed.allreduce(True)
    with pytest.raises(TypeError, match="Tensor, an array or a number, got str"):
        distributed.allreduce("1")


def test_flags_logs_metrics_and_objects_single_process():
    assert distributed.all_agree(True) is True and distributed.all_agree(0) is False
    with pytest.raises(ValueError, match="rule must be 'any', 'all' or 'main'"):
        distributed.all_agree(True, rule="most")
    logs = {"loss": 0.5, "note": "x"}
    reduced = distributed.reduce_logs(logs)
    assert reduced == logs and reduced is not logs
    assert distributed.reduce_logs(None) is None
    assert distributed.broadcast_object({"run": "a"}) == {"run": "a"}
    with pytest.raises(TypeError, match="JSON-able"):
        distributed.broadcast_object(object())

    class Plain:
        pass
    with pytest.raises(TypeError, match="Plain has no get_state"):
        distributed.reduce_metrics([Plain()])


def test_prepare_and_shard_loader_are_identities_with_one_process():
    model = nn.Linear(3, 2)
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(np.zeros((4, 3), np.float32)), batch_size=2)
    assert distributed.prepare(model, optimizer, loader) == (optimizer, loader)
    assert distributed.shard_loader(loader) is loader
    with pytest.raises(TypeError, match="takes a somanet.data.DataLoader, got list"):
        distributed.shard_loader([1, 2])


def test_timeout_setting_lives_in_one_place():
    previous = distributed.set_timeout(12)
    try:
        assert distributed.get_timeout() == 12.0
        assert distributed.set_timeout(None) == 12.0 and distributed.get_timeout() is None
        for bad in (0, -1, "10", True, math.nan):
            with pytest.raises(ValueError, match="positive number or None"):
                distributed.set_timeout(bad)
    finally:
        distributed.set_timeout(previous)


def _guardian(tmp_path, expected):
    import subprocess
    import sys
    from somanet.distributed import guardian
    path = str(tmp_path / "g.sock")
    process = subprocess.Popen([sys.executable, "-I", "-S", guardian.__file__, path,
                                str(expected)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "ready"
    return process, path


def _connect(path, rank, pid):
    import json
    import socket
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    connection.sendall(json.dumps({"rank": rank, "pid": pid, "host": "node7"}).encode() + b"\n")
    return connection


def test_the_guardian_names_the_first_rank_that_vanishes_without_a_word(tmp_path):
    process, path = _guardian(tmp_path, 3)
    ranks = [_connect(path, rank, 4000 + rank) for rank in range(3)]
    ranks[0].sendall(b"bye\n")
    ranks[0].close()  # a normal exit: not a kill
    ranks[2].close()  # gone without a word: killed
    time.sleep(0.3)  # the launcher notices, then stops the others
    ranks[1].close()  # the launcher's cleanup: not named
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert err.splitlines() == ["somanet.distributed: rank 2 (pid 4002 on node7) died without "
                                "a Python error: it was killed (SIGKILL, the out-of-memory "
                                "killer) or crashed in native code; the launcher stops the "
                                "other ranks"]
    assert not (tmp_path / "g.sock").exists()


def test_the_guardian_is_quiet_when_a_rank_reported_its_own_error(tmp_path):
    process, path = _guardian(tmp_path, 2)
    ranks = [_connect(path, rank, 4000 + rank) for rank in range(2)]
    ranks[1].sendall(b"failed\n")
    ranks[1].close()
    ranks[0].close()  # killed by MPI_Abort: the job's error is already on screen
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0 and err == ""


def test_the_guardian_reads_a_late_rank_s_failure_before_naming_a_closed_one(tmp_path):
    # The rank that failed connects last, and the guardian (stopped, as on a busy
    # machine) sees its connection, its "failed" and rank 0's close (MPI_Abort) at once.
    import signal
    process, path = _guardian(tmp_path, 2)
    first = _connect(path, 0, 4000)
    time.sleep(0.2)  # rank 0's record has been read
    process.send_signal(signal.SIGSTOP)
    try:
        late = _connect(path, 1, 4001)
        late.sendall(b"failed\n")
        late.close()
        first.close()
    finally:
        process.send_signal(signal.SIGCONT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0 and err == ""


def test_the_guardian_names_every_rank_gone_at_the_same_moment(tmp_path):
    process, path = _guardian(tmp_path, 2)
    ranks = [_connect(path, rank, 4000 + rank) for rank in range(2)]
    time.sleep(0.3)  # the records have arrived
    ranks[1].close()
    ranks[0].close()
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert err.startswith(("somanet.distributed: rank 0 (pid 4000 on node7) or rank 1 (pid "
                           "4001 on node7) died without a Python error",  # seen together
                           "somanet.distributed: rank 1 (pid 4001 on node7) died without")), err
    assert len(err.splitlines()) == 1
