"""GAN and DCGAN: the players learn on a small subset of mnist_small, samples look like the
data's, saving, loading and resuming work, and bad input gets a clear error."""
import os

import numpy as np
import pytest

import somanet as sn
from somanet import models, nn
from somanet.backend import to_numpy
from somanet.train import EarlyStopping, LambdaCallback


@pytest.fixture(scope="module")
def digits():
    x, _ = sn.datasets.mnist_small("train")
    return x[:512]


def small_gan(**options):
    return models.gan(latent_dim=16, hidden=(64, 128), **options)


def test_the_builders_have_their_documented_sizes():
    gan = models.gan()
    assert gan.num_parameters() == 1_083_921
    assert gan.generator.num_parameters() == 550_416
    dcgan = models.dcgan()
    assert dcgan.num_parameters() == 280_130
    assert dcgan.generator.num_parameters() == 243_489
    for model in (gan, dcgan):
        assert model.sample(3, seed=0).shape == (3, 28, 28)
        assert model.discriminate(np.zeros((3, 28, 28), np.float32)).shape == (3,)
    assert models.dcgan(image_shape=(3, 16, 16), filters=8).sample(2).shape == (2, 3, 16, 16)


def _mean_correlation(samples):
    """The mean Pearson correlation between every two samples: ~1 when the generator makes
    one image whatever the noise."""
    flat = samples.reshape(len(samples), -1).astype(np.float64)
    return np.corrcoef(flat)[np.triu_indices(len(flat), 1)].mean()


def test_the_gan_learns_on_a_small_subset(digits):
    sn.manual_seed(0)  # the weights and the noise: the game's course depends on them
    gan = small_gan()
    gan.compile(learning_rate=1e-3)  # DCGAN's 2e-4 needs more than these 64 steps
    history = gan.fit(digits, epochs=4, batch_size=32, verbose=0, seed=0)
    logs = history.history
    assert sorted(logs) == ["d_accuracy", "d_fake", "d_loss", "d_real", "g_loss"]
    assert all(len(values) == 4 for values in logs.values())
    # The discriminator learns to tell real from fake (from 0.5 to 0.76-0.91 over the 4
    # epochs, for seeds 0-4)...
    assert max(logs["d_accuracy"]) > 0.7
    assert all(real > fake for real, fake in zip(logs["d_real"], logs["d_fake"]))
    # ...but does not win outright: the game stays a game. D(G(z)) ~0.58 -> ~0.35 and
    # g_loss ~0.6 -> ~1.3 here; a discriminator fed [0, 1] pixels (before it saw 2x - 1)
    # pushed D(G(z)) to ~0.03 in the first epoch, g_loss to ~8, and the generator
    # collapsed onto one blob, every sample alike (mean correlation 0.99).
    assert min(logs["d_fake"]) > 0.2, logs["d_fake"]
    assert max(logs["g_loss"]) < 2.5, logs["g_loss"]
    after = gan.sample(256, seed=1)
    assert after.shape == (256, 28, 28) and after.dtype == np.float32
    assert 0 <= after.min() and after.max() <= 1
    assert _mean_correlation(after) < 0.9  # 0.54-0.74 for seeds 0-4 (the real digits: ~0.3)
    assert not gan.training  # fit leaves the model in evaluation mode


def test_the_discriminator_of_models_gan_sees_centred_pixels():
    # D's first layer sees 2x - 1; with raw [0, 1] pixels the fully connected GAN
    # collapses (see the test above). Both networks' parameter counts are unchanged.
    gan = models.gan(latent_dim=4, hidden=(8,))
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    first = gan.discriminator[0]
    out = first(sn.Tensor(x))
    np.testing.assert_allclose(to_numpy(out.data), 2 * x - 1, atol=1e-6)
    assert out.dtype == np.float32 and not list(first.parameters())


def test_the_dcgan_and_the_minimax_loss_train(digits):
    dcgan = models.dcgan(latent_dim=16, filters=4, generator_loss="minimax")
    history = dcgan.fit(digits[:128], epochs=1, batch_size=64, verbose=0, seed=0)
    logs = history.history
    assert logs["g_loss"][0] < 0  # log(1 - D(G(z))) is negative
    assert 0 < logs["d_loss"][0] < 2
    samples = dcgan.sample(5)
    assert samples.shape == (5, 28, 28) and 0 <= samples.min() and samples.max() <= 1


def test_samples_grids_per_epoch_and_callbacks(tmp_path, digits):
    gan = small_gan()
    seen = []
    history = gan.fit(digits[:128], epochs=2, batch_size=64, verbose=0, seed=0,
                      sample_dir=tmp_path / "grids", samples=16,
                      callbacks=[LambdaCallback(on_epoch_end=lambda epoch, logs:
                                                seen.append((epoch, sorted(logs))))])
    names = sorted(os.listdir(tmp_path / "grids"))
    assert names == ["samples_epoch_001.png", "samples_epoch_002.png"]
    from matplotlib import image
    pixels = image.imread(tmp_path / "grids" / names[-1])
    assert min(pixels.shape[:2]) >= 200 and pixels.std() > 0.01
    assert seen == [(0, sorted(history.history)), (1, sorted(history.history))]
    # A callback ends training through stop_training; EarlyStopping finds the GAN's keys.
    def stop_after_two(epoch, logs):
        gan.stop_training = epoch == 1

    history = gan.fit(digits[:128], epochs=10, batch_size=64, verbose=0,
                      callbacks=[EarlyStopping(monitor="g_loss", patience=20),
                                 LambdaCallback(on_epoch_end=stop_after_two)])
    assert history.epoch == [0, 1]


def test_weights_save_and_load(tmp_path, digits):
    gan = models.dcgan(latent_dim=16, filters=4)
    gan.fit(digits[:64], epochs=1, batch_size=32, verbose=0, seed=0)
    path = tmp_path / "gan.safetensors"
    sn.io.save_weights(path, gan)
    fresh = models.dcgan(latent_dim=16, filters=4)
    sn.io.load_weights(path, fresh)
    np.testing.assert_array_equal(fresh.sample(8, seed=3), gan.sample(8, seed=3))
    np.testing.assert_array_equal(fresh.discriminate(digits[:8]), gan.discriminate(digits[:8]))
    keys = list(gan.state_dict())
    assert any(k.startswith("generator.") and k.endswith("running_mean") for k in keys)
    assert any(k.startswith("discriminator.") for k in keys)


def test_fit_resumes_bit_for_bit(tmp_path, digits):
    data = digits[:96]

    def run(epochs, folder, resume=False):
        sn.manual_seed(11)
        gan = models.dcgan(latent_dim=8, filters=4)
        history = gan.fit(data, epochs=epochs, batch_size=32, verbose=0, seed=2,
                          checkpoint_dir=folder, resume=resume)
        return gan, history

    whole, whole_history = run(3, tmp_path / "whole")
    run(2, tmp_path / "parts")  # killed after two epochs
    resumed, history = run(3, tmp_path / "parts", resume=True)
    for key, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key].numpy(), value.numpy(),
                                      err_msg=key)
    assert history.history == whole_history.history
    assert history.epoch == [0, 1, 2]
    for name in ("g_optimizer", "d_optimizer"):
        steps = getattr(resumed, name).state_dict()["steps"]
        assert steps == getattr(whole, name).state_dict()["steps"] and steps[0] == 9
    info = sn.io.load_checkpoint(tmp_path / "parts")
    assert info["epoch"] == 3 and len(info["history"]["g_loss"]) == 3
    # A finished run trains no further.
    again, history = run(3, tmp_path / "parts", resume=True)
    np.testing.assert_array_equal(again.sample(4, seed=0), whole.sample(4, seed=0))


def test_compile_takes_optimisers():
    gan = small_gan()
    gan.compile(g_optimizer="sgd", d_optimizer=sn.optim.SGD, learning_rate=0.05)
    assert type(gan.g_optimizer).__name__ == "SGD"
    assert gan.d_optimizer.param_groups[0]["lr"] == 0.05
    gan.compile()
    assert gan.g_optimizer.param_groups[0]["betas"] == (0.5, 0.999)
    assert gan.g_optimizer.param_groups[0]["lr"] == 2e-4
    with pytest.raises(ValueError, match="g_optimizer must optimise the generator's"):
        gan.compile(g_optimizer=sn.optim.Adam(gan.discriminator.parameters()))


def test_bad_input_gets_clear_errors(tmp_path, digits):
    gan = small_gan()
    with pytest.raises(ValueError, match=r"samples have shape \(32, 32\).*generator makes "
                                         r"samples of shape \(28, 28\)"):
        gan.fit(np.zeros((8, 32, 32), np.float32), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"lies in \[0, 255\].*\[0, 1\].*x / 255"):
        gan.fit(digits[:8] * 255, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="nan or inf"):
        gan.fit(np.full((4, 28, 28), np.nan, np.float32), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        gan.fit(digits[:8], epochs=1, verbose=0, resume=True)
    with pytest.raises(ValueError, match="generator_loss must be one of"):
        models.gan(generator_loss="wasserstein")
    with pytest.raises(ValueError, match="divisible by 4"):
        models.dcgan(image_shape=(30, 30))
    wide = models.GAN(nn.Sequential(nn.Dense(4, 784), nn.Reshape(28, 28)),
                      nn.Sequential(nn.Flatten(), nn.Dense(784, 3)), latent_dim=4)
    with pytest.raises(ValueError, match=r"one logit per sample.*shape \(2, 3\)"):
        wide.fit(digits[:8], epochs=1, verbose=0)
    with pytest.raises(TypeError, match="generator must be a somanet Module"):
        models.GAN(lambda z: z, nn.Dense(2, 1), latent_dim=2)
    with pytest.raises(ValueError, match=r"z must have shape \(n, 16\)"):
        gan.sample(2, z=np.zeros((2, 3), np.float32))
    with pytest.raises(FileNotFoundError):
        sn.io.load_checkpoint(tmp_path / "nothing")


def test_classify_samples_counts_confident_samples_per_class():
    class Fixed(nn.Module):  # logits that make samples 0-2 confident 3s, 3 a doubtful 5
        def forward(self, x):
            logits = np.zeros((x.shape[0], 10), np.float32)
            logits[:3, 3] = 10.0
            logits[3, 5] = 1.0
            return sn.tensor(logits)

    result = models.classify_samples(Fixed(), np.zeros((4, 28, 28), np.float32))
    assert result["confident"] == 0.75 and result["classes"] == 1
    assert result["counts"] == [0, 0, 0, 3, 0, 0, 0, 0, 0, 0]
    assert result["predictions"].tolist() == [3, 3, 3, 5]
    with pytest.raises(ValueError, match="threshold must be in"):
        models.classify_samples(Fixed(), np.zeros((1, 28, 28), np.float32), threshold=0)
    with pytest.raises(ValueError, match=r"expected \(10,\) class logits"):
        models.classify_samples(nn.Sequential(nn.Flatten(), nn.Dense(784, 3)),
                                np.zeros((2, 28, 28), np.float32))


def test_the_generator_average(tmp_path, digits):
    gan = models.dcgan(latent_dim=8, filters=4, ema_decay=0.9)
    for average, weight in zip(gan.generator_ema.parameters(), gan.generator.parameters()):
        np.testing.assert_array_equal(average.numpy(), weight.numpy())  # a copy at first
    start = [param.numpy().copy() for param in gan.generator.parameters()]
    gan.fit(digits[:64], epochs=1, batch_size=32, verbose=0, seed=0)
    weights = list(gan.generator.parameters())
    averages = list(gan.generator_ema.parameters())
    assert not any(average.requires_grad for average in averages)
    assert gan.g_optimizer.parameters() == weights  # the average is not trained
    # Two generator steps: w_avg = 0.81 w0 + 0.09 w1 + 0.1 w2, strictly between w0 and w2.
    for first, last, average in zip(start, weights, averages):
        moved = np.abs(last.numpy() - first).max()
        if moved > 0:
            assert 0 < np.abs(average.numpy() - first).max() < moved
    for average, buffer in zip(gan.generator_ema.buffers(), gan.generator.buffers()):
        np.testing.assert_array_equal(average.numpy(), buffer.numpy())
    # sample() draws from the average; save and load keep it.
    with sn.no_grad():
        expected = gan.generator_ema.eval()(gan.noise(3, seed=4)).numpy()
    np.testing.assert_array_equal(gan.sample(3, seed=4), expected)
    sn.io.save_weights(tmp_path / "gan.safetensors", gan)
    fresh = models.dcgan(latent_dim=8, filters=4, ema_decay=0.9)
    sn.io.load_weights(tmp_path / "gan.safetensors", fresh)
    np.testing.assert_array_equal(fresh.sample(3, seed=4), expected)
    with pytest.raises(ValueError, match="ema_decay must be in"):
        models.gan(ema_decay=1.0)
    # A lazy generator's average starts from the generator's weights.
    lazy = models.GAN(nn.Sequential(nn.Dense(784, activation="sigmoid"), nn.Reshape(28, 28)),
                      nn.Sequential(nn.Flatten(), nn.Dense(1)), latent_dim=4, ema_decay=0.5)
    lazy.compile()
    for average, weight in zip(lazy.generator_ema.parameters(), lazy.generator.parameters()):
        np.testing.assert_array_equal(average.numpy(), weight.numpy())


def test_three_train_steps_match_torch(digits):
    # The players' updates are exactly torch's for the same weights, noise and data: D's
    # step sees G(z) detached, G's step leaves D's weights alone, the losses' signs and
    # labels and Adam's betas (0.5, 0.999) are the ones of the papers.
    torch = pytest.importorskip("torch")
    sn.manual_seed(0)
    gan = models.gan(latent_dim=8, hidden=(16, 32), dropout=0.0)  # no random masks
    gan.compile()
    n = 16
    real = digits[:n]
    z = np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32)
    gan.noise = lambda count, seed=None: sn.Tensor(z)

    def twin(network, *last):
        layers = []
        for layer in network:
            if isinstance(layer, nn.Dense):
                linear = torch.nn.Linear(layer.in_features, layer.out_features)
                with torch.no_grad():
                    linear.weight.copy_(torch.tensor(to_numpy(layer.weight.data).T))
                    linear.bias.copy_(torch.tensor(to_numpy(layer.bias.data)))
                layers.append(linear)
            elif isinstance(layer, nn.LeakyReLU):
                layers.append(torch.nn.LeakyReLU(0.2))
        return torch.nn.Sequential(*layers, *last)

    generator = twin(gan.generator, torch.nn.Sigmoid())
    discriminator = twin(gan.discriminator)
    g_optimizer = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = torch.nn.BCEWithLogitsLoss()
    x, noise = torch.tensor(real.reshape(n, -1)), torch.tensor(z)
    ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
    gan.train()
    for _ in range(3):
        fake = generator(noise)
        d_loss = (bce(discriminator(2 * x - 1), ones)
                  + bce(discriminator(2 * fake.detach() - 1), zeros))
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        g_loss = bce(discriminator(2 * fake - 1), ones)
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
        values = gan.train_step(sn.Tensor(real))
        assert values["d_loss"] == pytest.approx(d_loss.item(), rel=1e-5)
        assert values["g_loss"] == pytest.approx(g_loss.item(), rel=1e-5)
    for ours, theirs in ((gan.generator, generator), (gan.discriminator, discriminator)):
        linears = [layer for layer in theirs if isinstance(layer, torch.nn.Linear)]
        denses = [layer for layer in ours if isinstance(layer, nn.Dense)]
        assert len(linears) == len(denses) == 3
        for dense, linear in zip(denses, linears):
            np.testing.assert_allclose(to_numpy(dense.weight.data).T,
                                       linear.weight.detach().numpy(), atol=1e-6)
            np.testing.assert_allclose(to_numpy(dense.bias.data),
                                       linear.bias.detach().numpy(), atol=1e-6)
