"""Loss classes: each wraps its function and passes its settings on."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn

PRED = sn.tensor([[0.2, 0.8], [0.6, 0.4]])
TARGET = sn.tensor([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("layer, function", [
    (nn.SSELoss(), lambda p, t: sn.ops.sse(p, t)),
    (nn.MSELoss(), lambda p, t: sn.ops.mse(p, t)),
    (nn.MAELoss(reduction="sum"), lambda p, t: sn.ops.mae(p, t, reduction="sum")),
    (nn.HuberLoss(0.3), lambda p, t: sn.ops.huber(p, t, delta=0.3)),
    (nn.BCELoss(reduction="none"), lambda p, t: sn.ops.binary_cross_entropy(p, t, "none")),
    (nn.BCEWithLogitsLoss(), lambda p, t: sn.ops.binary_cross_entropy_with_logits(p, t)),
    (nn.CrossEntropyLoss(from_logits=False), lambda p, t: sn.ops.cross_entropy(
        p, t, from_logits=False)),
    (nn.CrossEntropyLoss(label_smoothing=0.1), lambda p, t: sn.ops.cross_entropy(
        p, t, label_smoothing=0.1)),
])
def test_layer_equals_function(layer, function):
    np.testing.assert_allclose(layer(PRED, TARGET).numpy(), function(PRED, TARGET).numpy(),
                               rtol=1e-6)


def test_sse_is_half_the_sum_of_squares():
    assert nn.SSELoss()(PRED, TARGET).item() == pytest.approx(0.5 * (0.04 * 2 + 0.16 * 2))


def test_cross_entropy_and_nll_with_integer_labels():
    logits = sn.randn(5, 4)
    labels = sn.tensor([0, 3, 1, 1, 2])
    ce = nn.CrossEntropyLoss()(logits, labels)
    nll = nn.NLLLoss()(nn.LogSoftmax()(logits), labels)
    assert ce.item() == pytest.approx(nll.item(), rel=1e-5)
    assert nn.CrossEntropyLoss(reduction="none")(logits, labels).shape == (5,)


def test_bad_settings():
    with pytest.raises(ValueError, match=r"MSELoss: reduction must be 'mean', 'sum' or 'none'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.CrossEntropyLoss(label_smoothing=2)
    with pytest.raises(ValueError, match="delta must be > 0"):
        nn.HuberLoss(0)


def test_repr():
    assert repr(nn.MSELoss()) == "MSELoss(reduction='mean')"
    assert repr(nn.SSELoss()) == "SSELoss(reduction='sum')"
