"""examples/gradient_step.py: seed 001's gradient-descent step, by hand and by autograd."""
import math

import pytest

import gradient_step


def test_the_articles_step(tmp_path, check_png):
    result = gradient_step.main(out=str(tmp_path))
    # The article's numbers, computed here by hand in plain Python.
    x, y, w, learnrate = [1, 2, 3, 4], 0.5, [0.5, -0.5, 0.3, 0.1], 0.5
    h = sum(wi * xi for wi, xi in zip(w, x))  # 0.8
    output = 1 / (1 + math.exp(-h))
    error = y - output
    error_term = error * output * (1 - output)
    delta_w = [learnrate * error_term * xi for xi in x]
    assert result["nn_output"] == pytest.approx(output, abs=1e-15)
    assert result["nn_output"] == pytest.approx(0.6899744811276125, abs=1e-15)
    assert result["error"] == pytest.approx(-0.1899744811276125, abs=1e-15)
    assert result["delta_w_hand"] == pytest.approx(delta_w, abs=1e-15)
    assert result["delta_w_hand"] == pytest.approx(
        [-0.02031869, -0.04063738, -0.06095608, -0.08127477], abs=5e-9)
    # autograd and the SGD optimiser give the same change in weights
    assert result["delta_w_autograd"] == pytest.approx(delta_w, rel=1e-12)
    assert result["delta_w_sgd"] == pytest.approx(delta_w, rel=1e-12)
    assert result["same"] is True
    assert result["error_after"] < result["error_before"]
    check_png(result["figure"])
