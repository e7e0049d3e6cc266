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


def test_pytorch_options_reach_the_functions():
    logits = sn.randn(6, 4)
    labels = sn.tensor([0, 3, -100, 1, 2, 2])
    weight = [1.0, 2.0, 0.5, 3.0]
    ce = nn.CrossEntropyLoss(weight=weight, ignore_index=-100, label_smoothing=0.1)
    np.testing.assert_allclose(ce(logits, labels).numpy(), sn.cross_entropy(
        logits, labels, weight=weight, label_smoothing=0.1).numpy(), rtol=1e-6)
    assert ce.weight.dtype == np.float32 and "weight" in ce.state_dict()  # a buffer
    assert "ignore_index=2" in repr(nn.CrossEntropyLoss(ignore_index=2))
    log_probs = sn.log_softmax(logits)
    nll = nn.NLLLoss(weight=weight, ignore_index=2)
    np.testing.assert_allclose(nll(log_probs, labels.clip(0)).numpy(), sn.nll(
        log_probs, labels.clip(0), weight=weight, ignore_index=2).numpy(), rtol=1e-6)
    bce = nn.BCEWithLogitsLoss(weight=[[1.0], [2.0]], pos_weight=[3.0, 1.0])
    x, t = sn.randn(2, 2), sn.tensor([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(bce(x, t).numpy(), sn.binary_cross_entropy_with_logits(
        x, t, weight=[[1.0], [2.0]], pos_weight=[3.0, 1.0]).numpy(), rtol=1e-6)
    assert nn.BCELoss(weight=[1.0, 2.0])(PRED, TARGET).item() == pytest.approx(
        sn.binary_cross_entropy(PRED, TARGET, weight=[1.0, 2.0]).item())
    assert nn.SmoothL1Loss(beta=0.5)(PRED, TARGET).item() == pytest.approx(
        sn.smooth_l1(PRED, TARGET, beta=0.5).item())
    kl = nn.KLDivLoss(reduction="batchmean", log_target=True)
    assert kl(log_probs, log_probs).item() == pytest.approx(0.0, abs=1e-6)
    assert repr(kl) == "KLDivLoss(reduction='batchmean', log_target=True)"


def test_pytorch_option_errors_name_the_loss():
    with pytest.raises(ValueError, match=r"SmoothL1Loss: beta must be a number >= 0"):
        nn.SmoothL1Loss(beta=-0.5)
    with pytest.raises(ValueError, match=r"KLDivLoss: reduction must be 'mean', 'batchmean', "
                                         r"'sum' or 'none', got 'avg'"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"MSELoss: reduction must be 'mean', 'sum' or 'none', "
                                         r"got 'batchmean'"):
        nn.MSELoss(reduction="batchmean")
    with pytest.raises(TypeError, match=r"CrossEntropyLoss: from_logits must be True or False, "
                                        r"got Tensor"):
        nn.CrossEntropyLoss(sn.ones(3))  # PyTorch's positional weight: a keyword here
    with pytest.raises(ValueError, match=r"NLLLoss: ignore_index must be an int"):
        nn.NLLLoss(ignore_index=0.5)
    with pytest.raises(ValueError, match=r"Sequential\[0\] \(CrossEntropyLoss\)|cross_entropy: "
                                         r"weight of shape \(3,\) does not match the 4 classes"):
        nn.CrossEntropyLoss(weight=[1.0, 1.0, 1.0])(sn.zeros(2, 4), sn.tensor([0, 1]))
