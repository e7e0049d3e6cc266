"""Fixtures every test folder may use."""
import pytest


@pytest.fixture(scope="session")
def strict():
    """The strict device (tests/backend/strict.py): arrays that refuse NumPy as CuPy's do,
    so a test run on it fails wherever code bypasses the device's array module."""
    from tests.backend.strict import strict_device
    return strict_device()
