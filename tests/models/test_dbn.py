"""Deep belief nets (somanet.models.dbn): greedy pre-training, fine-tuning with
compile/fit, resuming pre-training, saving; the convolutional DBN."""
import numpy as np
import pytest

import somanet as sn
from somanet import models


@pytest.fixture(scope="module")
def digits():
    x, y = sn.datasets.mnist_small("train")
    return x[:600], y[:600]


def classifier_loss():
    return sn.train.losses.SparseCategoricalCrossentropy(from_logits=True)


def test_greedy_pretraining_then_fine_tuning_learns(digits):
    x, y = digits
    sn.manual_seed(0)
    dbn = models.DBN((784, 64, 32), num_classes=10)
    assert [(rbm.n_visible, rbm.n_hidden) for rbm in dbn.rbms] == [(784, 64), (64, 32)]
    histories = dbn.pretrain(x, epochs=3, learning_rate=[0.1, 0.1], seed=0)
    assert len(histories) == 2
    for history in histories:  # each layer's reconstruction error falls
        losses = history.history["loss"]
        assert len(losses) == 3 and losses[-1] < losses[0]
    features = dbn.features(x[:4]).numpy()
    assert features.shape == (4, 32) and 0 <= features.min() <= features.max() <= 1
    dbn.compile(optimizer=lambda p: sn.optim.SGD(p, lr=0.1, momentum=0.9),
                loss=classifier_loss(), metrics=["accuracy"])
    history = dbn.fit(x[:200], y[:200], epochs=20, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.75
    _, accuracy = dbn.evaluate(x[400:], y[400:], verbose=0)
    assert accuracy > 0.65  # 200 labels, 600 digits pre-trained; chance is 0.1
    assert dbn.sample(3, steps=5).shape == (3, 784)


def test_pretraining_resumes_layer_by_layer(digits, tmp_path):
    x = digits[0][:200]

    def run(epochs, folder=None, resume=False):
        sn.manual_seed(0)
        dbn = models.DBN((784, 16, 8), num_classes=None)
        dbn.pretrain(x, epochs=epochs, seed=5, checkpoint_dir=folder, resume=resume)
        return dbn

    straight = run(2)
    run([2, 1], tmp_path)  # "interrupted" in the second layer's first epoch
    assert sorted(path.name for path in tmp_path.iterdir()) == ["layer_1", "layer_2"]
    resumed = run(2, tmp_path, resume=True)  # layer 1 restored, layer 2 continued
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key].numpy(), value.numpy())
    assert resumed(x[:3]).shape == (3, 8)  # no classifier: the top probabilities


def test_weights_round_trip_and_bad_input(tmp_path, digits):
    dbn = models.DBN((784, 16, 8), num_classes=10)
    path = tmp_path / "dbn.safetensors"
    sn.io.save_weights(path, dbn)
    copy = models.DBN((784, 16, 8), num_classes=10)
    sn.io.load_weights(path, copy)
    x = digits[0][:5]
    np.testing.assert_array_equal(copy(x).numpy(), dbn(x).numpy())
    with pytest.raises(ValueError, match=r"DBN.rbms\[0\].*values in \[0, 1\].*x / 255"):
        dbn(x * 255)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        models.DBN((784,))
    with pytest.raises(ValueError, match="3 entries for 2 layers"):
        dbn.pretrain(x, epochs=[1, 1, 1])


def test_convolutional_dbn_pretrains_and_fine_tunes(digits, tmp_path):
    x, y = digits
    sn.manual_seed(0)
    cdbn = models.ConvolutionalDBN(filters=(8, 8), kernel_sizes=(7, 4), pool_sizes=(2, 2),
                                   num_classes=10)
    assert cdbn.feature_shape == (8, 4, 4)  # 28 -7+1-> 22 -pool-> 11 -4+1-> 8 -pool-> 4
    histories = cdbn.pretrain(x[:160], epochs=2, seed=0)
    for history in histories:
        losses = history.history["loss"]
        assert losses[-1] < losses[0]
    assert cdbn.features(x[:2]).shape == (2, 8, 4, 4)
    cdbn.compile(optimizer="adam", loss=classifier_loss(), metrics=["accuracy"])
    history = cdbn.fit(x[:160], y[:160], epochs=3, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "cdbn.safetensors"
    sn.io.save_weights(path, cdbn)
    copy = models.ConvolutionalDBN(filters=(8, 8), kernel_sizes=(7, 4), num_classes=10)
    sn.io.load_weights(path, copy)
    np.testing.assert_allclose(copy(x[:3]).numpy(), cdbn(x[:3]).numpy(), rtol=1e-6)


def test_convolutional_dbn_shape_errors():
    with pytest.raises(ValueError, match="one entry per layer"):
        models.ConvolutionalDBN(filters=(8, 8), kernel_sizes=(7,))
    with pytest.raises(ValueError, match="too small for layer 2"):
        models.ConvolutionalDBN(filters=(8, 8), kernel_sizes=(7, 12))
