"""examples/autoencoder_digits.py: autoencoder, VAE and denoising autoencoder on mnist_small."""
import pytest

import autoencoder_digits


def test_autoencoders_fast(tmp_path, check_png):
    # 1,000 training digits, 3 epochs and hidden layers of 64 instead of 4,000, 10 and 256
    # (a larger learning rate to make up for it): the same story, coarser.
    result = autoencoder_digits.main(out=str(tmp_path), epochs=3, train_size=1000, hidden=64,
                                     learning_rate=0.01)
    errors = result["errors"]
    assert errors["ae_32d"] < 0.6 * result["baseline"]  # ~0.034 against 0.068
    assert errors["ae_2d"] < result["baseline"] and errors["vae"] < result["baseline"]
    assert result["elbo"] > result["elbo_before"] + 250
    assert result["denoising_on_noisy"] < 0.8 * result["plain_on_noisy"]  # ~0.050, 0.075
    assert result["plain_on_noisy"] < result["noisy"]
    for losses in result["histories"].values():
        assert losses[-1] < losses[0]
    embedding, reconstructions, denoising, samples = result["figures"]
    check_png(embedding, min_kb=20, min_side=400)
    for path in (reconstructions, denoising, samples):
        check_png(path, min_kb=10, min_side=300)


@pytest.mark.slow
def test_autoencoders_as_documented(tmp_path):
    result = autoencoder_digits.main(out=str(tmp_path))
    assert result["errors"]["ae_32d"] < 0.25 * result["baseline"]
    assert result["errors"]["ae_2d"] < 0.75 * result["baseline"]
    assert result["elbo"] > -180  # -168
    assert result["denoising_on_noisy"] < 0.6 * result["plain_on_noisy"]
