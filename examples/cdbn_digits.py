"""A convolutional deep belief network: two convolutional RBMs with probabilistic
max-pooling (Lee et al. 2009), pre-trained greedily on digits; the first layer's filters,
its pooling maps for one digit, and the features' worth with 300 labels.

Layer 1 is a ``ConvRBM`` with 24 filters of 7 x 7 over the 28 x 28 image: 24 hidden maps
of 22 x 22, pooled 2 x 2 (at most one unit on per block) into 24 maps of 11 x 11. Layer 2,
40 filters of 4 x 4 over those 24 maps, pools its 8 x 8 maps into 40 of 4 x 4: 640
features. Each layer is trained by CD-1 with Lee et al.'s sparsity pull (each hidden
unit on ~2% of the time), layer 1 on the images, layer 2 on layer 1's pooling
probabilities (``ConvolutionalDBN.pretrain``; ``somanet.models.rbm`` has the maths).

With seed 0 (2,000 digits, 3 epochs for layer 1 and 2 for layer 2, under a minute on two
cores) the reconstruction errors fall to ~0.012 and ~0.0075 and the filters become
oriented strokes and blobs (``cdbn_filters.png``); ``cdbn_maps.png`` shows a test digit
and its 24 pooling maps, each lighting up where its stroke occurs. Fine-tuned as a
classifier on 300 labels (Adam, 20 epochs), the pre-trained net scores 0.85 on the 1,000
test digits, the same net from its random initial weights 0.74.

    python examples/cdbn_digits.py [--out FOLDER] [--seed N] [--train-size N]
"""
import argparse
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import models


def main(out=None, seed=0, train_size=2000, epochs=(3, 2), filters=(24, 40), labels=300,
         fine_tune_epochs=20):
    """Pre-train, draw, fine-tune.

    Returns:
        ``{"reconstruction_errors": [per layer, per epoch], "pretrained_accuracy",
        "random_accuracy", "mean_activation" (layer 1's pooling units), "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_cdbn_")
    os.makedirs(out, exist_ok=True)
    figures = {"filters": os.path.join(out, "cdbn_filters.png"),
               "maps": os.path.join(out, "cdbn_maps.png")}
    x_train, y_train = sn.datasets.mnist_small("train")
    x_test, y_test = sn.datasets.mnist_small("test")

    def build():
        return models.ConvolutionalDBN(filters=filters, kernel_sizes=(7, 4), pool_sizes=(2, 2),
                                       num_classes=10)

    sn.manual_seed(seed)
    cdbn = build()
    print(f"pre-training a convolutional DBN ({filters[0]} filters 7 x 7, {filters[1]} "
          f"filters 4 x 4) on {train_size} digits")
    histories = cdbn.pretrain(x_train[:train_size], epochs=list(epochs), seed=seed)
    errors = [history.history["loss"] for history in histories]
    for layer, values in enumerate(errors, start=1):
        print(f"  layer {layer}: reconstruction error per epoch "
              + ", ".join(f"{value:.4f}" for value in values))
    first = cdbn.layers[0]
    first.plot_filters(figures["filters"], limit=filters[0], columns=8)
    with sn.no_grad():
        maps = first.pool_probabilities(x_test[:1]).numpy()[0]  # (24, 11, 11)
    mean_activation = float(first.pool_probabilities(x_test[:100]).numpy().mean())
    # Each 11 x 11 map drawn at the image's scale: 2 x 2 per pooling unit, centred (the
    # 22 x 22 hidden maps leave a 3-pixel border for the 7 x 7 filters).
    planes = [np.kron(plane, np.ones((2, 2))) for plane in maps]
    border = [((28 - plane.shape[0]) // 2, 28 - plane.shape[0] - (28 - plane.shape[0]) // 2)
              for plane in planes]
    images = [x_test[0]] + [np.pad(plane, (side, side)) for plane, side in zip(planes, border)]
    sn.viz.plot_image_grid(np.stack(images), path=figures["maps"], columns=9)
    print(f"  layer 1's pooling units are on {mean_activation:.3f} of the time")

    state = {key: value.numpy().copy() for key, value in cdbn.state_dict().items()}
    loss = sn.train.losses.SparseCategoricalCrossentropy(from_logits=True)
    accuracies = {}
    for kind in ("pretrained", "random"):
        sn.manual_seed(seed + 1)
        net = build()
        if kind == "pretrained":
            net.load_state_dict(state)
        net.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        net.fit(x_train[:labels], y_train[:labels], epochs=fine_tune_epochs, verbose=0,
                seed=seed + 1)
        accuracies[kind] = float(net.evaluate(x_test, y_test, verbose=0)[1])
    print(f"fine-tuned on {labels} labels: pre-trained {accuracies['pretrained']:.3f}, "
          f"random weights {accuracies['random']:.3f} (test accuracy)")
    import matplotlib.pyplot
    matplotlib.pyplot.close("all")
    print("figures saved:", ", ".join(figures.values()))
    return {"reconstruction_errors": errors, "pretrained_accuracy": accuracies["pretrained"],
            "random_accuracy": accuracies["random"], "mean_activation": mean_activation,
            "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A convolutional DBN on mnist_small.")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and sampling")
    parser.add_argument("--train-size", type=int, default=2000, help="digits to pre-train on")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed, train_size=arguments.train_size)
