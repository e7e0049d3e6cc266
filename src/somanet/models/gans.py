"""Generative adversarial networks: ``GAN`` (Goodfellow et al. 2014) and DCGAN (Radford,
Metz & Chintala 2016), a generator against a discriminator.

A generator ``G`` maps noise ``z ~ N(0, I)`` to images; a discriminator ``D`` maps an
image to the logit of "this is real". They play a two-player game:

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

Each training step takes one gradient step for each player on a batch of real images
``x`` and as many fakes ``G(z)``:

- **discriminator**: minimise ``L_D = -log D(x) - log(1 - D(G(z)))`` (binary
  cross-entropy: real images labelled 1, fakes 0), with ``G(z)`` held fixed;
- **generator**, non-saturating (the paper's practical choice, the default): minimise
  ``L_G = -log D(G(z))``. Early in training ``D`` rejects the fakes with confidence,
  ``log(1 - D(G(z)))`` is flat there and its gradient vanishes; ``-log D(G(z))`` has the
  same fixed point and strong gradients where the generator is bad. With
  ``generator_loss="minimax"`` it minimises ``log(1 - D(G(z)))`` itself, as the game
  is written.

At the game's optimum ``p_G = p_data`` and ``D = 1/2`` everywhere; in practice both losses
hover (``L_D`` near ``2 log 2 = 1.39`` when ``D`` is fooled half the time).

DCGAN's recipe for stable convolutional GANs: no pooling (strided convolutions in ``D``,
fractionally strided ``ConvTranspose2D`` in ``G``), batch normalisation in both (not on
``G``'s output nor ``D``'s input), ReLU in ``G`` and LeakyReLU(0.2) in ``D``, weights from
``N(0, 0.02)``, Adam with learning rate 2e-4 and ``beta_1 = 0.5``.

    >>> import somanet as sn
    >>> from somanet import models
    >>> x, _ = sn.datasets.mnist_small("train")
    >>> gan = models.gan(latent_dim=16, hidden=(32, 64))
    >>> history = gan.fit(x[:128], epochs=1, batch_size=64, verbose=0, seed=0)
    >>> sorted(history.history)
    ['d_accuracy', 'd_fake', 'd_loss', 'd_real', 'g_loss']
    >>> gan.sample(4).shape
    (4, 28, 28)
"""
import copy
import functools
import math
import os

import numpy

from .. import nn, ops
from .._checks import (check_choice, check_flag, check_int, check_positive_int, check_real,
                       is_int)
from ..autograd import no_grad
from ..backend import manual_seed, to_numpy
from ..data import DataLoader, TensorDataset
from ..io import (check_writable, clean_checkpoint_folder, is_checkpoint, load_checkpoint,
                  save_checkpoint)
from ..optim import Adam
from ..tensor import Tensor
from ..train import Callback, CallbackList
from ..train import checkpointing
from ..train import optimizers as _optimizers

IMAGE_SHAPE = (28, 28)
GENERATOR_LOSSES = ("non_saturating", "minimax")
DCGAN_LEARNING_RATE = 2e-4  # Radford et al.: Adam, lr 0.0002, beta_1 0.5
DCGAN_BETAS = (0.5, 0.999)
_CHECKPOINT_KEY = "gan"
_LOG_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "d_accuracy")


class GAN(nn.Module):
    """A generator and a discriminator trained against each other, with two optimisers.

    Args:
        generator: a Module mapping noise ``(N, latent_dim)`` to samples shaped like the
            data, ``(N, *sample_shape)``.
        discriminator: a Module mapping samples to one logit each, ``(N, 1)`` or ``(N,)``
            (no sigmoid: the losses take logits, stably).
        latent_dim: the size of the noise vector ``z``.
        generator_loss: ``"non_saturating"`` (default, ``-log D(G(z))``) or
            ``"minimax"`` (``log(1 - D(G(z)))``); see the module docstring.
        output_range: ``(low, high)``, the values the generator can produce (the
            builders' sigmoid output: ``(0, 1)``); ``fit`` refuses data outside it. ``None``:
            not checked.
        ema_decay: keep an exponential moving average of the generator's weights,
            ``w_avg <- d w_avg + (1 - d) w`` after every generator step (batch-norm
            statistics copied), as ``generator_ema``; ``sample`` then draws from it. Not in
            the two papers: averaging the generator's iterates (Yazici et al. 2019, "The
            Unusual Effectiveness of Averaging in GAN Training"; Karras et al. 2018 sample
            from such an average) smooths the oscillation of the game and gives cleaner
            samples. ``None`` (default): no average.

    Attributes:
        g_optimizer, d_optimizer: the optimisers (from ``compile``, or DCGAN's Adam
            made by the first ``fit``).
        history: the ``History`` of the last ``fit``.
        stop_training: a callback sets it to end ``fit`` after the current batch.

    Shape:
        ``gan(z)`` is ``generator(z)``: (N, latent_dim) -> (N, *sample_shape).

    Saving: ``state_dict()`` holds both networks (``generator.*``, ``discriminator.*``,
    batch-norm statistics included, and ``generator_ema.*`` with ``ema_decay``), so ``somanet.io.save_weights(path, gan)`` and
    ``load_weights`` work; ``fit(checkpoint_dir=..., resume=True)`` also keeps both
    optimisers, the data order and the RNG, at the end of every epoch.
    """

    history = None
    stop_training = False

    def __init__(self, generator, discriminator, latent_dim, generator_loss="non_saturating",
                 output_range=None, ema_decay=None):
        super().__init__()
        for name, module in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(module, nn.Module):
                raise TypeError(f"GAN: {name} must be a somanet Module, got "
                                f"{type(module).__name__}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = check_positive_int("GAN", "latent_dim", latent_dim)
        self.generator_loss = check_choice("GAN", "generator_loss", generator_loss,
                                           GENERATOR_LOSSES)
        if output_range is not None:
            low, high = (float(value) for value in output_range)
            if not low < high:
                raise ValueError(f"GAN: output_range must be (low, high) with low < high, "
                                 f"got {output_range!r}")
            output_range = (low, high)
        self.output_range = output_range
        self.ema_decay = None if ema_decay is None else check_real(
            "GAN", "ema_decay", ema_decay, minimum=0.0, maximum=1.0, max_open=True,
            what="in [0, 1) or None")
        self.generator_ema = None
        if self.ema_decay is not None:
            # A copy now, so a fresh GAN has the weights load_weights expects (a lazy
            # generator's copy takes the generator's values once both are built: _build).
            self.generator_ema = copy.deepcopy(generator)
            if self.generator_ema.is_built:
                self.generator_ema.requires_grad_(False)
        self.g_optimizer = None
        self.d_optimizer = None
        self._sample_shape = None  # the generator's sample shape, once checked

    def forward(self, z):
        return self.generator(z)

    # -- optimisers ---------------------------------------------------------------------------

    def compile(self, g_optimizer=None, d_optimizer=None, learning_rate=None):
        """Choose the two optimisers (Keras's GAN: ``compile(d_optimizer, g_optimizer)``).

        Args:
            g_optimizer, d_optimizer: ``None`` for DCGAN's Adam (lr 2e-4, betas (0.5,
                0.999)); a name (``"adam"``, ``"sgd"``..., Keras's defaults), an Optimizer
                class or factory ``params -> Optimizer``, or an Optimizer made for
                ``gan.generator.parameters()`` / ``gan.discriminator.parameters()``.
            learning_rate: overrides both optimisers' learning rate.

        Returns:
            The GAN.
        """
        self._build()
        self.g_optimizer = _make_optimizer(g_optimizer, self.generator, "g_optimizer",
                                           learning_rate)
        self.d_optimizer = _make_optimizer(d_optimizer, self.discriminator, "d_optimizer",
                                           learning_rate)
        return self

    # -- drawing ------------------------------------------------------------------------------

    def _device(self):
        """The parameters' device (``None`` before a lazy model is built)."""
        for module in self.modules():
            for param in module._parameters.values():
                if param is not None:
                    return param.device
        return None

    def noise(self, n, seed=None):
        """``n`` noise vectors ``z ~ N(0, I)``, a ``(n, latent_dim)`` Tensor on the model's
        device: from the global generator (``somanet.manual_seed``), or, with ``seed``,
        from a fresh one (the same ``z`` every time, the global RNG untouched)."""
        n = check_positive_int("GAN.noise", "n", n)
        if seed is None:
            return ops.randn(n, self.latent_dim, device=self._device())
        draws = numpy.random.default_rng(check_int("GAN.noise", "seed", seed, minimum=0))
        return Tensor(draws.standard_normal((n, self.latent_dim), dtype=numpy.float32),
                      device=self._device())

    def sample(self, n, seed=None, z=None, batch_size=256):
        """Draw ``n`` samples ``G(z)``, in evaluation mode (batch norm uses its running
        statistics), without gradients; from ``generator_ema`` when there is one.

        Args:
            n: how many.
            seed: draw ``z`` from a fresh generator seeded so (see ``noise``).
            z: the noise itself, ``(n, latent_dim)`` (then ``seed`` is not used).
            batch_size: samples generated per forward pass.

        Returns:
            A NumPy array ``(n, *sample_shape)``.
        """
        if z is None:
            z = self.noise(n, seed)
        else:
            z = z if isinstance(z, Tensor) else Tensor(numpy.asarray(z, numpy.float32),
                                                       device=self._device())
            if z.ndim != 2 or z.shape[1] != self.latent_dim:
                raise ValueError(f"GAN.sample: z must have shape (n, {self.latent_dim}), got "
                                 f"{tuple(z.shape)}")
        batch_size = check_positive_int("GAN.sample", "batch_size", batch_size)
        generator = self.generator if self.generator_ema is None else self.generator_ema
        mode = generator.training
        generator.eval()
        try:
            with no_grad():
                parts = [to_numpy(generator(z[start:start + batch_size]).data)
                         for start in range(0, z.shape[0], batch_size)]
        finally:
            generator.train(mode)
        return numpy.concatenate(parts)

    def discriminate(self, x, batch_size=256):
        """``D(x)``: the discriminator's probability that each of ``x`` is real, a NumPy
        array ``(N,)``, in evaluation mode."""
        x = _as_array(x, "GAN.discriminate")
        mode = self.discriminator.training
        self.discriminator.eval()
        try:
            with no_grad():
                parts = [to_numpy(ops.sigmoid(self._logits(Tensor(
                    x[start:start + batch_size], device=self._device()))).data)
                    for start in range(0, len(x), batch_size)]
        finally:
            self.discriminator.train(mode)
        return numpy.concatenate(parts)

    def _logits(self, images):
        logits = self.discriminator(images)
        if logits.ndim == 2 and logits.shape[1] == 1:
            logits = logits.reshape(logits.shape[0])
        return logits

    # -- one step -----------------------------------------------------------------------------

    def train_step(self, real):
        """One step for each player on the batch ``real`` (a Tensor ``(N, *shape)``).

        Returns:
            ``{"d_loss", "g_loss", "d_real", "d_fake", "d_accuracy"}`` as floats: the two
            losses, the mean ``D(x)`` on the real batch and ``D(G(z))`` on the fakes
            (before the discriminator's step), and the share of both batches ``D``
            classified right (threshold 1/2).
        """
        n = real.shape[0]
        fake = self.generator(self.noise(n))
        real_logits = self._logits(real)
        fake_logits = self._logits(fake.detach())  # the generator is fixed in D's step
        ones = ops.ones(n, device=real.device)
        zeros = ops.zeros(n, device=real.device)
        d_loss = (ops.binary_cross_entropy_with_logits(real_logits, ones)
                  + ops.binary_cross_entropy_with_logits(fake_logits, zeros))
        self.d_optimizer.zero_grad()
        d_loss.backward()
        self.d_optimizer.step()

        # The generator's step: D is fixed (no gradients for its weights are computed).
        self.discriminator.requires_grad_(False)
        try:
            logits = self._logits(fake)
            if self.generator_loss == "non_saturating":
                g_loss = ops.binary_cross_entropy_with_logits(logits, ones)  # -log D(G(z))
            else:
                g_loss = -ops.binary_cross_entropy_with_logits(logits, zeros)  # log(1-D(G(z)))
            self.g_optimizer.zero_grad()
            g_loss.backward()
            self.g_optimizer.step()
        finally:
            self.discriminator.requires_grad_(True)
        if self.generator_ema is not None:
            self._update_average()
        real_logits, fake_logits = to_numpy(real_logits.data), to_numpy(fake_logits.data)
        return {"d_loss": float(d_loss.item()), "g_loss": float(g_loss.item()),
                "d_real": float(_sigmoid(real_logits).mean()),
                "d_fake": float(_sigmoid(fake_logits).mean()),
                "d_accuracy": float(((real_logits > 0).sum() + (fake_logits <= 0).sum())
                                    / (2 * n))}

    def _update_average(self, decay=None):
        """``w_avg <- decay w_avg + (1 - decay) w`` for the generator's weights (``decay``
        0 copies them); batch-norm statistics (buffers) are copied."""
        decay = self.ema_decay if decay is None else decay
        with no_grad():
            for average, weight in zip(self.generator_ema.parameters(),
                                       self.generator.parameters()):
                average.data *= decay
                average.data += (1.0 - decay) * weight.data
            for average, buffer in zip(self.generator_ema.buffers(), self.generator.buffers()):
                average.data[...] = buffer.data

    # -- fit ----------------------------------------------------------------------------------

    def fit(self, x, *, epochs=1, batch_size=64, verbose="auto", callbacks=None, shuffle=True,
            sample_dir=None, samples=64, checkpoint_dir=None, resume=False, seed=None):
        """Train the generator and the discriminator on real samples ``x``, one step each
        per batch.

        Args:
            x: the real data, an array (NumPy or Tensor) ``(N, *sample_shape)``.
            epochs: train until this epoch (counted from 0; a resumed run continues).
            batch_size: real samples per batch (as many fakes are drawn).
            verbose: 0 silent, 1 a progress bar, 2 one line per epoch; ``"auto"`` is 1.
            callbacks: ``somanet.train`` callbacks; their ``logs`` hold ``d_loss``,
                ``g_loss``, ``d_real``, ``d_fake`` and ``d_accuracy``
                (``EarlyStopping(monitor="g_loss")``...).
            shuffle: reshuffle the data every epoch.
            sample_dir: a folder to write a grid of ``samples`` generated images after every
                epoch (``samples_epoch_001.png``, ...; the same noise every epoch, see
                ``SampleGrid``).
            samples: the number of images in each grid.
            checkpoint_dir: a folder for a checkpoint written after every epoch (both
                networks, both optimisers, the data order, the RNG state, the history and
                the callbacks' state; ``somanet.io.load_checkpoint`` reads it).
            resume: continue from the checkpoint in ``checkpoint_dir`` if there is one: the
                resumed run ends with the same weights, bit for bit, as one never
                interrupted. Checkpoints are taken at the end of epochs only, so a run killed
                mid-epoch repeats that epoch from its start.
            seed: seeds ``somanet.manual_seed`` (noise, dropout) and the shuffling.

        Returns:
            A ``History``: ``history.history`` maps each of ``d_loss``, ``g_loss``,
            ``d_real``, ``d_fake``, ``d_accuracy`` to one value per epoch (the mean over
            the epoch's samples).

        Raises:
            ValueError: data whose sample shape differs from the generator's output (both
                shapes named), data outside ``output_range``, or a discriminator that does
                not give one logit per sample.
            FloatingPointError: a loss became nan or inf.
        """
        who = "GAN.fit"
        epochs = check_positive_int(who, "epochs", epochs)
        batch_size = check_positive_int(who, "batch_size", batch_size)
        samples = check_positive_int(who, "samples", samples)
        resume = check_flag(who, "resume", resume)
        if verbose == "auto":
            verbose = 1
        check_choice(who, "verbose", verbose, (0, 1, 2))
        if resume and checkpoint_dir is None:
            raise ValueError("GAN.fit: resume=True needs checkpoint_dir=, the folder the "
                             "checkpoints are written to")
        folder = None if checkpoint_dir is None else check_writable(
            checkpoint_dir, who=who, what="checkpoints",
            hint="choose a folder you can write to (checkpoint_dir=...)")
        if seed is not None:
            manual_seed(check_int(who, "seed", seed, minimum=0))
        data = self._check_data(_as_array(x, who), who)
        if self.g_optimizer is None or self.d_optimizer is None:
            self.compile(self.g_optimizer, self.d_optimizer)
        loader = DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=shuffle,
                            seed=seed, device=self._device())
        pair = _OptimizerPair(self.g_optimizer, self.d_optimizer)

        callback_list = CallbackList(callbacks, model=self, add_history=True,
                                     add_progbar=verbose != 0,
                                     params={"epochs": epochs, "steps": len(loader),
                                             "verbose": verbose})
        if sample_dir is not None:
            callback_list.append(SampleGrid(sample_dir, n=samples))
        history = callback_list.history
        start, resumed = 0, None
        if resume and is_checkpoint(folder):
            resumed, start = self._restore(folder, pair, loader)
        self.history = history
        self.stop_training = False
        step = start * len(loader)
        logs = {}
        try:
            callback_list.on_train_begin({})
            if resumed is not None:
                resumed.restore_callbacks(callback_list)
                if resumed.stopped:
                    start = epochs  # a callback stopped that run: it stays stopped
            for epoch in range(start, epochs):
                logs, step = self._fit_epoch(loader, callback_list, epoch, step)
                callback_list.on_epoch_end(epoch, logs)
                if folder is not None:
                    self._save(folder, pair, loader, epoch + 1, step, callback_list)
                if self.stop_training:
                    break
        except KeyboardInterrupt as interrupt:
            if folder is not None and is_checkpoint(folder):
                interrupt.add_note(f"the last checkpoint in {folder!r} is intact: call "
                                   f"fit(..., checkpoint_dir={folder!r}, resume=True) to "
                                   f"continue")
            raise
        finally:
            self.eval()
        callback_list.on_train_end(dict(logs))
        return history

    def _fit_epoch(self, loader, callback_list, epoch, step):
        """Train one epoch; returns its logs (means over its samples) and the step count."""
        callback_list.on_epoch_begin(epoch, {})
        self.train()
        sums, seen = dict.fromkeys(_LOG_KEYS, 0.0), 0
        loader.set_epoch(epoch)
        for index, (real,) in enumerate(loader):
            callback_list.on_train_batch_begin(index, {})
            values = self.train_step(real)
            if not (math.isfinite(values["d_loss"]) and math.isfinite(values["g_loss"])):
                raise FloatingPointError(
                    f"GAN.fit: d_loss is {values['d_loss']}, g_loss {values['g_loss']} at "
                    f"epoch {epoch + 1}, batch {index + 1}; lower the learning rates "
                    f"(compile(learning_rate=...)) or check the data for nan/inf")
            size = real.shape[0]
            for key in _LOG_KEYS:
                sums[key] += values[key] * size
            seen += size
            step += 1
            callback_list.on_train_batch_end(index, {key: sums[key] / seen
                                                     for key in _LOG_KEYS})
            if self.stop_training:
                break
        return {key: sums[key] / seen for key in _LOG_KEYS}, step

    # -- checkpoints --------------------------------------------------------------------------

    def _save(self, folder, pair, loader, epoch, step, callback_list):
        loader.set_epoch(epoch)  # the next epoch starts from its beginning
        states, arrays = checkpointing.callback_states(callback_list)
        history = callback_list.history
        extra = {_CHECKPOINT_KEY: {"history_epochs": list(history.epoch), "callbacks": states,
                                   "stopped": bool(self.stop_training)}}
        save_checkpoint(folder, self, optimizer=pair, loader=loader, epoch=epoch, step=step,
                        history=history.history, extra=extra, rng=True, arrays=arrays)

    def _restore(self, folder, pair, loader):
        info = load_checkpoint(folder, self, optimizer=pair, loader=loader, restore_rng=True,
                               arrays=True)
        where = f"{folder}/checkpoint.json"
        saved = info["extra"].get(_CHECKPOINT_KEY)
        if not isinstance(saved, dict) or not isinstance(saved.get("callbacks"), dict):
            raise ValueError(f"GAN.fit: {where} was not written by GAN.fit (no "
                             f"extra['{_CHECKPOINT_KEY}']); resume from a GAN's checkpoint")
        clean_checkpoint_folder(folder)
        resumed = checkpointing.Resumed(None, {"history": info["history"],
                                               "epoch": saved.get("history_epochs", [])},
                                        saved["callbacks"], info.get("arrays", {}), where)
        resumed.stopped = bool(saved.get("stopped", False))
        return resumed, int(info["epoch"] or 0)

    # -- checks -------------------------------------------------------------------------------

    def _build(self):
        """Run both networks once on two noise vectors (evaluation mode, no gradients): lazy
        layers get their sizes, and the discriminator is checked to give one logit per
        sample. Returns the generator's sample shape."""
        if self._sample_shape is not None:
            return self._sample_shape
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            with no_grad():
                z = ops.zeros(2, self.latent_dim, device=self._device())
                try:
                    fake = self.generator(z)
                except Exception as error:
                    error.add_note(f"GAN: the generator failed on noise of shape "
                                   f"{tuple(z.shape)} (latent_dim={self.latent_dim})")
                    raise
                logits = self.discriminator(fake)
                if self.generator_ema is not None and not self.generator_ema.is_built:
                    self.generator_ema(z)  # a lazy copy gets its shapes, then the weights
                    self.generator_ema.requires_grad_(False)
                    self._update_average(0.0)
        finally:
            for module, mode in modes:
                module.training = mode
        if tuple(logits.shape) not in ((2,), (2, 1)):
            raise ValueError(f"GAN: the discriminator must give one logit per sample, shape "
                             f"(N, 1) or (N,); for 2 generated samples it gave shape "
                             f"{tuple(logits.shape)}")
        self._sample_shape = tuple(fake.shape[1:])
        return self._sample_shape

    def _check_data(self, data, who):
        sample_shape = self._build()
        if data.ndim < 1 or len(data) == 0:
            raise ValueError(f"{who}: no samples in x (shape {data.shape})")
        if tuple(data.shape[1:]) != sample_shape:
            raise ValueError(f"{who}: the data's samples have shape {tuple(data.shape[1:])} "
                             f"(x has shape {data.shape}), but the generator makes samples "
                             f"of shape {sample_shape}; reshape the data or build the "
                             f"generator for that shape (e.g. models.gan(image_shape=...))")
        if not numpy.isfinite(data).all():
            raise ValueError(f"{who}: x holds nan or inf values")
        if self.output_range is not None:
            low, high = self.output_range
            data_low, data_high = float(data.min()), float(data.max())
            if data_low < low or data_high > high:
                raise ValueError(f"{who}: the data lies in [{data_low:g}, {data_high:g}], but "
                                 f"the generator's outputs lie in [{low:g}, {high:g}], so it "
                                 f"could never match them; scale the data (e.g. x / 255 for "
                                 f"8-bit images)")
        return data


def classify_samples(classifier, samples, threshold=0.9, num_classes=10, batch_size=256):
    """How convincing generated samples are to a classifier trained on the real data: the
    share it labels with confidence at least ``threshold``, and how many classes those
    cover (a generator that collapsed onto a few modes covers few).

    Args:
        classifier: a model giving one logit per class (``models.lenet()`` trained on
            the real digits), called in evaluation mode.
        samples: the generated samples, ``(N, *sample_shape)``.
        threshold: the softmax probability that counts as confident.
        num_classes: the number of classes, for the counts.
        batch_size: samples per forward pass.

    Returns:
        ``{"confident"``: the share of samples whose top probability is >= threshold,
        ``"classes"``: the number of classes among those, ``"counts"``: confident
        samples per class (a list), ``"predictions"``: every sample's class (NumPy),
        ``"confidence"``: every sample's top probability (NumPy)``}``.
    """
    who = "classify_samples"
    threshold = float(threshold)
    if not 0 < threshold <= 1:
        raise ValueError(f"{who}: threshold must be in (0, 1], got {threshold!r}")
    data = _as_array(samples, who)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    device = next((param.device for param in classifier.parameters()), None)
    mode = classifier.training
    classifier.eval()
    try:
        with no_grad():
            parts = [to_numpy(ops.softmax(classifier(Tensor(data[start:start + batch_size],
                                                            device=device)), axis=1).data)
                     for start in range(0, len(data), batch_size)]
    finally:
        classifier.train(mode)
    probabilities = numpy.concatenate(parts)
    if probabilities.ndim != 2 or probabilities.shape[1] != num_classes:
        raise ValueError(f"{who}: the classifier gives shape {probabilities.shape[1:]} per "
                         f"sample, expected ({num_classes},) class logits")
    predictions = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    confident = confidence >= threshold
    counts = numpy.bincount(predictions[confident], minlength=num_classes)
    return {"confident": float(confident.mean()), "classes": int((counts > 0).sum()),
            "counts": counts.tolist(), "predictions": predictions, "confidence": confidence}


class SampleGrid(Callback):
    """Writes a grid of generated images after every epoch: ``<folder>/samples_epoch_001.png``
    and so on (``somanet.viz.plot_image_grid``), always from the same ``n`` noise vectors
    (drawn once from ``seed``, the global RNG untouched), so the grids show one set of
    samples as training goes.

    Args:
        folder: where the PNGs go (created if needed).
        n: images per grid.
        seed: the seed of the fixed noise.
        columns: images per row.
    """

    chief_only = True

    def __init__(self, folder, n=64, seed=0, columns=8):
        super().__init__()
        self.folder = os.fspath(folder)
        self.n = check_positive_int("SampleGrid", "n", n)
        self.seed = check_int("SampleGrid", "seed", seed, minimum=0)
        self.columns = check_positive_int("SampleGrid", "columns", columns)
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        from ..viz import plot_image_grid
        path = os.path.join(self.folder, f"samples_epoch_{epoch + 1:03d}.png")
        images = self.model.sample(self.n, seed=self.seed)
        figure = plot_image_grid(images, path=path, columns=self.columns, limit=self.n)
        from matplotlib import pyplot  # imported by plot_image_grid already
        pyplot.close(figure)  # one figure an epoch: do not keep them all
        self.paths.append(path)


class _OptimizerPair:
    """The two optimisers as one for ``save_checkpoint`` / ``load_checkpoint``: their state
    dicts side by side, the arrays named ``generator/...`` and ``discriminator/...``."""

    def __init__(self, generator, discriminator):
        self.parts = {"generator": generator, "discriminator": discriminator}

    def state_dict(self):
        state = {"type": "GAN optimizers", "arrays": {}}
        for name, optimizer in self.parts.items():
            saved = dict(optimizer.state_dict())
            state["arrays"].update((f"{name}/{key}", value)
                                   for key, value in saved.pop("arrays").items())
            state[name] = saved
        return state

    def load_state_dict(self, state):
        if not isinstance(state, dict) or state.get("type") != "GAN optimizers":
            raise ValueError("the checkpoint's optimizer state is not a GAN's (a generator's "
                             "and a discriminator's optimizer)")
        arrays = state.get("arrays", {})
        parts = {}
        for name in self.parts:
            if not isinstance(state.get(name), dict):
                raise ValueError(f"the checkpoint has no {name} optimizer state")
            prefix = name + "/"
            parts[name] = {**state[name], "arrays": {
                key[len(prefix):]: value for key, value in arrays.items()
                if key.startswith(prefix)}}
        snapshots = []
        try:
            for name, optimizer in self.parts.items():
                snapshot = optimizer.state_dict()
                optimizer.load_state_dict(parts[name])
                snapshots.append((optimizer, snapshot))
        except (ValueError, TypeError):
            for optimizer, snapshot in snapshots:  # nothing changes on an error
                optimizer.load_state_dict(snapshot)
            raise


def _make_optimizer(identifier, network, name, learning_rate):
    params = list(network.parameters())
    if identifier is None:
        lr = DCGAN_LEARNING_RATE if learning_rate is None else learning_rate
        return Adam(params, lr=lr, betas=DCGAN_BETAS)
    try:
        optimizer = _optimizers.get(identifier, params, learning_rate)
    except (TypeError, ValueError) as error:
        raise type(error)(f"GAN.compile: {name}: {error}") from None
    mine = {id(param) for param in params}
    theirs = [id(param) for param in optimizer.parameters()]
    if not theirs or any(key not in mine for key in theirs):
        part = "generator" if name == "g_optimizer" else "discriminator"
        raise ValueError(f"GAN.compile: {name} must optimise the {part}'s parameters only "
                         f"(it holds {len(theirs)} parameter(s), {sum(k in mine for k in theirs)}"
                         f" of them the {part}'s); make it from gan.{part}.parameters() or "
                         f"pass its name")
    return optimizer


def _as_array(x, who):
    if isinstance(x, Tensor):
        x = to_numpy(x.data)
    elif isinstance(x, (DataLoader, TensorDataset)):
        raise TypeError(f"{who}: x must be an array of samples (N, ...), got a "
                        f"{type(x).__name__}; pass the images themselves")
    try:
        array = numpy.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{who}: x must be an array of samples, got {type(x).__name__} "
                        f"({error})") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{who}: x must hold numbers, got dtype {array.dtype}")
    return array.astype(numpy.float32, copy=False)


def _sigmoid(logits):
    return 0.5 * (1.0 + numpy.tanh(0.5 * logits))  # no overflow for large |logit|


def _image_shape(shape, who):
    shape = (shape,) if is_int(shape) else tuple(shape)
    if len(shape) not in (1, 2, 3):
        raise ValueError(f"{who}: image_shape must be (H, W), (C, H, W) or (features,), got "
                         f"{shape!r}")
    return tuple(check_positive_int(who, "image_shape entries", size) for size in shape)


class _Rescale(nn.Module):
    """``x -> scale * x + offset`` (Keras's ``Rescaling``), no parameters."""

    def __init__(self, scale, offset):
        super().__init__()
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x):
        return x * self.scale + self.offset

    def extra_repr(self):
        return f"scale={self.scale:g}, offset={self.offset:g}"


def gan(latent_dim=64, image_shape=IMAGE_SHAPE, hidden=(256, 512),
        generator_loss="non_saturating", dropout=0.3, ema_decay=None):
    """The fully connected GAN of Goodfellow et al. (2014), for images in [0, 1].

    Architecture (defaults)::

        generator                               z (N, 64)
          Dense(256), LeakyReLU(0.2)            64*256 + 256     =  16,640
          Dense(512), LeakyReLU(0.2)            256*512 + 512    = 131,584
          Dense(784, sigmoid), Reshape(28, 28)  512*784 + 784    = 402,192
        discriminator                           x (N, 28, 28)
          2x - 1, Flatten                       pixels in [-1, 1]
          Dense(512), LeakyReLU(0.2), Dropout(0.3)  784*512 + 512 = 401,920
          Dense(256), LeakyReLU(0.2), Dropout(0.3)  512*256 + 256 = 131,328
          Dense(1)                              a logit              257
                                                total             1,083,921

    The generator mirrors the discriminator (``hidden`` from the noise up); a sigmoid
    output matches data in [0, 1] (``output_range``). The discriminator sees the pixels
    as ``2x - 1`` (the [-1, 1] range of the usual tanh GANs): fed [0, 1] pixels, whose
    dark background is 0, its first layer learns nothing from the real digits'
    background, it wins on the fakes' grey alone (``D(G(z))`` ~0.05 within an epoch on
    mnist_small) and the generator collapses onto a single blob, every sample alike.
    See ``GAN`` and the module docstring for the losses.

    On mnist_small's 4,000 training digits (Adam 2e-4, beta_1 0.5, batches of 64,
    samples from ``ema_decay=0.999``, seed 0) the players stay in a game (``D(G(z))``
    0.19, ``d_loss`` 0.57 in the 50th epoch) and the samples are varied digits: a LeNet
    trained on the real digits labels 41.2% of 1,000 of them with confidence >= 0.9,
    covering 9 classes (after 30 epochs: 21.3%, 8 classes; 12.1% and 6 classes without
    dropout; with [0, 1] pixels for D: 0.2%, one class, ``D(G(z))`` 0.004). 50 epochs
    took 166 to 212 s on a busy 2-core machine (``examples/gan_digits.py --model gan``).
    ``models.dcgan`` draws cleaner digits (69.4%, 10 classes, after 50 epochs).

    Args:
        latent_dim: the noise size.
        image_shape: the shape of one sample.
        hidden: the generator's hidden widths, from the noise up; the discriminator uses
            them in reverse.
        generator_loss: ``"non_saturating"`` or ``"minimax"``.
        dropout: dropout after each hidden layer of the discriminator (0: none); 0.3,
            the usual choice for this GAN, slows the discriminator down.
        ema_decay: keep a moving average of the generator's weights to sample from (see
            ``GAN``); ``None``: none.
    """
    who = "models.gan"
    latent_dim = check_positive_int(who, "latent_dim", latent_dim)
    image_shape = _image_shape(image_shape, who)
    hidden = (hidden,) if is_int(hidden) else tuple(hidden)
    for width in hidden:
        check_positive_int(who, "hidden", width)
    features = math.prod(image_shape)
    layers, width = [], latent_dim
    for size in hidden:
        layers += [nn.Dense(width, size), nn.LeakyReLU(0.2)]
        width = size
    generator = nn.Sequential(*layers, nn.Dense(width, features, activation="sigmoid"),
                              nn.Reshape(*image_shape))
    # D sees 2x - 1: a background of -1, not 0. On inputs in [0, 1] the first layer's
    # weights on dark pixels get no gradient from real digits, D wins by the fakes' grey
    # background alone and G collapses onto one blob (D(G(z)) ~0.05 after a few epochs,
    # in torch too); centred inputs keep the game balanced.
    layers, width = [_Rescale(2.0, -1.0), nn.Flatten()], features
    for size in reversed(hidden):
        layers += [nn.Dense(width, size), nn.LeakyReLU(0.2)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    discriminator = nn.Sequential(*layers, nn.Dense(width, 1))
    return GAN(generator, discriminator, latent_dim, generator_loss, output_range=(0.0, 1.0),
               ema_decay=ema_decay)


def dcgan(latent_dim=64, image_shape=IMAGE_SHAPE, filters=32, generator_loss="non_saturating",
          ema_decay=None):
    """DCGAN (Radford, Metz & Chintala 2016) for small images in [0, 1], such as 28 x 28
    digits.

    Architecture (defaults; ``F = filters = 32``, ``C`` channels, ``H = W = 28``)::

        generator                                z (N, 64)
          Dense(2F * 7 * 7), BatchNorm1D, ReLU   -> Reshape (N, 64, 7, 7)
          ConvTranspose2D(2F -> F, 4, stride 2, padding 1), BatchNorm2D, ReLU
                                                 -> (N, 32, 14, 14)
          ConvTranspose2D(F -> C, 4, stride 2, padding 1), sigmoid
                                                 -> (N, 1, 28, 28) -> Reshape (N, 28, 28)
        discriminator
          Reshape (N, C, 28, 28)
          Conv2D(C -> F, 4, stride 2, padding 1), LeakyReLU(0.2)          -> (N, 32, 14, 14)
          Conv2D(F -> 2F, 4, stride 2, padding 1), BatchNorm2D, LeakyReLU(0.2)
                                                                          -> (N, 64, 7, 7)
          Flatten, Dense(1)                      a logit

    The paper's rules: strided convolutions instead of pooling, batch norm everywhere
    but on the generator's output and the discriminator's input, ReLU in the generator,
    LeakyReLU(0.2) in the discriminator, weights from N(0, 0.02); train with Adam (lr
    2e-4, beta_1 0.5), what ``GAN.compile()`` gives by default. The paper's tanh output
    is a sigmoid here, for data in [0, 1]. The paper's generator for 64 x 64 images has
    four transposed convolutions from 4 x 4; two from 7 x 7 fit 28 x 28.

    Args:
        latent_dim: the noise size.
        image_shape: ``(H, W)`` (one channel) or ``(C, H, W)``; ``H`` and ``W`` divisible
            by 4.
        filters: ``F``, the channels of the first convolution of ``D`` (and the last
            hidden one of ``G``).
        generator_loss: ``"non_saturating"`` or ``"minimax"``.
        ema_decay: keep a moving average of the generator's weights to sample from (see
            ``GAN``); ``None``: none.
    """
    who = "models.dcgan"
    latent_dim = check_positive_int(who, "latent_dim", latent_dim)
    image_shape = _image_shape(image_shape, who)
    if len(image_shape) == 1:
        raise ValueError(f"{who}: image_shape must be (H, W) or (C, H, W), got {image_shape}")
    channels, height, width = (1,) + image_shape if len(image_shape) == 2 else image_shape
    if height % 4 or width % 4:
        raise ValueError(f"{who}: the image height and width must be divisible by 4 (two "
                         f"stride-2 layers), got {height} x {width}")
    filters = check_positive_int(who, "filters", filters)
    init = functools.partial(nn.init.normal, std=0.02)
    small = (2 * filters, height // 4, width // 4)
    generator = nn.Sequential(
        nn.Dense(latent_dim, math.prod(small), kernel_initializer=init),
        nn.BatchNorm1D(math.prod(small)), nn.ReLU(), nn.Reshape(*small),
        nn.ConvTranspose2D(2 * filters, filters, 4, stride=2, padding=1,
                           kernel_initializer=init),
        nn.BatchNorm2D(filters), nn.ReLU(),
        nn.ConvTranspose2D(filters, channels, 4, stride=2, padding=1, activation="sigmoid",
                           kernel_initializer=init),
        nn.Reshape(*image_shape))
    discriminator = nn.Sequential(
        nn.Reshape(channels, height, width),
        nn.Conv2D(channels, filters, 4, stride=2, padding=1, kernel_initializer=init),
        nn.LeakyReLU(0.2),
        nn.Conv2D(filters, 2 * filters, 4, stride=2, padding=1, kernel_initializer=init),
        nn.BatchNorm2D(2 * filters), nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Dense(math.prod(small), 1, kernel_initializer=init))
    return GAN(generator, discriminator, latent_dim, generator_loss, output_range=(0.0, 1.0),
               ema_decay=ema_decay)
