"""somanet.viz.classification: the confusion matrix (counts and plot) and the grid of
misclassified examples."""
import numpy as np
import pytest

import somanet as sn
from somanet import viz

matplotlib = pytest.importorskip("matplotlib")
from matplotlib import image as mpimg  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    labels = [0, 0, 1, 2, 2, 2]
    predictions = [0, 1, 1, 2, 0, 2]
    np.testing.assert_array_equal(viz.confusion_matrix(labels, predictions),
                                  [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    scores = np.eye(4)[predictions] * 3 - 1  # logits: the arg-max is the prediction
    matrix = viz.confusion_matrix(sn.tensor(np.array(labels)), scores, num_classes=4)
    assert matrix.shape == (4, 4) and matrix.dtype == np.int64 and matrix.sum() == 6
    np.testing.assert_array_equal(matrix[:3, :3], [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        viz.confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"class 3 is out of range for num_classes=3"):
        viz.confusion_matrix([0, 1, 3], [0, 1, 2], num_classes=3)
    with pytest.raises(ValueError, match="holds the negative class -1"):
        viz.confusion_matrix([0, -1], [0, 1])
    with pytest.raises(ValueError, match="must be whole class indices"):
        viz.confusion_matrix([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="no labels"):
        viz.confusion_matrix([], [])
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        viz.confusion_matrix([0], [0], num_classes=0)


def test_plot_confusion_matrix(tmp_path):
    labels = np.array([0, 0, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 2, 0, 2])
    figure = viz.plot_confusion_matrix(labels, predictions, path=tmp_path / "cm.png",
                                       class_names=["cat", "dog", "eel"])
    pixels = mpimg.imread(tmp_path / "cm.png")
    assert pixels.shape[:2] == (450, 500) and pixels[..., :3].std() > 0.01
    ax = figure.axes[0]
    assert ax.get_title() == "accuracy 0.6667 (4 of 6)"
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["cat", "dog", "eel"]
    np.testing.assert_array_equal(ax.images[0].get_array(), [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert [text.get_text() for text in ax.texts] == ["1", "1", "0", "0", "1", "0", "1", "0",
                                                      "2"]
    figure = viz.plot_confusion_matrix(labels, predictions, normalize=True)
    np.testing.assert_allclose(figure.axes[0].images[0].get_array()[2], [1 / 3, 0, 2 / 3])
    assert figure.axes[0].texts[8].get_text() == "0.67"


def test_plot_misclassified_shows_only_the_mistakes(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((20, 28, 28)).astype(np.float32)
    labels = np.arange(20) % 10
    predictions = labels.copy()
    predictions[[3, 7, 15]] = [5, 1, 0]
    figure = viz.plot_misclassified(images, labels, predictions, path=tmp_path / "wrong.png",
                                    class_names=[f"c{i}" for i in range(10)])
    assert mpimg.imread(tmp_path / "wrong.png").shape[:2] == (180, 450)  # 3 cells of 1.5 x 1.8
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert titles == ["c5 (true c3)", "c1 (true c7)", "c0 (true c5)"]
    np.testing.assert_array_equal(figure.axes[1].images[0].get_array(), images[7])
    assert figure._suptitle.get_text() == "3 of 20 misclassified: predicted (true)"
    figure = viz.plot_misclassified(images, labels, predictions, limit=2)
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 2
    assert "(the first 2)" in figure._suptitle.get_text()
    figure = viz.plot_misclassified(images, labels, labels, path=tmp_path / "none.png")
    assert figure.axes[0].texts[0].get_text() == "no mistakes: all 20 right"
    assert (tmp_path / "none.png").stat().st_size > 0


def test_plot_misclassified_errors():
    with pytest.raises(ValueError, match="3 images, 2 labels and 3 predictions"):
        viz.plot_misclassified(np.zeros((3, 4, 4)), [0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="limit must be an int >= 1"):
        viz.plot_misclassified(np.zeros((1, 4, 4)), [0], [1], limit=0)
