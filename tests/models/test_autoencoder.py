"""Autoencoders: the plain and denoising autoencoders and the VAE learn on a small subset of
mnist_small, save and load, resume, and refuse bad input clearly."""
import numpy as np
import pytest

import somanet as sn
from somanet import models
from somanet.models.autoencoders import negative_elbo


@pytest.fixture(scope="module")
def digits():
    x, y = sn.datasets.mnist_small("train")
    return x[:1000], y[:1000]


@pytest.fixture(scope="module")
def test_digits():
    x, y = sn.datasets.mnist_small("test")
    return x[:300], y[:300]


def mean_image_error(train, test):
    """The baseline: predict the training set's mean image for every test digit."""
    return float(((test - train.mean(axis=0)) ** 2).mean())


def test_the_builders_have_their_documented_sizes():
    assert models.autoencoder().num_parameters() == 419_120
    assert models.denoising_autoencoder().num_parameters() == 419_120
    assert models.vae().num_parameters() == 807_700
    ae = models.autoencoder(code_dim=2)
    assert ae(sn.zeros(3, 28, 28)).shape == (3, 28, 28)
    assert ae.encode(np.zeros((3, 28, 28), np.float32)).shape == (3, 2)


def test_reconstruction_error_falls_well_below_the_mean_image(digits, test_digits):
    x, _ = digits
    x_test, _ = test_digits
    ae = models.autoencoder(code_dim=32)
    ae.compile(learning_rate=0.003)
    history = ae.fit(x, epochs=4, batch_size=32, verbose=0, seed=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0]
    baseline = mean_image_error(x, x_test)
    error = ae.reconstruction_error(x_test)
    assert error < 0.5 * baseline, (error, baseline)  # measured ~0.025 against 0.067
    assert ae.predict(x_test[:4]).shape == (4, 28, 28)
    reconstructions = ae.reconstruct(x_test[:4])
    assert reconstructions.min() >= 0 and reconstructions.max() <= 1


def test_the_denoising_autoencoder_cleans_noisy_digits_better(digits, test_digits):
    x, _ = digits
    x_test, _ = test_digits
    sn.manual_seed(0)
    plain = models.autoencoder(code_dim=32)
    # Gaussian noise: with the paper's masking noise the plain autoencoder already fills in
    # most of the missing ink (the denoising one is ~4% better there; measured, 1,000
    # digits, 6 epochs), so the check would be too close to call.
    denoising = models.denoising_autoencoder(code_dim=32, noise="gaussian", noise_level=0.5)
    for model in (plain, denoising):
        model.compile(learning_rate=0.003)
        model.fit(x, epochs=5, batch_size=32, verbose=0, seed=0)
    sn.manual_seed(1)
    noisy = denoising.corrupt(x_test)
    assert noisy.shape == x_test.shape and ((noisy - x_test) ** 2).mean() > 0.1
    plain_error = plain.reconstruction_error(noisy, target=x_test)
    denoising_error = denoising.reconstruction_error(noisy, target=x_test)
    assert denoising_error < 0.8 * plain_error, (denoising_error, plain_error)  # ~0.036, 0.06
    # Clean inputs (evaluation mode: no noise) are not what it was trained on, yet it still
    # beats the mean image on them (~0.045 against 0.068).
    assert denoising.reconstruction_error(x_test) < 0.8 * mean_image_error(x, x_test)


def test_the_corruptions(digits):
    x = digits[0][:50]
    sn.manual_seed(0)
    for noise, level in (("masking", 0.3), ("salt_and_pepper", 0.2), ("gaussian", 0.3)):
        model = models.denoising_autoencoder(noise=noise, noise_level=level)
        noisy = model.corrupt(x)
        assert noisy.shape == x.shape and noisy.dtype == np.float32
        assert 0 <= noisy.min() and noisy.max() <= 1
        changed = (noisy != x).mean()
        assert changed > 0.05
    tensor = models.denoising_autoencoder().corrupt(sn.tensor(x))
    assert isinstance(tensor, sn.Tensor)


def test_the_vae_elbo_rises_and_its_terms_add_up(digits, test_digits):
    x, _ = digits
    x_test, _ = test_digits
    vae = models.vae(latent_dim=2)
    vae.compile(learning_rate=0.003)
    assert vae.loss is negative_elbo
    before = vae.elbo(x_test)
    history = vae.fit(x, epochs=4, batch_size=32, verbose=0, seed=0)
    after = vae.elbo(x_test)
    assert after["elbo"] == pytest.approx(-(after["reconstruction"] + after["kl"]))
    assert after["elbo"] > before["elbo"] + 200  # about -545 -> -190 nats per digit
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    assert after["kl"] > 0  # the code carries information about x
    assert vae.elbo(x_test) == after  # a seeded estimate: the same every call
    assert abs(vae.evaluate(x_test, x_test, verbose=0) + after["elbo"]) < 15
    codes = vae.encode(x_test)
    assert codes.shape == (300, 2) and np.isfinite(codes).all()
    samples = vae.sample(6, seed=0)
    assert samples.shape == (6, 28, 28) and 0 <= samples.min() and samples.max() <= 1
    np.testing.assert_array_equal(samples, vae.sample(6, seed=0))


def test_the_kl_term_is_the_closed_form():
    vae = models.vae(latent_dim=3, hidden=(8,))
    x = sn.tensor(np.random.default_rng(0).random((4, 28, 28), dtype=np.float32))
    mean, log_var = vae.posterior(x)
    _, _, kl = vae.negative_elbo(x, eps=sn.zeros(4, 3))
    mu, lv = mean.numpy().astype(np.float64), log_var.numpy().astype(np.float64)
    expected = (0.5 * (np.exp(lv) + mu ** 2 - 1 - lv)).sum(axis=1).mean()
    assert kl.item() == pytest.approx(expected, rel=1e-5)
    # With eps = 0 the sample is the mean: the reconstruction term is forward's.
    _, reconstruction, _ = vae.negative_elbo(x, eps=sn.zeros(4, 3))
    probabilities = vae(x).numpy().astype(np.float64).clip(1e-7, 1 - 1e-7)
    xs = x.numpy().astype(np.float64)
    bce = -(xs * np.log(probabilities) + (1 - xs) * np.log(1 - probabilities)).sum() / 4
    assert reconstruction.item() == pytest.approx(bce, rel=1e-3)


@pytest.mark.parametrize("build", [models.autoencoder, models.denoising_autoencoder,
                                   models.vae])
def test_weights_save_and_load(tmp_path, digits, build):
    x = digits[0][:64]
    model = build()
    model.compile()
    model.fit(x, epochs=1, batch_size=32, verbose=0, seed=0)
    path = tmp_path / "model.safetensors"
    sn.io.save_weights(path, model)
    fresh = build()
    sn.io.load_weights(path, fresh)
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))
    state = fresh.state_dict()
    assert any(key.startswith("encoder.") for key in state)
    assert any(key.startswith("decoder.") for key in state)


@pytest.mark.parametrize("build", [models.denoising_autoencoder, models.vae])
def test_fit_resumes_bit_for_bit(tmp_path, digits, build):
    x = digits[0][:128]

    def run(epochs, folder, resume=False):
        sn.manual_seed(5)
        model = build(hidden=(32,))
        model.compile()
        history = model.fit(x, epochs=epochs, batch_size=32, verbose=0, seed=3,
                            checkpoint_dir=folder, resume=resume)
        return model, history

    whole, whole_history = run(3, tmp_path / "whole")
    run(1, tmp_path / "parts")
    resumed, history = run(3, tmp_path / "parts", resume=True)
    for key, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key].numpy(), value.numpy())
    assert history.history["loss"] == whole_history.history["loss"]


def test_bad_input_gets_clear_errors(digits):
    with pytest.raises(ValueError, match="noise must be one of"):
        models.denoising_autoencoder(noise="dropout")
    with pytest.raises(ValueError, match="noise_level"):
        models.denoising_autoencoder(noise_level=1.5)
    with pytest.raises(TypeError, match="loss of a VAE is its negative ELBO"):
        models.vae().compile(loss="mse")
    vae = models.vae(latent_dim=2)
    vae.compile()
    with pytest.raises(RuntimeError, match="vae.negative_elbo"):
        negative_elbo(None, None)
    with pytest.raises(ValueError, match=r"\(N, 4\) values"):
        sn.models.VAE(sn.nn.Sequential(sn.nn.Flatten(), sn.nn.Dense(784, 3)),
                      sn.nn.Dense(2, 784), latent_dim=2).posterior(sn.zeros(1, 28, 28))
    ae = models.autoencoder()
    ae.compile()
    with pytest.raises(ValueError, match="784"):
        ae.fit(np.zeros((8, 20, 20), np.float32), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="encoder must be a somanet Module"):
        sn.models.Autoencoder("encoder", sn.nn.Dense(2, 4))
