"""examples/rnn_shapes.py: the four recurrent shapes, each a Sequential that learns."""
import warnings

import numpy as np

import rnn_shapes


def test_the_four_shapes_train_and_draw_their_figures(tmp_path, check_png):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a loss that rises once in a tiny run is no failure
        result = rnn_shapes.main(out=str(tmp_path), epochs=3, train_size=500, parity_size=600,
                                 hidden=24, verbose=False)
    assert result["one_to_one_accuracy"] > 0.85
    assert result["one_to_many_digits"].shape == (10, 28, 28)
    assert 0 <= result["one_to_many_matches"] <= 10
    assert result["many_to_one_accuracy"] > 0.15  # 3 epochs on 500 digits: above chance (0.1)
    per_step = result["many_to_many_per_step"]
    assert per_step.shape == (12,) and per_step[0] > 0.95  # y_1 = x_1, learned first
    for name, losses in result["losses"].items():
        assert np.isfinite(losses).all() and losses[-1] < losses[0], name
    check_png(result["figures"][0], min_kb=10, min_side=300)
    check_png(result["figures"][1], min_kb=5, min_side=200)
    check_png(result["figures"][2], min_kb=10, min_side=300)
