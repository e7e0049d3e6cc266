"""The model zoo's architectures on the command line: what ``somanet train --model NAME``
builds, trains, draws and reports for each of them.

=============== ============================================ ==========================
``--model``     what is trained on the images (defaults)     ``evaluate`` reports
=============== ============================================ ==========================
``gan``         ``models.gan``: fully connected, 10 epochs   D(x) on the test digits,
                                                             D(G(z)) on 1,000 samples;
                                                             with ``--judge RUN`` the
                                                             share of samples a trained
                                                             classifier labels with
                                                             confidence >= 0.9, and
                                                             the classes they cover
``dcgan``       ``models.dcgan`` (32 filters), 3 epochs      the same
``rbm``         ``models.RBM(784, 100)``, CD-1, 5 epochs     reconstruction error
``dbn``         ``models.DBN((784, 256, 128))``: each RBM    test loss and accuracy
                pre-trained, then fine-tuned, 5 epochs each
``cdbn``        ``models.ConvolutionalDBN`` (24 and 40       test loss and accuracy
                filters): 2 epochs per layer, then 2 of
                fine-tuning
``autoencoder`` ``models.autoencoder(32)``, 5 epochs         reconstruction error, BCE
``dae``         ``models.denoising_autoencoder(32)``         the same
``vae``         ``models.vae(2)``, 5 epochs                  test ELBO, reconstruction
                                                             error
``dsn``         ``models.DSN`` (3 modules of 256), 3 epochs  accuracy per module
                per module
``lamstar``     ``models.LAMSTAR`` on 7 x 7 patches, 2       test accuracy
                passes
=============== ============================================ ==========================

``--epochs`` is each stage's: a DBN's layers and its fine-tuning, a DSN's modules. The
generative ones (``gan``, ``dcgan``, ``vae``, ``rbm``, ``dbn``) draw samples with
``somanet sample``. This module knows nothing of run folders (``train`` and ``runs`` do).
"""
import math
import os

import numpy

from .. import models, viz
from ..backend import manual_seed, to_numpy
from ..train import losses
from .errors import CommandError, one_line

SAMPLE_STEPS = 1000  # Gibbs steps for an RBM's or a DBN's samples
SCORED_SAMPLES = 1000  # generated digits a GAN's evaluation scores
CONFIDENCE = 0.9
PATCH = 7  # LAMSTAR's sub-words: 7 x 7 patches of the 28 x 28 digits


class Architecture:
    """One ``--model``: its builder and defaults, how it trains, draws and is evaluated."""

    name = ""
    builder = None
    options = {}
    epochs = 5
    batch_size = 32
    objective = ""
    generative = False
    classifier = False  # gives class logits: predict and --judge take it
    takes_optimizer = True
    stages = None  # the checkpoint sub-folders of a run trained in stages (None: one)

    def build(self, options):
        try:
            return type(self).builder(**options)
        except (TypeError, ValueError) as error:
            raise CommandError(f"--model {self.name}: {one_line(error)}") from None

    def inputs(self, x):
        """The images as the model takes them."""
        return x

    def stage_folders(self, checkpoint_dir, options):
        """The checkpoint folders, in training order (the last tells if the run finished)."""
        return [checkpoint_dir]

    def fit(self, model, data, config, checkpoint_dir, resume, verbose, callbacks):
        """Train; returns the per-epoch history, a dict of name -> list."""
        raise NotImplementedError

    def figures(self, model, data, history, out):
        """Draw the figures into ``out``; returns their names."""
        return [_plot_history(history, os.path.join(out, "history.png"))]

    def evaluate(self, model, data, batch_size):
        """``(metrics, text)`` on the test split."""
        raise NotImplementedError

    def sample(self, model, n, seed, steps):
        raise CommandError(f"a {self.name} run does not generate images; somanet sample takes "
                           f"runs of {', '.join(GENERATIVE)}")


class GAN(Architecture):
    name = "gan"
    builder = staticmethod(models.gan)
    # Samples come from an average of the generator over ~100 steps: these runs are short,
    # and 0.999 would still hold much of the untrained generator after a few epochs.
    options = {"latent_dim": 64, "hidden": [256, 512], "ema_decay": 0.99}
    epochs = 10
    batch_size = 64
    objective = "non-saturating GAN losses (d_loss, g_loss)"
    generative = True

    def fit(self, model, data, config, checkpoint_dir, resume, verbose, callbacks):
        if config["optimizer"] is not None or config["lr"] is not None:
            model.compile(config["optimizer"], config["optimizer"], config["lr"])
        else:
            model.compile()  # DCGAN's Adam, lr 2e-4, beta_1 0.5, for both players
        sample_dir = config.get("sample_dir")
        history = model.fit(data.x_train, epochs=config["epochs"],
                            batch_size=config["batch_size"], verbose=verbose,
                            seed=config["seed"], checkpoint_dir=checkpoint_dir, resume=resume,
                            callbacks=callbacks, sample_dir=sample_dir)
        return history.history

    def figures(self, model, data, history, out):
        save_grid(os.path.join(out, "samples.png"), model.sample(64, seed=0))
        names = ["samples.png"]
        if os.path.isdir(os.path.join(out, "samples")):
            names.append("samples/")
        return names + [_plot_history(history, os.path.join(out, "history.png"),
                                      ["d_loss", "g_loss"])]

    def evaluate(self, model, data, batch_size, judge=None):
        real = float(model.discriminate(data.x_test).mean())
        generated = model.sample(SCORED_SAMPLES, seed=1)
        fake = float(model.discriminate(generated).mean())
        metrics = {"d_real": real, "d_fake": fake, "samples": SCORED_SAMPLES}
        text = (f"D(x) {real:.3f} on the test digits, D(G(z)) {fake:.3f} on "
                f"{SCORED_SAMPLES:,} samples")
        if judge is None:
            return metrics, text + ("; give --judge RUN (a classifier run, e.g. somanet train "
                                    "--model lenet) for the share of samples it labels with "
                                    f"confidence >= {CONFIDENCE}")
        name, classifier = judge
        merit = models.classify_samples(classifier, generated, threshold=CONFIDENCE)
        metrics.update(confident=merit["confident"], classes=merit["classes"],
                       counts=merit["counts"])
        return metrics, (f"{text}; {name} labels {merit['confident']:.1%} of them with "
                         f"confidence >= {CONFIDENCE}, covering {merit['classes']} of 10 "
                         f"classes {merit['counts']}")

    def sample(self, model, n, seed, steps):
        return model.sample(n, seed=seed)


class DCGAN(GAN):
    name = "dcgan"
    builder = staticmethod(models.dcgan)
    options = {"latent_dim": 64, "filters": 32, "ema_decay": 0.99}
    epochs = 3


class RBM(Architecture):
    name = "rbm"
    builder = staticmethod(models.RBM)
    options = {"n_visible": 784, "n_hidden": 100, "k": 1, "persistent": False,
               "image_shape": [28, 28]}
    objective = "CD-k (the logged loss is the reconstruction error)"
    generative = True

    def fit(self, model, data, config, checkpoint_dir, resume, verbose, callbacks):
        model.compile(config["optimizer"], config["lr"])  # None: SGD, momentum 0.5, lr 0.1
        model.init_visible_bias(data.x_train)  # a resumed run's checkpoint overrides it
        history = model.fit(data.x_train, epochs=config["epochs"],
                            batch_size=config["batch_size"], verbose=verbose,
                            seed=config["seed"], checkpoint_dir=checkpoint_dir, resume=resume,
                            callbacks=callbacks, validation_data=(data.x_test,))
        return history.history

    def figures(self, model, data, history, out):
        save_grid(os.path.join(out, "filters.png"), model.filters()[:100], columns=10,
                  normalize=True)
        self._reconstructions(model, data, out)
        save_grid(os.path.join(out, "samples.png"), self.sample(model, 64, 0, SAMPLE_STEPS))
        return ["filters.png", "reconstructions.png", "samples.png",
                _plot_history(history, os.path.join(out, "history.png"), ["loss"])]

    @staticmethod
    def _reconstructions(model, data, out):
        digits = data.x_test[:32]
        again = to_numpy(model.reconstruct(digits.reshape(len(digits), -1)).data)
        save_grid(os.path.join(out, "reconstructions.png"), _interleave(digits, again))

    def evaluate(self, model, data, batch_size):
        error = model.reconstruction_error(data.x_test)
        free = float(to_numpy(model.free_energy(data.x_test).data).mean())
        return ({"reconstruction_error": error, "free_energy": free},
                f"reconstruction error {error:.4f} (mean squared, per pixel), mean free "
                f"energy {free:.2f}")

    def sample(self, model, n, seed, steps):
        manual_seed(seed)
        return to_numpy(model.sample(n, steps=steps).data).reshape(n, 28, 28)


class DBN(Architecture):
    name = "dbn"
    builder = staticmethod(models.DBN)
    options = {"sizes": [784, 256, 128], "num_classes": 10}
    objective = "CD-1 pre-training per layer, then sparse categorical cross-entropy"
    generative = True
    classifier = True
    stages = True

    def stage_folders(self, checkpoint_dir, options):
        layers = len(options["sizes"]) - 1
        return [os.path.join(checkpoint_dir, "pretrain", f"layer_{index + 1}")
                for index in range(layers)] + [os.path.join(checkpoint_dir, "finetune")]

    def _pretrain(self, model, data, config, checkpoint_dir, resume, verbose, callbacks):
        return model.pretrain(data.x_train, epochs=config["epochs"],
                              batch_size=config["batch_size"], verbose=verbose,
                              checkpoint_dir=os.path.join(checkpoint_dir, "pretrain"),
                              resume=resume, seed=config["seed"], callbacks=callbacks)

    def fit(self, model, data, config, checkpoint_dir, resume, verbose, callbacks):
        # Pre-training uses the RBMs' own optimiser (SGD with momentum); --optimizer and
        # --lr are the fine-tuning's.
        pretrained = self._pretrain(model, data, config, checkpoint_dir, resume, verbose,
                                    callbacks)
        model.compile(optimizer=config["optimizer"] or "adam", learning_rate=config["lr"],
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        history = model.fit(data.x_train, data.y_train, epochs=config["epochs"],
                            batch_size=config["batch_size"], verbose=verbose,
                            seed=config["seed"], validation_data=(data.x_test, data.y_test),
                            checkpoint_dir=os.path.join(checkpoint_dir, "finetune"),
                            resume=resume, callbacks=callbacks)
        logs = dict(history.history)
        for index, layer in enumerate(pretrained):
            logs[f"pretrain_{index + 1}_loss"] = list(layer.history["loss"])
        return logs

    @staticmethod
    def first_filters(model):
        return model.rbms[0].filters()

    def figures(self, model, data, history, out):
        save_grid(os.path.join(out, "filters.png"), self.first_filters(model)[:100],
                  columns=10, normalize=True)
        names = ["filters.png"]
        if self.generative:
            save_grid(os.path.join(out, "samples.png"),
                      self.sample(model, 64, 0, SAMPLE_STEPS))
            names.append("samples.png")
        return names + [_plot_history(history, os.path.join(out, "history.png"),
                                      ["loss", "accuracy"])]

    def evaluate(self, model, data, batch_size):
        model.compile(optimizer="adam",
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        result = model.evaluate(data.x_test, data.y_test, batch_size=batch_size, verbose=0)
        loss, accuracy = (float(value) for value in result[:2])
        return ({"test_loss": loss, "test_accuracy": accuracy},
                f"loss {loss:.4f}, accuracy {accuracy:.4f}")

    def sample(self, model, n, seed, steps):
        manual_seed(seed)
        return to_numpy(model.sample(n, steps=steps).data).reshape(n, 28, 28)


class CDBN(DBN):
    name = "cdbn"
    builder = staticmethod(models.ConvolutionalDBN)
    options = {"filters": [24, 40], "kernel_sizes": [7, 4], "pool_sizes": [2, 2],
               "num_classes": 10}
    epochs = 2
    objective = "CD-1 with sparsity per layer, then sparse categorical cross-entropy"
    generative = False

    def stage_folders(self, checkpoint_dir, options):
        return [os.path.join(checkpoint_dir, "pretrain", f"layer_{index + 1}")
                for index in range(len(options["filters"]))] + \
            [os.path.join(checkpoint_dir, "finetune")]

    @staticmethod
    def first_filters(model):
        return model.layers[0].filters_array()[:, 0]

    def sample(self, model, n, seed, steps):
        return Architecture.sample(self, model, n, seed, steps)


class Autoencoder(Architecture):
    name = "autoencoder"
    builder = staticmethod(models.autoencoder)
    options = {"code_dim": 32, "hidden": [256]}
    objective = "binary cross-entropy of the pixels"

    def fit(self, model, data, config, checkpoint_dir, resume, verbose, callbacks):
        model.compile(optimizer=config["optimizer"] or "adam", learning_rate=config["lr"])
        history = model.fit(data.x_train, epochs=config["epochs"],
                            batch_size=config["batch_size"], verbose=verbose,
                            seed=config["seed"], validation_data=data.x_test,
                            checkpoint_dir=checkpoint_dir, resume=resume, callbacks=callbacks)
        return history.history

    def figures(self, model, data, history, out):
        digits = data.x_test[:32]
        save_grid(os.path.join(out, "reconstructions.png"),
                  _interleave(digits, model.reconstruct(digits)))
        return ["reconstructions.png",
                _plot_history(history, os.path.join(out, "history.png"), ["loss"])]

    def evaluate(self, model, data, batch_size):
        error = model.reconstruction_error(data.x_test, batch_size=batch_size)
        model.compile()
        loss = float(numpy.ravel(model.evaluate(data.x_test, data.x_test,
                                                batch_size=batch_size, verbose=0))[0])
        return ({"reconstruction_error": error, "test_loss": loss},
                f"reconstruction error {error:.4f} (mean squared, per pixel), binary "
                f"cross-entropy {loss:.4f}")


class DAE(Autoencoder):
    name = "dae"
    builder = staticmethod(models.denoising_autoencoder)
    options = {"code_dim": 32, "hidden": [256], "noise": "masking", "noise_level": 0.3}
    objective = "binary cross-entropy of the clean pixels from corrupted inputs"


class VAE(Autoencoder):
    name = "vae"
    builder = staticmethod(models.vae)
    options = {"latent_dim": 2, "hidden": [512]}
    objective = "negative ELBO (nats per image)"
    generative = True

    def figures(self, model, data, history, out):
        names = super().figures(model, data, history, out)
        save_grid(os.path.join(out, "samples.png"), model.sample(64, seed=0))
        return names[:1] + ["samples.png"] + names[1:]

    def evaluate(self, model, data, batch_size):
        error = model.reconstruction_error(data.x_test, batch_size=batch_size)
        elbo = model.elbo(data.x_test, batch_size=batch_size)
        return ({"reconstruction_error": error, "elbo": elbo["elbo"],
                 "reconstruction": elbo["reconstruction"], "kl": elbo["kl"]},
                f"ELBO {elbo['elbo']:.2f} nats an image (reconstruction "
                f"{elbo['reconstruction']:.2f}, KL {elbo['kl']:.2f}), reconstruction error "
                f"{error:.4f} (mean squared, per pixel)")

    def sample(self, model, n, seed, steps):
        return model.sample(n, seed=seed)


class DSN(Architecture):
    name = "dsn"
    builder = staticmethod(models.DSN)
    options = {"n_inputs": 784, "n_classes": 10, "n_modules": 3, "n_hidden": 256,
               "ridge": 0.01}
    epochs = 3
    batch_size = 500
    objective = "squared error to one-hot targets, upper weights by ridge regression"
    stages = True

    def stage_folders(self, checkpoint_dir, options):
        return [os.path.join(checkpoint_dir, f"module_{index + 1}")
                for index in range(options["n_modules"])]

    def fit(self, model, data, config, checkpoint_dir, resume, verbose, callbacks):
        history = model.fit(data.x_train, data.y_train, epochs=config["epochs"],
                            batch_size=config["batch_size"],
                            optimizer=config["optimizer"] or "adam",
                            learning_rate=config["lr"], verbose=verbose,
                            validation_data=(data.x_test, data.y_test),
                            checkpoint_dir=checkpoint_dir, resume=resume, seed=config["seed"])
        return history.history

    def figures(self, model, data, history, out):
        figure = model.plot_module_accuracy(os.path.join(out, "module_accuracy.png"))
        _close(figure)
        return ["module_accuracy.png"]

    def evaluate(self, model, data, batch_size):
        accuracies = model.module_accuracies(data.x_test, data.y_test)
        return ({"test_accuracy": accuracies[-1], "module_accuracies": accuracies},
                f"accuracy {accuracies[-1]:.4f} (after each module: "
                f"{', '.join(f'{value:.4f}' for value in accuracies)})")


class LAMSTAR(Architecture):
    name = "lamstar"
    builder = staticmethod(models.LAMSTAR)
    options = {"n_subwords": (28 // PATCH) ** 2, "subword_size": PATCH * PATCH,
               "n_classes": 10, "neurons": 64}
    epochs = 2
    batch_size = 512
    objective = "online SOM winners and reward/punish link learning (no gradient)"
    takes_optimizer = False

    def inputs(self, x):
        return models.image_patches(x, PATCH)

    def fit(self, model, data, config, checkpoint_dir, resume, verbose, callbacks):
        history = model.fit(self.inputs(data.x_train), data.y_train, epochs=config["epochs"],
                            seed=config["seed"], verbose=min(verbose, 1),
                            checkpoint_dir=checkpoint_dir, resume=resume)
        return history.history

    def figures(self, model, data, history, out):
        _close(model.plot_links(os.path.join(out, "links.png")))
        return ["links.png",
                _plot_history(history, os.path.join(out, "history.png"), ["accuracy"])]

    def evaluate(self, model, data, batch_size):
        accuracy = model.accuracy(self.inputs(data.x_test), data.y_test, batch_size=batch_size)
        return {"test_accuracy": accuracy}, f"accuracy {accuracy:.4f}"


ARCHITECTURES = {kind.name: kind() for kind in (GAN, DCGAN, RBM, DBN, CDBN, Autoencoder, DAE,
                                                VAE, DSN, LAMSTAR)}
NAMES = tuple(ARCHITECTURES)
GENERATIVE = tuple(name for name, kind in ARCHITECTURES.items() if kind.generative)


def get(name):
    """The ``Architecture`` of ``--model name`` (``None`` for the classifiers of
    ``somanet.models.get``: mlp, lenet, lstm)."""
    return ARCHITECTURES.get(name)


def check_classifier(run_dir, config):
    """Raise CommandError unless the run's model gives class logits for images or rows (what
    ``predict`` and ``export`` take)."""
    zoo = get(config["model"])
    if zoo is not None and not zoo.classifier:
        raise CommandError(f"{run_dir} holds a {zoo.name} run; predict and export take "
                           f"classifiers that give class logits (mlp, lenet, lstm, dbn, "
                           f"cdbn); somanet evaluate reports what fits a {zoo.name}")


# -- pictures ---------------------------------------------------------------------------------


def save_grid(path, images, columns=8, normalize=False, scale=2):
    """Save ``images`` (N, H, W) in [0, 1] as one PNG mosaic, ``columns`` a row, a dark line
    between them, each pixel ``scale`` x ``scale`` (one image, so fast for many digits).
    ``normalize``: stretch each image to [0, 1] first (filters). ``.npy`` paths get the
    array itself."""
    images = numpy.asarray(to_numpy(images.data) if hasattr(images, "data") and
                           not isinstance(images, numpy.ndarray) else images, numpy.float32)
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        images = images.reshape(len(images), side, side)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if str(path).lower().endswith(".npy"):
        numpy.save(path, images)
        return path
    if normalize:
        low = images.min(axis=(1, 2), keepdims=True)
        high = images.max(axis=(1, 2), keepdims=True)
        images = (images - low) / numpy.maximum(high - low, 1e-12)
    images = numpy.clip(images, 0.0, 1.0)
    count, height, width = images.shape
    columns = min(columns, count)
    rows = -(-count // columns)
    mosaic = numpy.full((rows * (height + 1) + 1, columns * (width + 1) + 1), 0.25,
                        numpy.float32)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = 1 + row * (height + 1), 1 + column * (width + 1)
        mosaic[top:top + height, left:left + width] = image
    mosaic = mosaic.repeat(scale, axis=0).repeat(scale, axis=1)
    try:
        from matplotlib import image as mpimg
    except ImportError:
        raise CommandError(f"drawing {path} needs matplotlib (pip install 'somanet[viz]'); "
                           f"or write a .npy file") from None
    mpimg.imsave(path, mosaic, cmap="gray", vmin=0.0, vmax=1.0)
    return path


def _interleave(originals, reconstructions):
    """Rows of 8 originals, each followed by the row of their reconstructions."""
    originals = numpy.asarray(originals).reshape(len(originals), 28, 28)
    again = numpy.asarray(reconstructions).reshape(len(originals), 28, 28)
    rows = []
    for start in range(0, len(originals), 8):
        rows += [originals[start:start + 8], again[start:start + 8]]
    return numpy.concatenate(rows)


def _plot_history(history, path, metrics=None):
    keys = [key for key in (metrics or history) if history.get(key)]
    figure = viz.plot_history({key: value for key, value in history.items()
                               if key in keys or key[4:] in keys}, path, metrics=keys or None)
    _close(figure)
    return os.path.basename(path)


def _close(figure):
    from matplotlib import pyplot  # plot_* imported it already
    pyplot.close(figure)


__all__ = ["ARCHITECTURES", "Architecture", "GENERATIVE", "NAMES", "get", "save_grid"]
