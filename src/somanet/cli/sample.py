"""``somanet sample RUN_DIR --n 64 --out grid.png``: draw from a trained generative model.

GAN and DCGAN runs map noise ``z ~ N(0, I)`` through the generator (its moving average);
a VAE decodes ``z ~ N(0, I)``; an RBM or a DBN runs ``--steps`` steps of Gibbs sampling
from random states (a DBN in its top RBM, then one pass down). The images go into one PNG
mosaic, or, for a ``.npy`` path, as an array (N, 28, 28) in [0, 1].
"""
import os

from . import architectures
from .errors import CommandError
from .runs import load_run


def add_parser(commands):
    """Add ``sample`` and its options to the ``commands`` subparsers."""
    sample = commands.add_parser(
        "sample", help="draw images from a trained gan, dcgan, vae, rbm or dbn run",
        description="Draw images from a generative run of somanet train (gan, dcgan and "
                    "vae from noise, rbm and dbn by Gibbs sampling) and write them as one "
                    "PNG grid, or as a .npy array (N, 28, 28).")
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--n", type=int, default=64, help="how many images (default 64)")
    sample.add_argument("--out", required=True, metavar="FILE",
                        help="the .png grid (or .npy array) to write")
    sample.add_argument("--seed", type=int, default=0, help="seeds the noise (default 0)")
    sample.add_argument("--steps", type=int, default=architectures.SAMPLE_STEPS,
                        help="Gibbs steps, for rbm and dbn runs (default "
                             f"{architectures.SAMPLE_STEPS})")
    sample.add_argument("--columns", type=int, default=8, help="images a row (default 8)")
    sample.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    sample.set_defaults(handler=cmd_sample)
    return sample


def cmd_sample(args):
    """``somanet sample RUN_DIR --out FILE``: images from the run's generative model."""
    for name in ("n", "steps", "columns"):
        if getattr(args, name) < 1:
            raise CommandError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.seed < 0:
        raise CommandError(f"--seed must be at least 0, got {args.seed}")
    if not args.out.lower().endswith((".png", ".npy")):
        raise CommandError(f"--out {args.out!r}: write a .png grid or a .npy array")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise CommandError(f"--out {args.out!r}: the folder {folder!r} does not exist")
    config, model = load_run(args.run_dir, args.device)
    zoo = architectures.get(config["model"])
    if zoo is None or not zoo.generative:
        raise CommandError(f"{args.run_dir} holds a {config['model']} run, which does not "
                           f"generate images; somanet sample takes runs of "
                           f"{', '.join(architectures.GENERATIVE)}")
    images = zoo.sample(model, args.n, args.seed, args.steps)
    try:
        architectures.save_grid(args.out, images, columns=args.columns)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror or error}") from None
    how = f", {args.steps} Gibbs steps" if zoo.name in ("rbm", "dbn") else ""
    print(f"{args.out}: {args.n} samples from the {zoo.name} of {args.run_dir} (seed "
          f"{args.seed}{how})")
    return 0
