"""The model zoo on the strict device (tests/backend/strict.py): each model moved there
trains on host data and keeps its parameters there, with the device's array module only;
where a model is deterministic, with the CPU's numbers."""
import copy

import numpy as np
import pytest

import somanet as sn
from somanet import models
from somanet.backend import to_numpy


@pytest.fixture(scope="module")
def digits():
    x, y = sn.datasets.mnist_small("train")
    return x[:64], y[:64]


def _on(model, strict):
    return all(p.device is strict for p in model.parameters())


def test_gan_trains_and_samples_on_the_strict_device(strict, digits):
    sn.manual_seed(0)
    gan = models.gan(latent_dim=8, hidden=(16, 16)).to(strict)
    gan.compile(learning_rate=1e-3)
    history = gan.fit(digits[0], epochs=1, batch_size=32, verbose=0, seed=0)
    assert _on(gan, strict) and len(history.history["g_loss"]) == 1
    samples = gan.sample(4, seed=1)
    assert type(samples) is np.ndarray and samples.shape == (4, 28, 28)


@pytest.mark.parametrize("build", [lambda: models.autoencoder(code_dim=4),
                                   lambda: models.denoising_autoencoder(code_dim=4),
                                   lambda: models.vae(latent_dim=2, hidden=(32,))],
                         ids=["autoencoder", "denoising", "vae"])
def test_autoencoders_train_on_the_strict_device(strict, digits, build):
    sn.manual_seed(0)
    model = build().to(strict)
    model.compile(learning_rate=1e-3)
    model.fit(digits[0], epochs=1, batch_size=32, verbose=0)
    assert _on(model, strict)


def test_rbm_and_dbn_train_on_the_strict_device_as_on_the_cpu(strict, digits):
    x, _ = digits
    sn.manual_seed(0)
    cpu = models.RBM(784, 8, image_shape=(28, 28))
    rbm = copy.deepcopy(cpu).to(strict)
    for model in (cpu, rbm):
        model.compile()
        sn.manual_seed(1)
        model.fit(x, epochs=1, batch_size=32, verbose=0, seed=0)
    assert _on(rbm, strict)
    assert rbm.reconstruction_error(x) == pytest.approx(cpu.reconstruction_error(x), rel=0.2)
    assert rbm.predict(x[:3]).shape == (3, 8)
    sn.manual_seed(0)
    dbn = models.DBN(sizes=(784, 16, 8)).to(strict)
    dbn.pretrain(x, epochs=1, batch_size=32, verbose=0)
    assert _on(dbn, strict)


def test_lamstar_trains_on_host_data_on_the_strict_device(strict, digits):
    x, y = digits
    net = models.LAMSTAR(n_subwords=4, subword_size=196, n_classes=10, neurons=8)
    cpu = copy.deepcopy(net)
    net.to(strict)
    history = net.fit(x.reshape(64, -1), y, epochs=1, verbose=0)
    want = cpu.fit(x.reshape(64, -1), y, epochs=1, verbose=0)
    assert history.history["accuracy"] == want.history["accuracy"]
    assert net.predict(x.reshape(64, -1)[:5]).tolist() == \
        cpu.predict(x.reshape(64, -1)[:5]).tolist()
    assert all(b.device is strict for b in net.buffers())
    with pytest.raises(ValueError, match="cpu.*strict|strict.*cpu"):
        net.fit(sn.tensor(x.reshape(64, -1)), y, epochs=1, verbose=0)
