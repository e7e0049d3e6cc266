"""Fixtures of the distributed tests."""
import pytest

from somanet.distributed import process


@pytest.fixture
def as_process():
    """``as_process(comm)`` makes ``comm`` this process's communicator for the test."""
    saved = dict(process._state)

    def install(comm):
        process._state["communicator"] = comm
        process._state["error"] = None
        return comm

    yield install
    process._state.update(saved)
