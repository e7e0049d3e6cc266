"""Seed 001, "Gradient Descent": one gradient-descent step of a single sigmoid neuron,
by the article's hand formula and by somanet's autograd.

The neuron (bias b = 0 as in the article's sum over data points):

    h = sum_i w_i x_i                     the linear combination
    y_hat = f(h) = sigmoid(h) = 1 / (1 + e^-h)
    E = 1/2 (y - y_hat)^2                 the squared error of this one record

Gradient descent moves each weight against the slope of the error:

    dE/dw_i = -(y - y_hat) f'(h) x_i,     f'(h) = sigmoid(h) (1 - sigmoid(h))
    delta_w_i = -learnrate * dE/dw_i = learnrate * error_term * x_i,
    error_term = (y - y_hat) f'(h)

The article's numbers: x = [1, 2, 3, 4], y = 0.5, w = [0.5, -0.5, 0.3, 0.1],
learnrate = 0.5, and it prints the network output, the amount of error and
the change in weights. Its code has typos (``np.array([1, 2. 3, 4])``, a
``np.dot`` with its first half missing, curly quotes); reproduced here as
it describes them:

    h = 0.5 - 1.0 + 0.9 + 0.4 = 0.8
    Neural Network output: 0.6899744811276125
    Amount of Error:       -0.1899744811276125
    Change in Weights:     [-0.02031869 -0.04063738 -0.06095608 -0.08127477]

somanet computes ``dE/dw`` by ``backward()`` on E; ``-learnrate * w.grad`` is
the same change in weights as the hand formula, and one ``sn.optim.SGD`` step
with ``lr = learnrate`` moves w by exactly that. Computed in float64 so the
digits match the article's NumPy.

The figure ``gradient_step.png`` draws E along the step's direction (the
"mountain" of the article): the step from w lands lower.

    python examples/gradient_step.py [--out FOLDER]
"""
import argparse
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import nn

X = [1.0, 2.0, 3.0, 4.0]
Y = 0.5
W = [0.5, -0.5, 0.3, 0.1]
LEARNRATE = 0.5


def main(out=None, x=X, y=Y, w=W, learnrate=LEARNRATE):
    """Take the step three ways (hand formula, autograd, SGD) and print the article's lines.

    Returns:
        ``{"nn_output", "error", "delta_w_hand", "delta_w_autograd", "delta_w_sgd",
        "error_before", "error_after", "figure"}`` (floats and lists of floats).
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_gradient_step_")
    os.makedirs(out, exist_ok=True)
    x = sn.tensor(x, dtype="float64")  # the inputs x_i
    y = sn.tensor(y, dtype="float64")  # the target
    w = nn.Parameter(sn.tensor(w, dtype="float64"))  # the initial weights, learnable

    # -- forward: "the node's linear combination of inputs and weights", then the output
    h = sn.dot(x, w)  # h = sum_i w_i x_i
    nn_output = sn.sigmoid(h)  # y_hat = sigmoid(h)
    error = y - nn_output  # "error = y - nn_output"

    # -- the article's hand formula
    sigmoid_prime = nn_output * (1 - nn_output)  # f'(h) = sigmoid(h) (1 - sigmoid(h))
    error_term = error * sigmoid_prime  # error_term = error * sigmoid_prime(h)
    delta_w_hand = learnrate * error_term * x  # delta_w = learnrate * error_term * x

    # -- somanet's autograd: the gradient of E = 1/2 (y - y_hat)^2 with respect to w
    squared_error = 0.5 * error ** 2
    squared_error.backward()  # fills w.grad = dE/dw
    delta_w_autograd = -learnrate * w.grad  # gradient descent: move against the slope

    # -- and the optimiser that does the same: w <- w - lr * dE/dw
    before = w.detach().numpy().copy()
    optimizer = sn.optim.SGD([w], lr=learnrate)
    optimizer.step()
    delta_w_sgd = w.detach().numpy() - before

    print("Neural Network output:")
    print(nn_output.item())
    print("Amount of Error:")
    print(error.item())
    print("Change in Weights:")
    print(delta_w_hand.detach().numpy())
    print("Change in Weights by autograd (-learnrate * dE/dw):")
    print(delta_w_autograd.numpy())
    same = np.allclose(delta_w_hand.detach().numpy(), delta_w_autograd.numpy(), rtol=1e-12,
                       atol=0)
    print("hand formula == autograd:", same)

    with sn.no_grad():  # E after the step: lower, as gradient descent promises
        error_after = 0.5 * (y - sn.sigmoid(sn.dot(x, w))) ** 2
    print(f"E before the step: {squared_error.item():.6f}, after: {error_after.item():.6f}")

    figure = os.path.join(out, "gradient_step.png")
    plot_error_along_step(x, y, before, delta_w_hand.detach().numpy(), figure)
    print("figure saved:", figure)
    return {"nn_output": nn_output.item(), "error": error.item(),
            "delta_w_hand": delta_w_hand.detach().numpy().tolist(),
            "delta_w_autograd": delta_w_autograd.numpy().tolist(),
            "delta_w_sgd": delta_w_sgd.tolist(), "same": same,
            "error_before": squared_error.item(), "error_after": error_after.item(),
            "figure": figure}


def plot_error_along_step(x, y, w0, delta_w, path):
    """E(w0 + s * delta_w) against s: s = 0 is the start, s = 1 the step taken."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    def squared_error(weights):  # E for a batch of weight vectors, (n, 4) -> (n,)
        weights = sn.tensor(weights, dtype="float64")
        return (0.5 * (y - sn.sigmoid(weights @ x)) ** 2).numpy()

    s = np.linspace(-4.0, 12.0, 400)
    # Every w along the line at once: (400, 4) weights -> (400,) errors.
    errors = squared_error(w0[None, :] + s[:, None] * delta_w[None, :])
    start, after = squared_error(np.stack([w0, w0 + delta_w]))
    figure, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    ax.plot(s, errors, label="E = 1/2 (y - sigmoid(w . x))^2 along the step")
    ax.plot([0], [start], "o", color="tab:red", label=f"start w: E = {start:.5f}")
    ax.plot([1], [after], "o", color="tab:green",
            label=f"after one step: E = {after:.5f}")
    ax.annotate("", xy=(1, after), xytext=(0, start),
                arrowprops={"arrowstyle": "->", "color": "black"})
    ax.set_xlabel("s, in w = w0 + s * delta_w")
    ax.set_ylabel("squared error E")
    ax.set_title("One gradient-descent step goes downhill")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 001's gradient-descent step.")
    parser.add_argument("--out", default=None,
                        help="folder for the figure (default: a new temporary folder)")
    main(out=parser.parse_args().out)
