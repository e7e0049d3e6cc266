"""An MLP for tabular data (rows of numbers, e.g. from ``somanet.datasets.load_csv``).

A multilayer perceptron is the usual first model for tabular data: rows and columns,
typically from a CSV file.
"""
from .. import nn
from .._checks import check_positive_int, is_int
from ..train import Sequential


def mlp_tabular(n_features, n_classes, hidden=(64, 32), dropout=0.0, activation="relu"):
    """A multilayer perceptron for feature vectors, built for ``n_features`` inputs.

    Architecture (defaults)::

        Dense(n_features -> 64, relu)         64 (n_features + 1) parameters
        Dense(64 -> 32, relu)                 2,080 parameters
        Dense(32 -> n_classes)                33 n_classes parameters (logits)

    For 100 features and 3 classes: ``64*101 + 2,080 + 33*3 = 8,643`` parameters.

    Args:
        n_features: input columns (``len(data.feature_names)`` of a ``load_csv`` result,
            one-hot columns included).
        n_classes: output logits (classes of the target).
        hidden: hidden layer widths, an int or a sequence (``()`` gives a linear model).
        dropout: drop probability after each hidden layer (0 for none).
        activation: the hidden layers' activation.

    Shape:
        (N, n_features) -> (N, n_classes).
    """
    who = "models.mlp_tabular"
    check_positive_int(who, "n_features", n_features, what="a positive int")
    check_positive_int(who, "n_classes", n_classes, what="a positive int")
    sizes = (hidden,) if is_int(hidden) else tuple(hidden)
    for size in sizes:
        check_positive_int(who, "hidden", size, what="a positive int")
    layers, width = [], n_features
    for size in sizes:
        layers.append(nn.Dense(width, size, activation=activation))
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Dense(width, n_classes))
    return Sequential(layers)
