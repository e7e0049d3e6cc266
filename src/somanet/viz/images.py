"""A grid of images with their true and predicted labels (mistakes in red)."""
import math

import numpy

from .._checks import check_positive_int
from ._common import finish, host, new_figure

CELL_WIDTH, CELL_HEIGHT = 1.5, 1.8  # inches per image (the title above it)


def _as_images(images):
    """``(N, H, W)`` or ``(N, H, W, 3|4)`` host images from the common layouts: channels
    last or first, a channel axis of 1, or flat square images (MNIST's 784 -> 28 x 28)."""
    array = host(images, "plot_image_grid", "images")
    if array.ndim == 2:  # (N, H*W): flat square images
        side = math.isqrt(array.shape[1])
        if side * side != array.shape[1]:
            raise ValueError(f"plot_image_grid: images of shape {array.shape} are flat but "
                             f"{array.shape[1]} is not a square number; pass (N, H, W)")
        array = array.reshape(array.shape[0], side, side)
    if array.ndim == 4:
        if array.shape[1] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
            array = array.transpose(0, 2, 3, 1)  # channels first -> last
        if array.shape[-1] == 1:
            array = array[..., 0]
    if array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[-1] not in (3, 4)):
        raise ValueError(f"plot_image_grid: expected images of shape (N, H, W), (N, H, W, C) "
                         f"or (N, C, H, W) with C = 1, 3 or 4, got {array.shape}")
    if array.dtype.kind == "b":
        array = array.astype(numpy.float32)
    if array.ndim == 4 and array.dtype.kind == "f":  # RGB floats must lie in [0, 1]
        low = array.min(axis=(1, 2, 3), keepdims=True)
        high = array.max(axis=(1, 2, 3), keepdims=True)
        outside = (low < 0) | (high > 1)
        scaled = (array - low) / numpy.where(high > low, high - low, 1)
        array = numpy.where(outside, scaled, array)
    return array


def _labels(values, count, what):
    if values is None:
        return None
    array = host(values, "plot_image_grid", what)
    if array.ndim == 2 and array.shape[1] > 1:  # class scores or one-hot -> class index
        array = array.argmax(axis=1)
    array = array.reshape(-1) if array.ndim == 2 and array.shape[1] == 1 else array
    if array.ndim != 1 or array.shape[0] < count:
        raise ValueError(f"plot_image_grid: {what} must hold one label (or one row of class "
                         f"scores) per image, {count} images; got shape {array.shape}")
    return array[:count]


def plot_image_grid(images, labels=None, predictions=None, path=None, columns=8,
                    class_names=None, limit=64):
    """Images in a grid, each titled with its label, or with the prediction and the label
    where they differ (in red).

    Args:
        images: (N, H, W), (N, H, W, C), (N, C, H, W) or flat (N, H*W) square images.
        labels: the true labels, (N,) ints (or one-hot / scores, (N, C)).
        predictions: the predicted labels, (N,) or the model's scores (N, C) (arg-max).
        path: save the figure there as a PNG (optional).
        columns: images per row.
        class_names: names to show instead of class numbers (a list, or a dict).
        limit: draw at most this many images (the first ones).

    Returns:
        The matplotlib Figure: ``columns * 1.5`` x ``rows * 1.8`` inches.
    """
    columns = check_positive_int("plot_image_grid", "columns", columns)
    limit = check_positive_int("plot_image_grid", "limit", limit)
    array = _as_images(images)
    count = min(array.shape[0], limit)
    if count == 0:
        raise ValueError("plot_image_grid: no images to draw (the first axis is empty)")
    array = array[:count]
    labels = _labels(labels, count, "labels")
    predictions = _labels(predictions, count, "predictions")

    def name(value):
        value = value.item() if hasattr(value, "item") else value
        if class_names is not None:
            try:
                return str(class_names[int(value)])
            except (IndexError, KeyError, ValueError, TypeError):
                return str(value)
        return str(value)

    columns = min(columns, count)
    rows = -(-count // columns)
    figure, axes = new_figure(CELL_WIDTH * columns, CELL_HEIGHT * rows, rows, columns)
    for index, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= count:
            ax.set_visible(False)
            continue
        image = array[index]
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        title, color = "", "black"
        if predictions is not None and labels is not None:
            right = predictions[index] == labels[index]
            title = name(predictions[index]) if right else \
                f"{name(predictions[index])} (true {name(labels[index])})"
            color = "green" if right else "red"
        elif predictions is not None:
            title = f"pred {name(predictions[index])}"
        elif labels is not None:
            title = name(labels[index])
        if title:
            ax.set_title(title, color=color, fontsize=9)
    if predictions is not None and labels is not None:
        wrong = int((predictions != labels).sum())
        figure.suptitle(f"{count - wrong}/{count} right (mistakes in red: predicted (true))",
                        fontsize=10)
    figure.tight_layout()
    return finish(figure, path, "plot_image_grid")
