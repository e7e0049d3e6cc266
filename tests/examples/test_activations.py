"""examples/activations.py: seed 003's activations and their autograd derivatives."""
import math

import pytest

import activations


def test_derivatives_and_softmax(tmp_path, check_png):
    result = activations.main(out=str(tmp_path), points=400)
    for name, error in result["max_derivative_error"].items():
        assert error < 1e-6, name  # autograd == the formula on the whole grid
    assert result["at_zero"]["sigmoid"] == pytest.approx((0.5, 0.25))
    assert result["at_zero"]["tanh"] == pytest.approx((0.0, 1.0))
    assert result["at_zero"]["step"] == (0.0, 0.0)
    assert result["tanh_formula_error"] < 1e-6  # the article's 2 / (1 + e^-2a) - 1 is tanh
    # softmax([2, 1, 0.1]) by hand, and its Jacobian p_i (delta_ij - p_j)
    exps = [math.exp(v) for v in (2.0, 1.0, 0.1)]
    p = [e / sum(exps) for e in exps]
    assert result["softmax"] == pytest.approx(p, abs=1e-6)
    assert sum(result["softmax"]) == pytest.approx(1.0, abs=1e-6)
    for i in range(3):
        for j in range(3):
            expected = p[i] * ((i == j) - p[j])
            assert result["softmax_jacobian"][i][j] == pytest.approx(expected, abs=1e-6)
    activation_figure, softmax_figure = result["figures"]
    assert check_png(activation_figure, min_kb=30)[1] >= 1200  # four panels side by side
    check_png(softmax_figure, min_kb=20)
