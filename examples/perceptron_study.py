"""Seed 002, the perceptron: "should you study deep learning?", with a bias or a threshold.

The article's perceptron multiplies each input by its weight, sums, adds a
bias ``b`` and applies the step function: "if the number you get ... is
greater than or equal to zero, you will receive a one as your output,
otherwise ... zero":

    output = 1  if  w1 x1 + w2 x2 + w3 x3 + b >= 0  else 0                   (bias form)

Moving the bias to the right, ``sum(w x) >= -b``, makes ``T = -b`` a
threshold; "both of these representations are interchangeable":

    output = 1  if  w1 x1 + w2 x2 + w3 x3 >= T  else 0                      (threshold form)

The inputs are yes/no: x1 = you will make more money once you master deep
learning, x2 = the programming and mathematics are simple, x3 = you can
start without an expensive GPU. The weights are w1 = 8, w2 = 3, w3 = 3 and
"the value of the threshold is five, which equals the bias of negative
five"; then the threshold is lowered "from five to three".

In somanet the unit is a ``Dense(3 -> 1)`` layer (weights ``(in, out)`` =
``[[8], [3], [3]]``, bias -T) followed by the article's ``>= 0`` step,
written with ``sn.greater_equal``. The example prints both truth tables,
computes every output both ways (bias -T vs threshold T) and checks that
they agree: the bias and the threshold are the same unit.

What the article claims, and what its numbers give:

- "Even if the math turns out to be easy and you aren't going to have to buy
  a GPU, you won't study deep learning unless you are able to make extra
  money" and "with a threshold as high as five ... the main factor has to be
  satisfied in order for you to receive an output of one". With w2 = w3 = 3
  this does not hold: x = (0, 1, 1) sums to 3 + 3 = 6 >= 5, so the unit says
  *study* without the money. The sentence needs w2 + w3 < T <= w1, e.g.
  T = 7 (or 6 < T <= 8); the example prints that table too, where the output
  is exactly x1.
- Lowering the threshold to 3 gives "different scenarios where the output
  would be one": with ``>=``, every input but (0, 0, 0) now says study.
- somanet's ``Step`` layer (seed 000's convention, "greater than T") is
  strict: ``1 where x > 0``. It differs from this article's ``>= 0`` only
  where the sum equals the threshold exactly: for T = 3 at (0, 1, 0) and
  (0, 0, 1), which ``Step`` answers 0. The table shows that column too.

The figure ``study_thresholds.png`` draws the weighted sum of each of the 8
inputs against the thresholds 3, 5 and 7.

    python examples/perceptron_study.py [--out FOLDER]
"""
import argparse
import itertools
import os
import tempfile

import somanet as sn
from somanet import nn

WEIGHTS = (8.0, 3.0, 3.0)  # w1 (money), w2 (easy maths), w3 (no GPU needed)
INPUTS = [list(bits) for bits in itertools.product((0, 1), repeat=3)]  # 000 ... 111


def study_unit(threshold, weights=WEIGHTS):
    """Dense(3 -> 1) holding the weights and the bias b = -T (the "bias form")."""
    layer = nn.Dense(3, 1)
    with sn.no_grad():  # hand-chosen weights, no training
        layer.weight[...] = sn.tensor([[w] for w in weights])
        layer.bias[...] = sn.tensor([-threshold])  # "threshold five = bias of negative five"
    return layer


def truth_table(threshold, weights=WEIGHTS):
    """Every output of the unit, in the bias form, the threshold form and with ``Step``."""
    layer = study_unit(threshold, weights)
    x = sn.tensor(INPUTS, dtype="float32")  # (8, 3)
    h = layer(x)  # sum(w x) + b
    bias_form = sn.greater_equal(h, 0).astype("float32")  # step: 1 if sum(w x) + b >= 0
    sums = x @ layer.weight  # sum(w x)
    threshold_form = sn.greater_equal(sums, threshold).astype("float32")  # sum(w x) >= T
    strict_step = nn.Step()(h)  # somanet's Step: 1 if sum(w x) + b > 0
    return {"sums": [float(v) for v in sums.numpy().ravel()],
            "bias_form": [int(v) for v in bias_form.numpy().ravel()],
            "threshold_form": [int(v) for v in threshold_form.numpy().ravel()],
            "step_layer": [int(v) for v in strict_step.numpy().ravel()]}


def print_table(threshold, table):
    print(f"\nthreshold T = {threshold:g} (bias b = {-threshold:g}), weights {WEIGHTS}")
    print("money easy no-GPU | sum(w x) | sum+b>=0 | sum>=T | Step(sum+b)")
    for bits, total, biased, thresholded, strict in zip(
            INPUTS, table["sums"], table["bias_form"], table["threshold_form"],
            table["step_layer"]):
        print(f"  {bits[0]}     {bits[1]}     {bits[2]}   |  {total:5.1f}   |    {biased}     "
              f"|   {thresholded}    |     {strict}")


def main(out=None, thresholds=(5.0, 3.0, 7.0)):
    """Print the truth tables for each threshold (the article's 5 and 3, and 7 where its
    sentence holds) and save the figure.

    Returns:
        ``{"tables": {T: truth_table(T)}, "same_unit": bool, "figure": path}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_study_")
    os.makedirs(out, exist_ok=True)
    tables = {}
    for threshold in thresholds:
        tables[threshold] = table = truth_table(threshold)
        print_table(threshold, table)
    # Bias and threshold: the same decision for every input and every threshold.
    same_unit = all(t["bias_form"] == t["threshold_form"] for t in tables.values())
    print("\nbias -T and threshold T give the same outputs:", same_unit)
    if 5.0 in tables:
        money_only = tables[5.0]["bias_form"] == [bits[0] for bits in INPUTS]
        print("with T = 5, output == x1 (money decides alone):", money_only,
              "- x = (0, 1, 1) sums to 3 + 3 = 6 >= 5")

    figure = os.path.join(out, "study_thresholds.png")
    plot_thresholds(tables, figure)
    print("figure saved:", figure)
    return {"tables": tables, "same_unit": same_unit, "figure": figure}


def plot_thresholds(tables, path):
    """The weighted sum of each input as a bar, with the thresholds as lines."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    sums = next(iter(tables.values()))["sums"]
    labels = ["".join(str(b) for b in bits) for bits in INPUTS]
    figure, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    colours = ["tab:green" if s >= 5 else "tab:gray" for s in sums]
    ax.bar(labels, sums, color=colours)
    for threshold, style in zip(tables, ("-", "--", ":")):
        ax.axhline(threshold, color="tab:red", linestyle=style,
                   label=f"T = {threshold:g}: study where sum >= T")
    for i, total in enumerate(sums):
        ax.text(i, total + 0.2, f"{total:g}", ha="center", fontsize=9)
    ax.set_xlabel("input x1 x2 x3 (money, easy maths, no GPU needed)")
    ax.set_ylabel("sum(w x) with w = (8, 3, 3)")
    ax.set_title("Study deep learning? green: sum >= 5 (note 011 = 6 >= 5)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 002's study-decision perceptron.")
    parser.add_argument("--out", default=None,
                        help="folder for the figure (default: a new temporary folder)")
    main(out=parser.parse_args().out)
