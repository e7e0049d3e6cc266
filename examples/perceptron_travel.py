"""Seed 000, "Neuron types": the travel decision as one step-activated unit.

You want to travel from city A to city B. Three yes/no factors decide:

- x1: the weather is good (1) or bad (0), with weight w1;
- x2: your leave is approved (1) or not (0), with weight w2;
- x3: transport is available (1) or not (0), with weight w3.

"You will go if the weather is good, irrespective of whether your leave is
approved or transport is available." Figure 2 writes the decision as

    go = 1  if  w1 x1 + w2 x2 + w3 x3 > T  else 0                           (1)

and the article chooses w1 = 6, w2 = 2, w3 = 2, T = 5. In somanet this is a
``Dense(3 -> 1)`` layer holding the weights, with bias ``b = -T`` (so that
``sum(w x) > T`` becomes ``sum(w x) + b > 0``), followed by the ``Step`` layer
(1 where its input is > 0, else 0): the article's "step" neuron type
(Figure 3). The truth table over all 8 inputs shows the rule holds: the
output equals x1. Good weather alone gives 6 > 5; leave and transport
together give only 2 + 2 = 4 <= 5.

Figure 3 contrasts the two neuron types: the step, whose output jumps from 0
to 1 ("for a small change in input, the change in output is high"), and the
sigmoid, whose output changes little for a small change in input. The figure
``travel_neuron_types.png`` draws both against the weighted sum
``y = sum(w x)``, with the eight inputs' sums marked.

    python examples/perceptron_travel.py [--out FOLDER]
"""
import argparse
import itertools
import os
import tempfile

import somanet as sn
from somanet import nn

WEIGHTS = (6.0, 2.0, 2.0)  # w1 (weather), w2 (leave), w3 (transport)
THRESHOLD = 5.0  # T


def travel_unit(weights=WEIGHTS, threshold=THRESHOLD):
    """The decision (1) as a network: Dense(3 -> 1) with weights w and bias -T, then Step."""
    unit = nn.Sequential(nn.Dense(3, 1), nn.Step())
    with sn.no_grad():  # set the article's hand-chosen weights (no learning here)
        unit[0].weight[...] = sn.tensor([[w] for w in weights])  # (in=3, out=1)
        unit[0].bias[...] = sn.tensor([-threshold])  # sum(w x) > T  <=>  sum(w x) - T > 0
    return unit


def main(out=None, weights=WEIGHTS, threshold=THRESHOLD):
    """Build the unit, print its truth table, save the neuron-types figure.

    Returns:
        ``{"inputs": [[x1, x2, x3], ...], "sums": [...], "decisions": [...],
        "figure": path}`` over the 8 inputs in binary order 000 ... 111.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_travel_")
    os.makedirs(out, exist_ok=True)
    unit = travel_unit(weights, threshold)

    # All 8 situations, in binary order: (weather, leave, transport).
    inputs = [list(bits) for bits in itertools.product((0, 1), repeat=3)]
    x = sn.tensor(inputs, dtype="float32")  # (8, 3)
    sums = (x @ unit[0].weight).numpy().ravel()  # sum_i w_i x_i, before the threshold
    decisions = unit(x).numpy().ravel()  # step(sum(w x) - T)

    print(f"w1={weights[0]:g}, w2={weights[1]:g}, w3={weights[2]:g}, T={threshold:g}")
    print("weather leave transport | sum(w x) | go?")
    for bits, total, go in zip(inputs, sums, decisions):
        print(f"   {bits[0]}      {bits[1]}       {bits[2]}     |  {total:5.1f}   |  "
              f"{int(go)}")
    follows_weather = all(int(go) == bits[0] for bits, go in zip(inputs, decisions))
    print("you go exactly when the weather is good:", follows_weather)

    figure = os.path.join(out, "travel_neuron_types.png")
    plot_neuron_types(sums, decisions, threshold, figure)
    print("figure saved:", figure)
    return {"inputs": inputs, "sums": [float(s) for s in sums],
            "decisions": [int(d) for d in decisions], "follows_weather": follows_weather,
            "figure": figure}


def plot_neuron_types(sums, decisions, threshold, path):
    """Figure 3: the step neuron and the sigmoid neuron against the weighted sum y."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    y = sn.linspace(-1.0, 11.0, 600)
    step = sn.step(y - threshold).numpy()  # the step neuron: jumps at y = T
    sigmoid = sn.sigmoid(y - threshold).numpy()  # the sigmoid neuron: a smooth version
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    soft_decisions = sn.sigmoid(sn.tensor(sums) - threshold).numpy()
    panels = ((axes[0], step, decisions, "step neuron: f(y) = 1 if y > T else 0"),
              (axes[1], sigmoid, soft_decisions, "sigmoid neuron: f(y) = 1 / (1 + e^-(y - T))"))
    for ax, curve, points, title in panels:
        ax.plot(y.numpy(), curve, color="tab:blue")
        ax.axvline(threshold, color="gray", linestyle=":", label=f"T = {threshold:g}")
        ax.scatter(sums, points, color="tab:red", zorder=3, label="the 8 inputs")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("y = w1 x1 + w2 x2 + w3 x3")
        ax.set_ylabel("f(y): go?")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    figure.suptitle("Travel decision, w = (6, 2, 2), T = 5: the two neuron types (Figure 3)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 000's travel-decision perceptron.")
    parser.add_argument("--out", default=None,
                        help="folder for the figure (default: a new temporary folder)")
    main(out=parser.parse_args().out)
