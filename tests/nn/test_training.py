"""End to end: tiny models trained a few steps with plain SGD by hand reduce their loss."""
import numpy as np

import somanet as sn
from somanet import nn


def sgd_steps(model, loss_fn, x, y, steps, lr):
    losses = []
    for _ in range(steps):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        with sn.no_grad():
            for param in model.parameters():
                param -= lr * param.grad
        losses.append(loss.item())
    return losses


def test_seed_three_layer_sigmoid_network_learns():
    # Seed 000: a 3-4-1 sigmoid network on four 3-bit images, trained by backprop.
    sn.manual_seed(0)
    x = sn.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    y = sn.tensor([[0.0], [1.0], [1.0], [0.0]])
    model = nn.Sequential(nn.Dense(4, activation="sigmoid"), nn.Dense(1, activation="sigmoid"))
    model(x)  # build the lazy layers before listing parameters
    losses = sgd_steps(model, nn.SSELoss(), x, y, steps=300, lr=2.0)
    assert losses[-1] < 0.5 * losses[0]


def test_classifier_with_dropout_and_batchnorm_reduces_cross_entropy():
    sn.manual_seed(1)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 3
    labels = rng.integers(0, 3, size=96)
    x = sn.tensor(centres[labels] + rng.normal(size=(96, 8)))
    y = sn.tensor(labels)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1D(16), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(16, 3))
    losses = sgd_steps(model, nn.CrossEntropyLoss(), x, y, steps=30, lr=0.1)
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    accuracy = (model(x).numpy().argmax(1) == labels).mean()
    assert accuracy > 0.9
