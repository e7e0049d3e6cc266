"""Fixtures every test folder may use."""
import os

import pytest


@pytest.fixture(scope="session")
def strict():
    """The device under test: the strict device (tests/backend/strict.py), arrays that
    refuse NumPy as CuPy's do, so a test run on it fails wherever code bypasses the
    device's array module. With ``SOMANET_TEST_DEVICE=gpu:0`` it is that GPU instead, and
    the same tests run on CuPy (benchmarks/gpu_check.sh)."""
    spec = os.environ.get("SOMANET_TEST_DEVICE")
    if spec:
        import somanet as sn
        return sn.device(spec)
    from tests.backend.strict import strict_device
    return strict_device()
