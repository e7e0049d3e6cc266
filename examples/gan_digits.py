"""A DCGAN (or a fully connected GAN) draws digits after training on mnist_small, and a
LeNet trained on the real digits judges them.

The game (Goodfellow et al. 2014): a generator ``G`` turns noise ``z ~ N(0, I)`` into
images, a discriminator ``D`` tells them from real ones,

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]

one Adam step for each player per batch; the generator minimises the non-saturating
``-log D(G(z))``. DCGAN (Radford et al. 2016) makes both players convolutional:
strided convolutions in ``D``, ``ConvTranspose2D`` in ``G``, batch norm in both, Adam at
2e-4 with beta_1 = 0.5 (``somanet.models.dcgan`` documents the layers).

The figure of merit: LeNet-5 trained on the 4,000 real training digits (12 epochs of
Adam: 0.964 test accuracy) classifies 1,000 generated digits; a good generator makes
digits it labels with confidence >= 0.9 (the target: at least 80% of them) and of every
class (all 10 among those; a collapsed generator would cover a few).

Measured with the defaults (DCGAN with 32 filters, batches of 64, samples from the moving
average of the generator, ``ema_decay=0.999``; seed 0), scored after every 10 epochs of
one 60-epoch run on the same 1,000 noise vectors (nothing else draws from the RNG, so
the score at epoch E is what ``main(epochs=E)`` reports):

    epochs                         10      20      30      40      50      60
    labelled with confidence>=0.9  0.1%   28.0%   55.9%   64.8%   69.4%   70.2%
    classes among those             1       9      10      10      10      10

At the default 50 epochs: 69.4% of the 1,000 digits labelled with confidence >= 0.9,
covering all 10 classes (per class 129, 10, 31, 38, 37, 74, 37, 144, 38, 156: ones are
rare, 0s, 7s and 9s common); the discriminator still wins (d_loss 0.65, it tells 89% of
real and fake digits apart). The issue's target of 80% is NOT reached within this
budget: the curve flattens after 50 epochs (+0.8 points in the next 10). Untried here
(each run is tens of minutes on this CPU): 64 filters, more epochs, a slower average.
Timings: on an idle 2-core machine an epoch takes ~11 s and LeNet ~1 min, so the
defaults run ~10 minutes; the run above shared its 2 cores with other jobs (load 6 to
11): its 60 epochs took 26 minutes. With a busy machine set ``OMP_NUM_THREADS=1``: two BLAS threads
fighting other processes made each step ~7x slower here.

The fully connected GAN (``--model gan``: ``models.gan()``'s defaults, its
discriminator seeing the pixels as 2x - 1 and dropping out 0.3; the same 50 epochs, seed
and judge): 41.2% of the 1,000 digits labelled with confidence >= 0.9, covering 9 classes
(per class 0, 62, 27, 90, 68, 8, 6, 80, 13, 58: no zeros), D(G(z)) 0.19 in the last
epoch; 166 to 212 s of training on the busy machine. After 30 epochs: 21.3%, 8 classes. Fed raw
[0, 1] pixels, its discriminator won within an epoch (D(G(z)) 0.004 after 30) and every
sample was the same blob: 0.2%, one class (a torch twin of the same networks and
optimisers collapsed alike; with [-1, 1] inputs it did not).

Figures in ``--out``: ``gan_samples.png`` (64 generated digits, titled with LeNet's
label), ``gan_losses.png`` (both players' losses per epoch), and ``samples/``: one grid
of the same 64 noise vectors per epoch (``sample_dir=``), to watch the digits form.

    python examples/gan_digits.py [--out FOLDER] [--model dcgan|gan] [--epochs N] [--seed N]
"""
import argparse
import os
import tempfile
import time

import somanet as sn
from somanet import models

EPOCHS = 50


def train_classifier(seed=0, epochs=5, verbose=0):
    """LeNet-5 trained on mnist_small's training digits; returns it and its test accuracy."""
    (x_train, y_train), (x_test, y_test) = (sn.datasets.mnist_small("train"),
                                            sn.datasets.mnist_small("test"))
    sn.manual_seed(seed)
    classifier = models.lenet()
    classifier.compile(optimizer="adam", metrics=["accuracy"],
                       loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True))
    classifier.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=verbose, seed=seed)
    _, accuracy = classifier.evaluate(x_test, y_test, verbose=0)
    return classifier, float(accuracy)


def main(out=None, model="dcgan", epochs=EPOCHS, seed=0, train_size=None, batch_size=64,
         samples=1000, classifier_epochs=12, filters=32, ema_decay=0.999, grid=64, verbose=2):
    """Train the GAN, then score its samples with LeNet.

    Args:
        out: the folder for the figures (default: a new temporary folder).
        model: ``"dcgan"`` or ``"gan"`` (fully connected).
        epochs: GAN epochs.
        seed: the seed of everything.
        train_size: train the GAN on the first that many digits only (a fast test).
        batch_size: real digits per batch.
        samples: generated digits to score.
        classifier_epochs: LeNet's epochs.
        filters: the DCGAN's ``filters`` (``models.dcgan``).
        ema_decay: sample from a moving average of the generator's weights (``GAN``);
            ``None`` for the generator itself.
        grid: the number of digits in each figure of samples.
        verbose: ``fit``'s verbosity (2: one line per epoch).

    Returns:
        ``{"history"`` (per-epoch d_loss, g_loss, d_real, d_fake, d_accuracy),
        ``"classifier_accuracy"`` (LeNet on the real test digits), ``"real_confident"``
        (the share of real test digits LeNet labels with confidence >= 0.9, for
        reference), ``"confident"``, ``"classes"``, ``"counts"`` (the figure of merit on
        ``samples`` generated digits), ``"seconds"`` (training the GAN),
        ``"figures"``: the paths of the two PNGs, ``"sample_grids"``: one PNG per epoch``}``.
    """
    out = out or tempfile.mkdtemp(prefix="gan_digits_")
    os.makedirs(out, exist_ok=True)
    x_train, _ = sn.datasets.mnist_small("train")
    if train_size is not None:
        x_train = x_train[:train_size]

    sn.manual_seed(seed)
    if model == "dcgan":
        gan = models.dcgan(filters=filters, ema_decay=ema_decay)
    elif model == "gan":
        gan = models.gan(ema_decay=ema_decay)
    else:
        raise ValueError(f"gan_digits: model must be 'dcgan' or 'gan', got {model!r}")
    started = time.perf_counter()
    history = gan.fit(x_train, epochs=epochs, batch_size=batch_size, verbose=verbose,
                      seed=seed, sample_dir=os.path.join(out, "samples"), samples=grid)
    seconds = time.perf_counter() - started

    classifier, accuracy = train_classifier(seed, classifier_epochs)
    x_test, _ = sn.datasets.mnist_small("test")
    real = models.classify_samples(classifier, x_test)
    generated = gan.sample(samples, seed=seed + 1)
    merit = models.classify_samples(classifier, generated)

    samples_path = os.path.join(out, "gan_samples.png")
    figure = sn.viz.plot_image_grid(generated[:grid], predictions=merit["predictions"][:grid],
                                    path=samples_path, limit=grid)
    losses_path = os.path.join(out, "gan_losses.png")
    curves = sn.viz.plot_curves({"discriminator (d_loss)": history.history["d_loss"],
                                 "generator (g_loss)": history.history["g_loss"]},
                                path=losses_path, xlabel="epoch", ylabel="loss",
                                title=f"{model}: the players' losses")
    from matplotlib import pyplot
    pyplot.close(figure)
    pyplot.close(curves)
    return {"history": history.history, "classifier_accuracy": accuracy,
            "real_confident": real["confident"], "confident": merit["confident"],
            "classes": merit["classes"], "counts": merit["counts"], "seconds": seconds,
            "figures": [samples_path, losses_path],
            "sample_grids": sorted(os.path.join(out, "samples", name)
                                   for name in os.listdir(os.path.join(out, "samples")))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the figures")
    parser.add_argument("--model", default="dcgan", choices=["dcgan", "gan"])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = main(out=args.out, model=args.model, epochs=args.epochs, seed=args.seed)
    print(f"GAN trained in {result['seconds']:.0f} s; LeNet: {result['classifier_accuracy']:.3f} "
          f"test accuracy, {result['real_confident']:.1%} of the real test digits labelled "
          f"with confidence >= 0.9")
    print(f"generated digits labelled with confidence >= 0.9: {result['confident']:.1%}, "
          f"covering {result['classes']} of 10 classes {result['counts']}")
    print("figures:", *result["figures"], sep="\n  ")
