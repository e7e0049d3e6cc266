"""LAMSTAR (somanet.models.lamstar): the reward/punish rule step by step, memory allocation,
a noisy-glyph recognition task it solves, resuming, saving, bad input."""
import numpy as np
import pytest

import somanet as sn
from somanet import models
from somanet.models.lamstar import image_patches

# 5 x 7 digit glyphs: each of the 7 rows is a sub-word of 5 pixels.
FONT = ["01110 10001 10011 10101 11001 10001 01110", "00100 01100 00100 00100 00100 00100 01110",
        "01110 10001 00001 00010 00100 01000 11111", "11111 00010 00100 00010 00001 10001 01110",
        "00010 00110 01010 10010 11111 00010 00010", "11111 10000 11110 00001 00001 10001 01110",
        "00110 01000 10000 11110 10001 10001 01110", "11111 00001 00010 00100 01000 01000 01000",
        "01110 10001 10001 01110 10001 10001 01110", "01110 10001 10001 01111 00001 00010 01100"]
GLYPHS = np.array([[[int(c) for c in row] for row in glyph.split()] for glyph in FONT],
                  dtype=np.float32)


def noisy_glyphs(per_class, flip, seed):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), per_class)
    images = GLYPHS[labels].copy()
    flipped = rng.random(images.shape) < flip
    images[flipped] = 1 - images[flipped]
    return images, labels


def test_reward_and_punishment_step_by_step():
    net = models.LAMSTAR(n_subwords=2, subword_size=2, n_classes=2, neurons=3, threshold=0.5,
                         reward=0.05, punishment=0.05, learning_rate=0.0)
    a = np.array([[1, 0], [1, 0]], dtype=np.float32)  # class 0
    b = np.array([[1, 0], [0, 1]], dtype=np.float32)  # class 1: shares module 0's sub-word
    active = np.array([True, True])
    # No memory yet: no decision; each module allocates a neuron, rewarded towards class 0.
    assert net.learn(a, active, 0) is False
    assert net.allocated() == [1, 1]
    np.testing.assert_allclose(net.links.numpy()[:, 0], [[0.05, 0], [0.05, 0]])
    # b: module 0's neuron wins again, module 1's is too far (distance sqrt 2): a new one.
    # The decision (class 0, from both old neurons) is wrong: those links are punished, the
    # winners' links to class 1 rewarded.
    assert net.learn(b, active, 1) is False
    assert net.allocated() == [1, 2]
    links = net.links.numpy()
    np.testing.assert_allclose(links[0, 0], [0.0, 0.05])
    np.testing.assert_allclose(links[1, 0], [0.0, 0.0])
    np.testing.assert_allclose(links[1, 1], [0.0, 0.05])
    # Module 0 sees the same sub-word in both classes, so its links swing with every
    # punishment; module 1's tell the classes apart and grow, until both are recognised.
    assert net.predict(np.stack([a, b])).argmax(axis=1).tolist() == [1, 1]
    history = net.fit(np.stack([a, b]), np.array([0, 1]), epochs=4, shuffle=False, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert net.predict(np.stack([a, b])).argmax(axis=1).tolist() == [0, 1]
    assert net.allocated() == [1, 2]  # no more memory needed


def test_zero_subwords_do_not_vote():
    net = models.LAMSTAR(n_subwords=3, subword_size=2, n_classes=2)
    x = np.array([[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0]], dtype=np.float32)
    net.fit(x, np.array([0, 1]), epochs=2, verbose=0)
    assert net.allocated() == [2, 0, 2]  # the blank middle sub-word allocated nothing
    assert net.accuracy(x, np.array([0, 1])) == 1.0


def test_recognises_noisy_glyphs_it_never_saw():
    x_train, y_train = noisy_glyphs(30, 0.05, seed=0)
    x_test, y_test = noisy_glyphs(50, 0.10, seed=1)
    net = models.LAMSTAR(n_subwords=7, subword_size=5, n_classes=10, neurons=16)
    history = net.fit(x_train, y_train, epochs=3, verbose=0, validation_data=(x_test, y_test))
    assert history.history["accuracy"][-1] > 0.95  # online training decisions
    assert history.history["val_accuracy"][-1] > 0.9  # 10% of the pixels flipped, unseen
    assert net.accuracy(GLYPHS, np.arange(10)) == 1.0  # the clean glyphs
    assert max(net.allocated()) <= 16 and len(history.history["allocated"]) == 3


def test_digits_as_patches():
    x, y = sn.datasets.mnist_small("train")
    patches = image_patches(x[:600], 7)
    assert patches.shape == (600, 16, 49)
    np.testing.assert_array_equal(patches[0, 1], x[0, :7, 7:14].ravel())
    net = models.LAMSTAR(n_subwords=16, subword_size=49, n_classes=10, neurons=32)
    net.fit(patches[:500], y[:500], epochs=1, verbose=0)
    assert net.accuracy(patches[500:], y[500:600]) > 0.5  # chance is 0.1
    with pytest.raises(ValueError, match="100 samples but y has 3500"):
        net.accuracy(patches[500:], y[500:])


def test_resume_and_round_trip(tmp_path):
    x, y = noisy_glyphs(10, 0.05, seed=0)

    def run(epochs, folder=None, resume=False):
        net = models.LAMSTAR(7, 5, 10, neurons=12, forgetting=0.01)
        history = net.fit(x, y, epochs=epochs, seed=4, verbose=0, checkpoint_dir=folder,
                          resume=resume)
        return net, history

    straight, history = run(3)
    run(1, tmp_path / "run")
    resumed, resumed_history = run(3, tmp_path / "run", resume=True)
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key].numpy(), value.numpy())
    assert resumed_history.history == history.history
    path = tmp_path / "lamstar.safetensors"
    sn.io.save_weights(path, straight)
    copy = models.LAMSTAR(7, 5, 10, neurons=12)
    sn.io.load_weights(path, copy)
    np.testing.assert_array_equal(copy.predict(x), straight.predict(x))
    pytest.importorskip("matplotlib")
    straight.plot_links(tmp_path / "links.png")
    assert (tmp_path / "links.png").stat().st_size > 1000


def test_bad_input():
    net = models.LAMSTAR(7, 5, 10)
    with pytest.raises(ValueError, match=r"expected \(N, 35\) or \(N, 7, 5\)"):
        net(np.zeros((2, 6, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        net.fit(GLYPHS, np.arange(10) + 1, verbose=0)
    with pytest.raises(ValueError, match="nan or inf"):
        net(np.full((1, 35), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="checkpoint_dir"):
        net.fit(GLYPHS, np.arange(10), resume=True, verbose=0)
    with pytest.raises(ValueError, match="multiples of 7"):
        image_patches(np.zeros((1, 10, 10)), 7)
