"""Seed 000, "Steps for implementing a three-layer DNN" and "Learning rate" (Figures 6-11).

Four 3-bit images are the inputs; images 1 and 4 show the digit 0 (desired
output d = 0), images 2 and 3 the digit 1 (d = 1):

    x = [0 0 1], [0 1 1], [1 0 1], [1 1 1]        d = 0, 1, 1, 0

The network (Figures 6 and 7) has 3 input neurons, 4 hidden neurons and 1
output neuron, sigmoid units and no bias: 12 weights w1 in layer L1 and 4
weights w2 in layer L2, both initialised uniformly in [-1, 1) (the article's
``2 * np.random.random(shape) - 1``):

    P1 = x . w1,   y = sigmoid(P1)                hidden layer L1
    P2 = y . w2,   z = sigmoid(P2)                output layer L2, the actual output
    E  = 1/2 sum (z - d)^2                        the performance function

Backpropagation (Box 2; lines 63 and 65 of the article's code) gives

    l2_delta = (z - d) z (1 - z)                  dE/dP2
    l1_delta = (l2_delta . w2^T) y (1 - y)        dE/dP1
    w2 <- w2 - lr * y^T . l2_delta                w1 <- w1 - lr * x^T . l1_delta

which is exactly what ``E.backward()`` computes into ``w.grad`` and what
``sn.optim.SGD(lr)`` applies; the article's code has the learning rate 1.

The four cases of "Learning rate", from the same initial weights:

- Case 1 (Figure 8): 10,000 iterations: the error gets close to zero, and
  "we actually don't need these many iterations".
- Case 2 (Figure 9): 100 iterations: the error is not close to zero; the
  outputs are unpredictable.
- Case 3 (Figure 10): learning rate 20 (the slope multiplied by 20): close
  to zero in far fewer iterations.
- Case 4 (Figure 11): learning rate 50: "the possibility of the system
  becoming unstable".

The article does not say how many iterations cases 3 and 4 ran; here they
run 1,000 (a tenth of case 1), and each panel marks where the error first
falls below 0.01 ("near zero"). What the runs show, over seeds 0-11:

- Case 1 ends near zero (E ~ 2e-4) in every seed, first below 0.01 after
  550-1,100 iterations; its error falls monotonically.
- Case 2 ends at E ~ 0.47-0.5: every output still near 0.5.
- Case 3 is below 0.01 within 55-105 iterations in 11 of 12 seeds, and ends
  near zero in all 12. Not in all: with seed 2 it wanders on a plateau and
  needs 772 iterations, more than case 1's 634. And its error is not
  monotone either: a learning rate of 20 makes the error jump up once or
  twice early on before it settles.
- Case 4 is unstable: its error jumps up again and again (4-11 rises of more
  than 0.01), and in 9 of 12 seeds it never settles near zero: sigmoid units
  driven into saturation by the huge steps stay stuck with one or more
  outputs wrong (E ~ 0.125 or 0.375).

Finally "training vs testing": the network trained in case 1 is given the
inputs it never saw (the other four 3-bit patterns, with the third bit 0)
and "you will get the actual output in terms of trained inputs only": it
answers with one of the classes it learnt, mostly near 0 or near 1. Which
class is not determined by the training data, though: the four images never
vary the third bit, so the answers change with the initial weights (seed 0
reads all four as digit 1, seed 4 all as digit 0, seed 1 gives 0.497 for
[0 0 0], undecided). Testing on inputs unlike the training set tells you
little; that is the article's point about trained inputs.

The figure ``learning_rate_cases.png`` holds the four error-vs-iteration curves.

    python examples/three_layer_network.py [--out FOLDER] [--seed N]
"""
import argparse
import functools
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import nn

NEAR_ZERO = 0.01  # an error E below this counts as "close to zero"
UNSEEN = [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]]  # the 3-bit inputs not trained on


def three_layer_network(seed):
    """3 -> 4 -> 1 sigmoid network, no bias, weights uniform in [-1, 1) (Figure 6)."""
    sn.manual_seed(seed)  # the same initial weights for every case
    uniform = functools.partial(nn.init.uniform, low=-1.0, high=1.0)  # 2 * random() - 1
    return nn.Sequential(
        nn.Linear(3, 4, bias=False, kernel_initializer=uniform),  # w1: 12 weights in L1
        nn.Sigmoid(),  # y = sigmoid(x . w1)
        nn.Linear(4, 1, bias=False, kernel_initializer=uniform),  # w2: 4 weights in L2
        nn.Sigmoid(),  # z = sigmoid(y . w2)
    )


def train(seed, learning_rate, iterations):
    """Gradient descent on E = 1/2 sum (z - d)^2; returns the network and E per iteration."""
    x, d = sn.datasets.three_bit_images()  # the four images and their desired outputs
    x, d = sn.tensor(x), sn.tensor(d)
    network = three_layer_network(seed)
    optimizer = sn.optim.SGD(network.parameters(), lr=learning_rate)  # w <- w - lr dE/dw
    errors = np.empty(iterations)
    for i in range(iterations):
        z = network(x)  # forward: the actual output
        error = sn.sse(z, d)  # E = 1/2 sum (z - d)^2
        optimizer.zero_grad()
        error.backward()  # backpropagation: l2_delta, l1_delta -> w2.grad, w1.grad
        optimizer.step()  # the gradient-descent update of w1 and w2
        errors[i] = error.item()
    return network, errors


def describe(errors):
    """What the test and the figure use: the end, the first iteration near zero, the rises."""
    below = np.flatnonzero(errors < NEAR_ZERO)
    rises = np.diff(errors)
    return {"final_error": float(errors[-1]),
            "first_near_zero": int(below[0]) + 1 if below.size else None,
            "max_rise": float(rises.max()) if rises.size else 0.0,
            "rises": int((rises > NEAR_ZERO).sum())}


def main(out=None, seed=0, iterations=10_000, short_iterations=100, fast_iterations=1_000,
         learning_rates=(1.0, 20.0, 50.0)):
    """Run the four cases from the same initial weights, save the figure, test on unseen inputs.

    Args:
        seed: the initial weights (``sn.manual_seed``).
        iterations: case 1's iterations (the article's 10,000).
        short_iterations: case 2's (the article's 100).
        fast_iterations: cases 3 and 4's (the article does not say; 1,000 here).
        learning_rates: case 1/2's, case 3's and case 4's (1, 20, 50).

    Returns:
        ``{"cases": [{"name", "learning_rate", "iterations", "errors", "final_error",
        "first_near_zero", "max_rise", "rises"}] * 4, "outputs": z on the 4 images after
        case 1, "unseen": {input: output}, "figure": path}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_three_layer_")
    os.makedirs(out, exist_ok=True)
    base, fast, unstable = learning_rates
    plan = [(f"Case 1 (Figure 8): {iterations:,} iterations", base, iterations),
            (f"Case 2 (Figure 9): {short_iterations:,} iterations", base, short_iterations),
            (f"Case 3 (Figure 10): learning rate {fast:g}", fast, fast_iterations),
            (f"Case 4 (Figure 11): learning rate {unstable:g}", unstable, fast_iterations)]
    cases, trained = [], None
    for name, learning_rate, steps in plan:
        network, errors = train(seed, learning_rate, steps)
        trained = trained or network  # case 1's network is "the trained network"
        case = {"name": name, "learning_rate": learning_rate, "iterations": steps,
                "errors": errors.tolist(), **describe(errors)}
        cases.append(case)
        near = case["first_near_zero"]
        print(f"{name:45s} lr {learning_rate:4g}: final error {case['final_error']:.5f}, "
              f"below {NEAR_ZERO} after {near if near else 'never'}, "
              f"{case['rises']} rises > {NEAR_ZERO}")

    # "After training is complete, the error is almost zero and the actual output is close
    # to the desired output."
    x, d = sn.datasets.three_bit_images()
    with sn.no_grad():
        outputs = trained(sn.tensor(x)).numpy().ravel()
        unseen = trained(sn.tensor(UNSEEN, dtype="float32")).numpy().ravel()
    print("\ntrained (case 1) outputs:", [round(float(v), 4) for v in outputs],
          "desired:", d.ravel().astype(int).tolist())
    # Testing: inputs the network never saw get an output "in terms of trained inputs only".
    print("inputs never seen in training:")
    for bits, value in zip(UNSEEN, unseen):
        print(f"  {bits} -> {value:.4f} (digit {int(round(float(value)))})")

    figure = os.path.join(out, "learning_rate_cases.png")
    plot_cases(cases, figure)
    print("figure saved:", figure)
    return {"cases": cases, "outputs": outputs.tolist(),
            "unseen": {tuple(bits): float(v) for bits, v in zip(UNSEEN, unseen)},
            "figure": figure}


def plot_cases(cases, path):
    """Figures 8-11 in one figure: error against iteration, one panel per case."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5), dpi=100)
    for ax, case in zip(axes.ravel(), cases):
        errors = np.asarray(case["errors"])
        ax.plot(np.arange(1, errors.size + 1), errors, color="tab:blue", linewidth=1)
        ax.axhline(NEAR_ZERO, color="gray", linestyle=":", linewidth=1,
                   label=f"error {NEAR_ZERO} (near zero)")
        if case["first_near_zero"]:
            ax.axvline(case["first_near_zero"], color="tab:green", linestyle="--",
                       linewidth=1, label=f"below {NEAR_ZERO} at {case['first_near_zero']}")
        ax.set_title(f"{case['name']}\nlr {case['learning_rate']:g}, final error "
                     f"{case['final_error']:.4f}", fontsize=10)
        ax.set_xlabel("iteration")
        ax.set_ylabel("error E = 1/2 sum (z - d)^2")
        ax.set_ylim(-0.02, max(0.6, errors.max() * 1.05))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle("Seed 000's 3-4-1 sigmoid network: the four learning-rate cases")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 000's three-layer network and its "
                                                 "learning-rate cases.")
    parser.add_argument("--out", default=None,
                        help="folder for the figure (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed)
