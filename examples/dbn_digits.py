"""A deep belief network: RBMs pre-trained greedily on unlabelled digits, then fine-tuned
as a classifier on a few hundred labels, against the same network from random weights.

The DBN (Hinton, Osindero & Teh 2006; ``somanet.models.dbn``) is 784 - 256 - 128 sigmoid
units with 10 logits on top. ``DBN.pretrain`` trains the 784 x 256 RBM by CD-1 on all
4,000 ``mnist_small`` training digits (their labels unused), then the 256 x 128 RBM on
its hidden probabilities, 10 epochs each (each RBM's visible biases first set from its
data, ``log(p / (1 - p))``). Fine-tuning is ``compile`` / ``fit``: the
pre-trained weights start a feed-forward net trained with labels by back-propagation.

The comparison: for 100, 300 and 1,000 labelled digits (the first ones of the training
set), the pre-trained DBN and the same architecture from random weights
(``models.mlp(hidden=(256, 128), activation="sigmoid")``, Glorot-uniform initialisation,
the framework's default) are fine-tuned identically (SGD, learning rate 0.1, momentum
0.9, 30 epochs, batches of 32) and tested on the 1,000 test digits. Measured with seed 0:

    labels   pre-trained DBN   random weights
      100        0.800            0.703
      300        0.877            0.790
     1000        0.907            0.869

Pre-training helps most when labels are scarce, the paper's point; with more labels the
gap narrows. The baseline depends on its optimiser: fine-tuned with Adam (learning rate
0.001) instead, the random net reaches 0.818 on 300 labels and the DBN 0.856: Adam's
large early steps wash out part of what pre-training put in the weights. The example
prints that comparison too.

Figures: ``dbn_accuracy.png`` (test accuracy against the number of labels, both nets)
and ``dbn_filters.png`` (the first RBM's 256 filters, 100 shown).

    python examples/dbn_digits.py [--out FOLDER] [--seed N] [--epochs N]
"""
import argparse
import os
import tempfile

import numpy as np

import somanet as sn
from somanet import models

SIZES = (784, 256, 128)


def fine_tune(model, x, y, x_test, y_test, epochs, optimizer, seed):
    """Train ``model`` on ``(x, y)``; returns its test accuracy."""
    loss = sn.train.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, seed=seed)
    return float(model.evaluate(x_test, y_test, verbose=0)[1])


def sgd(params):
    return sn.optim.SGD(params, lr=0.1, momentum=0.9)


def adam(params):
    return sn.optim.Adam(params, lr=1e-3)


def main(out=None, seed=0, epochs=10, label_counts=(100, 300, 1000), sizes=SIZES,
         train_size=None, fine_tune_epochs=30, compare_adam=True):
    """Pre-train, then fine-tune with each number of labels. ``train_size`` pre-trains on the
    first that many digits only (a fast test).

    Returns:
        ``{"pretrained": {labels: accuracy}, "random": {labels: accuracy},
        "adam": {"pretrained", "random"} (300 labels, or None), "reconstruction_errors"
        (each layer's last epoch), "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_dbn_")
    os.makedirs(out, exist_ok=True)
    figures = {"accuracy": os.path.join(out, "dbn_accuracy.png"),
               "filters": os.path.join(out, "dbn_filters.png")}
    x_train, y_train = sn.datasets.mnist_small("train")
    x_test, y_test = sn.datasets.mnist_small("test")
    unlabelled = x_train if train_size is None else x_train[:train_size]

    sn.manual_seed(seed)
    dbn = models.DBN(sizes, num_classes=10)
    print(f"pre-training {' - '.join(map(str, sizes))} on {len(unlabelled)} unlabelled digits")
    histories = dbn.pretrain(unlabelled, epochs=epochs, seed=seed)
    errors = [history.history["loss"][-1] for history in histories]
    for layer, error in enumerate(errors, start=1):
        print(f"  RBM {layer}: reconstruction error {error:.4f} after {epochs} epochs")
    dbn.plot_filters(figures["filters"], limit=100, columns=10)
    pretrained_state = {key: value.numpy().copy() for key, value in dbn.state_dict().items()}

    def pretrained_net():
        net = models.DBN(sizes, num_classes=10)
        net.load_state_dict(pretrained_state)
        return net

    def random_net():
        return models.mlp(input_shape=(28, 28), hidden=sizes[1:], activation="sigmoid",
                          dropout=0)

    results = {"pretrained": {}, "random": {}}
    print("labels   pre-trained DBN   random weights   (test accuracy, SGD fine-tuning)")
    for count in label_counts:
        x, y = x_train[:count], y_train[:count]
        for kind, build in (("pretrained", pretrained_net), ("random", random_net)):
            sn.manual_seed(seed + 1)
            results[kind][count] = fine_tune(build(), x, y, x_test, y_test, fine_tune_epochs,
                                             sgd, seed + 1)
        print(f"{count:6d}   {results['pretrained'][count]:15.3f}   "
              f"{results['random'][count]:14.3f}")
    adam_results = None
    if compare_adam:
        count = 300 if 300 in label_counts else label_counts[0]
        adam_results = {}
        for kind, build in (("pretrained", pretrained_net), ("random", random_net)):
            sn.manual_seed(seed + 1)
            adam_results[kind] = fine_tune(build(), x_train[:count], y_train[:count], x_test,
                                           y_test, fine_tune_epochs, adam, seed + 1)
        print(f"with Adam (lr 0.001) on {count} labels: pre-trained "
              f"{adam_results['pretrained']:.3f}, random {adam_results['random']:.3f}")

    counts = np.array(label_counts, dtype=float)
    sn.viz.plot_curves({"pre-trained DBN": (counts, np.array(list(results["pretrained"].values()))),
                        "random weights": (counts, np.array(list(results["random"].values())))},
                       path=figures["accuracy"], xlabel="labelled training digits",
                       ylabel="test accuracy (1,000 digits)",
                       title=f"DBN {'-'.join(map(str, sizes))}: pre-training vs random init")
    import matplotlib.pyplot
    matplotlib.pyplot.close("all")
    print("figures saved:", ", ".join(figures.values()))
    return {"pretrained": results["pretrained"], "random": results["random"],
            "adam": adam_results, "reconstruction_errors": errors, "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="DBN pre-training vs random init, few labels.")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling")
    parser.add_argument("--epochs", type=int, default=10, help="pre-training epochs per layer")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed, epochs=arguments.epochs)
