"""examples/linear_regression.py: seed 002's ice cream sales by gradient descent, checked
against the closed-form least-squares line."""
import numpy as np
import pytest

import linear_regression


@pytest.mark.parametrize("seed", [0, 3])
def test_gradient_descent_matches_least_squares(tmp_path, check_png, seed):
    result = linear_regression.main(out=str(tmp_path), seed=seed, iterations=150)
    temperature, sales = linear_regression.ice_cream_days(60, seed)
    # The least-squares line, computed here independently (numpy.polyfit, float64).
    slope, intercept = np.polyfit(temperature.ravel().astype(np.float64),
                                  sales.ravel().astype(np.float64), 1)
    assert result["lstsq_slope"] == pytest.approx(slope, rel=1e-9)
    assert result["slope"] == pytest.approx(slope, rel=1e-4)
    assert result["intercept"] == pytest.approx(intercept, abs=0.02)
    # ...and near the truth behind the data: within 4 standard errors (for 60 days with noise
    # sd 15, the slope's is 0.27, the intercept's 6.3).
    assert result["slope"] == pytest.approx(linear_regression.SLOPE, abs=1.1)
    assert result["intercept"] == pytest.approx(linear_regression.INTERCEPT, abs=25)
    assert result["losses"][-1] < result["losses"][0] / 100
    check_png(result["figure"], min_kb=20, min_side=400)
