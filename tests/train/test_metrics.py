"""Metrics: values against hand computations, Keras's resolution of "accuracy", state
round-trips for the all-reduce, and the error paths."""
import functools
import math

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.train import metrics
from somanet.train.metrics import (Accuracy, AutoAccuracy, BinaryAccuracy, CategoricalAccuracy,
                                   Mean, MeanAbsoluteError, MeanMetricWrapper, MeanSquaredError,
                                   Precision, Recall, SparseCategoricalAccuracy,
                                   SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy)

LOGITS = np.array([[2.0, 1.0, 0.1],
                   [0.2, 0.5, 3.0],
                   [1.0, 4.0, 0.0],
                   [0.3, 0.2, 0.1]], dtype=np.float32)
LABELS = np.array([0, 2, 2, 1])  # right, right, wrong (pred 1), wrong (pred 0)


# -- accuracies ---------------------------------------------------------------------------------

def test_sparse_categorical_accuracy_by_hand():
    metric = SparseCategoricalAccuracy()
    metric.update_state(sn.tensor(LABELS), sn.tensor(LOGITS))
    assert metric.result() == 0.5
    assert metric.get_state() == [2.0, 4.0]
    metric.update_state(sn.tensor([[1]]), sn.tensor(LOGITS[2:3]))  # (N, 1) labels: right
    assert metric.result() == pytest.approx(3 / 5)
    assert metric.name == "sparse_categorical_accuracy"


def test_sparse_accuracy_accepts_float_labels_and_arrays():
    metric = SparseCategoricalAccuracy()
    metric.update_state(LABELS.astype(np.float32), LOGITS)
    assert metric.result() == 0.5


def test_categorical_accuracy_by_hand():
    one_hot = np.eye(3, dtype=np.float32)[LABELS]
    metric = CategoricalAccuracy()
    metric.update_state(sn.tensor(one_hot), sn.tensor(LOGITS))
    assert metric.result() == 0.5


def test_binary_accuracy_probabilities_and_logits():
    probabilities = np.array([[0.9], [0.4], [0.6], [0.1]], dtype=np.float32)
    labels = np.array([1, 1, 0, 0])  # right, wrong, wrong, right
    metric = BinaryAccuracy()
    metric.update_state(labels, probabilities)  # (N,) against (N, 1)
    assert metric.result() == 0.5
    logits = np.log(probabilities / (1 - probabilities))
    with_logits = BinaryAccuracy(threshold=0.0)
    with_logits.update_state(labels, logits)
    assert with_logits.result() == 0.5


def test_accuracy_exact_match():
    metric = Accuracy()
    metric.update_state([1, 2, 3, 4], [1, 2, 0, 4])
    assert metric.result() == 0.75


def test_top_k_accuracies_by_hand():
    # rank of the label's score: sample 0 -> 1st, 1 -> 1st, 2 -> 3rd, 3 -> 2nd
    for k, expected in ((1, 0.5), (2, 0.75), (3, 1.0)):
        sparse = SparseTopKCategoricalAccuracy(k=k)
        sparse.update_state(LABELS, LOGITS)
        assert sparse.result() == expected
        dense = TopKCategoricalAccuracy(k=k)
        dense.update_state(np.eye(3)[LABELS], LOGITS)
        assert dense.result() == expected
    assert SparseTopKCategoricalAccuracy().k == 5


def test_top_k_ties_count_as_in():
    metric = SparseTopKCategoricalAccuracy(k=1)
    metric.update_state([1], np.array([[0.5, 0.5, 0.0]], dtype=np.float32))
    assert metric.result() == 1.0  # tf.math.in_top_k: a tie at the boundary is in


def test_sample_weight():
    metric = SparseCategoricalAccuracy()
    metric.update_state(LABELS, LOGITS, sample_weight=np.array([1.0, 1.0, 2.0, 0.0]))
    assert metric.result() == pytest.approx(2 / 4)  # (1 + 1 + 0 + 0) / (1 + 1 + 2 + 0)
    assert metric.get_state() == [2.0, 4.0]


# -- precision, recall, regression --------------------------------------------------------------

def test_precision_and_recall_by_hand():
    labels = np.array([1, 0, 1, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.6], dtype=np.float32)
    # predicted positive: 0, 1, 3, 5 -> TP = 2 (0, 3), FP = 2 (1, 5), FN = 1 (2)
    precision, recall = Precision(), Recall()
    precision.update_state(labels, scores)
    recall.update_state(labels, scores)
    assert precision.result() == 0.5
    assert recall.result() == pytest.approx(2 / 3)
    assert precision.get_state() == [2.0, 2.0]
    assert recall.get_state() == [2.0, 1.0]
    strict = Precision(threshold=0.85)
    strict.update_state(labels, scores)
    assert strict.result() == 1.0  # only sample 0 is predicted positive
    assert Precision().result() == 0.0  # nothing counted: 0, not a division by zero


def test_mae_mse_by_hand():
    y_true = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    y_pred = np.array([[1.5, 2.0], [2.0, 6.0]], dtype=np.float32)
    mae, mse = MeanAbsoluteError(), MeanSquaredError()
    mae.update_state(sn.tensor(y_true), sn.tensor(y_pred))
    mse.update_state(y_true, y_pred)
    assert mae.result() == pytest.approx((0.5 + 0 + 1 + 2) / 4)
    assert mse.result() == pytest.approx((0.25 + 0 + 1 + 4) / 4)


def test_mean_weighted_like_fit_keeps_the_loss():
    loss = Mean(name="loss")
    loss.update_state(sn.tensor(0.5), sample_weight=32)
    loss.update_state(0.2, sample_weight=8)
    assert loss.result() == pytest.approx((0.5 * 32 + 0.2 * 8) / 40)
    values = Mean()
    values.update_state(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    assert values.result() == 2.0
    assert Mean().result() == 0.0


def test_mean_does_not_keep_the_graph():
    w = sn.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    metric = Mean()
    metric.update_state(loss)
    assert metric.result() == 5.0


def test_result_is_a_python_float_and_updates_stay_float32_free():
    metric = SparseCategoricalAccuracy()
    metric.update_state(LABELS, LOGITS)
    assert type(metric.result()) is float
    assert all(type(value) is float for value in metric.get_state())


def test_metric_call_updates_and_returns():
    metric = BinaryAccuracy()
    assert metric([1, 0], np.array([0.9, 0.8], dtype=np.float32)) == 0.5
    metric.reset_state()
    assert metric.get_state() == [0.0, 0.0]


# -- state: get / set / merge -------------------------------------------------------------------

def test_state_round_trip_and_merge_equal_one_metric_over_all_data():
    whole = SparseCategoricalAccuracy()
    whole.update_state(LABELS, LOGITS)
    first, second = SparseCategoricalAccuracy(), SparseCategoricalAccuracy()
    first.update_state(LABELS[:1], LOGITS[:1])
    second.update_state(LABELS[1:], LOGITS[1:])
    # an all-reduce: sum the states, set the total everywhere
    summed = [a + b for a, b in zip(first.get_state(), second.get_state())]
    fresh = SparseCategoricalAccuracy()
    fresh.set_state(summed)
    assert fresh.result() == whole.result()
    first.merge_state(second)
    assert first.get_state() == whole.get_state()
    third = SparseCategoricalAccuracy()
    third.merge_state([first, second])
    assert third.get_state() == [a + b for a, b in zip(first.get_state(), second.get_state())]
    raw = Precision()
    raw.merge_state([3.0, 1.0])
    raw.merge_state(np.array([1.0, 1.0]).tolist())
    assert raw.result() == pytest.approx(4 / 6)


def test_state_errors():
    metric = Recall()
    with pytest.raises(ValueError, match=r"expected a list of 2 numbers \['true_positives', "
                                         r"'false_negatives'\]"):
        metric.set_state([1.0])
    with pytest.raises(TypeError, match="false_negatives must be a number, got str"):
        metric.set_state([1.0, "x"])
    with pytest.raises(TypeError, match="cannot merge a Precision"):
        metric.merge_state(Precision())


# -- errors -------------------------------------------------------------------------------------

def test_shape_errors_name_the_shapes_and_the_fix():
    with pytest.raises(ValueError, match=r"expected integer labels of shape \(4,\) .*got y_true "
                                         r"of shape \(4, 3\); y_true looks one-hot: use "
                                         r"CategoricalAccuracy"):
        SparseCategoricalAccuracy().update_state(np.eye(3)[LABELS], LOGITS)
    with pytest.raises(ValueError, match=r"got \(4,\); y_true looks like integer labels: use "
                                         r"SparseCategoricalAccuracy"):
        CategoricalAccuracy().update_state(LABELS, LOGITS)
    with pytest.raises(ValueError, match=r"y_true has shape \(3,\) and y_pred \(4,\)"):
        BinaryAccuracy().update_state([1, 0, 1], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\) does not fit"):
        Accuracy().update_state([1, 2, 3, 4], [1, 2, 3, 4], sample_weight=[1.0, 2.0, 3.0])


def test_argument_errors():
    with pytest.raises(ValueError, match="k must be an int >= 1, got 0"):
        SparseTopKCategoricalAccuracy(k=0)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        BinaryAccuracy(threshold=float("nan"))
    with pytest.raises(TypeError, match="name must be a string"):
        Accuracy(name=3)


# -- get() and Keras's "accuracy" ---------------------------------------------------------------

@pytest.mark.parametrize("loss, expected, threshold", [
    ("sparse_categorical_crossentropy", SparseCategoricalAccuracy, None),
    ("categorical_crossentropy", CategoricalAccuracy, None),
    ("binary_crossentropy", BinaryAccuracy, 0.5),
    (nn.BCELoss(), BinaryAccuracy, 0.5),
    (nn.BCEWithLogitsLoss(), BinaryAccuracy, 0.0),
    (nn.NLLLoss(), SparseCategoricalAccuracy, None),
    (sn.binary_cross_entropy_with_logits, BinaryAccuracy, 0.0),
])
def test_accuracy_resolves_from_the_loss(loss, expected, threshold):
    metric = metrics.get("accuracy", loss=loss)
    assert type(metric) is expected
    assert metric.name == "accuracy"
    if threshold is not None:
        assert metric.threshold == threshold


def test_accuracy_follows_what_a_user_loss_declares():
    class MySparseLoss:  # declared, not guessed from the name
        label_kind = "sparse"

        def __init__(self, from_logits=False):
            self.from_logits = from_logits

    class MyBinaryLoss(MySparseLoss):
        label_kind = "binary"

    class SparseCategoricalCrossentropy:  # a telling name declares nothing
        pass

    assert type(metrics.get("acc", MySparseLoss(True))) is SparseCategoricalAccuracy
    assert metrics.get("acc", MySparseLoss(True)).name == "acc"
    assert metrics.get("accuracy", MyBinaryLoss(from_logits=True)).threshold == 0.0
    assert metrics.get("accuracy", MyBinaryLoss()).threshold == 0.5
    assert type(metrics.get("accuracy", SparseCategoricalCrossentropy())) is AutoAccuracy
    partial = functools.partial(sn.binary_cross_entropy, reduction="mean")
    assert type(metrics.get("accuracy", partial)) is BinaryAccuracy

    def my_loss(y_true, y_pred):
        return ((y_pred - y_true) ** 2).mean()
    my_loss.label_kind = "categorical"
    assert type(metrics.get("accuracy", my_loss)) is CategoricalAccuracy
    my_loss.label_kind = "one-hot"
    with pytest.raises(ValueError, match="declares label_kind='one-hot'; expected one of "
                                         "sparse, categorical, binary"):
        metrics.get("accuracy", my_loss)


@pytest.mark.parametrize("y_true, y_pred, kind", [
    (LABELS, LOGITS, SparseCategoricalAccuracy),                      # (N,) vs (N, C)
    (LABELS[:, None], LOGITS, SparseCategoricalAccuracy),             # (N, 1) vs (N, C)
    (np.eye(3)[LABELS], LOGITS, CategoricalAccuracy),                 # one-hot
    (np.array([1, 0, 1, 0]), np.array([[0.9], [0.1], [0.2], [0.3]]), BinaryAccuracy),
    (np.array([1, 0, 1, 0]), np.array([0.9, 0.1, 0.2, 0.3]), BinaryAccuracy),
])
def test_accuracy_without_a_telling_loss_decides_from_shapes(y_true, y_pred, kind):
    for loss in (None, nn.CrossEntropyLoss(from_logits=False), "mse"):
        metric = metrics.get("accuracy", loss=loss)
        assert type(metric) is AutoAccuracy
        metric.update_state(y_true, y_pred.astype(np.float32))
        assert type(metric.kind) is kind
        assert metric.name == "accuracy"


def test_auto_accuracy_values():
    metric = metrics.get("accuracy", loss=nn.CrossEntropyLoss())
    metric.update_state(LABELS, LOGITS)
    assert metric.result() == 0.5
    binary = metrics.get("accuracy", loss=nn.CrossEntropyLoss(from_logits=True))
    binary.update_state([1, 0], np.array([[0.3], [-0.2]], dtype=np.float32))  # logits: cut at 0
    assert binary.result() == 1.0


@pytest.mark.parametrize("name, kind", [
    ("sparse_categorical_accuracy", SparseCategoricalAccuracy),
    ("categorical_accuracy", CategoricalAccuracy),
    ("binary_accuracy", BinaryAccuracy),
    ("top_k_categorical_accuracy", TopKCategoricalAccuracy),
    ("sparse_top_k_categorical_accuracy", SparseTopKCategoricalAccuracy),
    ("precision", Precision), ("recall", Recall),
    ("mae", MeanAbsoluteError), ("mean_absolute_error", MeanAbsoluteError),
    ("mse", MeanSquaredError), ("mean_squared_error", MeanSquaredError),
])
def test_get_by_name(name, kind):
    metric = metrics.get(name)
    assert type(metric) is kind and metric.name == name


def test_get_passes_objects_and_wraps_functions():
    metric = Precision()
    assert metrics.get(metric) is metric
    assert type(metrics.get(Recall)) is Recall

    def mean_error(y_true, y_pred):  # per-sample values
        return (y_pred - y_true).abs()

    wrapped = metrics.get(mean_error)
    assert isinstance(wrapped, MeanMetricWrapper) and wrapped.name == "mean_error"
    wrapped.update_state(sn.tensor([1.0, 2.0]), sn.tensor([2.0, 2.0]))
    wrapped.update_state(sn.tensor([0.0]), sn.tensor([3.0]))
    assert wrapped.result() == pytest.approx(4 / 3)
    batch_mean = metrics.get(lambda y_true, y_pred: float(np.mean(np.abs(
        np.asarray(y_pred) - np.asarray(y_true)))))
    batch_mean.update_state(np.array([1.0, 2.0]), np.array([2.0, 2.0]))  # mean 0.5 over 2
    batch_mean.update_state(np.array([0.0]), np.array([3.0]))             # 3 over 1
    assert batch_mean.result() == pytest.approx(4 / 3)  # weighted by the batch size


def test_get_errors_list_the_known_names():
    with pytest.raises(ValueError, match=r"unknown metric 'accuracyy'\. Did you mean "
                                         r"'accuracy'\? Known metrics: accuracy, acc, "
                                         r"sparse_categorical_accuracy"):
        metrics.get("accuracyy")
    with pytest.raises(TypeError, match="a metric must be a name .* got int 3"):
        metrics.get(3)


def test_loss_kind_rule():
    assert metrics.loss_kind("sparse_categorical_crossentropy") == ("sparse", False)
    assert metrics.loss_kind(nn.BCEWithLogitsLoss()) == ("binary", True)
    assert metrics.loss_kind(nn.CrossEntropyLoss()) == ("sparse_or_categorical", True)
    assert metrics.loss_kind(nn.NLLLoss()) == ("sparse", False)
    assert metrics.loss_kind(sn.cross_entropy) == ("sparse_or_categorical", True)
    assert metrics.loss_kind(sn.mse) == (None, False)
    assert metrics.loss_kind(None) == (None, False)


def test_repr():
    metric = SparseCategoricalAccuracy(name="acc")
    assert repr(metric) == "SparseCategoricalAccuracy(name='acc', total=0, count=0)"
    assert math.isfinite(metric.result())


# -- GPU ----------------------------------------------------------------------------------------

@pytest.mark.gpu
def test_metrics_on_the_gpu_match_the_cpu():
    if sn.gpu_count() == 0:
        pytest.skip("no GPU")
    device = sn.gpu(0)
    for metric_cpu, metric_gpu, labels in (
            (SparseCategoricalAccuracy(), SparseCategoricalAccuracy(), LABELS),
            (SparseTopKCategoricalAccuracy(k=2), SparseTopKCategoricalAccuracy(k=2), LABELS)):
        metric_cpu.update_state(LABELS, LOGITS)
        metric_gpu.update_state(sn.tensor(labels, device=device),
                                sn.tensor(LOGITS, device=device))
        assert metric_gpu.result() == metric_cpu.result()
    precision = Precision()
    precision.update_state(sn.tensor([1, 0], device=device),
                           sn.tensor([0.9, 0.8], device=device))
    assert precision.result() == 0.5
    with pytest.raises(ValueError, match="y_true is on cpu but y_pred on gpu:0"):
        Accuracy().update_state(np.array([1]), sn.tensor([1.0], device=device))
