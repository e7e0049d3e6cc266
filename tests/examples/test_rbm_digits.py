"""examples/rbm_digits.py: the exact log-likelihood of a 9 x 4 RBM under CD-1 and PCD-1, and
an RBM's features, reconstructions and samples on mnist_small."""
import numpy as np
import pytest

import rbm_digits


def test_exact_log_likelihood_rises_and_digit_features_learn(tmp_path, check_png):
    result = rbm_digits.main(out=str(tmp_path), epochs=5, hidden=36, train_size=1000)
    for label in ("CD-1", "PCD-1"):
        values = np.array(result["log_likelihood"][label])
        assert len(values) == 31 and values[0] == pytest.approx(-9 * np.log(2), abs=0.05)
        assert values[-1] > values[0] + 2.0 and values.max() < result["best_possible"]
    errors = result["reconstruction_error"]
    assert len(errors) == 5 and errors[-1] < errors[0]
    assert result["test_reconstruction_error"] < 0.8 * result["mean_image_error"]
    for name, path in result["figures"].items():
        check_png(path, min_kb=10, min_side=250 if name != "log_likelihood" else 350)


@pytest.mark.slow
def test_as_documented(tmp_path):
    result = rbm_digits.main(out=str(tmp_path))
    assert result["test_reconstruction_error"] < 0.025
    assert result["log_likelihood"]["CD-1"][-1] > -4.2
