"""Seed 002: a single perceptron cannot learn XOR; a network with a hidden layer, trained
by backpropagation, can.

XOR is 1 when exactly one input is 1:

    x1 x2 | XOR
     0  0 |  0
     0  1 |  1
     1  0 |  1
     1  1 |  0

A perceptron outputs ``step(w1 x1 + w2 x2 + b)``: 1 on one side of the line
``w1 x1 + w2 x2 + b = 0``, 0 on the other. No line puts (0, 1) and (1, 0) on
one side and (0, 0), (1, 1) on the other: the four conditions

    b < 0,   w2 + b >= 0,   w1 + b >= 0,   w1 + w2 + b < 0

contradict each other (the middle two add to ``w1 + w2 + 2b >= 0``, but the
first and last add to ``w1 + w2 + 2b < 0``). XOR is not linearly separable:
"the outputs aren't linearly separable or non-linear".

Part 1 shows it: the perceptron learning rule ``w <- w + lr (d - y) x`` on a
``Dense(2 -> 1)`` unit with the article's step activation learns OR in a few
epochs, and never gets XOR right, however long it runs (it cycles). Nor can
backpropagation rescue the step unit: "a step function ... your derivative
comes out to 0 for each of the inputs", so autograd's gradient through
``sn.step`` is zero and gradient descent has nothing to follow. "This
requires that your activation function should have meaningful derivatives."

Part 2 is the multi-layer perceptron the article names: 2 inputs -> 4
sigmoid hidden units -> 1 sigmoid output, with biases, trained by
backpropagation (``E.backward()``) and gradient descent on the squared error
``E = 1/2 sum (z - d)^2``. It learns XOR from each of the seeds 0-9 we tried.

Figures: ``xor_perceptron.png`` (the perceptron's last line: one side is 1,
the other 0, and it always gets some point wrong) and ``xor_network.png``
(the network's output over the plane: a band that separates the classes).

    python examples/xor.py [--out FOLDER] [--seed N]
"""
import argparse
import os
import tempfile

import somanet as sn
from somanet import nn


def perceptron_rule(x, d, epochs=50, learning_rate=1.0):
    """Rosenblatt's rule on a step unit. Returns the unit and the mistakes per epoch."""
    unit = nn.Dense(2, 1, kernel_initializer="zeros")  # weights w and bias b start at 0
    mistakes = []
    with sn.no_grad():  # a hand-written update: no gradients involved
        for epoch in range(epochs):
            wrong = 0
            for xi, di in zip(x, d):  # one input at a time
                xi = xi.reshape(1, 2)
                h = unit(xi)  # h = w1 x1 + w2 x2 + b
                yi = sn.greater_equal(h, 0).astype("float32")  # step: 1 if h >= 0 else 0
                change = learning_rate * (di - yi)  # (d - y): 0 when right, +-1 when wrong
                unit.weight += xi.reshape(2, 1) * change  # w <- w + lr (d - y) x
                unit.bias += change.reshape(1)  # b <- b + lr (d - y)
                wrong += int(change.abs().item() > 0)
            mistakes.append(wrong)
    return unit, mistakes


def step_unit_predict(unit):
    """The step unit as a function of points (for the decision-boundary figure)."""
    return lambda points: sn.greater_equal(unit(sn.tensor(points)), 0).astype("float32")


def train_network(x, d, seed, hidden=4, learning_rate=2.0, iterations=2000):
    """2 -> hidden -> 1 sigmoid network trained by backprop on E = 1/2 sum (z - d)^2."""
    sn.manual_seed(seed)
    network = nn.Sequential(nn.Dense(2, hidden, activation="sigmoid"),  # the hidden layer
                            nn.Dense(hidden, 1, activation="sigmoid"))  # the output unit
    optimizer = sn.optim.SGD(network.parameters(), lr=learning_rate)
    errors = []
    for _ in range(iterations):
        z = network(x)
        error = sn.sse(z, d)  # E = 1/2 sum (z - d)^2
        optimizer.zero_grad()
        error.backward()  # backpropagation through both layers
        optimizer.step()  # w <- w - lr dE/dw
        errors.append(error.item())
    return network, errors


def main(out=None, seed=0, epochs=50, iterations=2000):
    """Part 1 (the perceptron fails), part 2 (the network learns), and the two figures.

    Returns:
        ``{"or_mistakes", "xor_mistakes" (per epoch), "perceptron_wrong" (XOR points the final
        perceptron gets wrong), "step_gradient" (max |dE/dw| through a step unit),
        "network_outputs", "network_error", "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_xor_")
    os.makedirs(out, exist_ok=True)
    x_array, d_array = sn.datasets.xor()  # rows 00, 01, 10, 11; targets 0, 1, 1, 0
    x, d = sn.tensor(x_array), sn.tensor(d_array)

    # -- part 1: one perceptron
    _, or_mistakes = perceptron_rule(x, sn.tensor([[0.0], [1.0], [1.0], [1.0]]), epochs)
    unit, xor_mistakes = perceptron_rule(x, d, epochs)
    print(f"perceptron rule on OR : mistakes per epoch {or_mistakes[:6]} ... "
          f"{or_mistakes[-1]} (learnt)")
    print(f"perceptron rule on XOR: mistakes per epoch {xor_mistakes[:6]} ... "
          f"{xor_mistakes[-1]} (after {epochs} epochs; never 0)")
    with sn.no_grad():
        final = step_unit_predict(unit)(x_array)
    perceptron_wrong = int((final != d).astype("float32").sum().item())
    print(f"the perceptron's final line gets {perceptron_wrong} of the 4 XOR points wrong")
    # Gradient descent through a step unit: the gradient is zero, there is nothing to follow.
    w = nn.Parameter(sn.randn(2, 1))
    error = sn.sse(sn.step(x @ w), d)
    (gradient,) = sn.grad(error, w)
    step_gradient = float(gradient.abs().max().item())
    print("dE/dw through a step activation (autograd):", gradient.numpy().ravel().tolist())

    # -- part 2: one hidden layer, trained by backpropagation
    network, errors = train_network(x, d, seed, iterations=iterations)
    with sn.no_grad():
        outputs = network(x).numpy().ravel()
    print(f"\nnetwork 2-4-1 after {iterations} iterations: error {errors[-1]:.5f}")
    for bits, target, value in zip(x_array.astype(int).tolist(), d_array.ravel(), outputs):
        print(f"  {bits} -> {value:.4f} (desired {int(target)})")

    figures = [os.path.join(out, "xor_perceptron.png"), os.path.join(out, "xor_network.png")]
    title_perceptron = f"one perceptron after {epochs} epochs: {perceptron_wrong} of 4 wrong"
    title_network = f"2-4-1 network after {iterations} iterations: error {errors[-1]:.4f}"
    for predict, path, title in ((step_unit_predict(unit), figures[0], title_perceptron),
                                 (lambda points: network(sn.tensor(points)), figures[1],
                                  title_network)):
        with sn.no_grad():
            figure = sn.viz.plot_decision_boundary(predict, x_array, d_array.ravel())
        figure.axes[0].set_title(f"XOR: {title}", fontsize=10)
        figure.tight_layout()
        figure.savefig(path)
        import matplotlib.pyplot
        matplotlib.pyplot.close(figure)  # pyplot keeps every figure until it is closed
    print("figures saved:", ", ".join(figures))
    return {"or_mistakes": or_mistakes, "xor_mistakes": xor_mistakes,
            "perceptron_wrong": perceptron_wrong,
            "step_gradient": step_gradient, "network_outputs": outputs.tolist(),
            "network_error": errors[-1], "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 002's XOR: one perceptron vs a network.")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the network's weights")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed)
