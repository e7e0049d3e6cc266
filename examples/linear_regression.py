"""Seed 002: "predicting that ice cream sales will be different depending on what the
temperature is like outside ... a linear regression with gradient descent."

The article's shallow example, with synthetic data of known truth: on each of
60 days the temperature t is drawn uniformly in 10-35 degrees C and the sales
are

    sales = SLOPE * t + INTERCEPT + noise,   noise ~ N(0, NOISE^2)

with SLOPE = 12.5 ice creams per degree and INTERCEPT = -60.

The model is one linear unit, ``y_hat = w t + b`` (``nn.Dense(1, 1)``: a
neuron without activation, seed 004's ``f(h) = h``), fitted by gradient
descent on the mean squared error:

    J(w, b) = 1/N sum_j (w t_j + b - sales_j)^2
    w <- w - lr dJ/dw,   b <- b - lr dJ/db                    (sn.optim.SGD)

Gradient descent is slow when the inputs are large and far from 0 (J is a
long narrow valley in (w, b)), so the temperatures are standardised first,
``s = (t - mean) / std``; the fitted unit ``w_s s + b_s`` is then the line

    slope = w_s / std,    intercept = b_s - w_s * mean / std.

The closed-form least-squares solution (the normal equations,
``numpy.linalg.lstsq`` on the columns [t, 1]) is the exact minimum of J;
gradient descent reaches the same coefficients, and both are close to the
true slope and intercept (up to the noise in 60 days).

The figure ``ice_cream_regression.png`` shows the data with the fitted,
closed-form and true lines, and the error J against the iteration.

    python examples/linear_regression.py [--out FOLDER] [--seed N]
"""
import argparse
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import nn

SLOPE, INTERCEPT, NOISE = 12.5, -60.0, 15.0  # the truth behind the synthetic sales


def ice_cream_days(days, seed):
    """Synthetic (temperature, sales) for ``days`` days, float32 columns (days, 1)."""
    rng = np.random.default_rng(seed)
    temperature = rng.uniform(10.0, 35.0, size=(days, 1))
    sales = SLOPE * temperature + INTERCEPT + rng.normal(0.0, NOISE, size=(days, 1))
    return temperature.astype(np.float32), sales.astype(np.float32)


def main(out=None, seed=0, days=60, iterations=200, learning_rate=0.1):
    """Fit sales = w t + b by gradient descent and compare with least squares.

    Returns:
        ``{"slope", "intercept"}`` (gradient descent), ``{"lstsq_slope",
        "lstsq_intercept"}`` (closed form), ``"true_slope", "true_intercept", "losses",
        "figure"``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_regression_")
    os.makedirs(out, exist_ok=True)
    temperature, sales = ice_cream_days(days, seed)

    # Standardise the input so that gradient descent converges in a few hundred steps.
    mean, std = temperature.mean(), temperature.std()
    s = sn.tensor((temperature - mean) / std)  # (days, 1)
    y = sn.tensor(sales)  # (days, 1)

    sn.manual_seed(seed)
    unit = nn.Dense(1, 1)  # y_hat = w s + b: one neuron, no activation
    optimizer = sn.optim.SGD(unit.parameters(), lr=learning_rate)
    losses = []
    for _ in range(iterations):
        loss = sn.mse(unit(s), y)  # J = 1/N sum (y_hat - y)^2
        optimizer.zero_grad()
        loss.backward()  # dJ/dw, dJ/db
        optimizer.step()  # w <- w - lr dJ/dw, b <- b - lr dJ/db
        losses.append(loss.item())
        if len(losses) in (1, 10, 50) or len(losses) % 50 == 0:
            print(f"iteration {len(losses):4d}: J = {loss.item():10.3f}")

    # Back to the temperature's units: w_s s + b_s = (w_s / std) t + (b_s - w_s mean / std).
    w_s, b_s = unit.weight.item(), unit.bias.item()
    slope, intercept = w_s / std, b_s - w_s * mean / std

    # The closed-form least-squares line, from the normal equations.
    columns = np.hstack([temperature, np.ones_like(temperature)]).astype(np.float64)
    (lstsq_slope, lstsq_intercept), *_ = np.linalg.lstsq(columns, sales.astype(np.float64),
                                                        rcond=None)
    lstsq_slope, lstsq_intercept = float(lstsq_slope[0]), float(lstsq_intercept[0])

    print(f"\ngradient descent: sales = {slope:.4f} t {intercept:+.4f}")
    print(f"least squares   : sales = {lstsq_slope:.4f} t {lstsq_intercept:+.4f}")
    print(f"truth           : sales = {SLOPE:.4f} t {INTERCEPT:+.4f}  (noise sd {NOISE:g})")

    figure = os.path.join(out, "ice_cream_regression.png")
    plot_fit(temperature, sales, (slope, intercept), (lstsq_slope, lstsq_intercept), losses,
             figure)
    print("figure saved:", figure)
    return {"slope": float(slope), "intercept": float(intercept), "lstsq_slope": lstsq_slope,
            "lstsq_intercept": lstsq_intercept, "true_slope": SLOPE,
            "true_intercept": INTERCEPT, "losses": losses, "figure": figure}


def plot_fit(temperature, sales, fitted, closed_form, losses, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=100)
    t = np.linspace(temperature.min(), temperature.max(), 2)
    left.scatter(temperature, sales, s=14, color="tab:gray", label="days")
    left.plot(t, fitted[0] * t + fitted[1], color="tab:blue", linewidth=2,
              label=f"gradient descent: {fitted[0]:.2f} t {fitted[1]:+.1f}")
    left.plot(t, closed_form[0] * t + closed_form[1], "--", color="tab:orange",
              label=f"least squares: {closed_form[0]:.2f} t {closed_form[1]:+.1f}")
    left.plot(t, SLOPE * t + INTERCEPT, ":", color="black",
              label=f"truth: {SLOPE:.2f} t {INTERCEPT:+.1f}")
    left.set_xlabel("temperature (degrees C)")
    left.set_ylabel("ice creams sold")
    left.set_title("Ice cream sales against temperature")
    left.legend(fontsize=8)
    left.grid(True, alpha=0.3)
    right.plot(np.arange(1, len(losses) + 1), losses)
    right.set_yscale("log")
    right.set_xlabel("iteration")
    right.set_ylabel("J = mean squared error")
    right.set_title("Gradient descent")
    right.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 002's ice-cream linear regression.")
    parser.add_argument("--out", default=None,
                        help="folder for the figure (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed)
