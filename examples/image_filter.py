"""Seed 002: a perceptron trained as an image filter, the way the article's Synaptic
(JavaScript) example does it.

The article's program reads an image and its filtered version, turns every
pixel into a training pair (input colour -> output colour, each channel
divided by 255), trains a small network with Synaptic's trainer

    trainer.train(trainingSet, {iterations: 200, error: .005, shuffle: true,
                                log: 10, cost: Trainer.cost.CROSS_ENTROPY})

and then runs a different image through the trained network, pixel by pixel,
writing ``round(out * 255)`` back. Its code is garbled (``Perceptron(4, 5)``
for two inputs, ``getImageData`` vs ``getImgData``, both images read from the
same file); what it describes is reproduced here:

- the images are made here (no downloads): a colourful training image and a
  different test image; the filter is sepia,
  ``[R', G', B'] = clip(S [R, G, B], 0, 1)`` with the classic sepia matrix S;
- the network is 3 inputs (R, G, B) -> 5 sigmoid hidden units -> 3 sigmoid
  outputs, an ``sn.Sequential`` trained with ``fit``: the cost is the
  cross-entropy ``-(t log o + (1 - t) log(1 - o))`` per channel, the pixels
  are shuffled every iteration (``shuffle=True``), one iteration is one pass
  over the pixels (an epoch; mini-batches of 32 pixels rather than Synaptic's
  one at a time, for speed);
- "log: 10" and "iterations: 200, error: .005" are two general callbacks:
  ``LogEvery(10)`` prints the error every 10 iterations, ``StopBelow(
  "loss", 0.005)`` stops training once a logged value falls below a target,
  and ``fit(epochs=200)`` is the cap.

What the article's settings do not say: with soft targets (pixel values
between 0 and 1) the cross-entropy cannot fall below the targets' own
entropy ``H(t) = -(t log t + (1 - t) log(1 - t))``, reached when the output
equals the target. For the sepia image that floor is about 0.5, so
Synaptic's rule "stop when the cross-entropy < 0.005" could never fire and
its training always runs all 200 iterations. The error that goes to zero is
the cross-entropy minus its floor (the Kullback-Leibler divergence from
target to output), with the same gradient; that is the loss trained here,
and the 0.005 applies to it. It stops after a few dozen iterations.

The test image, never seen in training, comes out within a few units (of
0-255) of its true sepia version. Saved PNGs: ``input.png``, ``target.png``
and ``learned.png`` (the test image, its true sepia, the network's output),
``train_input.png`` / ``train_target.png``, and ``image_filter.png`` with
all of them side by side.

    python examples/image_filter.py [--out FOLDER] [--seed N]
"""
import argparse
import os
import tempfile
import warnings

import numpy as np

import somanet as sn
from somanet import nn

# The classic sepia matrix: each output channel is a weighted sum of R, G, B.
SEPIA = np.array([[0.393, 0.769, 0.189],
                  [0.349, 0.686, 0.168],
                  [0.272, 0.534, 0.131]], dtype=np.float32)


def sepia(image):
    """The target filter: (H, W, 3) floats in [0, 1] -> sepia, clipped to [0, 1]."""
    return np.clip(image @ SEPIA.T, 0.0, 1.0).astype(np.float32)


def training_image(size=48):
    """A colourful image whose pixels cover much of the colour cube: crossing waves."""
    y, x = np.mgrid[0:size, 0:size] / size
    red = 0.5 + 0.5 * np.sin(2 * np.pi * (1.3 * x + 0.2 * y))
    green = 0.5 + 0.5 * np.sin(2 * np.pi * (0.7 * y - 0.9 * x) + 1.0)
    blue = 0.5 + 0.5 * np.cos(2 * np.pi * (2 * x * y) + 0.5)
    return np.stack([red, green, blue], axis=-1).astype(np.float32)


def test_image(size=64):
    """A different image: rings, a horizontal ramp and stripes."""
    y, x = np.mgrid[0:size, 0:size] / size
    red = 0.5 + 0.5 * np.cos(14 * np.hypot(x - 0.5, y - 0.5))
    green = np.clip(1.2 * x - 0.1, 0.0, 1.0)
    blue = (0.5 + 0.5 * np.sin(6 * np.pi * y)) * (x > 0.3)
    return np.stack([red, green, blue], axis=-1).astype(np.float32)


def excess_cross_entropy(y_true, y_pred):
    """Cross-entropy minus its floor H(t): 0 exactly when the output equals the target.

    Its gradient is the cross-entropy's (H(t) does not depend on the network)."""
    cross_entropy = sn.binary_cross_entropy(y_pred, y_true)  # mean -(t log o + (1-t) log(1-o))
    t = y_true.clip(1e-7, 1 - 1e-7)
    floor = -(t * sn.log(t) + (1 - t) * sn.log(1 - t)).mean()  # H(t), a constant
    return cross_entropy - floor


class LogEvery(sn.train.Callback):
    """Synaptic's ``log: n``: print the error every ``n`` iterations (epochs)."""

    def __init__(self, every=10, monitor="loss"):
        super().__init__()
        self.every, self.monitor = every, monitor

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            print(f"iterations {epoch + 1} error {logs[self.monitor]:.6f}")


class StopBelow(sn.train.Callback):
    """Stop training once the logged ``monitor`` falls below ``target`` (Synaptic's
    ``error:``). Any logged value works: a loss, a metric, a validation loss."""

    def __init__(self, monitor="loss", target=0.005):
        super().__init__()
        self.monitor, self.target = monitor, target
        self.stopped_at = None

    def on_epoch_end(self, epoch, logs=None):
        value = logs[self.monitor]
        if value < self.target:
            self.stopped_at = epoch + 1
            print(f"stopping after {epoch + 1} iterations: {self.monitor} {value:.6f} < "
                  f"{self.target}")
            self.model.stop_training = True


def filter_image(model, image):
    """Run every pixel of an (H, W, 3) image through the network (the article's scan)."""
    pixels = image.reshape(-1, 3)
    return model.predict(pixels, batch_size=4096).reshape(image.shape)


def main(out=None, seed=0, iterations=200, error=0.005, log=10, hidden=5, learning_rate=2.0,
         train_size=48, test_size=64):
    """Learn the sepia filter from one image, apply it to another, save the PNGs.

    Returns:
        ``{"iterations_run", "stopped_early", "final_error", "cross_entropy_floor",
        "train_error_255", "test_error_255" (mean |learned - true sepia| in 0-255 units),
        "test_max_error_255", "images": {name: path}, "figure"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_image_filter_")
    os.makedirs(out, exist_ok=True)
    image = training_image(train_size)
    target = sepia(image)
    # The training set: one (input colour -> output colour) pair per pixel, values / 255.
    inputs, outputs = image.reshape(-1, 3), target.reshape(-1, 3)
    t = np.clip(outputs, 1e-7, 1 - 1e-7)
    floor = float(-(t * np.log(t) + (1 - t) * np.log(1 - t)).mean())
    print(f"{len(inputs)} training pixels; the cross-entropy cannot go below H(t) = "
          f"{floor:.4f} for these targets")

    sn.manual_seed(seed)
    model = sn.Sequential([nn.Dense(3, hidden, activation="sigmoid"),  # Perceptron(3, 5, 3)
                           nn.Dense(hidden, 3, activation="sigmoid")])
    model.compile(optimizer=sn.optim.SGD(model.parameters(), lr=learning_rate),
                  loss=excess_cross_entropy)  # cost: CROSS_ENTROPY (minus its floor)
    stop = StopBelow("loss", error)  # error: .005
    with warnings.catch_warnings():
        # fit warns when an epoch's loss rises (seed 004's "WARNING - Loss Increasing");
        # with shuffled mini-batches the error wobbles a little near the end, and
        # Synaptic's log does not warn, so neither does this example.
        warnings.simplefilter("ignore", sn.train.LossIncreasingWarning)
        history = model.fit(inputs, outputs, epochs=iterations,  # iterations: 200
                            batch_size=32, shuffle=True,  # shuffle: true
                            callbacks=[LogEvery(log), stop],  # log: 10
                            verbose=0, seed=seed)
    iterations_run = len(history.history["loss"])
    final_error = history.history["loss"][-1]

    # Apply the learned filter to a different image, and compare with its true sepia.
    learned_train = filter_image(model, image)
    other = test_image(test_size)
    other_target = sepia(other)
    learned = filter_image(model, other)
    to_255 = lambda array: np.round(array * 255)  # Synaptic writes round(out * 255)
    train_error = float(np.abs(to_255(learned_train) - to_255(target)).mean())
    test_error = float(np.abs(to_255(learned) - to_255(other_target)).mean())
    test_max = float(np.abs(to_255(learned) - to_255(other_target)).max())
    print(f"\ntrained for {iterations_run} iterations, final error {final_error:.6f}")
    print(f"mean |learned - sepia| on the training image: {train_error:.2f} / 255")
    print(f"mean |learned - sepia| on the unseen image  : {test_error:.2f} / 255 "
          f"(largest {test_max:.0f})")

    images = {"train_input": image, "train_target": target, "input": other,
              "target": other_target, "learned": learned}
    paths = {name: os.path.join(out, f"{name}.png") for name in images}
    for name, array in images.items():
        save_png(array, paths[name])
    figure = os.path.join(out, "image_filter.png")
    plot_side_by_side(images, learned_train, figure)
    print("images saved:", ", ".join(sorted(paths.values())), "and", figure)
    return {"iterations_run": iterations_run, "stopped_early": stop.stopped_at is not None,
            "final_error": final_error, "cross_entropy_floor": floor,
            "train_error_255": train_error, "test_error_255": test_error,
            "test_max_error_255": test_max, "images": paths, "figure": figure}


def save_png(image, path, scale=4):
    """Write an (H, W, 3) image in [0, 1] as a PNG, each pixel drawn ``scale`` x ``scale``."""
    from matplotlib import image as mpimg
    big = np.repeat(np.repeat(np.clip(image, 0, 1), scale, axis=0), scale, axis=1)
    mpimg.imsave(path, big)


def plot_side_by_side(images, learned_train, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = [("training image", images["train_input"], images["train_target"], learned_train),
            ("unseen image", images["input"], images["target"], images["learned"])]
    figure, axes = plt.subplots(2, 3, figsize=(9, 6.4), dpi=100)
    for (label, source, truth, result), row in zip(rows, axes):
        for ax, picture, title in zip(row, (source, truth, result),
                                      (f"{label}: input", "target (sepia)", "learned output")):
            ax.imshow(np.clip(picture, 0, 1), interpolation="nearest")
            ax.set_title(title, fontsize=10)
            ax.axis("off")
    figure.suptitle("A 3-5-3 network learns the sepia filter pixel by pixel")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 002's Synaptic-style image filter.")
    parser.add_argument("--out", default=None,
                        help="folder for the PNGs (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed)
