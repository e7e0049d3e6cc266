"""Small data and models shared by the train tests (fast: a few hundred numbers)."""
import numpy as np

import somanet as sn
from somanet import nn


def blobs(n=96, features=4, classes=3, seed=0):
    """Three well separated Gaussian blobs: (x float32 (n, features), y int64 (n,))."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, features)) * 3
    y = rng.integers(0, classes, size=n)
    x = (centres[y] + rng.normal(size=(n, features))).astype("float32")
    return x, y.astype("int64")


def regression(n=64, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ np.arange(1, features + 1, dtype="float32")[:, None]).astype("float32")
    return x, y


def classifier(features=4, classes=3, hidden=8, dropout=0.0, seed=0):
    sn.manual_seed(seed)
    layers = [sn.Input(shape=(features,)), nn.Dense(hidden, activation="relu")]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Dense(classes))
    return sn.Sequential(layers)


def logits_loss():
    return sn.train.losses.SparseCategoricalCrossentropy(from_logits=True)


def weights(model):
    return {key: value.numpy().copy() for key, value in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[key], b[key]) for key in a)
