"""Seed 004, "Recurrent neural networks": the four shapes, each a plain Sequential.

The article draws a recurrent network four ways: one-to-one, one-to-many,
many-to-one and many-to-many. In somanet (as in Keras) each is a list of layers,
no Model subclass to write (``somanet.models.sequences``)::

    one-to-one    Dense(32, relu), Dense(2)                    is a point inside the circle?
    one-to-many   Embedding(10, 16), RepeatVector(28),         draw a digit's 28 rows from
                  LSTM(128, return_sequences=True),            its label
                  TimeDistributed(Dense(28, sigmoid))
    many-to-one   LSTM(128), Dense(10)                         read a digit row by row,
                                                               classify it (mnist_small)
    many-to-many  LSTM(32, return_sequences=True),             running parity of bits:
                  TimeDistributed(Dense(2))                    a label at every step

The recurrent layers read (batch, time, features), Keras's layout; ``LSTM(128)``
alone returns its last hidden state (many-to-one), ``return_sequences=True`` every
step's (many-to-many and one-to-many); ``RepeatVector(28)`` feeds one vector to all
28 steps. Every model is trained with ``compile`` / ``fit`` (Adam).

What it prints, with the defaults (seed 0; measured on a busy 2-core machine shared with
other jobs, about 8 minutes there): one-to-one test accuracy 0.960; one-to-many: every
generated digit is nearest to the mean test image of its own class (10 of 10);
many-to-one test accuracy 0.918 on the 1,000 mnist_small test digits after 5 epochs on
the 4,000 training ones; many-to-many accuracy 1.00 at every one of the 12 steps on
held-out sequences (parity needs every earlier bit: before it is learned, accuracy is
~0.5 after the first steps).

Figures: ``shapes_losses.png`` (each model's training loss per epoch),
``one_to_many_digits.png`` (the digits drawn from the labels 0-9) and
``many_to_many_accuracy.png`` (the parity's accuracy at each step).

    python examples/rnn_shapes.py [--out FOLDER] [--seed N] [--epochs N]
"""
import argparse
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import models
from somanet.train import losses


def _logits_loss():
    return losses.SparseCategoricalCrossentropy(from_logits=True)


def one_to_one(seed, epochs, n=1000):
    """Points in the square [-1, 1]^2, labelled 1 inside the circle of radius 0.7."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    y = ((x ** 2).sum(axis=1) < 0.49).astype(np.int64)
    train, test = slice(0, n * 4 // 5), slice(n * 4 // 5, n)
    model = models.one_to_one(2, 2, hidden=32)
    model.compile(optimizer="adam", loss=_logits_loss(), metrics=["accuracy"],
                  learning_rate=0.03)
    history = model.fit(x[train], y[train], epochs=epochs, batch_size=32, verbose=0, seed=seed)
    _, accuracy = model.evaluate(x[test], y[test], verbose=0)
    return history.history["loss"], accuracy


def one_to_many(seed, epochs, train_size, hidden=128):
    """Labels -> 28 rows of 28 pixels; scored by whether each drawn digit is nearest to the
    mean test image of its own class."""
    x, y = sn.datasets.mnist_small("train")
    x_test, y_test = sn.datasets.mnist_small("test")
    x, y = x[:train_size], y[:train_size]
    model = models.one_to_many(hidden=hidden)
    model.compile(optimizer="adam", loss="binary_crossentropy", learning_rate=0.01)
    history = model.fit(y, x, epochs=epochs, batch_size=64, verbose=0, seed=seed)
    drawn = model.predict(np.arange(10))
    means = np.stack([x_test[y_test == digit].mean(axis=0) for digit in range(10)])
    distances = ((drawn[:, None] - means[None]) ** 2).sum(axis=(2, 3))
    return history.history["loss"], drawn, int((distances.argmin(axis=1) == np.arange(10)).sum())


def many_to_one(seed, epochs, train_size, hidden=128):
    """mnist_small digits read as 28 steps of 28 pixels."""
    x, y = sn.datasets.mnist_small("train")
    x_test, y_test = sn.datasets.mnist_small("test")
    model = models.many_to_one(hidden=hidden)
    model.compile(optimizer="adam", loss=_logits_loss(), metrics=["accuracy"])
    history = model.fit(x[:train_size], y[:train_size], epochs=epochs, batch_size=32,
                        verbose=0, seed=seed)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return history.history["loss"], accuracy


def many_to_many(seed, epochs, n, steps=12):
    """Running parity: the accuracy at each step on held-out sequences."""
    x, y = models.running_parity(n, steps, seed=seed)
    x_test, y_test = models.running_parity(500, steps, seed=seed + 1000)
    model = models.many_to_many(hidden=32)
    model.compile(optimizer="adam", loss=_logits_loss(), metrics=["accuracy"],
                  learning_rate=0.01)
    history = model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, seed=seed)
    per_step = (model.predict(x_test).argmax(axis=-1) == y_test).mean(axis=0)
    return history.history["loss"], per_step


def main(out=None, seed=0, epochs=5, train_size=4000, parity_size=2000, hidden=128,
         verbose=True):
    """Train the four shapes. ``epochs`` is for the MNIST models (the small tasks take
    more); ``hidden`` is the MNIST models' LSTM units; smaller sizes make a fast test.

    Returns:
        ``{"one_to_one_accuracy", "one_to_many_matches" (of 10), "one_to_many_digits",
        "many_to_one_accuracy", "many_to_many_per_step", "losses", "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_rnn_shapes_")
    os.makedirs(out, exist_ok=True)
    say = print if verbose else (lambda *args: None)
    sn.manual_seed(seed)
    result = {"losses": {}}
    loss, result["one_to_one_accuracy"] = one_to_one(seed, epochs=max(4 * epochs, 10))
    result["losses"]["one-to-one"] = loss
    say(f"one-to-one   (MLP, inside the circle?)        test accuracy "
        f"{result['one_to_one_accuracy']:.3f}")
    loss, drawn, matches = one_to_many(seed, epochs, train_size, hidden)
    result["losses"]["one-to-many"] = loss
    result["one_to_many_digits"], result["one_to_many_matches"] = drawn, matches
    say(f"one-to-many  (label -> 28 rows)               {matches} of 10 drawn digits nearest "
        f"their class's mean")
    loss, result["many_to_one_accuracy"] = many_to_one(seed, epochs, train_size, hidden)
    result["losses"]["many-to-one"] = loss
    say(f"many-to-one  (28 rows -> label)               test accuracy "
        f"{result['many_to_one_accuracy']:.3f}")
    loss, per_step = many_to_many(seed, max(2 * epochs, 8), parity_size)
    result["losses"]["many-to-many"] = loss
    result["many_to_many_per_step"] = per_step
    say(f"many-to-many (bits -> parity so far)          accuracy per step "
        f"{' '.join(f'{a:.2f}' for a in per_step)}")

    relative = {name: np.asarray(values) / values[0] for name, values in
                result["losses"].items()}
    figures = [os.path.join(out, name) for name in
               ("shapes_losses.png", "one_to_many_digits.png", "many_to_many_accuracy.png")]
    sn.viz.plot_curves(relative, path=figures[0], xlabel="epoch",
                       ylabel="training loss / first epoch's", logy=True,
                       title="The four shapes: training loss")
    sn.viz.plot_image_grid(drawn, labels=np.arange(10), path=figures[1], columns=5)
    steps = np.arange(1, len(per_step) + 1)
    sn.viz.plot_curves({"running parity": (steps, per_step)}, path=figures[2],
                       xlabel="step t", ylabel="accuracy of y_t (held out)",
                       title="Many-to-many: accuracy at each step")
    result["figures"] = figures
    say("figures: " + ", ".join(figures))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="folder for the figures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed, epochs=arguments.epochs)
