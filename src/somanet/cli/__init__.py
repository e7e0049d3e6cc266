"""The ``somanet`` command: train, evaluate and use models from the shell.

    somanet train                        # the Keras quickstart MLP on mnist_small, 5 epochs
    somanet train --model lenet --out runs/lenet
    somanet train --dataset csv:admissions.csv --target admit --epochs 50
    somanet train --resume --out runs/lenet      # continue a killed run
    somanet evaluate runs/lenet
    somanet predict runs/lenet digit.png digits.npy
    somanet train --model char-lstm --out runs/shakespeare   # a character language model
    somanet generate runs/shakespeare --prime "ROMEO." --length 500 --temperature 0.8
    somanet train --model dcgan --out runs/dcgan  # also gan, rbm, dbn, cdbn, autoencoder,
                                                 # dae, vae, dsn, lamstar
    somanet sample runs/dcgan --n 64 --out grid.png
    somanet evaluate runs/dcgan --judge runs/lenet
    somanet info

A run folder (``--out``, default ``runs/<timestamp>``) holds everything about a run:
its config.json, trained weights, last checkpoint, metrics and training curves
(``somanet.cli.runs`` lists them).

Errors the user can fix (a bad option or number, a missing dataset folder, an unknown
model, a bad CSV column or too few rows, an unwritable ``--out``, a run folder in use, a
damaged checkpoint or config.json, an unreadable image) print one line
``somanet: error: ...`` and exit with status 2 (argparse's own usage errors too, with
the ``--help`` to read instead of the whole usage);
anything else is a bug and shows its traceback. Under MPI the line is printed once,
by rank 0, and every rank exits with status 2.

One module a concern: ``data`` (dataset specs and loading), ``model`` (building,
compiling, the device), ``runs`` (run folders and config.json), and one module a
command: ``train``, ``evaluate``, ``sample``, ``predict``, ``generate``, ``info``,
``export``; ``architectures`` says how each of the zoo's GAN, RBM, DBN... trains, draws
and is evaluated. This module assembles the parser and runs ``main``.
"""
import argparse
import os
import sys
import warnings

from .. import __version__, distributed, io
from . import evaluate, export, generate, info, predict, sample, train
from .data import Data, load_data, parse_dataset
from .errors import CommandError
from .predict import read_inputs
from .runs import CHECKPOINT_DIR, RUN_FORMAT, load_run, read_config
from .train import run_training

__all__ = ["main", "build_parser", "CommandError", "EXIT_USAGE", "EXIT_INTERRUPTED",
           "RUN_FORMAT", "load_run", "read_config", "run_training", "load_data",
           "parse_dataset", "Data", "read_inputs"]

EXIT_USAGE = 2  # argparse's status for a bad command line; ours for every user error
EXIT_INTERRUPTED = 130  # the shell's status for a process ended by Ctrl-C (128 + SIGINT)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its usage errors raised as a CommandError: one line like every
    other user error (argparse prints the whole usage first), naming where to read more."""

    def error(self, message):
        where = self.prog.removeprefix("somanet").strip()
        raise CommandError(f"{where + ': ' if where else ''}{message} (see {self.prog} "
                           f"--help)")


def build_parser():
    """The ``somanet`` argument parser: one subcommand per command module."""
    parser = _Parser(
        prog="somanet", description="Train, evaluate and use somanet models.",
        epilog="Run 'somanet COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"somanet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for command in (train, evaluate, sample, predict, generate, info, export):
        command.add_parser(commands)
    return parser


def _holds_checkpoint(folder):
    """A checkpoint in ``folder`` or, for a run trained in stages, in a folder below it."""
    return os.path.isdir(folder) and any(io.is_checkpoint(path) for path, _, _ in
                                         os.walk(folder))


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"somanet: warning: {message}", file=sys.stderr if file is None else file)


def main(argv=None):
    """Run the ``somanet`` command with ``argv`` (default ``sys.argv[1:]``); returns the
    exit status (0 success, 2 a usage error, 130 interrupted)."""
    parser = build_parser()
    args = None
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help, --version
            return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # one line, without the source location
            return args.handler(args)
    except CommandError as error:
        if distributed.is_main():  # every rank found it; one of them says so
            print(f"somanet: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        hint = ""
        out = getattr(args, "out", None)
        if getattr(args, "command", None) == "train" and out and _holds_checkpoint(
                os.path.join(out, CHECKPOINT_DIR)):
            hint = f"; the last checkpoint is intact: somanet train --resume --out {out}"
        print(f"somanet: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
