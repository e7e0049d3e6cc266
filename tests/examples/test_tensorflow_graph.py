"""examples/tensorflow_graph.py: seed 001's TensorFlow section and seed 004's graph."""
import numpy as np

import tensorflow_graph


def test_the_tensorflow_introduction_runs_as_written():
    found = tensorflow_graph.introduction()
    assert found["hello"] == b"Hello World!" and found["fed"] == b"Hello World"
    assert found["ranks"] == [0, 1, 2, 3]
    assert found["cast_subtract"] == 1 and found["x"] == 5
    assert found["weights"].shape == (120, 5) and np.abs(found["weights"]).max() <= 2
    assert found["bias"].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(found["relu"], [3.0, 1.0, 0.2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(found["softmax"].sum(), 1.0, rtol=1e-6)


def test_the_classifier_trains_in_a_session_as_eagerly(tmp_path):
    result = tensorflow_graph.main(out=str(tmp_path), epochs=2)
    assert result["graph_accuracy"] == result["eager_accuracy"] > 0.8
    np.testing.assert_allclose(result["graph_weights"], result["eager_weights"], rtol=1e-5,
                               atol=1e-6)
    dot = open(result["figures"][0]).read()
    assert dot.startswith("digraph") and dot.count("[label=") >= len(result["graph"].nodes)
