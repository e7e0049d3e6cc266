"""examples/perceptron_travel.py: seed 000's travel decision, w = (6, 2, 2), T = 5."""
import itertools

import perceptron_travel


def test_truth_table_is_the_weather(tmp_path, check_png):
    result = perceptron_travel.main(out=str(tmp_path))
    inputs = [list(bits) for bits in itertools.product((0, 1), repeat=3)]
    assert result["inputs"] == inputs
    # sum(w x) for each input, by hand: 6 x1 + 2 x2 + 2 x3.
    assert result["sums"] == [6 * a + 2 * b + 2 * c for a, b, c in inputs]
    # "You will go if the weather is good", whatever the leave and the transport.
    assert result["decisions"] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert result["follows_weather"] is True
    check_png(result["figure"])


def test_threshold_is_strict(tmp_path):
    # Equation (1) says "greater than T": a sum equal to T (here 6 with T = 6) does not go.
    result = perceptron_travel.main(out=str(tmp_path), threshold=6.0)
    assert result["decisions"][4] == 0  # weather only: 6 is not > 6
    assert result["decisions"][5:] == [1, 1, 1]
