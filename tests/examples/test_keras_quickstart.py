"""examples/keras_quickstart.py: seed 004's Keras quickstart on mnist_small."""
import math

import numpy as np
import pytest

import keras_quickstart


def check_untrained(result):
    # Ten logits, their softmax, and the untrained loss near -log(1/10) ~= 2.3.
    logits, probabilities = np.array(result["logits"]), np.array(result["probabilities"])
    assert logits.shape == (1, 10) and probabilities.shape == (1, 10)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)
    assert result["expected_initial_loss"] == pytest.approx(math.log(10))
    assert abs(result["initial_loss"] - math.log(10)) < 0.5
    # The probability model: rows of 10 probabilities that sum to 1.
    rows = np.array(result["probabilities_test"])
    assert rows.shape == (5, 10)
    np.testing.assert_allclose(rows.sum(axis=1), 1, atol=1e-5)


def test_quickstart_fast(tmp_path, check_png):
    # 1,000 training images and 2 epochs instead of 4,000 and 5: still clearly learning.
    result = keras_quickstart.main(out=str(tmp_path), epochs=2, train_size=1000, verbose=0)
    check_untrained(result)
    losses = result["history"]["loss"]
    assert len(losses) == 2 and losses[1] < losses[0]
    assert result["test_accuracy"] > 0.75
    history_figure, grid_figure = result["figures"]
    check_png(history_figure, min_kb=15, min_side=300)
    check_png(grid_figure, min_kb=15, min_side=300)


@pytest.mark.slow
def test_quickstart_as_the_article(tmp_path):
    result = keras_quickstart.main(out=str(tmp_path), verbose=0)  # 5 epochs, all 4,000
    check_untrained(result)
    assert len(result["history"]["loss"]) == 5
    assert result["test_accuracy"] >= 0.88  # ~0.91; PyTorch gets 0.91 on the same setup
