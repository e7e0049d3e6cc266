"""Compiled training steps under mpiexec: the all-reduce runs inside the replayed step."""
import numpy as np

from .test_mpi import pytestmark, _run  # noqa: F401  (the same skip when MPI is missing)


def test_compiled_steps_on_two_ranks_equal_eager_steps(tmp_path):
    code, output, _ = _run("equivalence.py", tmp_path / "jit.npz", 16, "jit")
    assert code == 0, output
    code, output, _ = _run("equivalence.py", tmp_path / "eager.npz", 16)
    assert code == 0, output
    jit, eager = np.load(tmp_path / "jit.npz"), np.load(tmp_path / "eager.npz")
    assert sorted(jit.files) == sorted(eager.files)
    for key in eager.files:
        np.testing.assert_array_equal(jit[key], eager[key], err_msg=key)
