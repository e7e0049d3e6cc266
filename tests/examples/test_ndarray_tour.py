"""examples/ndarray_tour.py: seed 002's MXNet NDArray walk-through in somanet."""
import pytest

import ndarray_tour
import somanet as sn


def test_tour_on_the_cpu(tmp_path):
    found = ndarray_tour.main(out=str(tmp_path))
    assert found["empty_shape"] == (4, 5)
    assert found["zeros_sum"] == 0.0
    assert found["shape"] == (2, 7) and found["size"] == 14
    assert found["slice"] == [9.0, 10.0, 11.0]
    assert found["round_trip"] is True
    assert found["device"] == "cpu" and found["cpu_is_a_singleton"] is True
    assert found["gpu_count"] == sn.gpu_count()
    if found["gpu_count"] == 0:
        assert found["gpu_steps"] == []  # skipped cleanly
        assert found["prediction_device"] == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(sn.gpu_count() == 0, reason="needs a CUDA GPU and CuPy")
def test_tour_on_the_gpu(tmp_path):
    found = ndarray_tour.main(out=str(tmp_path))
    assert found["gpu_steps"][0] == "zeros on gpu:0"
    assert "mixing devices is an error" in found["gpu_steps"]
    assert found["prediction_device"] == "gpu:0"
