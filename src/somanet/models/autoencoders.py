"""Autoencoders: the plain ``Autoencoder``, the ``DenoisingAutoencoder`` (Vincent, Larochelle,
Bengio & Manzagol 2008) and the variational ``VAE`` (Kingma & Welling 2014).

An autoencoder is an encoder ``h = f(x)`` to a code smaller than the input and a decoder
``x_hat = g(h)`` back, trained to reproduce its input. For images in [0, 1] the decoder
ends in a sigmoid and the loss is the cross-entropy of the pixels (Vincent et al.'s
choice; ``"mse"`` works too):

    L(x) = -sum_j [x_j log x_hat_j + (1 - x_j) log(1 - x_hat_j)],   x_hat = g(f(x))

**Denoising.** A bottleneck alone does not force useful features; Vincent et al. corrupt
each input by a stochastic ``q(x_tilde | x)`` (their *masking noise*: a random fraction
``nu`` of the pixels set to 0) and train ``g(f(x_tilde))`` to reproduce the *clean*
``x``. The code must then capture the structure of the data (strokes) that lets the
destroyed pixels be filled in. Here the corruption happens in ``forward`` in training
mode only (like Dropout), so ``fit(x)`` trains on fresh corruptions every epoch and
``predict`` / ``evaluate`` see the inputs as they are.

**Variational.** A VAE makes the code a random variable: the encoder gives the mean and
log-variance of ``q(z | x) = N(mu(x), diag(sigma^2(x)))``, the decoder the Bernoulli
probabilities ``p(x | z)``, the prior is ``p(z) = N(0, I)``. It maximises the evidence
lower bound

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z))  <=  log p(x)

with the *reparameterisation trick* (``z = mu + sigma * eps``, ``eps ~ N(0, I)``: the
sample is a differentiable function of the encoder's outputs) and the KL term in
closed form:

    KL = -1/2 sum_k (1 + log sigma_k^2 - mu_k^2 - sigma_k^2)

The reconstruction term is one sample's Bernoulli log-likelihood,
``-binary_cross_entropy_with_logits(logits, x, reduction="sum")``. ``fit``'s ``loss``
is ``-ELBO`` per image, in nats.

All three are ``somanet.train`` models: ``compile()`` (Adam and binary cross-entropy by
default), ``fit(x)`` (the targets default to the inputs), ``evaluate``, ``predict``
(reconstructions), ``summary``, ``fit(checkpoint_dir=..., resume=True)``, and
``somanet.io.save_weights`` / ``load_weights``.

    >>> import somanet as sn
    >>> from somanet import models
    >>> x, _ = sn.datasets.mnist_small("train")
    >>> ae = models.autoencoder(code_dim=8, hidden=(64,))
    >>> ae.compile()
    >>> history = ae.fit(x[:256], epochs=2, batch_size=64, verbose=0, seed=0)
    >>> ae.encode(x[:5]).shape, ae.predict(x[:5]).shape
    ((5, 8), (5, 28, 28))
"""
import math

import numpy

from .. import nn, ops
from .._checks import check_choice, check_int, check_positive_int, check_real, is_int
from ..autograd import no_grad
from ..backend import to_numpy
from ..tensor import Tensor
from ..train import Model
from ..train.data_adapter import batch_size_of

IMAGE_SHAPE = (28, 28)
NOISES = ("masking", "gaussian", "salt_and_pepper")


class Autoencoder(Model):
    """An encoder and a decoder trained to reproduce the input: ``x_hat = decoder(encoder(x))``.

    Args:
        encoder: a Module ``(N, *sample_shape) -> (N, code_dim)``.
        decoder: a Module ``(N, code_dim) -> (N, *sample_shape)`` (a sigmoid output for
            data in [0, 1]).
        name: the model's name.

    Shape:
        (N, *sample_shape) -> (N, *sample_shape).
    """

    def __init__(self, encoder, decoder, name=None):
        super().__init__(name=name)
        for role, module in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(module, nn.Module):
                raise TypeError(f"{type(self).__name__}: {role} must be a somanet Module, "
                                f"got {type(module).__name__}")
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def compile(self, optimizer="adam", loss="binary_crossentropy", metrics=None,
                learning_rate=None, jit=False, **options):
        """``Model.compile`` with an autoencoder's defaults: Adam, and the pixels'
        binary cross-entropy (on the decoder's probabilities); ``loss="mse"`` also fits."""
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        learning_rate=learning_rate, jit=jit, **options)

    def fit(self, x=None, y=None, **kwargs):
        """``Model.fit`` with the targets defaulting to the inputs (``fit(x)`` learns to
        reproduce ``x``); ``validation_data`` may be an array too, its own target."""
        if y is None and _is_array(x):
            y = x
        validation = kwargs.get("validation_data")
        if _is_array(validation):
            kwargs["validation_data"] = (validation, validation)
        return super().fit(x, y, **kwargs)

    def encode(self, x, batch_size=256):
        """The codes of ``x``, a NumPy array ``(N, code_dim)`` (evaluation mode)."""
        return _batched(self, self.encoder, x, batch_size, "encode")

    def decode(self, codes, batch_size=256):
        """The decoder's images for ``codes``, a NumPy array (evaluation mode)."""
        return _batched(self, self.decoder, codes, batch_size, "decode")

    def reconstruct(self, x, batch_size=256):
        """``decoder(encoder(x))`` as a NumPy array (``predict`` without the callbacks)."""
        return _batched(self, self, x, batch_size, "reconstruct")

    def reconstruction_error(self, x, target=None, batch_size=256):
        """The mean squared error per pixel between the reconstructions of ``x`` and
        ``target`` (default ``x``): a float."""
        target = x if target is None else target
        error = self.reconstruct(x, batch_size) - _host(target, "reconstruction_error")
        return float(numpy.mean(error ** 2))


class DenoisingAutoencoder(Autoencoder):
    """An autoencoder trained to undo a corruption of its input (Vincent et al. 2008).

    In training mode ``forward`` corrupts ``x`` before encoding it, with fresh noise every
    batch; the loss compares the reconstruction with the clean ``x``. In evaluation mode
    the input is used as it is.

    Args:
        encoder, decoder, name: as ``Autoencoder``.
        noise: ``"masking"`` (the paper's: each value set to 0 with probability
            ``noise_level``), ``"salt_and_pepper"`` (set to 0 or 1, each with probability
            ``noise_level / 2``) or ``"gaussian"`` (add ``N(0, noise_level^2)``, then clip
            to [0, 1]).
        noise_level: the corrupted fraction, or the Gaussian standard deviation.
    """

    def __init__(self, encoder, decoder, noise="masking", noise_level=0.3, name=None):
        super().__init__(encoder, decoder, name=name)
        who = type(self).__name__
        self.noise = check_choice(who, "noise", noise, NOISES)
        if noise == "gaussian":
            self.noise_level = check_real(who, "noise_level", noise_level, minimum=0.0,
                                          what="a standard deviation >= 0")
        else:
            self.noise_level = check_real(who, "noise_level", noise_level, minimum=0.0,
                                          maximum=1.0, what="a fraction in [0, 1]")

    def forward(self, x):
        if self.training:
            x = self.corrupt(x)
        return self.decoder(self.encoder(x))

    def corrupt(self, x):
        """``x`` with this model's noise (from the global RNG, ``somanet.manual_seed``): a
        Tensor for a Tensor, a NumPy array for an array. Not differentiable in the noise."""
        as_numpy = not isinstance(x, Tensor)
        tensor = Tensor(numpy.asarray(x, dtype=numpy.float32)) if as_numpy else x
        level = self.noise_level
        with no_grad():
            if self.noise == "masking":
                keep = ops.rand(*tensor.shape, device=tensor.device) >= level
                corrupted = ops.where(keep, tensor, ops.zeros_like(tensor))
            elif self.noise == "salt_and_pepper":
                draw = ops.rand(*tensor.shape, device=tensor.device)
                corrupted = ops.where(draw < level / 2, ops.zeros_like(tensor),
                                      ops.where(draw < level, ops.ones_like(tensor), tensor))
            else:
                noise = ops.randn(*tensor.shape, device=tensor.device) * level
                corrupted = ops.clip(tensor + noise, 0.0, 1.0)
        return to_numpy(corrupted.data) if as_numpy else corrupted

    def extra_repr(self):
        return f"noise={self.noise!r}, noise_level={self.noise_level:g}"


def negative_elbo(y_true, y_pred):
    """The VAE's loss as ``compile`` records it. The negative ELBO needs the encoder's mean
    and log-variance, which a loss of ``(y_true, y_pred)`` cannot see, so ``VAE.train_step``
    and ``test_step`` compute it themselves (``VAE.negative_elbo``); this function only
    names it."""
    raise RuntimeError("negative_elbo is computed by VAE.train_step / test_step from the "
                       "encoder's outputs; call vae.negative_elbo(x) instead")


class VAE(Autoencoder):
    """A variational autoencoder (Kingma & Welling 2014) with a Gaussian code and Bernoulli
    pixels; see the module docstring for the ELBO.

    Args:
        encoder: a Module ``(N, *sample_shape) -> (N, 2 * latent_dim)``: the mean, then
            the log-variance of ``q(z | x)``.
        decoder: a Module ``(N, latent_dim) -> (N, *sample_shape)`` giving *logits* of
            the pixels (``forward`` applies the sigmoid).
        latent_dim: the size of ``z``.
        beta: the weight of the KL term (1: the ELBO; Higgins et al.'s beta-VAE otherwise).
        name: the model's name.

    ``forward(x)`` (and ``predict``) reconstructs from the mean code, deterministically:
    ``sigmoid(decoder(mu(x)))``. ``fit``'s loss is ``-ELBO`` per image, estimated with one
    sample of ``z`` per image.

    Shape:
        (N, *sample_shape) -> (N, *sample_shape), probabilities.
    """

    def __init__(self, encoder, decoder, latent_dim, beta=1.0, name=None):
        super().__init__(encoder, decoder, name=name)
        self.latent_dim = check_positive_int("VAE", "latent_dim", latent_dim)
        self.beta = check_real("VAE", "beta", beta, minimum=0.0, what="a number >= 0")

    def compile(self, optimizer="adam", metrics=None, learning_rate=None, **options):
        """``Model.compile`` for a VAE: the loss is always the negative ELBO
        (``negative_elbo``), so only the optimiser (Adam by default) and metrics of the
        reconstructions (against the targets) are chosen."""
        if "loss" in options:
            raise TypeError("VAE.compile: the loss of a VAE is its negative ELBO; leave "
                            "loss= out (the reconstruction term is the pixels' "
                            "Bernoulli log-likelihood)")
        if options.get("jit"):
            raise ValueError("VAE.compile: jit is not supported (the step draws the "
                             "reparameterisation noise); leave jit=False")
        options.pop("jit", None)
        Model.compile(self, optimizer=optimizer, loss=negative_elbo, metrics=metrics,
                      learning_rate=learning_rate, **options)

    def posterior(self, x):
        """The mean and log-variance of ``q(z | x)``, two Tensors ``(N, latent_dim)``."""
        stats = self.encoder(x)
        if stats.ndim != 2 or stats.shape[1] != 2 * self.latent_dim:
            raise ValueError(f"VAE: the encoder must give (N, 2 * latent_dim) = (N, "
                             f"{2 * self.latent_dim}) values (the mean, then the "
                             f"log-variance), got shape {tuple(stats.shape)}")
        return stats[:, :self.latent_dim], stats[:, self.latent_dim:]

    def forward(self, x):
        mean, _ = self.posterior(x)
        return ops.sigmoid(self.decoder(mean))

    def negative_elbo(self, x, target=None, eps=None):
        """``(loss, reconstruction, kl)``: 0-d Tensors, means over the batch of ``-ELBO``,
        of the reconstruction term ``-log p(x | z)`` and of ``KL(q(z | x) || p(z))``
        (``loss = reconstruction + beta * kl``), with ``z = mu + sigma * eps``.

        Args:
            x: the inputs, a Tensor.
            target: the pixels to reconstruct (default ``x``), in [0, 1].
            eps: the noise, ``(N, latent_dim)`` (default: drawn from the global RNG).
        """
        target = x if target is None else target
        mean, log_var = self.posterior(x)
        if eps is None:
            eps = ops.randn(*mean.shape, device=mean.device)
        z = mean + ops.exp(0.5 * log_var) * eps  # the reparameterisation trick
        logits = self.decoder(z)
        if tuple(logits.shape) != tuple(target.shape):
            raise ValueError(f"VAE: the decoder gives shape {tuple(logits.shape)} for targets "
                             f"of shape {tuple(target.shape)}; it must reproduce the input's "
                             f"shape")
        n = x.shape[0]
        reconstruction = ops.binary_cross_entropy_with_logits(logits, target,
                                                              reduction="sum") / n
        kl = -0.5 * ops.sum(1.0 + log_var - mean * mean - ops.exp(log_var)) / n
        return reconstruction + self.beta * kl, reconstruction, kl

    def train_step(self, batch):
        x, y = batch
        loss, _, _ = self.negative_elbo(x, y)
        self.minimize(loss, batch_size_of(x))
        if self._compiled_metrics.objects:
            self.update_metrics(y, self(x))
        return loss

    def test_step(self, batch):
        x, y = batch
        loss, _, _ = self.negative_elbo(x, y)
        if self._compiled_metrics.objects:
            self.update_metrics(y, self(x))
        return loss

    def encode(self, x, batch_size=256):
        """The posterior means ``mu(x)``, a NumPy array ``(N, latent_dim)``."""
        return _batched(self, lambda batch: self.posterior(batch)[0], x, batch_size, "encode")

    def decode(self, z, batch_size=256):
        """The pixel probabilities ``sigmoid(decoder(z))``, a NumPy array."""
        return _batched(self, lambda batch: ops.sigmoid(self.decoder(batch)), z, batch_size,
                        "decode")

    def sample(self, n, seed=None, batch_size=256):
        """``n`` images from the generative model: ``z ~ N(0, I)``, then the decoder's
        probabilities (their means, not binary draws). With ``seed`` the noise comes from a
        fresh generator (the global RNG untouched). A NumPy array."""
        n = check_positive_int("VAE.sample", "n", n)
        draws = numpy.random.default_rng(seed) if seed is not None else None
        if draws is None:
            z = to_numpy(ops.randn(n, self.latent_dim).data)
        else:
            z = draws.standard_normal((n, self.latent_dim), dtype=numpy.float32)
        return self.decode(z, batch_size)

    def elbo(self, x, seed=0, batch_size=256):
        """The ELBO of ``x`` per image, in nats, and its two terms, in evaluation mode:
        ``{"elbo", "reconstruction", "kl"}`` (``elbo = -(reconstruction + kl)``; ``beta``
        is not applied). One draw of ``z`` per image, from a fresh generator seeded with
        ``seed``, so two calls agree."""
        data = _host(x, "elbo").astype(numpy.float32, copy=False)
        draws = numpy.random.default_rng(check_int("VAE.elbo", "seed", seed, minimum=0))
        totals = {"reconstruction": 0.0, "kl": 0.0}
        device = self._device()
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            with no_grad():
                for start in range(0, len(data), batch_size):
                    batch = Tensor(data[start:start + batch_size], device=device)
                    eps = Tensor(draws.standard_normal((batch.shape[0], self.latent_dim),
                                                       dtype=numpy.float32), device=device)
                    _, reconstruction, kl = self.negative_elbo(batch, eps=eps)
                    totals["reconstruction"] += reconstruction.item() * batch.shape[0]
                    totals["kl"] += kl.item() * batch.shape[0]
        finally:
            for module, mode in modes:
                module.training = mode
        result = {key: value / len(data) for key, value in totals.items()}
        result["elbo"] = -(result["reconstruction"] + result["kl"])
        return result


# -- helpers ----------------------------------------------------------------------------------


def _is_array(value):
    return isinstance(value, (numpy.ndarray, Tensor))


def _host(values, who):
    if isinstance(values, Tensor):
        return to_numpy(values.data)
    try:
        return numpy.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{who}: expected an array, got {type(values).__name__} "
                        f"({error})") from None


def _batched(model, function, values, batch_size, who):
    """``function`` over ``values`` in batches, in evaluation mode without gradients, as a
    NumPy array (the modes restored after)."""
    who = f"{type(model).__name__}.{who}"
    batch_size = check_positive_int(who, "batch_size", batch_size)
    data = _host(values, who)
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{who}: expected numbers, got dtype {data.dtype}")
    data = data.astype(numpy.float32, copy=False)
    if data.ndim < 1 or len(data) == 0:
        raise ValueError(f"{who}: no samples (shape {data.shape})")
    device = model._device()
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with no_grad():
            parts = [to_numpy(function(Tensor(data[start:start + batch_size],
                                              device=device)).data)
                     for start in range(0, len(data), batch_size)]
    finally:
        for module, mode in modes:
            module.training = mode
    return numpy.concatenate(parts)


def _sizes(hidden, who):
    hidden = (hidden,) if is_int(hidden) else tuple(hidden)
    return tuple(check_positive_int(who, "hidden", size) for size in hidden)


def _mlp(sizes, activation, last_activation=None):
    layers = []
    for number, (width, size) in enumerate(zip(sizes, sizes[1:])):
        last = number == len(sizes) - 2
        layers.append(nn.Dense(width, size,
                               activation=last_activation if last else activation))
    return layers


def _shape(image_shape, who):
    shape = (image_shape,) if is_int(image_shape) else tuple(image_shape)
    return tuple(check_positive_int(who, "image_shape entries", size) for size in shape)


def _encoder_decoder(who, code, image_shape, hidden, decoder_activation):
    image_shape = _shape(image_shape, who)
    hidden = _sizes(hidden, who)
    features = math.prod(image_shape)
    encoder = nn.Sequential(nn.Flatten(), *_mlp((features,) + hidden + (code[0],), "relu"))
    decoder = nn.Sequential(*_mlp((code[1],) + hidden[::-1] + (features,), "relu",
                                  decoder_activation),
                            nn.Reshape(*image_shape))
    return encoder, decoder


def autoencoder(code_dim=32, image_shape=IMAGE_SHAPE, hidden=(256,)):
    """A fully connected autoencoder for images in [0, 1].

    Architecture (defaults)::

        encoder   Flatten                         (N, 28, 28) -> (N, 784)
                  Dense(256, relu)                784*256 + 256 = 200,960
                  Dense(32)                       the code        8,224
        decoder   Dense(256, relu)                32*256 + 256  =   8,448
                  Dense(784, sigmoid)             256*784 + 784 = 201,488
                  Reshape(28, 28)                 total           419,120

    The code layer is linear (``code_dim=2`` gives a 2-D embedding to plot). Train with
    ``compile()`` (Adam, binary cross-entropy) and ``fit(x)``.

    Args:
        code_dim: the size of the code.
        image_shape: the shape of one sample.
        hidden: the encoder's hidden widths (the decoder's in reverse).
    """
    who = "models.autoencoder"
    code_dim = check_positive_int(who, "code_dim", code_dim)
    encoder, decoder = _encoder_decoder(who, (code_dim, code_dim), image_shape, hidden,
                                        "sigmoid")
    return Autoencoder(encoder, decoder)


def denoising_autoencoder(code_dim=32, image_shape=IMAGE_SHAPE, hidden=(256,), noise="masking",
                          noise_level=0.3):
    """``autoencoder``'s architecture trained as a denoising autoencoder (Vincent et al.
    2008): each training input corrupted by ``noise`` (default: masking noise, 30% of the
    pixels set to 0), the clean input the target. See ``DenoisingAutoencoder``."""
    who = "models.denoising_autoencoder"
    code_dim = check_positive_int(who, "code_dim", code_dim)
    encoder, decoder = _encoder_decoder(who, (code_dim, code_dim), image_shape, hidden,
                                        "sigmoid")
    return DenoisingAutoencoder(encoder, decoder, noise=noise, noise_level=noise_level)


def vae(latent_dim=2, image_shape=IMAGE_SHAPE, hidden=(512,), beta=1.0):
    """A variational autoencoder (Kingma & Welling 2014) with a Gaussian latent and
    Bernoulli pixels, the paper's MNIST setup (one hidden layer of 500 there).

    Architecture (defaults)::

        encoder   Flatten                         (N, 28, 28) -> (N, 784)
                  Dense(512, relu)                784*512 + 512 = 401,920
                  Dense(2 * 2)                    mu, log sigma^2   2,052
        decoder   Dense(512, relu)                2*512 + 512   =   1,536
                  Dense(784)                      pixel logits  402,192
                  Reshape(28, 28)                 total         807,700

    Args:
        latent_dim: the size of ``z`` (2: a latent space to plot).
        image_shape: the shape of one sample.
        hidden: the encoder's hidden widths (the decoder's in reverse).
        beta: the weight of the KL term (1: the ELBO).
    """
    who = "models.vae"
    latent_dim = check_positive_int(who, "latent_dim", latent_dim)
    encoder, decoder = _encoder_decoder(who, (2 * latent_dim, latent_dim), image_shape,
                                        hidden, None)
    return VAE(encoder, decoder, latent_dim, beta=beta)
