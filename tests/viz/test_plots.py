"""somanet.viz: each plot saves a PNG of the expected size, and bad input says what is wrong."""
import subprocess
import sys

import numpy as np
import pytest

import somanet as sn
from somanet import nn, viz
from somanet.train.callbacks import CallbackList, History

matplotlib = pytest.importorskip("matplotlib")
from matplotlib import image as mpimg  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def read_png(path):
    """(height, width) of a PNG, checked to be a real picture (not one flat colour)."""
    pixels = mpimg.imread(str(path))
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert pixels[..., :3].std() > 0.01, "the image is blank"
    return pixels.shape[:2]


def history_dict():
    return {"loss": [0.9, 0.5, 0.3], "accuracy": [0.6, 0.8, 0.9],
            "val_loss": [1.0, 0.7, 0.6], "val_accuracy": [0.5, 0.7, 0.8],
            "lr": [1e-3, 1e-3, 1e-4]}


# -- curves -------------------------------------------------------------------------------------

def test_plot_history_from_a_dict(tmp_path):
    figure = viz.plot_history(history_dict(), path=tmp_path / "history.png")
    assert read_png(tmp_path / "history.png") == (400, 1000)  # two 5 x 4 inch panels
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]  # no lr by default
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["train", "validation"]
    np.testing.assert_array_equal(lines[1].get_ydata(), [1.0, 0.7, 0.6])
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])  # epochs from 1


def test_history_plot_from_callbacks(tmp_path):
    model = type("Model", (), {"stop_training": False})()
    callbacks = CallbackList(model=model)
    callbacks.on_train_begin()
    for epoch, values in enumerate(zip(*history_dict().values())):
        callbacks.on_epoch_end(epoch, dict(zip(history_dict(), values)))
    history = callbacks.history
    figure = history.plot(tmp_path / "out" / "curves.png", metrics=["val_loss", "lr"])
    assert read_png(tmp_path / "out" / "curves.png") == (400, 1000)
    assert [ax.get_title() for ax in figure.axes] == ["loss", "lr"]
    assert figure.axes[1].get_yscale() == "log"
    viz.plot_history(model, metrics="accuracy")  # a model after fit holds its History


def test_plot_history_errors():
    with pytest.raises(ValueError, match="no 'f1' in the history; available: loss, accuracy, lr"):
        viz.plot_history(history_dict(), metrics=["f1"])
    with pytest.raises(ValueError, match="the history is empty; train for at least one epoch"):
        viz.plot_history(History())
    with pytest.raises(TypeError, match="expected a History .* got int"):
        viz.plot_history(3)


def test_plot_curves(tmp_path):
    curves = {"lr 20": np.geomspace(0.5, 1e-3, 100), "lr 50": (np.arange(10), np.ones(10))}
    figure = viz.plot_curves(curves, path=tmp_path / "curves.png", logy=True, title="errors")
    assert read_png(tmp_path / "curves.png") == (400, 600)
    assert figure.axes[0].get_yscale() == "log"
    assert figure.axes[0].get_xlabel() == "iteration"
    with pytest.raises(ValueError, match="expected a non-empty dict"):
        viz.plot_curves([1, 2])
    with pytest.raises(ValueError, match="'a' has 2 x values and 3 y values"):
        viz.plot_curves({"a": ([1, 2], [1, 2, 3])})


def test_plot_lr_finder(tmp_path):
    lrs = np.geomspace(1e-6, 1.0, 60)
    losses = np.concatenate([np.linspace(2.3, 0.4, 45), np.linspace(0.5, 8.0, 15)])
    figure = viz.plot_lr_finder(lrs, losses, suggestion=1e-3, path=tmp_path / "lr.png")
    assert read_png(tmp_path / "lr.png") == (400, 600)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log"
    assert "1.00e-03" in ax.get_title()
    with pytest.raises(ValueError, match="one loss per learning rate, got 60 learning rates "
                                         "and 3 losses"):
        viz.plot_lr_finder(lrs, [1, 2, 3])
    with pytest.raises(ValueError, match="learning rates must be > 0"):
        viz.plot_lr_finder([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="suggestion must be a learning rate > 0"):
        viz.plot_lr_finder(lrs, losses, suggestion=-1)


# -- activations --------------------------------------------------------------------------------

def test_plot_activations(tmp_path):
    figure = viz.plot_activations(path=tmp_path / "activations.png")
    assert read_png(tmp_path / "activations.png") == (350, 1600)  # four 4 x 3.5 inch panels
    assert len(figure.axes) == 4
    assert [line.get_label() for line in figure.axes[0].get_lines()][:2] == [
        "sigmoid", "sigmoid' (autograd)"]
    figure = viz.plot_activations(names=["relu", "gelu", "elu", "softplus", "leaky_relu"],
                                  derivatives=False)
    assert tuple(figure.get_size_inches()) == (16, 7)  # two rows of four
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 5
    with pytest.raises(ValueError, match=r"unknown activation 'swish'\. Known activations: "
                                         r"sigmoid, tanh"):
        viz.plot_activations(names=["swish"])


def test_activation_derivatives_come_from_autograd_and_are_right():
    x, y, slope = viz.activation_curves("sigmoid")
    assert x.dtype == np.float32 and x.shape == (1000,)
    np.testing.assert_allclose(slope, y * (1 - y), atol=1e-6)
    x, y, slope = viz.activation_curves("tanh")
    np.testing.assert_allclose(slope, 1 - y * y, atol=1e-6)
    x, y, slope = viz.activation_curves("relu")
    np.testing.assert_array_equal(slope, (x > 0).astype(np.float32))
    x, y, slope = viz.activation_curves("step")
    np.testing.assert_array_equal(y, (x > 0).astype(np.float32))
    assert not slope.any()  # the step's gradient is zero: why the seeds move to the sigmoid


# -- images -------------------------------------------------------------------------------------

def test_plot_image_grid_marks_mistakes_in_red(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((10, 28, 28)).astype(np.float32)
    labels = np.arange(10)
    predictions = np.eye(10)[np.r_[np.arange(9), 3]]  # scores: the last one is wrong
    figure = viz.plot_image_grid(images, labels, predictions, path=tmp_path / "grid.png",
                                 columns=5)
    assert read_png(tmp_path / "grid.png") == (360, 750)  # 5 x 2 cells of 1.5 x 1.8 inches
    titles = [ax.title for ax in figure.axes[:10]]
    assert titles[0].get_text() == "0" and titles[0].get_color() == "green"
    assert titles[9].get_text() == "3 (true 9)" and titles[9].get_color() == "red"
    assert "9/10 right" in figure._suptitle.get_text()


def test_plot_image_grid_layouts(tmp_path):
    rng = np.random.default_rng(1)
    flat = rng.random((3, 784))  # MNIST rows
    figure = viz.plot_image_grid(sn.tensor(flat), labels=[7, 2, 1], path=tmp_path / "flat.png")
    assert read_png(tmp_path / "flat.png") == (180, 450)
    assert figure.axes[0].images[0].get_array().shape == (28, 28)
    channels_first = rng.random((2, 3, 8, 8)).astype(np.float32) * 4 - 2  # outside [0, 1]
    figure = viz.plot_image_grid(channels_first, predictions=[0, 1], class_names=["cat", "dog"])
    assert figure.axes[0].images[0].get_array().shape == (8, 8, 3)
    assert figure.axes[1].get_title() == "pred dog"
    figure = viz.plot_image_grid(rng.random((100, 4, 4)), limit=12, columns=4)
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 12
    uint8 = (rng.random((2, 5, 5, 1)) * 255).astype(np.uint8)
    viz.plot_image_grid(uint8)


def test_plot_image_grid_errors():
    with pytest.raises(ValueError, match=r"784 is not a square|is not a square number"):
        viz.plot_image_grid(np.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"expected images of shape \(N, H, W\)"):
        viz.plot_image_grid(np.zeros((2, 5, 5, 7)))
    with pytest.raises(ValueError, match=r"labels must hold one label .* 2 images; got shape "
                                         r"\(1,\)"):
        viz.plot_image_grid(np.zeros((2, 5, 5)), labels=[1])
    with pytest.raises(ValueError, match="no images to draw"):
        viz.plot_image_grid(np.zeros((0, 5, 5)))
    with pytest.raises(ValueError, match="columns must be an int >= 1"):
        viz.plot_image_grid(np.zeros((1, 5, 5)), columns=0)


# -- models -------------------------------------------------------------------------------------

def test_plot_weight_histograms(tmp_path):
    sn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    figure = viz.plot_weight_histograms(model, path=tmp_path / "weights.png")
    assert read_png(tmp_path / "weights.png") == (600, 1200)  # 4 parameters: 3 + 1 panels
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == 4
    assert visible[0].get_title().startswith("0.weight (2, 8)")
    viz.plot_weight_histograms({"w": np.arange(10.0)})
    with pytest.raises(ValueError, match="the model has no parameters"):
        viz.plot_weight_histograms(nn.Sequential(nn.ReLU()))
    with pytest.raises(TypeError, match="expected a Module"):
        viz.plot_weight_histograms(3)


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def test_plot_decision_boundary_binary_with_a_somanet_model(tmp_path):
    sn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    seen = []

    def predict(points):
        seen.append((type(points), points.dtype, points.shape))
        return model(sn.tensor(points))

    figure = viz.plot_decision_boundary(predict, XOR_X, XOR_Y, path=tmp_path / "xor.png",
                                        resolution=50)
    assert read_png(tmp_path / "xor.png") == (500, 600)
    assert seen == [(np.ndarray, np.float32, (2500, 2))]
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == [
        "class 0", "class 1"]


def test_plot_decision_boundary_multiclass(tmp_path):
    x = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)
    y = np.eye(3)[[0, 1, 2, 2]]  # one-hot labels

    def predict(points):  # three regions
        return np.stack([1 - points.sum(1), points[:, 0] - points[:, 1],
                         points[:, 1] - points[:, 0] + 0.1], axis=1)

    viz.plot_decision_boundary(predict, x, y, path=tmp_path / "three.png", resolution=40)
    assert read_png(tmp_path / "three.png") == (500, 600)


def test_plot_decision_boundary_errors():
    with pytest.raises(ValueError, match=r"x must be 2-D points of shape \(N, 2\), got "
                                         r"\(4, 3\)"):
        viz.plot_decision_boundary(lambda g: g, np.zeros((4, 3)), XOR_Y)
    with pytest.raises(ValueError, match="4 points but 3 labels"):
        viz.plot_decision_boundary(lambda g: g, XOR_X, XOR_Y[:3])
    with pytest.raises(ValueError, match=r"predict_fn returned shape \(10,\) for 100 points"):
        viz.plot_decision_boundary(lambda g: np.zeros(10), XOR_X, XOR_Y, resolution=10)
    with pytest.raises(TypeError, match="predict_fn must be a function"):
        viz.plot_decision_boundary(None, XOR_X, XOR_Y)


# -- saving and the lazy import -----------------------------------------------------------------

def test_bad_path_extension_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"cannot write a \.xyz file; use \.png"):
        viz.plot_curves({"a": [1, 2]}, path=tmp_path / "curve.xyz")
    viz.plot_curves({"a": [1, 2]}, path=tmp_path / "no_extension")
    assert (tmp_path / "no_extension").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    with pytest.raises(ImportError, match=r"somanet.viz needs matplotlib: pip install "
                                          r"'somanet\[viz\]'"):
        viz.plot_curves({"a": [1, 2]})


def test_import_somanet_does_not_import_matplotlib():
    code = "import sys, somanet; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
