"""Each optimiser fits y = 3x + 2 with two Parameters: the loss goes down."""
import numpy as np
import pytest

import somanet as sn
from somanet.nn.parameter import Parameter

SETTINGS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.3}),
    ("Adam", {"lr": 0.1}),
    ("AdamW", {"lr": 0.1, "weight_decay": 1e-4}),
    ("RMSprop", {"lr": 0.05}),
    ("Adagrad", {"lr": 0.5}),
    ("Rprop", {"lr": 0.1}),
    ("Manhattan", {"lr": 0.05}),
]


@pytest.mark.parametrize("name, options", SETTINGS, ids=[s[0] for s in SETTINGS])
def test_fit_a_line(name, options):
    x = sn.tensor(np.linspace(-1.0, 1.0, 32))
    y = 3 * x + 2
    w, b = Parameter(sn.zeros(1)), Parameter(sn.zeros(1))
    optimizer = getattr(sn.optim, name)([w, b], **options)
    losses = []
    for _ in range(100):
        optimizer.zero_grad()
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0], (name, losses[0], losses[-1])
    assert w.dtype == b.dtype == np.float32
    assert abs(w.item() - 3) < 0.2 and abs(b.item() - 2) < 0.2
