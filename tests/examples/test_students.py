"""examples/students.py: seed 003's students-fail network (functional API, binary
cross-entropy, early stopping)."""
import pytest

import students


@pytest.mark.parametrize("seed", [0, 1])
def test_untrained_guess_then_trained_pass(tmp_path, check_png, seed):
    result = students.main(out=str(tmp_path), seed=seed)
    assert 0 < result["untrained"] < 1  # a guess by random weights
    # The rule behind the data gives P(fail | [5, 9]) = sigmoid(10 - 4 - 9) = 0.047.
    assert result["trained"] < 0.2
    assert result["final_loss"] < result["untrained_loss"] / 3
    # 12% fail: better than always answering "passes".
    assert result["accuracy"] > max(0.9, 1 - result["fail_rate"])
    assert result["epochs_run"] < 300  # early stopping ended it
    loss_figure, boundary_figure = result["figures"]
    check_png(loss_figure, min_kb=20, min_side=300)
    check_png(boundary_figure, min_kb=20, min_side=400)
