"""Curves: training history (train vs validation), error against iteration, the
learning-rate sweep."""
import math

import numpy

from .._checks import check_real
from ._common import finish, host, new_figure

PANEL_WIDTH, PANEL_HEIGHT = 5, 4  # inches (500 x 400 pixels) per panel of plot_history


def _history_dict(history):
    """``(values by name, epoch numbers or None)`` from a History, a model that has one, or
    a dict of name -> list."""
    epochs = None
    source = history
    if not isinstance(source, dict) and hasattr(source, "history"):
        epochs = getattr(source, "epoch", None)
        source = source.history
        if not isinstance(source, dict) and hasattr(source, "history"):  # model.history
            epochs = getattr(source, "epoch", None)
            source = source.history
    if not isinstance(source, dict):
        raise TypeError(f"plot_history: expected a History (what fit returns), a model, or a "
                        f"dict of name -> values per epoch; got {type(history).__name__}")
    return source, epochs


def plot_history(history, path=None, metrics=None):
    """Loss and metrics per epoch, training against validation: one panel per quantity.

    Args:
        history: the ``History`` that ``fit`` returns, a model after ``fit``, or a dict
            ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``.
        path: save the figure there as a PNG (optional).
        metrics: the quantities to draw, e.g. ``["loss", "accuracy"]`` (``val_`` names
            draw the same panel); default all but the learning rate ``lr``.

    Returns:
        The matplotlib Figure: (5 x panels) x 4 inches, 100 pixels an inch.

        >>> fig = plot_history({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]})
    """
    values, epochs = _history_dict(history)
    values = {key: list(series) for key, series in values.items() if len(series)}
    if not values:
        raise ValueError("plot_history: the history is empty; train for at least one epoch")
    available = []
    for key in values:
        base = key[4:] if key.startswith("val_") else key
        if base not in available:
            available.append(base)
    if metrics is None:
        panels = [base for base in available if base != "lr"] or available
    else:
        if isinstance(metrics, str):
            metrics = [metrics]
        panels = []
        for name in metrics:
            base = name[4:] if name.startswith("val_") else name
            if base not in available:
                raise ValueError(f"plot_history: no {name!r} in the history; available: "
                                 f"{', '.join(available)}")
            if base not in panels:
                panels.append(base)
    if "loss" in panels:  # the loss first, as Keras users expect
        panels.remove("loss")
        panels.insert(0, "loss")
    figure, axes = new_figure(PANEL_WIDTH * len(panels), PANEL_HEIGHT, 1, len(panels))
    from matplotlib.ticker import MaxNLocator
    for ax, base in zip(axes[0], panels):
        for key, label, style in ((base, "train", "-o"), ("val_" + base, "validation", "--s")):
            if key not in values:
                continue
            series = numpy.asarray([_number(v) for v in values[key]], dtype=float)
            if epochs is not None and len(epochs) == len(series):
                x = numpy.asarray(epochs) + 1
            else:
                x = numpy.arange(1, len(series) + 1)
            ax.plot(x, series, style, markersize=3, label=label)
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_ylabel(base)
        if base == "lr":
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
    figure.tight_layout()
    return finish(figure, path, "plot_history")


def _number(value):
    if value is None:
        return math.nan
    if hasattr(value, "item"):
        value = value.item()
    return float(value)


def plot_curves(curves, path=None, xlabel="iteration", ylabel="error", logy=False, title=None):
    """Several curves against the iteration, e.g. the training error of one network at
    four learning rates.

    Args:
        curves: ``{"label": values}``; values a sequence (drawn against 1, 2, ...) or a pair
            ``(x, y)``.
        path: save the figure there as a PNG (optional).
        xlabel, ylabel: the axis labels.
        logy: a logarithmic y axis (errors that fall by orders of magnitude).
        title: the figure's title.

    Returns:
        The matplotlib Figure (6 x 4 inches).

        >>> fig = plot_curves({"lr 20": [0.5, 0.2, 0.1], "lr 50": [0.5, 0.6, 0.4]}, logy=True)
    """
    if not isinstance(curves, dict) or not curves:
        raise ValueError(f"plot_curves: expected a non-empty dict of label -> values, got "
                         f"{type(curves).__name__} {curves!r:.60}")
    figure, ax = new_figure(6, 4)
    for label, values in curves.items():
        if isinstance(values, tuple) and len(values) == 2:
            x = host(values[0], "plot_curves", f"the x of {label!r}").astype(float).ravel()
            y = host(values[1], "plot_curves", f"the y of {label!r}").astype(float).ravel()
            if x.shape != y.shape:
                raise ValueError(f"plot_curves: {label!r} has {x.size} x values and {y.size} "
                                 f"y values")
        else:
            y = host(values, "plot_curves", f"the values of {label!r}").astype(float).ravel()
            x = numpy.arange(1, y.size + 1)
        ax.plot(x, y, label=str(label))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return finish(figure, path, "plot_curves")


def plot_lr_finder(lrs, losses, suggestion=None, path=None):
    """The loss against the learning rate from an ``lr_find`` sweep (log x axis), with
    the suggested learning rate marked.

    Args:
        lrs: the learning rates tried, increasing.
        losses: the (smoothed) loss at each.
        suggestion: the suggested learning rate (optional): a red dot and a dotted line.
        path: save the figure there as a PNG (optional).

    Returns:
        The matplotlib Figure (6 x 4 inches).
    """
    lrs = host(lrs, "plot_lr_finder", "lrs").astype(float).ravel()
    losses = host(losses, "plot_lr_finder", "losses").astype(float).ravel()
    if lrs.size != losses.size or lrs.size == 0:
        raise ValueError(f"plot_lr_finder: expected one loss per learning rate, got {lrs.size} "
                         f"learning rates and {losses.size} losses")
    if (lrs <= 0).any():
        raise ValueError("plot_lr_finder: learning rates must be > 0 (the x axis is "
                         "logarithmic)")
    figure, ax = new_figure(6, 4)
    ax.plot(lrs, losses, label="loss")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    if suggestion is not None:
        suggestion = check_real("plot_lr_finder", "suggestion", suggestion, minimum=0.0,
                                min_open=True, what="a learning rate > 0")
        order = numpy.argsort(lrs)
        at = numpy.interp(numpy.log(suggestion), numpy.log(lrs[order]), losses[order])
        ax.axvline(suggestion, color="red", linestyle=":", linewidth=1)
        ax.plot([suggestion], [at], "o", color="red", label=f"suggested lr {suggestion:.2e}")
        ax.set_title(f"suggested learning rate: {suggestion:.2e}")
    finite = losses[numpy.isfinite(losses)]
    if finite.size:  # a diverging tail would squash the interesting part
        low, high = finite.min(), min(finite.max(), finite[0] + 4 * (finite[0] - finite.min())
                                      if finite[0] > finite.min() else finite.max())
        if high > low:
            margin = 0.05 * (high - low)
            ax.set_ylim(low - margin, high + margin)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return finish(figure, path, "plot_lr_finder")
