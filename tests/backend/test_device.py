import numpy as np
import pytest

import somanet as sn
from somanet.backend import device_of, sum_to


def test_cpu_device_specs_resolve_to_one_object():
    assert sn.cpu() is sn.device("cpu") is sn.device(sn.cpu()) is sn.device(None)
    assert str(sn.cpu()) == "cpu"
    assert sn.cpu().xp is np


@pytest.mark.parametrize("spec", ["tpu", "gpu:x", "cpu:0", 3])
def test_unknown_device_spec_is_a_clear_error(spec):
    with pytest.raises(ValueError, match="unknown device"):
        sn.device(spec)


def test_gpu_without_cupy_or_gpu_says_so():
    if sn.gpu_count() > 0:
        pytest.skip("this machine has a GPU")
    with pytest.raises(RuntimeError, match="(CuPy|GPU)"):
        sn.gpu(0)


def test_device_of():
    assert device_of(np.zeros(2)) is sn.cpu()
    assert device_of(np.float32(1)) is sn.cpu()
    assert device_of([1, 2]) is None
    assert device_of(np.memmap) is None


def test_tensor_device_and_to():
    t = sn.tensor([1.0, 2.0])
    assert t.device is sn.cpu()
    assert t.to("cpu") is t
    assert t.to(sn.cpu()) is t
    assert t.cpu() is t


def test_sum_to_undoes_broadcasting():
    grad = np.ones((2, 3, 4), dtype=np.float32)
    assert sum_to(grad, (3, 4)).tolist() == np.full((3, 4), 2.0).tolist()
    assert sum_to(grad, (3, 1)).shape == (3, 1)
    assert float(sum_to(grad, ())) == 24.0
    assert sum_to(grad, (2, 3, 4)) is grad


@pytest.mark.gpu
def test_gpu_round_trip():
    if sn.gpu_count() == 0:
        pytest.skip("no GPU")
    t = sn.tensor([1.0, 2.0], device="gpu:0")
    assert str(t.device) == "gpu:0"
    back = t.to("cpu")
    assert back.numpy().tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="gpu:0"):
        t + back


class _StubCupy:
    """Just what GPUDevice.memory() and name() read from CuPy."""

    class ndarray:
        pass

    class _Pool:
        def used_bytes(self):
            return 3 * 2 ** 20

        def total_bytes(self):
            return 8 * 2 ** 20

    class cuda:
        class Device:
            def __init__(self, index):
                self.index = index

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        class runtime:
            @staticmethod
            def memGetInfo():
                return (100 * 2 ** 30, 140 * 2 ** 30)

            @staticmethod
            def getDeviceProperties(index):
                return {"name": b"NVIDIA H200"}

    @classmethod
    def get_default_memory_pool(cls):
        return cls._Pool()


def test_gpu_memory_reports_cupys_pool_and_the_gpu():
    from somanet.backend.device import GPUDevice
    fake = GPUDevice(0, _StubCupy)
    assert fake.memory() == {"device": "gpu:0", "used": 3 * 2 ** 20, "held": 8 * 2 ** 20,
                             "free": 100 * 2 ** 30, "total": 140 * 2 ** 30}
    assert fake.name() == "NVIDIA H200"
    assert sn.gpu_memory(fake) == fake.memory()


def test_gpu_memory_of_the_cpu_or_a_missing_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="gpu_memory reports a GPU's memory; cpu is not a GPU"):
        sn.gpu_memory("cpu")
    if sn.gpu_count() == 0:
        with pytest.raises(RuntimeError, match="GPU devices need CuPy|does not exist"):
            sn.gpu_memory()
