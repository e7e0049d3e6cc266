"""examples/xor.py: seed 002's XOR, one perceptron (fails) vs a hidden layer (learns)."""
import pytest

import xor


@pytest.mark.parametrize("seed", [0, 1])
def test_perceptron_fails_network_learns(tmp_path, check_png, seed):
    result = xor.main(out=str(tmp_path), seed=seed, epochs=30, iterations=1500)
    # The perceptron rule learns OR, but never XOR (not linearly separable).
    assert result["or_mistakes"][-1] == 0
    assert min(result["xor_mistakes"]) > 0
    assert result["perceptron_wrong"] >= 1
    # A step unit gives gradient descent nothing to follow.
    assert result["step_gradient"] == 0.0
    # One hidden layer, trained by backprop, gets every XOR point right.
    assert [round(z) for z in result["network_outputs"]] == [0, 1, 1, 0]
    assert result["network_error"] < 0.01
    for path in result["figures"]:
        check_png(path, min_kb=10, min_side=400)
