"""Keras-named losses: (y_true, y_pred) order, shapes lined up, names."""
import importlib.util
import os
import sys

import numpy as np
import pytest

import somanet as sn
from somanet.train import losses


def test_keras_order_and_values_match_the_ops():
    rng = np.random.default_rng(0)
    pred = sn.tensor(rng.normal(size=(6, 1)).astype("float32"))
    target = rng.normal(size=(6,)).astype("float32")  # (N,) against (N, 1): reshaped
    aligned = sn.tensor(target.reshape(6, 1))
    assert float(losses.MeanSquaredError()(target, pred)) == pytest.approx(
        float(sn.mse(pred, aligned)))
    assert float(losses.MeanAbsoluteError()(target, pred)) == pytest.approx(
        float(sn.mae(pred, aligned)))
    assert float(losses.Huber(delta=0.5)(target, pred)) == pytest.approx(
        float(sn.huber(pred, aligned, delta=0.5)))
    assert float(losses.SumSquaredError()(target, pred)) == pytest.approx(
        float(sn.sse(pred, aligned)))
    per_sample = losses.MeanSquaredError(reduction=None)(target, pred)
    assert per_sample.shape == (6,)


def test_cross_entropies():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], dtype="float32")
    labels = np.array([0, 2])
    expected = float(sn.cross_entropy(sn.tensor(logits), sn.tensor(labels)))
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(sparse(labels, logits)) == pytest.approx(expected, rel=1e-6)
    assert float(sparse(labels.reshape(2, 1), logits)) == pytest.approx(expected, rel=1e-6)
    assert float(sparse(labels.astype("float32"), logits)) == pytest.approx(expected, rel=1e-6)
    probs = sn.softmax(sn.tensor(logits), axis=-1)
    assert float(losses.SparseCategoricalCrossentropy()(labels, probs)) == pytest.approx(
        expected, rel=1e-5)
    onehot = np.eye(3, dtype="float32")[labels]
    assert float(losses.CategoricalCrossentropy(from_logits=True)(onehot, logits)) == \
        pytest.approx(expected, rel=1e-6)
    binary = losses.BinaryCrossentropy(from_logits=True)
    value = float(binary(np.array([1, 0]), np.array([[0.0], [0.0]], dtype="float32")))
    assert value == pytest.approx(np.log(2), rel=1e-6)
    with pytest.raises(TypeError, match="must hold integer class labels"):
        sparse(np.array([0.5, 1.0], dtype="float32"), logits)


def test_seed_004_initial_loss_is_about_log_10():
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(loss_fn([3], sn.zeros(1, 10))) == pytest.approx(np.log(10), rel=1e-6)


def test_names_and_unknown_names():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("Mean_Squared_Error"), losses.MeanSquaredError)
    assert isinstance(losses.get("sparse_categorical_crossentropy"),
                      losses.SparseCategoricalCrossentropy)
    assert not losses.get("categorical_crossentropy").from_logits  # Keras's default
    assert losses.get("sse").reduction == "sum"
    with pytest.raises(ValueError, match=r"unknown loss 'sparse_categorical_crossentrop'\. "
                                         r"Did you mean 'sparse_categorical_crossentropy'\? "
                                         r"Known losses: mse, "):
        losses.get("sparse_categorical_crossentrop")
    with pytest.raises(ValueError, match="reduction must be 'sum_over_batch_size'"):
        losses.MeanSquaredError(reduction="avg")


def test_kl_divergence_is_keras_s():
    y_true = np.array([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]], "float32")
    y_pred = np.array([[0.3, 0.7], [0.9, 0.1], [0.6, 0.4]], "float32")
    t, p = np.clip(y_true, 1e-7, 1), np.clip(y_pred, 1e-7, 1)
    per_sample = (t * np.log(t / p)).sum(-1)
    kld = losses.get("kld")
    assert isinstance(kld, losses.KLDivergence) and kld.name == "kl_divergence"
    assert float(kld(y_true, y_pred)) == pytest.approx(per_sample.mean(), rel=1e-6)
    np.testing.assert_allclose(losses.KLDivergence(reduction=None)(y_true, y_pred).numpy(),
                               per_sample, rtol=1e-6)
    assert float(losses.KLDivergence(reduction="sum")(y_true, y_pred)) == pytest.approx(
        per_sample.sum(), rel=1e-6)
    assert isinstance(losses.get("kullback_leibler_divergence"), losses.KLDivergence)


def test_sample_weight_scales_each_sample_and_the_mean_divides_by_the_count():
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(4, 3)).astype("float32")
    target = rng.normal(size=(4, 3)).astype("float32")
    weight = np.array([1.0, 0.0, 2.0, 0.5], "float32")
    per_sample = ((pred - target) ** 2).mean(-1)
    mse = losses.MeanSquaredError()
    assert float(mse(target, pred, sample_weight=weight)) == pytest.approx(
        (per_sample * weight).sum() / 4, rel=1e-6)  # Keras: over 4 samples, not sum(w)
    assert float(mse(target, pred, sample_weight=weight.reshape(4, 1))) == pytest.approx(
        (per_sample * weight).sum() / 4, rel=1e-6)
    np.testing.assert_allclose(
        losses.MeanSquaredError(reduction=None)(target, pred, sample_weight=weight).numpy(),
        per_sample * weight, rtol=1e-6)
    labels = np.array([0, 2, 1, 1])
    class_weight = np.array([1.0, 3.0, 0.5], "float32")  # a class weight, Keras's way
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    per_label = sn.cross_entropy(sn.tensor(pred), sn.tensor(labels), reduction="none").numpy()
    assert float(sparse(labels, pred, sample_weight=class_weight[labels])) == pytest.approx(
        (per_label * class_weight[labels]).sum(), rel=1e-6)
    with pytest.raises(ValueError, match=r"MeanSquaredError: sample_weight of shape \(3,\) does "
                                         r"not fit the per-sample losses of shape \(4,\)"):
        mse(target, pred, sample_weight=[1.0, 2.0, 3.0])


def test_ignore_class_leaves_those_labels_out_of_the_mean():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(5, 3)).astype("float32")
    labels = np.array([0, -1, 2, 1, -1])
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    kept = labels != -1
    per_label = sn.cross_entropy(sn.tensor(logits[kept]), sn.tensor(labels[kept]),
                                 reduction="none").numpy()
    assert float(sparse(labels, logits)) == pytest.approx(per_label.mean(), rel=1e-6)
    none = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1,
                                                reduction=None)(labels, logits).numpy()
    np.testing.assert_allclose(none[kept], per_label, rtol=1e-6)
    assert not none[~kept].any()
    assert float(sparse(np.full(5, -1), logits)) == 0.0  # Keras: nothing counts, 0 (not nan)
    weight = np.array([1.0, 9.0, 2.0, 0.5, 9.0], "float32")
    assert float(sparse(labels, logits, sample_weight=weight)) == pytest.approx(
        (per_label * weight[kept]).sum() / 3, rel=1e-6)
    assert sparse.get_config()["ignore_class"] == -1
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy: ignore_class must be "
                                         r"an int or None"):
        losses.SparseCategoricalCrossentropy(ignore_class=0.5)


def test_against_keras_where_installed():
    if "keras" not in sys.modules and importlib.util.find_spec("torch") is not None:
        os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on the torch we test with
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), 6).astype("float32")
    target = rng.dirichlet(np.ones(4), 6).astype("float32")
    labels = np.array([0, 3, -1, 1, 2, -1])
    logits = rng.normal(size=(6, 4)).astype("float32")
    weight = rng.uniform(0, 2, 6).astype("float32")
    pairs = [
        (losses.KLDivergence(), keras.losses.KLDivergence(), target, probs, None),
        (losses.KLDivergence(), keras.losses.KLDivergence(), target, probs, weight),
        (losses.MeanSquaredError(), keras.losses.MeanSquaredError(), target, probs, weight),
        (losses.Huber(delta=0.3), keras.losses.Huber(delta=0.3), target, probs, weight),
        (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
         keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
         labels, logits, None),
        (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
         keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
         labels, logits, weight),
    ]
    for ours, theirs, y_true, y_pred, sample_weight in pairs:
        expected = keras.ops.convert_to_numpy(theirs(y_true, y_pred, sample_weight=sample_weight))
        got = ours(y_true, y_pred, sample_weight=sample_weight).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6,
                                   err_msg=type(ours).__name__)
