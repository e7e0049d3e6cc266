"""The classic activation functions, drawn with somanet's own ops, and their derivatives
from somanet's autograd."""
import numpy

from .. import ops
from .._checks import lookup
from ._common import finish, new_figure

# name -> (op, the formula in the panel's title)
ACTIVATIONS = {
    "sigmoid": (ops.sigmoid, r"$\sigma(a) = 1 / (1 + e^{-a})$"),
    "tanh": (ops.tanh, r"$\tanh(a) = (e^a - e^{-a}) / (e^a + e^{-a})$"),
    "relu": (ops.relu, r"$\mathrm{relu}(a) = \max(0, a)$"),
    "step": (ops.step, r"$\mathrm{step}(a) = 1$ if $a > 0$ else $0$"),
    "leaky_relu": (ops.leaky_relu, r"$\max(0.01 a, a)$"),
    "elu": (ops.elu, r"$a$ if $a > 0$ else $e^a - 1$"),
    "gelu": (ops.gelu, r"$a \, \Phi(a)$"),
    "softplus": (ops.softplus, r"$\log(1 + e^a)$"),
}


def activation_curves(name, low=-10.0, high=10.0, points=1000):
    """``(x, f(x), f'(x))`` as host arrays: ``f`` somanet's op, ``f'`` from backward."""
    function = lookup("plot_activations", "activation", name, ACTIVATIONS)[0]
    x = ops.tensor(numpy.linspace(low, high, points), dtype="float32", requires_grad=True)
    y = function(x)
    y.sum().backward()  # d(sum f(x_i)) / dx_i = f'(x_i): one backward gives every slope
    return x.detach().numpy(), y.detach().numpy(), x.grad.numpy()


def plot_activations(path=None, names=("sigmoid", "tanh", "relu", "step"), derivatives=True):
    """The activation functions (on -10..10), one panel each, with their
    derivatives (dashed) computed by somanet's autograd.

    Args:
        path: save the figure there as a PNG (optional).
        names: which activations: any of ``sigmoid``, ``tanh``, ``relu``, ``step``,
            ``leaky_relu``, ``elu``, ``gelu``, ``softplus``.
        derivatives: also draw each derivative.

    Returns:
        The matplotlib Figure: 4 x 3.5 inches per panel, up to 4 panels a row.
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise ValueError("plot_activations: names is empty; give at least one activation")
    for name in names:
        lookup("plot_activations", "activation", name, ACTIVATIONS)
    names = [name.strip().lower() for name in names]
    columns = min(len(names), 4)
    rows = -(-len(names) // columns)
    figure, axes = new_figure(4 * columns, 3.5 * rows, rows, columns)
    for index, ax in enumerate(axes.ravel()):
        if index >= len(names):
            ax.set_visible(False)
            continue
        name = names[index]
        x, y, slope = activation_curves(name)
        ax.plot(x, y, label=f"{name}")
        if derivatives:
            ax.plot(x, slope, "--", label=f"{name}' (autograd)")
        ax.axhline(0, color="gray", linewidth=0.5)
        ax.axvline(0, color="gray", linewidth=0.5)
        ax.set_title(ACTIVATIONS[name][1], fontsize=9)
        ax.set_xlabel("a")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    figure.tight_layout()
    return finish(figure, path, "plot_activations")
