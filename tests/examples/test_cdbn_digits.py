"""examples/cdbn_digits.py: a convolutional DBN pre-trained on digits, its first-layer
filters and pooling maps, and its features with few labels."""
import pytest

import cdbn_digits


def test_pretrains_draws_and_fine_tunes(tmp_path, check_png):
    result = cdbn_digits.main(out=str(tmp_path), train_size=320, epochs=(2, 1),
                              filters=(12, 16), labels=200, fine_tune_epochs=8)
    first, second = result["reconstruction_errors"]
    assert len(first) == 2 and first[-1] < first[0] and len(second) == 1
    assert 0.01 < result["mean_activation"] < 0.5  # sparse pooling units
    assert result["pretrained_accuracy"] > result["random_accuracy"]
    check_png(result["figures"]["filters"], min_kb=5, min_side=250)
    check_png(result["figures"]["maps"], min_kb=10, min_side=250)


@pytest.mark.slow
def test_as_documented(tmp_path):
    result = cdbn_digits.main(out=str(tmp_path))
    assert result["pretrained_accuracy"] > 0.8
    assert result["pretrained_accuracy"] > result["random_accuracy"] + 0.05
