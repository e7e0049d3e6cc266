"""examples/lamstar_patterns.py: LAMSTAR recognising noisy glyphs (and real digits)."""
import pytest

import lamstar_patterns


def test_recognises_noisy_glyphs(tmp_path, check_png):
    result = lamstar_patterns.main(out=str(tmp_path), mnist=False, test_per_class=40)
    accuracy = dict(zip(result["noise_levels"], result["accuracy"]))
    assert accuracy[0.0] == 1.0 and accuracy[0.10] > 0.9
    assert accuracy[0.30] < accuracy[0.10]  # degrades gracefully, not at once
    assert result["train_accuracy"][-1] > 0.95
    assert max(result["allocated"]) <= 16
    assert result["mnist_accuracy"] is None
    check_png(result["figures"]["noise"], min_kb=15, min_side=350)
    check_png(result["figures"]["predictions"], min_kb=15, min_side=300)
    check_png(result["figures"]["links"], min_kb=10, min_side=400)


@pytest.mark.slow
def test_as_documented(tmp_path):
    result = lamstar_patterns.main(out=str(tmp_path))
    assert result["mnist_accuracy"] > 0.78
