"""Looking inside a model: histograms of its weights, and the decision boundary of a
classifier of 2-D inputs (e.g. XOR, or students' pass/fail from hours studied and
lectures attended)."""
import numpy

from ..tensor import Tensor
from ._common import finish, host, new_figure


def _named_arrays(model):
    if hasattr(model, "named_parameters"):
        items = list(model.named_parameters())
    elif hasattr(model, "state_dict"):
        items = list(model.state_dict().items())
    elif isinstance(model, dict):
        items = list(model.items())
    else:
        raise TypeError(f"plot_weight_histograms: expected a Module (or a dict of name -> "
                        f"array), got {type(model).__name__}")
    return [(name, host(value.data if isinstance(value, Tensor) else value,
                        "plot_weight_histograms", name)) for name, value in items]


def plot_weight_histograms(model, path=None, bins=40, columns=3):
    """A histogram of every parameter of ``model``, titled with its name, shape, mean and
    standard deviation (dead or exploding layers show at a glance).

    Args:
        model: a Module (its ``named_parameters()``) or a dict of name -> array.
        path: save the figure there as a PNG (optional).
        bins: histogram bins.
        columns: panels per row.

    Returns:
        The matplotlib Figure: 4 x 3 inches per panel.
    """
    arrays = _named_arrays(model)
    if not arrays:
        raise ValueError("plot_weight_histograms: the model has no parameters (a layer that "
                         "infers its input size has none until it is called on a batch)")
    columns = max(1, min(columns, len(arrays)))
    rows = -(-len(arrays) // columns)
    figure, axes = new_figure(4 * columns, 3 * rows, rows, columns)
    for index, ax in enumerate(axes.ravel()):
        if index >= len(arrays):
            ax.set_visible(False)
            continue
        name, values = arrays[index]
        flat = values.astype(numpy.float64).ravel()
        ax.hist(flat[numpy.isfinite(flat)], bins=bins, color="tab:blue", alpha=0.8)
        ax.set_title(f"{name} {tuple(values.shape)}\nmean {flat.mean():.3g}, std "
                     f"{flat.std():.3g}", fontsize=9)
        ax.grid(True, alpha=0.3)
    figure.tight_layout()
    return finish(figure, path, "plot_weight_histograms")


def plot_decision_boundary(predict_fn, x, y, path=None, resolution=200, threshold=0.5):
    """The regions a classifier of 2-D inputs assigns to each class, with the data points.

    Args:
        predict_fn: a function from a float32 NumPy array of shape (M, 2) to the model's
            outputs for those points: (M,) or (M, 1) scores of the positive class (a
            probability, cut at ``threshold``), or (M, C) class scores (arg-max). Tensors
            and device arrays are fine, e.g. ``lambda g: model(sn.tensor(g))`` or
            ``model.predict``.
        x: the data, (N, 2).
        y: its labels, (N,) (or one-hot (N, C)).
        path: save the figure there as a PNG (optional).
        resolution: grid points along each axis.
        threshold: the decision threshold of single-column scores (0.5 for probabilities,
            0 for logits).

    Returns:
        The matplotlib Figure (6 x 5 inches).
    """
    if not callable(predict_fn):
        raise TypeError(f"plot_decision_boundary: predict_fn must be a function of the "
                        f"points, got {type(predict_fn).__name__}")
    points = host(x, "plot_decision_boundary", "x").astype(numpy.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise ValueError(f"plot_decision_boundary: x must be 2-D points of shape (N, 2), got "
                         f"{points.shape}")
    labels = host(y, "plot_decision_boundary", "y")
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1)
    if labels.shape[0] != points.shape[0]:
        raise ValueError(f"plot_decision_boundary: {points.shape[0]} points but {labels.shape[0]} "
                         f"labels")
    low, high = points.min(axis=0), points.max(axis=0)
    margin = numpy.where(high > low, 0.15 * (high - low), 0.5)
    xs = numpy.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = numpy.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid_x, grid_y = numpy.meshgrid(xs, ys)
    grid = numpy.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(numpy.float32)
    out = predict_fn(grid)
    scores = host(out.data if isinstance(out, Tensor) else out, "plot_decision_boundary",
                  "the output of predict_fn").astype(numpy.float64)
    if scores.shape[0] != grid.shape[0] or scores.ndim > 2:
        raise ValueError(f"plot_decision_boundary: predict_fn returned shape {scores.shape} "
                         f"for {grid.shape[0]} points; expected ({grid.shape[0]},), "
                         f"({grid.shape[0]}, 1) or ({grid.shape[0]}, classes)")
    figure, ax = new_figure(6, 5)
    from matplotlib import colormaps
    multiclass = scores.ndim == 2 and scores.shape[1] > 1
    if multiclass:
        classes = scores.argmax(axis=1).reshape(grid_x.shape)
        count = scores.shape[1]
        ax.contourf(grid_x, grid_y, classes, levels=numpy.arange(count + 1) - 0.5,
                    cmap="tab10", alpha=0.3, vmin=0, vmax=9)
    else:
        values = scores.reshape(grid_x.shape)
        filled = ax.contourf(grid_x, grid_y, values, levels=20, cmap="RdBu_r", alpha=0.6)
        figure.colorbar(filled, ax=ax, label="model output")
        if values.min() < threshold < values.max():
            ax.contour(grid_x, grid_y, values, levels=[threshold], colors="black",
                       linewidths=1.5)
    classes_seen = numpy.unique(labels)
    for number, label in enumerate(classes_seen):
        chosen = labels == label
        if multiclass:  # the region's colour
            index = int(label) if float(label).is_integer() else number
            color = colormaps["tab10"](index % 10)
        else:  # the ends of the score's colour map: blue for 0, red for 1
            color = colormaps["RdBu_r"](0.0 if number == 0 else 1.0)
        ax.scatter(points[chosen, 0], points[chosen, 1], color=color, edgecolors="black",
                   s=40, label=f"class {label.item() if hasattr(label, 'item') else label}")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return finish(figure, path, "plot_decision_boundary")
