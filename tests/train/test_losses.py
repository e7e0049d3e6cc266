"""Keras-named losses: (y_true, y_pred) order, shapes lined up, names."""
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
