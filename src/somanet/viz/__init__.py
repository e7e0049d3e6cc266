"""Layer 5: plots with matplotlib -- training curves, the activation functions (sigmoid,
tanh, ReLU...), the learning-rate sweep, image grids with predictions, weight histograms,
decision boundaries of 2-D classifiers, the confusion matrix and the misclassified
examples of a classifier; and computation graphs as Graphviz DOT text
(``autograd_graph``).

matplotlib is imported inside the functions, so ``import somanet`` works without it
(install it with ``pip install 'somanet[viz]'``); without a display the Agg backend is
used. Every function returns the matplotlib Figure and, given ``path``, saves it as a PNG
(atomically; 100 pixels an inch).

    >>> import os, tempfile
    >>> from somanet import viz
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> fig = viz.plot_curves({"train": [0.9, 0.5, 0.3], "test": [1.0, 0.7, 0.6]}, path=path)
    >>> os.path.getsize(path) > 0
    True
"""
from .activations import ACTIVATIONS, activation_curves, plot_activations
from .classification import confusion_matrix, plot_confusion_matrix, plot_misclassified
from .curves import plot_curves, plot_history, plot_lr_finder
from .graphs import autograd_graph
from .images import plot_image_grid
from .model_plots import plot_decision_boundary, plot_weight_histograms

__all__ = ["plot_history", "plot_curves", "plot_lr_finder", "plot_activations",
           "activation_curves", "plot_image_grid", "plot_weight_histograms",
           "plot_decision_boundary", "confusion_matrix", "plot_confusion_matrix",
           "plot_misclassified", "ACTIVATIONS"]
