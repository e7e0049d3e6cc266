"""Seed 003, "Forward propagation" and the activation functions: sigmoid, tanh and ReLU
plotted on -10..10 as the article does, plus the step and the softmax of a vector,
each with its derivative obtained by somanet's autograd.

The formulas (seed 003's ``g(a)``, seed 001's ReLU and softmax):

    sigmoid(a) = 1 / (1 + e^-a)                 sigmoid'(a) = sigmoid(a) (1 - sigmoid(a))
    tanh(a) = (e^a - e^-a) / (e^a + e^-a)       tanh'(a) = 1 - tanh(a)^2
    relu(a) = max(0, a)                         relu'(a) = 1 if a > 0 else 0
    step(a) = 1 if a > 0 else 0                 step'(a) = 0 (undefined at 0)
    softmax(z)_i = e^z_i / sum_j e^z_j          d softmax_i / d z_j = p_i (delta_ij - p_j)

The article plots tanh as ``2 / (1 + e^-2a) - 1``; that is the same function
(tanh(a) = 2 sigmoid(2a) - 1), checked below. The derivatives come from one
``backward`` each: for ``y = f(x)`` elementwise, ``d(sum_i y_i) / dx_i =
f'(x_i)``, so ``sn.grad(y.sum(), x)`` is every slope at once. The softmax is
not elementwise: its derivative is a matrix (the Jacobian), one ``sn.grad``
per output row.

Figures: ``activations.png`` (``sn.viz.plot_activations``: each function,
solid, and its autograd derivative, dashed) and ``softmax.png`` (the softmax
of the vector [2, 1, 0.1] and its Jacobian).

    python examples/activations.py [--out FOLDER]
"""
import argparse
import os
import tempfile

import numpy as np

import somanet as sn

FUNCTIONS = {"sigmoid": sn.sigmoid, "tanh": sn.tanh, "relu": sn.relu, "step": sn.step}


def hand_derivative(name, x):
    """The derivatives in the docstring, written out with NumPy, to compare with autograd."""
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-x))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(x) ** 2
    if name == "relu":
        return (x > 0).astype(x.dtype)
    return np.zeros_like(x)  # step


def softmax_jacobian(z):
    """d softmax(z)_i / d z_j by autograd: one gradient per output i."""
    z = sn.tensor(z, requires_grad=True)
    p = sn.softmax(z)
    rows = [sn.grad(p[i], z, retain_graph=True)[0].numpy() for i in range(p.shape[0])]
    return p.detach().numpy(), np.stack(rows)


def main(out=None, points=1000, logits=(2.0, 1.0, 0.1)):
    """Evaluate each activation and its autograd derivative on -10..10; the softmax of
    ``logits`` and its Jacobian; save both figures.

    Returns:
        ``{"max_derivative_error": {name: max |autograd - formula|}, "at_zero": {name: (f(0),
        f'(0))}, "tanh_formula_error", "softmax", "softmax_jacobian",
        "jacobian_error", "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_activations_")
    os.makedirs(out, exist_ok=True)
    # The article's grid: np.linspace(-10, 10, 1000).
    x = sn.linspace(-10.0, 10.0, points, requires_grad=True)
    errors, at_zero = {}, {}
    for name, function in FUNCTIONS.items():
        y = function(x)  # g(a), somanet's own op
        (slope,) = sn.grad(y.sum(), x)  # g'(a) at every a, by autograd
        xs = x.detach().numpy().astype(np.float64)
        errors[name] = float(np.abs(slope.numpy() - hand_derivative(name, xs)).max())
        zero = sn.tensor([0.0], requires_grad=True)
        value = function(zero)
        (derivative,) = sn.grad(value.sum(), zero)
        at_zero[name] = (value.item(), derivative.item())
        print(f"{name:8s} f(0) = {at_zero[name][0]:.4f}, f'(0) = {at_zero[name][1]:.4f}, "
              f"max |autograd - formula| on [-10, 10] = {errors[name]:.2e}")

    # The article's tanh, 2 / (1 + e^-2a) - 1, is somanet's tanh.
    with sn.no_grad():
        articles_tanh = 2 / (1 + sn.exp(-2 * x)) - 1
        tanh_error = float((articles_tanh - sn.tanh(x)).abs().max().item())
    print(f"max |2 / (1 + e^-2a) - 1 - tanh(a)| = {tanh_error:.2e}")

    # Softmax of a vector: probabilities that sum to 1, and its Jacobian p_i (delta_ij - p_j).
    p, jacobian = softmax_jacobian(list(logits))
    formula = np.diag(p) - np.outer(p, p)
    jacobian_error = float(np.abs(jacobian - formula).max())
    print(f"\nsoftmax({list(logits)}) = {[round(float(v), 4) for v in p]} (sum {p.sum():.6f})")
    print("its Jacobian by autograd:\n", np.round(jacobian, 4))
    print(f"max |autograd - (diag(p) - p p^T)| = {jacobian_error:.2e}")

    figures = [os.path.join(out, "activations.png"), os.path.join(out, "softmax.png")]
    # The four activations with their autograd derivatives (dashed), one panel each.
    sn.viz.plot_activations(figures[0], names=tuple(FUNCTIONS))
    plot_softmax(list(logits), p, jacobian, figures[1])
    import matplotlib.pyplot
    matplotlib.pyplot.close("all")
    print("figures saved:", ", ".join(figures))
    return {"max_derivative_error": errors, "at_zero": at_zero, "tanh_formula_error": tanh_error,
            "softmax": p.tolist(), "softmax_jacobian": jacobian.tolist(),
            "jacobian_error": jacobian_error, "figures": figures}


def plot_softmax(logits, p, jacobian, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    names = [f"z{i + 1} = {v:g}" for i, v in enumerate(logits)]
    bars = left.bar(names, p, color="tab:blue")
    for bar, value in zip(bars, p):
        left.text(bar.get_x() + bar.get_width() / 2, value + 0.01, f"{value:.3f}",
                  ha="center")
    left.set_ylim(0, 1)
    left.set_ylabel("softmax(z)_i")
    left.set_title("softmax: outputs in (0, 1) that sum to 1")
    image = right.imshow(jacobian, cmap="RdBu_r", vmin=-0.25, vmax=0.25)
    for i in range(jacobian.shape[0]):
        for j in range(jacobian.shape[1]):
            right.text(j, i, f"{jacobian[i, j]:.3f}", ha="center", va="center", fontsize=9)
    right.set_xticks(range(len(logits)), [f"z{j + 1}" for j in range(len(logits))])
    right.set_yticks(range(len(logits)), [f"p{i + 1}" for i in range(len(logits))])
    right.set_title("d p_i / d z_j by autograd = p_i (delta_ij - p_j)", fontsize=10)
    figure.colorbar(image, ax=right)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 003's activation functions.")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default: a new temporary folder)")
    main(out=parser.parse_args().out)
