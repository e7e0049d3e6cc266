"""RBMs (somanet.models.rbm): exact free energies and partition functions on models small
enough to enumerate, the exact log-likelihood rising under CD and PCD, the convolutional
RBM's probabilistic max-pooling against brute force, bad input, saving and resuming."""
import itertools

import numpy as np
import pytest

import somanet as sn
from somanet import models
from somanet.models.rbm import ExactLogLikelihood


def all_binary(count):
    return np.array(list(itertools.product([0, 1], repeat=count)), dtype=np.float32)


def bars(n=120, seed=0):
    """3 x 3 images, each one full row or one full column (6 patterns, equally likely)."""
    patterns = []
    for index in range(3):
        row, column = np.zeros((3, 3)), np.zeros((3, 3))
        row[index, :] = 1
        column[:, index] = 1
        patterns += [row.ravel(), column.ravel()]
    patterns = np.array(patterns, dtype=np.float32)
    return patterns[np.random.default_rng(seed).integers(0, 6, n)]


def random_rbm(n_visible=9, n_hidden=4, cls=models.RBM, seed=0, **kwargs):
    sn.manual_seed(seed)
    rbm = cls(n_visible, n_hidden, init_std=1.0, **kwargs)
    rng = np.random.default_rng(seed)
    rbm.visible_bias.data[...] = rng.normal(size=n_visible)
    rbm.hidden_bias.data[...] = rng.normal(size=n_hidden)
    return rbm


def brute_force_free_energy(rbm, v):
    """-log sum_h exp(-E(v, h)) with every hidden state enumerated."""
    hidden = all_binary(rbm.n_hidden)
    free = []
    for row in v:
        energies = rbm.energy(np.repeat(row[None], len(hidden), axis=0), hidden).numpy()
        free.append(-np.logaddexp.reduce(-energies.astype(np.float64)))
    return np.array(free)


# -- exactness -------------------------------------------------------------------------------


def test_free_energy_matches_a_brute_force_sum_over_the_hidden_states():
    rbm = random_rbm()
    v = all_binary(9)[::37]
    np.testing.assert_allclose(rbm.free_energy(v).numpy(), brute_force_free_energy(rbm, v),
                               rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("n_visible, n_hidden", [(9, 4), (3, 6)])  # either layer enumerated
def test_log_partition_is_exact_and_the_likelihood_sums_to_one(n_visible, n_hidden):
    rbm = random_rbm(n_visible, n_hidden)
    visible, hidden = all_binary(n_visible), all_binary(n_hidden)
    pairs_v = np.repeat(visible, len(hidden), axis=0)
    pairs_h = np.tile(hidden, (len(visible), 1))
    energies = rbm.energy(pairs_v, pairs_h).numpy().astype(np.float64)
    assert rbm.log_partition() == pytest.approx(np.logaddexp.reduce(-energies), rel=1e-6)
    log_p = rbm.log_likelihood(visible)
    assert log_p.dtype == np.float64 and log_p.shape == (2 ** n_visible,)
    assert np.exp(log_p.numpy()).sum() == pytest.approx(1.0, abs=1e-9)


def test_gaussian_bernoulli_free_energy_and_partition_function():
    rbm = random_rbm(2, 3, cls=models.GaussianBernoulliRBM, sigma=[0.7, 1.3])
    v = np.random.default_rng(1).normal(size=(5, 2)).astype(np.float32)
    np.testing.assert_allclose(rbm.free_energy(v).numpy(), brute_force_free_energy(rbm, v),
                               rtol=1e-5, atol=1e-4)
    # p(v) integrates to one: a fine grid over the visible plane.
    axis = np.linspace(-14, 14, 561)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2).astype(np.float32)
    density = np.exp(rbm.log_likelihood(grid).numpy())
    assert density.sum() * (axis[1] - axis[0]) ** 2 == pytest.approx(1.0, abs=2e-3)


def test_log_partition_refuses_models_too_big_to_enumerate():
    with pytest.raises(ValueError, match="at most 20 units"):
        models.RBM(784, 64).log_partition()


# -- learning ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persistent", [False, True], ids=["CD-1", "PCD-1"])
def test_exact_log_likelihood_of_the_training_data_rises(persistent):
    x = bars()
    sn.manual_seed(0)
    rbm = models.RBM(9, 4, k=1, persistent=persistent, chains=50 if persistent else None)
    rbm.compile(learning_rate=0.2)
    curve = ExactLogLikelihood(x)
    rbm.fit(x, epochs=30, batch_size=10, verbose=0, callbacks=[curve], seed=0)
    values = np.array(curve.values)
    assert len(values) == 31  # before training, then after each epoch
    assert values[0] == pytest.approx(-9 * np.log(2), abs=0.05)  # tiny weights: uniform
    # Never above the data's own negative entropy (six equally likely patterns): exactness.
    assert values.max() < np.log(1 / 6)
    assert values[-5:].mean() > values[:5].mean() + 1.5
    assert values[-1] > values[0] + 2.0


def test_cd_learns_digits_reconstruction_error_falls():
    x, _ = sn.datasets.mnist_small("train")
    x = x[:512]
    sn.manual_seed(0)
    rbm = models.RBM(784, 32, image_shape=(28, 28))
    rbm.init_visible_bias(x)
    rbm.compile()
    before = rbm.reconstruction_error(x)
    history = rbm.fit(x, epochs=8, batch_size=32, verbose=0, seed=0)
    losses = history.history["loss"]
    # From the mean image (the visible biases' start) to features that explain more.
    assert losses[-1] < losses[0] and rbm.reconstruction_error(x) < 0.75 * before
    assert rbm.evaluate(x, verbose=0) == pytest.approx(rbm.reconstruction_error(x), rel=1e-4)
    features = rbm.predict(x[:5])
    assert features.shape == (5, 32) and features.min() >= 0 and features.max() <= 1
    assert rbm.filters().shape == (32, 28, 28)


def test_gaussian_bernoulli_rbm_learns_standardised_data():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(2, 6))
    x = (centres[rng.integers(0, 2, 400)] + rng.normal(size=(400, 6))).astype(np.float32)
    x = (x - x.mean(0)) / x.std(0)
    sn.manual_seed(0)
    rbm = models.GaussianBernoulliRBM(6, 4)
    rbm.init_visible_bias(x)
    rbm.compile(learning_rate=0.05)
    before = rbm.log_likelihood(x).numpy().mean()
    rbm.fit(x, epochs=10, batch_size=20, verbose=0, seed=0)
    assert rbm.log_likelihood(x).numpy().mean() > before + 0.5


def test_sampling_and_gibbs_shapes():
    sn.manual_seed(0)
    rbm = models.RBM(9, 4)
    samples = rbm.sample(7, steps=5)
    assert samples.shape == (7, 9) and 0 <= samples.numpy().min() <= samples.numpy().max() <= 1
    chain = rbm.gibbs(bars(3), steps=2).numpy()
    assert chain.shape == (3, 9) and set(np.unique(chain)) <= {0.0, 1.0}
    gaussian = models.GaussianBernoulliRBM(4, 3).sample(5, steps=3)
    assert gaussian.shape == (5, 4)


# -- bad input ---------------------------------------------------------------------------------


def test_bernoulli_units_refuse_values_outside_zero_one():
    rbm = models.RBM(4, 2)
    rbm.compile()
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*0 to 255.*x / 255"):
        rbm.fit(np.array([[0, 255, 3, 1]] * 4, dtype=np.float32), verbose=0)
    with pytest.raises(ValueError, match="GaussianBernoulliRBM"):
        rbm.free_energy(np.array([[-0.5, 0.1, 0.2, 0.3]], dtype=np.float32))
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        rbm(np.full((1, 4), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match=r"expected \(N, 4\) visible values, got shape \(2, 5\)"):
        rbm(np.zeros((2, 5), dtype=np.float32))
    gaussian = models.GaussianBernoulliRBM(4, 2)
    assert gaussian.free_energy(np.array([[-3.0, 255, 1, 0]], dtype=np.float32)).shape == (1,)
    with pytest.raises(ValueError, match="nan or inf"):
        gaussian(np.full((1, 4), np.inf, dtype=np.float32))


def test_constructor_errors():
    with pytest.raises(ValueError, match="image_shape"):
        models.RBM(784, 10, image_shape=(28, 27))
    with pytest.raises(ValueError, match="persistent=True"):
        models.RBM(9, 4, chains=10)
    with pytest.raises(ValueError, match="sigma"):
        models.GaussianBernoulliRBM(3, 2, sigma=0.0)


# -- saving, loading, resuming -------------------------------------------------------------------


def test_weights_and_persistent_chains_round_trip_through_safetensors(tmp_path):
    sn.manual_seed(0)
    rbm = models.RBM(9, 4, persistent=True, chains=8)
    rbm.compile()
    rbm.fit(bars(40), epochs=1, batch_size=10, verbose=0)
    path = tmp_path / "rbm.safetensors"
    sn.io.save_weights(path, rbm)
    copy = models.RBM(9, 4, persistent=True, chains=8)
    sn.io.load_weights(path, copy)
    assert list(copy.state_dict()) == ["weight", "visible_bias", "hidden_bias", "chains"]
    for key, value in rbm.state_dict().items():
        np.testing.assert_array_equal(copy.state_dict()[key].numpy(), value.numpy())
    assert copy.log_partition() == rbm.log_partition()


def test_pcd_resumes_from_its_checkpoint_bit_for_bit(tmp_path):
    x = bars(60)

    def run(epochs, folder=None, resume=False):
        sn.manual_seed(1)
        rbm = models.RBM(9, 4, persistent=True, chains=10)
        rbm.compile()
        rbm.fit(x, epochs=epochs, batch_size=10, verbose=0, seed=3, checkpoint_dir=folder,
                resume=resume)
        return rbm

    straight = run(3)
    run(1, tmp_path)
    resumed = run(3, tmp_path, resume=True)
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key].numpy(), value.numpy())


def test_filters_figure(tmp_path):
    pytest.importorskip("matplotlib")
    rbm = models.RBM(16, 6, image_shape=(4, 4))
    path = tmp_path / "filters.png"
    rbm.plot_filters(path)
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="image_shape"):
        models.RBM(16, 6).plot_filters()


# -- the convolutional RBM -----------------------------------------------------------------------


def tiny_conv_rbm(visible="bernoulli"):
    sn.manual_seed(0)
    rbm = models.ConvRBM(1, 2, kernel_size=2, pool_size=2, visible=visible, init_std=1.0)
    rbm.hidden_bias.data[...] = [0.3, -0.2]
    rbm.visible_bias.data[...] = [0.1]
    return rbm


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_conv_rbm_free_energy_matches_brute_force_over_pooled_states(visible):
    # 3 x 3 images, two 2 x 2 filters: each group is one 2 x 2 block, so 5 states a group
    # (all off, or exactly one unit on): 25 hidden configurations in all.
    rbm = tiny_conv_rbm(visible)
    rng = np.random.default_rng(0)
    v = (rng.random((6, 1, 3, 3)) < 0.5) if visible == "bernoulli" else rng.normal(
        size=(6, 1, 3, 3))
    v = v.astype(np.float32)
    group_states = [np.zeros((2, 2))] + [np.eye(4)[i].reshape(2, 2) for i in range(4)]
    hidden = np.array([np.stack([a, b]) for a in group_states for b in group_states],
                      dtype=np.float32)
    expected = []
    for image in v:
        energies = rbm.energy(np.repeat(image[None], len(hidden), axis=0), hidden).numpy()
        expected.append(-np.logaddexp.reduce(-energies.astype(np.float64)))
    np.testing.assert_allclose(rbm.free_energy(v).numpy(), expected, rtol=1e-5, atol=1e-4)
    # The pooling unit is on with the total probability of its block's units.
    probabilities = rbm.hidden_probabilities(v).numpy()
    np.testing.assert_allclose(probabilities.sum(axis=(2, 3)),
                               rbm.pool_probabilities(v).numpy()[:, :, 0, 0], rtol=1e-5)


def test_conv_rbm_sampler_keeps_at_most_one_unit_per_block_with_the_right_frequencies():
    rbm = models.ConvRBM(1, 3, kernel_size=3, pool_size=2, init_std=1.0)
    image = (np.random.default_rng(0).random((1, 1, 7, 7)) < 0.5).astype(np.float32)
    probabilities = rbm.hidden_probabilities(np.repeat(image, 4000, axis=0))
    assert probabilities.shape == (4000, 3, 5, 5)  # 5 x 5 maps, 2 x 2 blocks: row 5 and column 5
    samples = rbm.sample_hidden(np.repeat(image, 4000, axis=0)).numpy()
    blocks = samples[:, :, :4, :4].reshape(4000, 3, 2, 2, 2, 2).sum(axis=(3, 5))
    assert blocks.max() == 1  # probabilistic max-pooling: at most one unit on per block
    assert samples[:, :, 4, :].max() == 0 and samples[:, :, :, 4].max() == 0  # no block there
    np.testing.assert_allclose(samples.mean(axis=0), probabilities.numpy()[0], atol=0.03)


def test_conv_rbm_learns_digits_and_pools():
    x, _ = sn.datasets.mnist_small("train")
    x = x[:192]
    sn.manual_seed(0)
    rbm = models.ConvRBM(1, 8, kernel_size=7, pool_size=2)
    rbm.compile()
    history = rbm.fit(x, epochs=3, batch_size=32, verbose=0, seed=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert rbm(x[:2]).shape == (2, 8, 11, 11)
    assert rbm.filters_array().shape == (8, 1, 7, 7)


def test_conv_rbm_bad_input():
    rbm = models.ConvRBM(1, 2, kernel_size=5, pool_size=2)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        rbm(np.full((1, 1, 8, 8), 2.0, dtype=np.float32))
    with pytest.raises(ValueError, match="too small"):
        rbm(np.zeros((1, 1, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expected images \(N, 1, H, W\)"):
        rbm(np.zeros((1, 2, 8, 8), dtype=np.float32))


def test_conv_rbm_weights_round_trip(tmp_path):
    rbm = models.ConvRBM(1, 4, kernel_size=3, pool_size=2)
    path = tmp_path / "crbm.safetensors"
    sn.io.save_weights(path, rbm)
    copy = models.ConvRBM(1, 4, kernel_size=3, pool_size=2, init_std=0.5)
    sn.io.load_weights(path, copy)
    np.testing.assert_array_equal(copy.weight.numpy(), rbm.weight.numpy())
