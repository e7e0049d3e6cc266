"""Losses beyond the registry sweep (cases_loss.py): agreement with PyTorch, the
uniform-classifier value log(10), extreme logits, the fused cross-entropy
node, target conversions and every error path."""
import math

import numpy as np
import pytest

import somanet as sn
from somanet.ops import loss as L

from .cases_loss import cross_entropy_reference

LOSSES = {
    "sse": sn.sse, "mse": sn.mse, "mae": sn.mae, "huber": sn.huber,
    "binary_cross_entropy": sn.binary_cross_entropy,
    "binary_cross_entropy_with_logits": sn.binary_cross_entropy_with_logits,
    "cross_entropy": sn.cross_entropy, "nll": sn.nll, "smooth_l1": sn.smooth_l1,
}


# -- values worth knowing -------------------------------------------------------------------

def test_uniform_logits_over_ten_classes_give_log_ten():
    logits = sn.zeros((32, 10), requires_grad=True)
    labels = sn.tensor(np.arange(32) % 10)
    loss = sn.cross_entropy(logits, labels)
    assert loss.dtype == np.float32
    assert loss.item() == pytest.approx(math.log(10), abs=1e-6)
    assert loss.item() == pytest.approx(2.3026, abs=1e-4)
    loss.backward()
    expected = np.full((32, 10), 0.1) - np.eye(10)[np.arange(32) % 10]
    np.testing.assert_allclose(logits.grad.numpy(), expected / 32, atol=1e-7)


def test_sse_is_half_the_sum_of_squared_errors():
    # E = 1/2 sum (d - z)^2 = 1/2 (1 + 4) for predictions z = (1, 2) and targets d = 0.
    pred = sn.tensor([1.0, 2.0], requires_grad=True)
    loss = sn.sse(pred, sn.tensor([0.0, 0.0]))
    assert loss.item() == pytest.approx(2.5)
    loss.backward()
    np.testing.assert_allclose(pred.grad.numpy(), [1.0, 2.0])  # dE/dz = z - d
    assert sn.sse(pred, [0.0, 0.0], reduction="mean").item() == pytest.approx(1.25)


@pytest.mark.parametrize("options", [
    dict(), dict(label_smoothing=0.1), dict(reduction="sum"), dict(reduction="none")])
def test_extreme_logits_give_finite_loss_and_gradient(options):
    logits = sn.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]],
                       requires_grad=True)
    for target in (sn.tensor([1, 0, 2]), sn.tensor(np.eye(3, dtype=np.float32)[[1, 0, 2]])):
        loss = sn.cross_entropy(logits, target, **options)
        assert np.isfinite(loss.numpy()).all()
        loss.sum().backward()
        assert np.isfinite(logits.grad.numpy()).all()
        logits.grad = None
    # The correct class with a huge margin costs nothing; a tie of two costs log 2.
    per_sample = sn.cross_entropy(logits, sn.tensor([0, 2, 0]), reduction="none")
    np.testing.assert_allclose(per_sample.numpy(), [0, 0, math.log(2)], atol=1e-6)


def test_extreme_binary_inputs_give_finite_loss_and_gradient():
    logits = sn.tensor([1e4, -1e4, 0.0, 50.0], requires_grad=True)
    target = sn.tensor([0.0, 1.0, 1.0, 1.0])
    loss = sn.binary_cross_entropy_with_logits(logits, target, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, math.log(2), 0.0], rtol=1e-6,
                               atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), [1, -1, -0.5, 0], atol=1e-6)
    probs = sn.tensor([0.0, 1.0, 1.0, 0.0], requires_grad=True)
    loss = sn.binary_cross_entropy(probs, sn.tensor([1.0, 0.0, 1.0, 0.0]))
    assert np.isfinite(loss.item()) and loss.item() > 5  # log(0) clipped to log(1e-7)
    loss.backward()
    assert np.isfinite(probs.grad.numpy()).all()


def test_probabilities_with_zeros_give_finite_cross_entropy():
    probs = sn.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    loss = sn.cross_entropy(probs, sn.tensor([1, 1]), from_logits=False)
    assert loss.item() == pytest.approx(-math.log(1e-7) / 2, rel=1e-3)
    loss.backward()
    assert np.isfinite(probs.grad.numpy()).all()


def test_sparse_cross_entropy_from_logits_is_one_fused_node():
    logits = sn.randn(4, 5, requires_grad=True)
    loss = sn.cross_entropy(logits, sn.tensor([0, 1, 4, 2]))
    assert isinstance(loss.grad_fn, L.SparseSoftmaxCrossEntropy)
    assert loss.grad_fn.parents[0][0] is logits  # straight from the leaf: no chain of ops


# -- against PyTorch ------------------------------------------------------------------------

@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("sparse", [True, False], ids=["labels", "probabilities"])
def test_cross_entropy_matches_torch(smoothing, reduction, sparse):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for shape, axis in (((6, 5), -1), ((3, 5, 4), 1)):  # torch's (N, C, d) is our axis=1
        logits = (rng.standard_normal(shape) * 3).astype(np.float32)
        if sparse:
            target = rng.integers(0, 5, shape[:1] + shape[2:])
        else:
            target = rng.random(shape).astype(np.float32)
            target /= target.sum(axis=1, keepdims=True)
        ours = sn.tensor(logits, requires_grad=True)
        theirs = torch.tensor(logits, requires_grad=True)
        loss = sn.cross_entropy(ours, sn.tensor(target), label_smoothing=smoothing, axis=axis,
                                reduction=reduction)
        expected = torch.nn.functional.cross_entropy(theirs, torch.tensor(target),
                                                     label_smoothing=smoothing,
                                                     reduction=reduction)
        assert loss.dtype == np.float32
        np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-5,
                                   atol=1e-5)
        grad = rng.standard_normal(loss.shape).astype(np.float32)
        loss.backward(sn.tensor(grad))
        expected.backward(torch.tensor(grad))
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((5, 3)) * 2).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    probs = rng.uniform(0.01, 0.99, (5, 3)).astype(np.float32)
    unit = rng.random((5, 3)).astype(np.float32)
    log_probs = np.log(rng.dirichlet(np.ones(3), 5)).astype(np.float32)
    labels = rng.integers(0, 3, 5)
    pairs = [
        (sn.mse, functional.mse_loss, a, b, {}),
        (sn.mae, functional.l1_loss, a, b, {}),
        (sn.huber, functional.huber_loss, a, b, {}),
        (lambda p, t, **k: sn.huber(p, t, delta=0.5, **k),
         lambda p, t, **k: functional.huber_loss(p, t, delta=0.5, **k), a, b, {}),
        (sn.binary_cross_entropy, functional.binary_cross_entropy, probs, unit, {}),
        (sn.binary_cross_entropy_with_logits, functional.binary_cross_entropy_with_logits, a,
         unit, {}),
        (sn.nll, functional.nll_loss, log_probs, labels, {}),
    ]
    for ours_fn, torch_fn, first, second, _ in pairs:
        ours = [sn.tensor(first, requires_grad=True), sn.tensor(second)]
        theirs = [torch.tensor(first, requires_grad=True), torch.tensor(second)]
        loss = ours_fn(*ours, reduction=reduction)
        expected = torch_fn(*theirs, reduction=reduction)
        np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        grad = np.ones(loss.shape, np.float32)
        loss.backward(sn.tensor(grad))
        expected.backward(torch.tensor(grad))
        np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-4,
                                   atol=1e-6)


# -- targets --------------------------------------------------------------------------------

def test_integer_and_array_targets_are_converted():
    pred = sn.tensor([0.5, 1.5])
    assert sn.mse(pred, sn.tensor([0, 1])).dtype == np.float32
    assert sn.mse(pred, sn.tensor([0, 1])).item() == pytest.approx(0.25)
    assert sn.mse(pred, np.array([0.0, 1.0])).item() == pytest.approx(0.25)
    assert sn.mse(pred, [0, 1]).item() == pytest.approx(0.25)
    logits = sn.randn(3, 4)
    np.testing.assert_allclose(sn.cross_entropy(logits, [0, 3, 1]).numpy(),
                               sn.cross_entropy(logits, sn.tensor([0, 3, 1])).numpy())


def test_cross_entropy_from_probabilities_matches_the_reference():
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(4), 6).astype(np.float32)
    labels = rng.integers(0, 4, 6)
    loss = sn.cross_entropy(sn.tensor(probs), sn.tensor(labels), from_logits=False,
                            label_smoothing=0.1)
    np.testing.assert_allclose(loss.numpy(), cross_entropy_reference(
        probs, labels, from_logits=False, label_smoothing=0.1), rtol=1e-5)


# -- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LOSSES))
def test_bad_reduction_is_a_value_error_naming_the_loss(name):
    with pytest.raises(ValueError, match=rf"{name}: reduction must be 'mean', 'sum' or 'none', "
                                         rf"got 'avg'"):
        LOSSES[name](sn.zeros((2, 3)), sn.zeros((2, 3)), reduction="avg")


def test_label_past_the_classes_names_it_and_the_class_count():
    with pytest.raises(ValueError, match=r"cross_entropy: class label 10 is out of range: the "
                                         r"input has 10 classes, so labels must be in \[0, 9\]"):
        sn.cross_entropy(sn.zeros((3, 10)), sn.tensor([1, 10, 4]))


def test_negative_labels_are_an_error():
    with pytest.raises(ValueError, match=r"cross_entropy: negative class label -1 in the "
                                         r"target; labels must be in \[0, 2\] for 3 classes"):
        sn.cross_entropy(sn.zeros((2, 3)), sn.tensor([-1, 0]))
    with pytest.raises(ValueError, match=r"nll: class label 3 is out of range"):
        sn.nll(sn.zeros((2, 3)), sn.tensor([3, 0]))


def test_label_shape_that_does_not_match():
    with pytest.raises(ValueError, match=r"cross_entropy: integer target \(class labels\) of "
                                         r"shape \(4, 1\) does not match the input of shape "
                                         r"\(4, 10\): expected labels of shape \(4,\)"):
        sn.cross_entropy(sn.zeros((4, 10)), sn.zeros((4, 1), dtype="int64"))
    with pytest.raises(ValueError, match=r"a one-hot target must be float"):
        sn.cross_entropy(sn.zeros((2, 3)), sn.tensor([[0, 1, 0], [1, 0, 0]]))


def test_float_target_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"cross_entropy: float target \(probabilities or "
                                         r"one-hot\) of shape \(4,\) does not match the input "
                                         r"of shape \(4, 10\): expected the same shape "
                                         r"\(4, 10\); for class labels pass an integer tensor"):
        sn.cross_entropy(sn.zeros((4, 10)), sn.zeros(4))


def test_non_float_input_is_a_type_error():
    with pytest.raises(TypeError, match=r"cross_entropy: expected float logits or "
                                        r"probabilities, got dtype int64 \(shape \(2, 3\)\)"):
        sn.cross_entropy(sn.tensor([[1, 2, 3], [4, 5, 6]]), sn.tensor([0, 1]))
    with pytest.raises(TypeError, match=r"mse: expected float predictions, got dtype int64"):
        sn.mse(sn.tensor([1, 2]), sn.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"nll: expected a Tensor of log-probabilities, got "
                                        r"list"):
        sn.nll([[0.0]], sn.tensor([0]))


def test_regression_target_shape_mismatch():
    with pytest.raises(ValueError, match=r"mse: target of shape \(4,\) does not match the input "
                                         r"of shape \(4, 1\); expected the same shape"):
        sn.mse(sn.zeros((4, 1)), sn.zeros(4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target of shape "
                                         r"\(3,\) does not match the input of shape \(2,\)"):
        sn.binary_cross_entropy_with_logits(sn.zeros(2), sn.zeros(3))


def test_float_target_of_another_dtype():
    with pytest.raises(TypeError, match="sse: the target has dtype float64 but the input has "
                                        "float32"):
        sn.sse(sn.zeros(2), sn.zeros(2, dtype="float64"))


@pytest.mark.parametrize("smoothing", [-0.1, 1.5, "0.1"])
def test_label_smoothing_outside_zero_one(smoothing):
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        sn.cross_entropy(sn.zeros((2, 3)), sn.tensor([0, 1]), label_smoothing=smoothing)


def test_class_axis_out_of_range_and_zero_d_input():
    with pytest.raises(ValueError, match=r"cross_entropy: axis 2 is out of range for an input "
                                         r"of shape \(2, 3\)"):
        sn.cross_entropy(sn.zeros((2, 3)), sn.tensor([0, 1]), axis=2)
    with pytest.raises(ValueError, match="cross_entropy: the input must have a class axis"):
        sn.cross_entropy(sn.tensor(0.0), sn.tensor(0))


def test_huber_delta_and_bce_eps_are_checked():
    with pytest.raises(ValueError, match="huber: delta must be a positive number, got 0"):
        sn.huber(sn.zeros(2), sn.zeros(2), delta=0)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: eps must be in \(0, 0.5\)"):
        sn.binary_cross_entropy(sn.zeros(2), sn.zeros(2), eps=0.0)


# -- the PyTorch options: weight, ignore_index, pos_weight, beta, kl_div ---------------------

TORCH_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0, 0.25], np.float32)


def _torch_agreement(ours_fn, torch_fn, first, rest, torch_rest=None, grad_atol=1e-6):
    """Loss and input gradient of ours_fn(first, *rest) against torch_fn; the max abs diffs."""
    torch = pytest.importorskip("torch")
    ours_input = sn.tensor(first, requires_grad=True)
    theirs_input = torch.tensor(first, requires_grad=True)
    loss = ours_fn(ours_input, *[sn.tensor(value) for value in rest])
    expected = torch_fn(theirs_input, *[torch.tensor(value) for value in (torch_rest or rest)])
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    seed = np.random.default_rng(7).standard_normal(loss.shape).astype(np.float32)
    loss.backward(sn.tensor(seed))
    expected.backward(torch.tensor(seed))
    np.testing.assert_allclose(ours_input.grad.numpy(), theirs_input.grad.numpy(), rtol=1e-5,
                               atol=grad_atol)
    return (float(np.abs(loss.numpy() - expected.detach().numpy()).max(initial=0)),
            float(np.abs(ours_input.grad.numpy() - theirs_input.grad.numpy()).max(initial=0)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [
    dict(weight=True), dict(ignore_index=-100), dict(ignore_index=2),
    dict(weight=True, ignore_index=-100, label_smoothing=0.2),
    dict(weight=True, label_smoothing=0.1), dict(ignore_index=-100, label_smoothing=0.3),
], ids=lambda options: "-".join(options))
@pytest.mark.parametrize("layout", ["N,C", "N,C,d"])
def test_cross_entropy_weight_and_ignore_index_match_torch(options, reduction, layout):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    shape, axis = ((8, 5), -1) if layout == "N,C" else ((3, 5, 4), 1)
    logits = (rng.standard_normal(shape) * 3).astype(np.float32)
    labels = rng.integers(0, 5, shape[:1] + shape[2:])
    labels.flat[::3] = options.get("ignore_index", labels.flat[0])
    settings = dict(options, reduction=reduction)
    if settings.pop("weight", False):
        settings["weight"] = TORCH_WEIGHT
    ours = dict(settings, weight=None if "weight" not in settings else sn.tensor(TORCH_WEIGHT))
    theirs = dict(settings, weight=None if "weight" not in settings else
                  torch.tensor(TORCH_WEIGHT))
    _torch_agreement(lambda x, t: sn.cross_entropy(x, t, axis=axis, **ours),
                     lambda x, t: torch.nn.functional.cross_entropy(x, t, **theirs),
                     logits, [labels])
    log_probs = np.log(rng.dirichlet(np.ones(5), shape[:1] + shape[2:])).astype(np.float32)
    log_probs = np.moveaxis(log_probs, -1, 1)
    nll_options = {k: v for k, v in ours.items() if k != "label_smoothing"}
    nll_torch = {k: v for k, v in theirs.items() if k != "label_smoothing"}
    _torch_agreement(lambda x, t: sn.nll(x, t, axis=1, **nll_options),
                     lambda x, t: torch.nn.functional.nll_loss(x, t, **nll_torch),
                     log_probs, [labels])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_weight_with_probability_targets_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    logits = (rng.standard_normal((6, 5)) * 2).astype(np.float32)
    target = rng.dirichlet(np.ones(5), 6).astype(np.float32)
    _torch_agreement(
        lambda x, t: sn.cross_entropy(x, t, weight=sn.tensor(TORCH_WEIGHT), label_smoothing=0.1,
                                      reduction=reduction),
        lambda x, t: torch.nn.functional.cross_entropy(x, t, weight=torch.tensor(TORCH_WEIGHT),
                                                       label_smoothing=0.1,
                                                       reduction=reduction),
        logits, [target])


def test_every_label_ignored_gives_nan_mean_and_zero_gradient_as_torch():
    torch = pytest.importorskip("torch")
    logits = sn.randn(3, 4, requires_grad=True)
    labels = np.full(3, -100)
    loss = sn.cross_entropy(logits, sn.tensor(labels))
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits.numpy()),
                                                 torch.tensor(labels))
    assert np.isnan(loss.item()) and np.isnan(expected.item())
    loss.backward()
    assert not logits.grad.numpy().any()
    assert sn.cross_entropy(logits, sn.tensor(labels), reduction="sum").item() == 0


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_weight_and_pos_weight_match_torch(reduction):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(5)
    logits = (rng.standard_normal((6, 3)) * 3).astype(np.float32)
    probs = rng.uniform(0.02, 0.98, (6, 3)).astype(np.float32)
    target = rng.random((6, 3)).astype(np.float32)
    weight = rng.uniform(0, 2, (6, 1)).astype(np.float32)
    pos_weight = np.array([0.5, 2.0, 4.0], np.float32)
    _torch_agreement(lambda x, t, w: sn.binary_cross_entropy(x, t, weight=w, reduction=reduction),
                     lambda x, t, w: functional.binary_cross_entropy(x, t, weight=w,
                                                                     reduction=reduction),
                     probs, [target, weight])
    for w in (None, weight):
        _torch_agreement(
            lambda x, t, c: sn.binary_cross_entropy_with_logits(
                x, t, weight=None if w is None else sn.tensor(w), pos_weight=c,
                reduction=reduction),
            lambda x, t, c: functional.binary_cross_entropy_with_logits(
                x, t, weight=None if w is None else torch.tensor(w), pos_weight=c,
                reduction=reduction),
            logits, [target, pos_weight])


@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0, 0.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smooth_l1_matches_torch(beta, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    pred = (rng.standard_normal((5, 4)) * 2).astype(np.float32)
    target = rng.standard_normal((5, 4)).astype(np.float32)
    _torch_agreement(lambda x, t: sn.smooth_l1(x, t, beta=beta, reduction=reduction),
                     lambda x, t: torch.nn.functional.smooth_l1_loss(x, t, beta=beta,
                                                                      reduction=reduction),
                     pred, [target])


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides the total loss")
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_kl_div_matches_torch(reduction, log_target):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    log_q = np.log(rng.dirichlet(np.ones(4), 6)).astype(np.float32)
    p = rng.dirichlet(np.ones(4), 6).astype(np.float32)
    p[0, 1] = 0  # 0 log 0 = 0
    target = np.log(p + 1e-3).astype(np.float32) if log_target else p
    _torch_agreement(lambda x, t: sn.kl_div(x, t, reduction=reduction, log_target=log_target),
                     lambda x, t: torch.nn.functional.kl_div(x, t, reduction=reduction,
                                                              log_target=log_target),
                     log_q, [target])


def test_ignore_index_errors_name_the_label_and_the_rule():
    with pytest.raises(ValueError, match=r"cross_entropy: negative class label -1 in the "
                                         r"target; labels must be in \[0, 3\] for 4 classes or "
                                         r"equal ignore_index \(-100\)"):
        sn.cross_entropy(sn.zeros((3, 4)), sn.tensor([0, -100, -1]))
    with pytest.raises(ValueError, match=r"nll: class label 7 is out of range: the input has 4 "
                                         r"classes, so labels must be in \[0, 3\] or equal "
                                         r"ignore_index \(7\)|class label 9"):
        sn.nll(sn.zeros((3, 4)), sn.tensor([7, 9, 0]), ignore_index=7)
    with pytest.raises(ValueError, match=r"cross_entropy: ignore_index must be an int \(a label "
                                         r"value to ignore; PyTorch's default -100\), got float"):
        sn.cross_entropy(sn.zeros((2, 3)), sn.tensor([0, 1]), ignore_index=1.0)
    with pytest.raises(ValueError, match=r"cross_entropy: ignore_index=0 applies to integer "
                                         r"class labels only"):
        sn.cross_entropy(sn.zeros((2, 3)), sn.zeros((2, 3)), ignore_index=0)


def test_weight_errors():
    with pytest.raises(ValueError, match=r"cross_entropy: weight of shape \(3,\) does not match "
                                         r"the 4 classes of the input \(shape \(2, 4\), classes "
                                         r"along axis 1\); expected one weight per class, shape "
                                         r"\(4,\)"):
        sn.cross_entropy(sn.zeros((2, 4)), sn.tensor([0, 1]), weight=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"nll: weight has dtype float64 but the input has "
                                        r"float32"):
        sn.nll(sn.zeros((2, 3)), sn.tensor([0, 1]), weight=sn.ones(3, dtype="float64"))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight of shape "
                                         r"\(4,\) does not broadcast to the input's shape "
                                         r"\(2, 3\); expected a shape such as \(3,\)"):
        sn.binary_cross_entropy_with_logits(sn.zeros((2, 3)), sn.zeros((2, 3)),
                                            pos_weight=[1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(2, 3, 1\) "
                                         r"does not broadcast"):
        sn.binary_cross_entropy(sn.zeros((2, 3)), sn.zeros((2, 3)), weight=sn.ones((2, 3, 1)))


def test_smooth_l1_and_kl_div_arguments_are_checked():
    with pytest.raises(ValueError, match=r"smooth_l1: beta must be a number >= 0 \(0 is the L1 "
                                         r"loss\), got -1.0"):
        sn.smooth_l1(sn.zeros(2), sn.zeros(2), beta=-1.0)
    with pytest.raises(ValueError, match=r"kl_div: reduction must be 'mean', 'batchmean', 'sum' "
                                         r"or 'none', got 'avg'"):
        sn.kl_div(sn.zeros(2), sn.zeros(2), reduction="avg")
    with pytest.raises(TypeError, match=r"kl_div: log_target must be True or False"):
        sn.kl_div(sn.zeros(2), sn.zeros(2), log_target="yes")
