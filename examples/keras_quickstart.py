"""Seed 004, "Keras": TensorFlow's beginner quickstart, line for line in somanet.

    mnist = tf.keras.datasets.mnist                   sn.datasets.mnist_small()
    (x_train, y_train), (x_test, y_test) = ...        (5,000 real MNIST digits, bundled:
    x_train, x_test = x_train / 255.0, ...             4,000 to train, 1,000 to test)
    model = tf.keras.models.Sequential([              model = sn.Sequential([
      tf.keras.layers.Flatten(input_shape=(28, 28)),    nn.Flatten(input_shape=(28, 28)),
      tf.keras.layers.Dense(128, activation='relu'),    nn.Dense(128, activation="relu"),
      tf.keras.layers.Dropout(0.2),                     nn.Dropout(0.2),
      tf.keras.layers.Dense(10)])                       nn.Dense(10)])
    predictions = model(x_train[:1]).numpy()          the same
    tf.nn.softmax(predictions).numpy()                sn.softmax(predictions)
    loss_fn = tf.keras.losses.SparseCategorical       sn.train.losses.SparseCategorical
              Crossentropy(from_logits=True)                    Crossentropy(from_logits=True)
    loss_fn(y_train[:1], predictions).numpy()         the same
    model.compile(optimizer='adam', loss=loss_fn,     the same
                  metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=5)             the same
    model.evaluate(x_test, y_test, verbose=2)         the same
    probability_model = tf.keras.Sequential([         sn.Sequential([model, nn.Softmax()])
      model, tf.keras.layers.Softmax()])
    probability_model(x_test[:5])                     the same

"For each example, the model returns a vector of logits": 10 scores, one per
digit; softmax turns them into probabilities. The loss is "the negative log
probability of the true class", and "this untrained model gives probabilities
close to random (1/10 for each class), so the initial loss should be close to
-log(1/10) ~= 2.3".

"The image classifier is now trained to ~98% accuracy on this dataset": that
is on the full MNIST (60,000 training images). On the 4,000 training images
of ``mnist_small`` the same model, trained the same 5 epochs, reaches about
0.91 on the 1,000 test images (0.913 with seed 0); PyTorch reaches the same
(0.91 with the same model, data, batch size 32, Adam and 5 epochs), as does
Keras (~0.90): the difference from 98% is the 15x smaller training set, not
the framework.

Figures: ``quickstart_history.png`` (loss and accuracy per epoch,
``History.plot``) and ``quickstart_predictions.png`` (the first 16 test
digits with the probability model's predictions, ``sn.viz.plot_image_grid``).

    python examples/keras_quickstart.py [--out FOLDER] [--seed N] [--epochs N]
"""
import argparse
import math
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import nn


def main(out=None, seed=0, epochs=5, train_size=None, verbose=2):
    """The quickstart. ``train_size`` trains on the first that many images only (for a fast
    test); ``verbose`` is ``fit``'s (2: one line per epoch, as the article's output).

    Returns:
        ``{"logits", "probabilities"`` (of the untrained model for x_train[:1]),
        ``"initial_loss", "expected_initial_loss" (-log(1/10)), "history", "test_loss",
        "test_accuracy", "probabilities_test" (x_test[:5]), "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_quickstart_")
    os.makedirs(out, exist_ok=True)
    # Load the data: uint8 pixels 0-255, then "convert ... from integers to floating-point".
    (x_train, y_train) = sn.datasets.mnist_small("train", normalize=False)
    (x_test, y_test) = sn.datasets.mnist_small("test", normalize=False)
    x_train, x_test = x_train / np.float32(255.0), x_test / np.float32(255.0)  # float32
    if train_size is not None:
        x_train, y_train = x_train[:train_size], y_train[:train_size]

    # "build a Sequential model by stacking layers"
    sn.manual_seed(seed)
    model = sn.Sequential([
        nn.Flatten(input_shape=(28, 28)),  # 28 x 28 image -> 784 values
        nn.Dense(128, activation="relu"),
        nn.Dropout(0.2),  # drops 20% of the activations while training
        nn.Dense(10),  # one logit per digit
    ])

    # "For each example, the model returns a vector of logits"
    predictions = model(x_train[:1]).numpy()
    print("predictions (logits):", predictions)
    # "The softmax function converts these logits to probabilities for each class"
    probabilities = sn.softmax(sn.tensor(predictions)).numpy()
    print("softmax:", probabilities)
    # "a scalar loss for each example ... the negative log probability of the true class"
    loss_fn = sn.train.losses.SparseCategoricalCrossentropy(from_logits=True)
    initial_loss = float(loss_fn(y_train[:1], predictions))
    print(f"untrained loss: {initial_loss:.4f}  (close to -log(1/10) = {-math.log(0.1):.4f})")

    # "configure and compile the model", then "adjust your model parameters"
    model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=epochs, verbose=verbose, seed=seed)
    # "checks the models performance, usually on a ... Test-set"
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=verbose)
    print(f"test accuracy: {test_accuracy:.4f} (on mnist_small; ~0.98 is the full MNIST's)")

    # "If you want your model to return a probability, ... attach the softmax to it"
    probability_model = sn.Sequential([model, nn.Softmax()])
    with sn.no_grad():
        probabilities_test = probability_model(x_test[:5]).numpy()
    print("probability_model(x_test[:5]):\n", np.round(probabilities_test, 3))
    print("predicted digits:", probabilities_test.argmax(axis=1).tolist(),
          "true:", y_test[:5].tolist())

    figures = [os.path.join(out, "quickstart_history.png"),
               os.path.join(out, "quickstart_predictions.png")]
    history.plot(figures[0])
    with sn.no_grad():
        first = probability_model(x_test[:16]).numpy()
    sn.viz.plot_image_grid(x_test[:16], labels=y_test[:16], predictions=first,
                           path=figures[1], columns=8)
    import matplotlib.pyplot
    matplotlib.pyplot.close("all")
    print("figures saved:", ", ".join(figures))
    return {"logits": predictions.tolist(), "probabilities": probabilities.tolist(),
            "initial_loss": initial_loss, "expected_initial_loss": -math.log(0.1),
            "history": history.history, "test_loss": test_loss,
            "test_accuracy": test_accuracy, "probabilities_test": probabilities_test.tolist(),
            "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 004's Keras quickstart on mnist_small.")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed, epochs=arguments.epochs)
