"""Restricted Boltzmann machines: visible and hidden units with biases, trained by
contrastive divergence; the exact log-likelihood of a small one, and the features of a
larger one learned from digits.

An RBM has "two layers: visible units and hidden units ... The visible and hidden units
have biases connected" and no output nodes: it learns a probability distribution over its
visible units, ``p(v) = exp(-F(v)) / Z``, with the free energy

    F(v) = -b.v - sum_j log(1 + exp(c_j + v W_{:j}))

(``somanet.models.rbm`` has the maths). Training follows the gradient of the
log-likelihood, estimated by CD-1 (Hinton 2002: one Gibbs step from the data) or by
persistent CD (Tieleman 2008: fantasy chains kept between updates).

Part 1, exactness: an RBM of 9 visible and 4 hidden units is small enough to sum over all
its 2^4 hidden states, so ``log Z`` and the log-likelihood of the data are exact. On 3 x 3
"bars" (one full row or one full column, 6 patterns) the mean log-likelihood starts at
``-9 log 2 = -6.24`` (tiny weights: every image equally likely) and rises towards the best
possible, ``log(1/6) = -1.79``; the example prints it after every epoch, for CD-1 and PCD-1,
and plots both curves (``rbm_log_likelihood.png``). With seed 0 (learning rate 0.2,
batches of 10, 30 epochs) CD-1 goes from -6.23 to about -3.8 and PCD-1 to about -3.8.

Part 2, features: an RBM of 784 visible units (28 x 28 digits from ``mnist_small``, pixel
intensities used as probabilities) and 100 hidden units, CD-1 for 10 epochs. Figures:
``rbm_filters.png`` (each hidden unit's 784 weights as an image: strokes and blobs),
``rbm_reconstructions.png`` (test digits over their mean-field reconstructions) and
``rbm_samples.png`` (digits the model dreams: 1,000 steps of Gibbs sampling from noise).
The test reconstruction error falls from 0.068 (the mean image, where the visible biases
start) to 0.020 (seed 0). The samples show CD-1's known weakness: its chains settle in a
few modes (mostly 0s and 7s here), because CD-1 only ever looks one step away from the
data; a likelihood-faithful sampler needs PCD and longer training.

    python examples/rbm_digits.py [--out FOLDER] [--seed N] [--epochs N] [--hidden N]
"""
import argparse
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import models
from somanet.models.rbm import ExactLogLikelihood


def bars(n=120, seed=0):
    """``n`` 3 x 3 binary images (flat, 9 values), each one full row or one full column."""
    patterns = []
    for index in range(3):
        row, column = np.zeros((3, 3)), np.zeros((3, 3))
        row[index, :] = 1
        column[:, index] = 1
        patterns += [row.ravel(), column.ravel()]
    patterns = np.array(patterns, dtype=np.float32)
    return patterns[np.random.default_rng(seed).integers(0, len(patterns), n)]


def exact_curves(seed=0, epochs=30, learning_rate=0.2):
    """Part 1: the exact mean log-likelihood per epoch, ``{"CD-1": [...], "PCD-1": [...]}``
    (entry 0 before training)."""
    x = bars(seed=seed)
    curves = {}
    for label, persistent in (("CD-1", False), ("PCD-1", True)):
        sn.manual_seed(seed)
        rbm = models.RBM(9, 4, k=1, persistent=persistent, chains=50 if persistent else None)
        rbm.compile(learning_rate=learning_rate)
        callback = ExactLogLikelihood(x)
        rbm.fit(x, epochs=epochs, batch_size=10, verbose=0, callbacks=[callback], seed=seed)
        curves[label] = callback.values
    return curves


def main(out=None, seed=0, epochs=10, hidden=100, train_size=None, exact_epochs=30):
    """Both parts. ``train_size`` uses the first that many training digits (a fast test).

    Returns:
        ``{"log_likelihood": {"CD-1": [...], "PCD-1": [...]}, "best_possible",
        "reconstruction_error": [per epoch], "test_reconstruction_error", "mean_image_error",
        "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_rbm_")
    os.makedirs(out, exist_ok=True)
    figures = {name: os.path.join(out, f"rbm_{name}.png")
               for name in ("log_likelihood", "filters", "reconstructions", "samples")}

    print("Part 1: exact log-likelihood of 3 x 3 bars, 9 visible and 4 hidden units")
    curves = exact_curves(seed=seed, epochs=exact_epochs)
    best = float(np.log(1 / 6))
    print("epoch    CD-1    PCD-1")
    for epoch, (cd, pcd) in enumerate(zip(curves["CD-1"], curves["PCD-1"])):
        print(f"{epoch:5d}  {cd:7.3f}  {pcd:7.3f}")
    print(f"(start -9 log 2 = {-9 * np.log(2):.3f}; best possible log(1/6) = {best:.3f})")
    sn.viz.plot_curves({label: (np.arange(len(values)), np.array(values))
                        for label, values in curves.items()} |
                       {"best possible, log(1/6)": (np.array([0, exact_epochs]),
                                                    np.array([best, best]))},
                       path=figures["log_likelihood"], xlabel="epoch",
                       ylabel="exact mean log-likelihood (nats)",
                       title="RBM 9 x 4 on bars: exact log-likelihood")

    print("\nPart 2: an RBM of 784 x", hidden, "on mnist_small, CD-1")
    x_train, _ = sn.datasets.mnist_small("train")
    x_test, _ = sn.datasets.mnist_small("test")
    if train_size is not None:
        x_train = x_train[:train_size]
    sn.manual_seed(seed)
    rbm = models.RBM(784, hidden, k=1, image_shape=(28, 28), weight_decay=1e-4)
    rbm.init_visible_bias(x_train)
    mean_image_error = rbm.reconstruction_error(x_test)
    rbm.compile(learning_rate=0.1)
    history = rbm.fit(x_train, epochs=epochs, batch_size=32, verbose=0, seed=seed)
    errors = history.history["loss"]
    for epoch, error in enumerate(errors, start=1):
        print(f"epoch {epoch:2d}: reconstruction error {error:.4f}")
    test_error = rbm.evaluate(x_test, verbose=0)
    print(f"test reconstruction error {test_error:.4f} (the mean image's: "
          f"{mean_image_error:.4f})")

    rbm.plot_filters(figures["filters"], limit=100, columns=10)
    pairs = np.concatenate([x_test[:10], rbm.reconstruct(x_test[:10]).numpy().reshape(
        10, 28, 28)])
    sn.viz.plot_image_grid(pairs, path=figures["reconstructions"], columns=10)
    samples = rbm.sample(20, steps=1000).numpy().reshape(20, 28, 28)
    sn.viz.plot_image_grid(samples, path=figures["samples"], columns=10)
    import matplotlib.pyplot
    matplotlib.pyplot.close("all")
    print("figures saved:", ", ".join(figures.values()))
    return {"log_likelihood": curves, "best_possible": best, "reconstruction_error": errors,
            "test_reconstruction_error": test_error, "mean_image_error": mean_image_error,
            "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="RBMs: exact log-likelihood; digit features.")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and sampling")
    parser.add_argument("--epochs", type=int, default=10, help="epochs on the digits")
    parser.add_argument("--hidden", type=int, default=100, help="hidden units for the digits")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed, epochs=arguments.epochs,
         hidden=arguments.hidden)
