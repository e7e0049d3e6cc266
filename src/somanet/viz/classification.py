"""How a classifier errs: the confusion matrix (counts, and its plot) and a grid of the
misclassified examples with their true and predicted labels."""
import numpy

from .._checks import check_positive_int
from ._common import finish, host, new_figure
from .images import plot_image_grid

MAX_ANNOTATED = 30  # classes up to which every cell of the matrix shows its count


def _class_indices(values, who, what):
    """``values`` as a 1-D array of class indices: ints as they are, class scores (N, C)
    or one-hot rows by their arg-max."""
    array = host(values, who, what)
    if array.ndim == 2 and array.shape[1] > 1:
        array = array.argmax(axis=1)
    elif array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{who}: {what} must be class indices (N,) or class scores (N, C), "
                         f"got shape {array.shape}")
    if array.size and array.dtype.kind == "f":
        if not numpy.isfinite(array).all() or (array != numpy.round(array)).any():
            raise ValueError(f"{who}: {what} must be whole class indices (or scores (N, C)); "
                             f"got fractional or non-finite values")
    elif array.size and array.dtype.kind not in "biu":
        raise ValueError(f"{who}: {what} must be class indices (numbers), got dtype "
                         f"{array.dtype}")
    array = array.astype(numpy.int64)
    if array.size and array.min() < 0:
        raise ValueError(f"{who}: {what} holds the negative class {int(array.min())}; classes "
                         f"are 0, 1, 2...")
    return array


def confusion_matrix(labels, predictions, num_classes=None):
    """Counts of (true class, predicted class) pairs, as scikit-learn's
    ``confusion_matrix``: row ``i`` holds the samples of true class ``i``, column ``j`` those
    predicted ``j``, so the diagonal counts the right answers.

    Args:
        labels: the true classes, (N,) ints (or one-hot rows (N, C)).
        predictions: the predicted classes, (N,) ints, or the model's scores (N, C) (their
            arg-max: logits and probabilities alike).
        num_classes: the matrix's size (default: one more than the largest class seen).

    Returns:
        An int64 NumPy array of shape ``(num_classes, num_classes)``.

        >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2]).tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    who = "confusion_matrix"
    labels = _class_indices(labels, who, "labels")
    predictions = _class_indices(predictions, who, "predictions")
    if labels.shape != predictions.shape:
        raise ValueError(f"{who}: {labels.size} labels but {predictions.size} predictions; "
                         f"expected one prediction per label")
    largest = int(max(labels.max(initial=-1), predictions.max(initial=-1)))
    if num_classes is None:
        num_classes = largest + 1
        if num_classes == 0:
            raise ValueError(f"{who}: no labels; give at least one, or num_classes=")
    num_classes = check_positive_int(who, "num_classes", num_classes)
    if largest >= num_classes:
        raise ValueError(f"{who}: class {largest} is out of range for num_classes="
                         f"{num_classes} (classes 0..{num_classes - 1})")
    counts = numpy.zeros(num_classes * num_classes, dtype=numpy.int64)
    numpy.add.at(counts, labels * num_classes + predictions, 1)
    return counts.reshape(num_classes, num_classes)


def plot_confusion_matrix(labels, predictions, path=None, class_names=None, normalize=False,
                          title=None):
    """The confusion matrix as a heat map: true class down, predicted class across, each
    cell with its count (or, ``normalize=True``, its share of the true class's samples).

    Args:
        labels: the true classes, (N,) ints (or one-hot (N, C)).
        predictions: the predicted classes (N,) or the model's scores (N, C).
        path: save the figure there as a PNG (optional).
        class_names: names of the classes, in order (default 0, 1, 2...); their number
            sets the matrix's size.
        normalize: show each row as fractions summing to 1 (the recall of each class on
            the diagonal) instead of counts.
        title: the figure's title (default: the accuracy and the sample count).

    Returns:
        The matplotlib Figure: about 0.5 inch a class, at least 5 x 4.5 inches.

        >>> fig = plot_confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], class_names=["a", "b", "c"])
    """
    num_classes = None if class_names is None else len(class_names)
    matrix = confusion_matrix(labels, predictions, num_classes=num_classes)
    names = [str(name) for name in class_names] if class_names is not None else \
        [str(i) for i in range(matrix.shape[0])]
    total = int(matrix.sum())
    rows = matrix.sum(axis=1, keepdims=True)
    shown = matrix / numpy.maximum(rows, 1) if normalize else matrix
    side = max(5.0, 0.5 * len(names) + 2.0)
    figure, ax = new_figure(side, side - 0.5)
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(names)), names, rotation=45 if max(map(len, names)) > 2 else 0,
                  ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if len(names) <= MAX_ANNOTATED:
        high = shown.max() if shown.size else 0
        for i in range(len(names)):
            for j in range(len(names)):
                value = shown[i, j]
                text = f"{value:.2f}" if normalize else str(int(value))
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if high and value > high / 2 else "black")
    if title is None:
        right = int(numpy.trace(matrix))
        title = f"accuracy {right / total:.4f} ({right:,} of {total:,})" if total else \
            "no samples"
    ax.set_title(title)
    figure.tight_layout()
    return finish(figure, path, "plot_confusion_matrix")


def plot_misclassified(images, labels, predictions, path=None, class_names=None, limit=32,
                       columns=8):
    """The images the model got wrong, each titled ``predicted (true label)``: the first
    ``limit`` mistakes, in the order of the data.

    Args:
        images: (N, H, W), (N, H, W, C), (N, C, H, W) or flat square (N, H*W) images.
        labels: the true classes, (N,) ints (or one-hot (N, C)).
        predictions: the predicted classes (N,) or the model's scores (N, C).
        path: save the figure there as a PNG (optional).
        class_names: names to show instead of class numbers.
        limit: draw at most this many mistakes.
        columns: images per row.

    Returns:
        The matplotlib Figure (``plot_image_grid``'s cells); with no mistakes, a small
        figure that says so.

        >>> import numpy as np
        >>> fig = plot_misclassified(np.zeros((3, 4, 4)), [0, 1, 2], [0, 2, 2])
        >>> fig.axes[0].get_title()
        '2 (true 1)'
    """
    who = "plot_misclassified"
    limit = check_positive_int(who, "limit", limit)
    array = host(images, who, "images")
    labels = _class_indices(labels, who, "labels")
    predictions = _class_indices(predictions, who, "predictions")
    if not len(array) == labels.size == predictions.size:
        raise ValueError(f"{who}: {len(array)} images, {labels.size} labels and "
                         f"{predictions.size} predictions; expected one label and one "
                         f"prediction per image")
    wrong = numpy.flatnonzero(labels != predictions)
    if wrong.size == 0:
        figure, ax = new_figure(5, 2)
        ax.axis("off")
        ax.text(0.5, 0.5, f"no mistakes: all {labels.size:,} right", ha="center",
                va="center", fontsize=12)
        return finish(figure, path, who)
    shown = wrong[:limit]
    figure = plot_image_grid(array[shown], labels[shown], predictions[shown], columns=columns,
                             class_names=class_names, limit=limit)
    figure.suptitle(f"{wrong.size:,} of {labels.size:,} misclassified"
                    + (f" (the first {shown.size})" if shown.size < wrong.size else "")
                    + ": predicted (true)", fontsize=10)
    return finish(figure, path, who)
