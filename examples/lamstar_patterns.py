"""LAMSTAR, the large memory storage and retrieval network: self-organising-map modules,
winner take all, and link weights to decision neurons learned by reward and punishment;
recognising noisy 5 x 7 digit glyphs, then real digits.

Each input word is split into sub-words, one per SOM input module (``somanet.models.lamstar``
has the rules and what is simplified from Graupe's description). Part 1: the ten digits
of a 5 x 7 pixel font, each row of 5 pixels a sub-word (7 modules). Training words are
the glyphs with 5% of their pixels flipped (30 of each digit, 3 passes: online training
accuracy 0.88, 0.99, 0.99); the test words, never seen, have 0% to 30% flipped (100 of
each digit per noise level). With seed 0:

    pixels flipped    0%     5%    10%    15%    20%    25%    30%
    test accuracy    1.00   0.99   0.95   0.87   0.78   0.62   0.49

Each module remembers the rows it has seen (15 or 16 of its 16 neurons allocated) and
its winner votes, through its link weights, for the digits that row belongs to; one
corrupted row only moves one of seven votes, so the decision survives light noise and
degrades gracefully with heavy noise (a flip rate of 30% changes most rows).

Part 2: ``mnist_small``, each 28 x 28 digit split into 16 patches of 7 x 7 (16 modules of
up to 64 neurons), 2 passes over the 4,000 training digits: 0.804 on the 1,000 test
digits (seed 0; training is deterministic given the seed, which only orders the samples).
A Kohonen memory of patch prototypes with voting links is far from a trained CNN (~0.95),
but it is learned in one or two passes, with no gradient.

Figures: ``lamstar_noise.png`` (test accuracy against the share of flipped pixels),
``lamstar_predictions.png`` (noisy test glyphs with the network's decisions, mistakes in
red), ``lamstar_links.png`` (the link weights: rows are SOM neurons, columns digits).

    python examples/lamstar_patterns.py [--out FOLDER] [--seed N] [--no-mnist]
"""
import argparse
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import models
from somanet.models.lamstar import image_patches

FONT = ["01110 10001 10011 10101 11001 10001 01110", "00100 01100 00100 00100 00100 00100 01110",
        "01110 10001 00001 00010 00100 01000 11111", "11111 00010 00100 00010 00001 10001 01110",
        "00010 00110 01010 10010 11111 00010 00010", "11111 10000 11110 00001 00001 10001 01110",
        "00110 01000 10000 11110 10001 10001 01110", "11111 00001 00010 00100 01000 01000 01000",
        "01110 10001 10001 01110 10001 10001 01110", "01110 10001 10001 01111 00001 00010 01100"]
GLYPHS = np.array([[[int(c) for c in row] for row in glyph.split()] for glyph in FONT],
                  dtype=np.float32)  # (10, 7, 5)
NOISE_LEVELS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30)


def noisy_glyphs(per_class, flip, rng):
    """``per_class`` copies of each glyph with a share ``flip`` of pixels flipped."""
    labels = np.repeat(np.arange(10), per_class)
    images = GLYPHS[labels].copy()
    flipped = rng.random(images.shape) < flip
    images[flipped] = 1 - images[flipped]
    return images, labels


def main(out=None, seed=0, mnist=True, mnist_epochs=2, per_class=30, test_per_class=100):
    """Both parts (``mnist=False`` skips the digits).

    Returns:
        ``{"noise_levels", "accuracy" (per noise level), "train_accuracy" (per pass),
        "allocated" (neurons per module), "mnist_accuracy" (or None), "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_lamstar_")
    os.makedirs(out, exist_ok=True)
    figures = {name: os.path.join(out, f"lamstar_{name}.png")
               for name in ("noise", "predictions", "links")}
    rng = np.random.default_rng(seed)
    x_train, y_train = noisy_glyphs(per_class, 0.05, rng)
    net = models.LAMSTAR(n_subwords=7, subword_size=5, n_classes=10, neurons=16,
                         threshold=0.5, reward=0.05, punishment=0.05)
    print("Part 1: 5 x 7 glyphs, 7 SOM modules (one per row), 10 decision neurons")
    history = net.fit(x_train, y_train, epochs=3, seed=seed, verbose=1)
    print("SOM neurons allocated per module:", net.allocated())
    accuracy = []
    for flip in NOISE_LEVELS:
        x_test, y_test = noisy_glyphs(test_per_class, flip, rng)
        accuracy.append(net.accuracy(x_test, y_test))
    print("pixels flipped  " + "  ".join(f"{flip:5.0%}" for flip in NOISE_LEVELS))
    print("test accuracy   " + "  ".join(f"{value:5.2f}" for value in accuracy))
    sn.viz.plot_curves({"LAMSTAR": (np.array(NOISE_LEVELS) * 100, np.array(accuracy))},
                       path=figures["noise"], xlabel="pixels flipped (%)",
                       ylabel="test accuracy", title="LAMSTAR on noisy 5 x 7 digit glyphs")
    shown_x, shown_y = noisy_glyphs(3, 0.10, rng)
    sn.viz.plot_image_grid(shown_x, labels=shown_y, predictions=net.predict(shown_x),
                           path=figures["predictions"], columns=10, limit=30)
    net.plot_links(figures["links"])

    mnist_accuracy = None
    if mnist:
        print("\nPart 2: mnist_small, 16 SOM modules of 7 x 7 patches")
        digits, labels = sn.datasets.mnist_small("train")
        test_digits, test_labels = sn.datasets.mnist_small("test")
        patch_net = models.LAMSTAR(n_subwords=16, subword_size=49, n_classes=10, neurons=64)
        patch_net.fit(image_patches(digits, 7), labels, epochs=mnist_epochs, seed=seed,
                      verbose=1)
        mnist_accuracy = patch_net.accuracy(image_patches(test_digits, 7), test_labels)
        print(f"test accuracy on the 1,000 test digits: {mnist_accuracy:.3f}")
    import matplotlib.pyplot
    matplotlib.pyplot.close("all")
    print("figures saved:", ", ".join(figures.values()))
    return {"noise_levels": list(NOISE_LEVELS), "accuracy": accuracy,
            "train_accuracy": history.history["accuracy"], "allocated": net.allocated(),
            "mnist_accuracy": mnist_accuracy, "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="LAMSTAR on noisy glyphs and digits.")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise and the order")
    parser.add_argument("--no-mnist", action="store_true", help="skip the mnist_small part")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed, mnist=not arguments.no_mnist)
