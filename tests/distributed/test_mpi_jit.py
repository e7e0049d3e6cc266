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


def test_native_steps_on_two_ranks_equal_eager_steps_within_round_off(tmp_path):
    """Native code runs the forward and backward; the distributed optimiser's all-reduce
    and update stay Python, after it (or the whole step, where grad-ready hooks overlap
    the reduction with the backward)."""
    code, output, _ = _run("equivalence.py", tmp_path / "native.npz", 16, "native")
    assert code == 0, output
    assert "sgd native" in output and "adam native" in output, output  # both lowered
    code, output, _ = _run("equivalence.py", tmp_path / "eager.npz", 16)
    assert code == 0, output
    native, eager = np.load(tmp_path / "native.npz"), np.load(tmp_path / "eager.npz")
    assert sorted(native.files) == sorted(eager.files)
    for key in eager.files:
        np.testing.assert_allclose(native[key], eager[key], rtol=2e-5, atol=2e-6, err_msg=key)
