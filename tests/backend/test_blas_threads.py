"""``import somanet`` shortens how long OpenBLAS's idle threads spin (``backend.blas_threads``),
when NumPy is not loaded yet and the user has not chosen, and OpenBLAS reads the value."""
import os
import subprocess
import sys

import pytest

# What OpenBLAS read from the environment when NumPy loaded it (0: nothing), from NumPy's
# own copy of the library (a wheel's numpy.libs folder); "absent" elsewhere.
READ_BACK = """
import ctypes, glob, os
import numpy
libs = glob.glob(os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs",
                              "*openblas*"))
try:
    print(ctypes.CDLL(libs[0]).openblas_thread_timeout() if libs else "absent")
except AttributeError:
    print("absent")
"""


def _run(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    environment.update(env)
    done = subprocess.run([sys.executable, "-c", code + READ_BACK], env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_importing_somanet_first_sets_the_timeout_openblas_reads():
    from somanet.backend.blas_threads import THREAD_TIMEOUT
    env_value, read = _run("import somanet, os; print(os.environ['OPENBLAS_THREAD_TIMEOUT'])")
    assert env_value == THREAD_TIMEOUT
    if read == "absent":
        pytest.skip("NumPy's BLAS is not a wheel's OpenBLAS")
    assert read == THREAD_TIMEOUT


def test_a_users_value_and_an_already_loaded_numpy_are_left_alone():
    env_value, read = _run("import somanet, os; print(os.environ['OPENBLAS_THREAD_TIMEOUT'])",
                           OPENBLAS_THREAD_TIMEOUT="20")
    assert env_value == "20" and read in ("20", "absent")
    env_value, read = _run("import numpy, somanet, os; "
                           "print(os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset'))")
    assert env_value == "unset" and read in ("0", "absent")
