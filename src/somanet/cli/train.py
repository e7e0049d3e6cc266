"""``somanet train``: its options, the run configuration they make, and ``run_training``."""
import argparse
import datetime
import math
import os
import time

import numpy

from .. import __version__, distributed, io, models, viz
from ..backend import manual_seed
from ..train import Callback, TensorBoard, optimizers
from . import architectures
from .data import DATASET_FORMS, TEXT_KINDS, load_data, parse_dataset, split_validation
from .errors import CommandError, one_line, on_main
from .help import DefaultsOnceFormatter
from .model import (TEXT_MODEL, build_model, check_optimizer, compile_model, loss_and_accuracy,
                    on_device, resolve_device)
from .runs import (CHECKPOINT_DIR, CONFIG_FILE, CONFUSION_FILE, METRICS_FILE,
                   MISCLASSIFIED_FILE, PLOT_FILE, PLOT_FILES, RUN_FORMAT, RUN_OPTIONS,
                   TENSORBOARD_DIR, WEIGHTS_FILE, check_same_data, default_out, model_names,
                   prepare_out, read_config, remove_leftovers, remove_run, resume_point,
                   write_json)

DEFAULTS = {"model": "mlp", "dataset": "mnist-small", "target": None, "categorical": None,
            "epochs": 5, "batch_size": 32, "optimizer": "adam", "lr": None, "seed": 0,
            "limit": None, "validation_split": 0.1}


def add_parser(commands):
    """Add ``train`` and its options to the ``commands`` subparsers."""
    train = commands.add_parser(
        "train", help="train a model (default: the Keras quickstart MLP on mnist_small)",
        description="Train a model and write a run folder (config.json, model.safetensors, "
                    "checkpoint/, metrics.json, and the plots history.png, "
                    "confusion_matrix.png and misclassified.png). With no options: the Keras "
                    "quickstart MLP (Flatten, Dense 128 relu, Dropout 0.2, Dense 10) on the "
                    "bundled mnist_small (4,000 train / 1,000 test digits), 5 epochs of Adam, "
                    "the last 10% of the training digits held out to validate each epoch.",
        formatter_class=DefaultsOnceFormatter)
    train.add_argument("--model", help=f"one of {', '.join(model_names())} (default mlp; "
                                       f"CSV data uses a tabular MLP, text {TEXT_MODEL}; "
                                       f"gan, dcgan, rbm, dbn, cdbn, autoencoder, dae, vae, "
                                       f"dsn and lamstar train on images with settings of "
                                       f"their own)")
    train.add_argument("--dataset", help=f"{DATASET_FORMS} (default mnist-small; shakespeare "
                                         f"for --model {TEXT_MODEL})")
    train.add_argument("--target", help="the column to predict, for csv:FILE")
    train.add_argument("--categorical", metavar="COL[,COL...]",
                       help="CSV columns to one-hot encode although they hold numbers")
    train.add_argument("--epochs", type=int, help="epochs to train (default 5)")
    train.add_argument("--batch-size", type=int, help="samples per batch (default 32)")
    train.add_argument("--optimizer", help=f"one of {', '.join(optimizers.names())} "
                                           f"(default adam)")
    train.add_argument("--lr", type=float, help="learning rate (default: Keras's for the "
                                                "optimizer, 0.001 for adam, 0.01 for sgd)")
    train.add_argument("--seed", type=int, help="seeds weights, shuffling and the CSV "
                                                "train/test split (default 0)")
    train.add_argument("--validation-split", type=float, metavar="FRACTION",
                       help="hold out this last fraction of the training data to report "
                            "val_loss and val_accuracy after every epoch, as Keras's "
                            "validation_split (default 0.1; 0 trains on all of it)")
    train.add_argument("--out", help="the run folder (default runs/<timestamp>)")
    train.add_argument("--resume", action="store_true",
                       help="continue the killed run in --out from its checkpoint")
    train.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    train.add_argument("--limit", type=int, metavar="N",
                       help="use only the first N training and N test samples (a debugging "
                            "aid for quick runs)")
    train.add_argument("--no-plot", action="store_true",
                       help=f"do not draw {', '.join(PLOT_FILES)} (saves a moment; needs no "
                            f"matplotlib)")
    train.add_argument("--tensorboard", nargs="?", const="", metavar="DIR",
                       help=f"write TensorBoard logs (scalars per epoch and per batch, the "
                            f"learning rate, weight histograms, the model's graph) into DIR "
                            f"(default: the run folder's {TENSORBOARD_DIR}/); view them with "
                            f"tensorboard --logdir DIR")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                       help="0 silent, 1 progress bar, 2 one line per epoch")
    train.add_argument("--jit", action="store_true",
                       help="run compiled training steps (eager's results to float32 "
                            "round-off, in less time; native code after 50 steps)")
    train.add_argument("--spark", metavar="MASTER",
                       help="train on a Spark cluster: its master URL (local[2], yarn, "
                            "spark://host:7077, k8s://...), one rank per task")
    train.add_argument("--workers", type=int, metavar="N",
                       help="the number of Spark tasks (ranks) with --spark")
    train.set_defaults(handler=cmd_train)
    return train


def cmd_train(args):
    """``somanet train``: check the options, prepare the run folder, then ``run_training``."""
    if getattr(args, "spark", None) is not None or getattr(args, "workers", None) is not None:
        return train_on_spark(args)
    if args.resume and args.out is None:
        raise CommandError("--resume needs the run folder to continue: somanet train --resume "
                           "--out runs/<timestamp>")
    for name in ("epochs", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.lr is not None and not 0 < args.lr < math.inf:
        raise CommandError(f"--lr must be positive and finite, got {args.lr}")
    if args.seed is not None and args.seed < 0:
        raise CommandError(f"--seed must be a non-negative int, got {args.seed}")
    if args.validation_split is not None and not 0 <= args.validation_split < 1:
        raise CommandError(f"--validation-split must be a fraction in [0, 1) (0 holds out "
                           f"nothing), got {args.validation_split}")
    if args.model is not None and args.model.lower() not in model_names():
        raise CommandError(f"unknown model {args.model!r}; the known models are "
                           f"{', '.join(model_names())}")
    if args.optimizer is not None:
        args.optimizer = check_optimizer(args.optimizer)
    if not args.resume:  # text and the character model go together
        if args.dataset is None and (args.model or "").lower() == TEXT_MODEL:
            args.dataset = "shakespeare"
        if args.model is None and args.dataset is not None and \
                parse_dataset(args.dataset)[0] in TEXT_KINDS:
            args.model = TEXT_MODEL
    kind, _ = parse_dataset(args.dataset or DEFAULTS["dataset"])
    if kind != "csv" and not args.resume and (args.target or args.categorical):
        raise CommandError(f"--target and --categorical are for csv:FILE datasets, not "
                           f"{args.dataset or DEFAULTS['dataset']}")
    resolve_device(args.device)
    if args.categorical is not None:
        args.categorical = [name.strip() for name in args.categorical.split(",") if name.strip()]
    if args.model is not None:
        args.model = args.model.lower()
    zoo = architectures.get(args.model)
    if zoo is not None:
        if args.jit:
            raise CommandError(f"--jit compiles the steps of mlp, lenet and lstm; --model "
                               f"{zoo.name} trains without it")
        if not zoo.takes_optimizer and (args.optimizer or args.lr is not None):
            raise CommandError(f"--model {zoo.name} learns without an optimizer (its "
                               f"{zoo.objective}); drop --optimizer and --lr")
    # Under MPI (mpiexec -n N somanet train) every rank trains, rank 0 names and writes
    # the one run folder.
    out = distributed.broadcast_object(args.out if args.out is not None else default_out())
    args.out = out
    config = train_config(args)
    if args.resume:
        _, finished = _resume_point(out, config)  # before anything is written
        if finished and all(os.path.isfile(os.path.join(out, name))
                            for name in (WEIGHTS_FILE, METRICS_FILE)):
            if distributed.is_main():
                print(f"somanet train: {out} has finished its {config['epochs']} epoch(s); "
                      f"nothing to do (give --epochs above {config['epochs']} to train it "
                      f"further)")
            return 0
    # Rank 0 alone prepares and locks the folder; its error, if any, stops every rank.
    created, lock = on_main(lambda: prepare_out(out, args.resume), ([], None))
    callbacks, logs = [], None
    try:
        if args.tensorboard is not None:
            logs = args.tensorboard or os.path.join(out, TENSORBOARD_DIR)
            on_main(lambda: _check_tensorboard_dir(logs))
            callbacks.append(TensorBoard(logs, update_freq="batch", histogram_freq=1))
        run_training(config, out, resume=args.resume, verbose=args.verbose, device=args.device,
                     plot=not args.no_plot, jit=args.jit, callbacks=callbacks)
        if logs is not None and distributed.is_main():
            print(f"TensorBoard logs in {logs}: tensorboard --logdir {logs}")
    except CommandError:
        if not args.resume and not os.path.exists(os.path.join(out, WEIGHTS_FILE)):
            remove_run(out, created, logs)
        raise
    finally:
        if lock is not None:
            lock.release()
    return 0


def train_on_spark(args):
    """``somanet train --spark MASTER --workers N``: the same run, its ranks on N Spark
    barrier tasks (``somanet.distributed.spark``); rank 0 writes the run folder, which on
    a real cluster must be on a file system every executor sees. ``config.json`` records
    the master, the workers and the world size the run had."""
    if args.spark is None or args.workers is None:
        raise CommandError("--spark MASTER and --workers N go together (e.g. --spark local[2] "
                           "--workers 2)")
    if args.workers < 1:
        raise CommandError(f"--workers must be at least 1, got {args.workers}")
    if distributed.world_size() > 1:
        raise CommandError("--spark starts its own ranks on Spark tasks; run it as one "
                           "process, not under mpiexec")
    if args.resume and args.out is None:
        raise CommandError("--resume needs the run folder to continue: somanet train --resume "
                           "--out runs/<timestamp>")
    from ..distributed import spark
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise CommandError("--spark needs pyspark and a Java runtime: pip install "
                           "'somanet[spark]'") from None
    rank_args = argparse.Namespace(**vars(args))
    rank_args.out = os.path.abspath(args.out if args.out is not None else default_out())
    if rank_args.dataset is not None and ":" in rank_args.dataset:
        kind, _, path = rank_args.dataset.partition(":")
        rank_args.dataset = f"{kind}:{os.path.abspath(path)}" if kind in ("csv", "text") \
            else rank_args.dataset
    rank_args.spark, rank_args.workers = None, None
    rank_args.spark_run = {"master": args.spark, "workers": args.workers}
    try:
        session = SparkSession.builder.master(args.spark).appName("somanet train") \
            .getOrCreate()
    except Exception as error:  # a bad master URL, no Java: py4j's errors
        raise CommandError(f"--spark {args.spark}: Spark did not start: {one_line(error)}") \
            from None
    try:
        error = spark.run(_spark_rank, num_workers=args.workers, spark=session, args=rank_args)
    except spark.SparkJobError as failure:
        raise CommandError(str(failure)) from None
    if error is not None:
        raise CommandError(error)
    return 0


def _spark_rank(args):
    """One rank of ``train_on_spark``: the ordinary command; rank 0's error, if any, as
    text for the driver to say."""
    try:
        cmd_train(args)
    except CommandError as error:
        return str(error)
    return None


def _check_tensorboard_dir(path):
    """Raise CommandError unless the ``--tensorboard`` folder can be written."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(f"--tensorboard {path!r} is a file, not a folder")
    try:
        io.check_writable(path, who="somanet train", what="the TensorBoard logs")
    except OSError as error:
        raise CommandError(f"cannot write to --tensorboard {path!r}: "
                           f"{getattr(error, 'reason', None) or one_line(error)}") from None


def train_config(args):
    """The run configuration from the command line (or, with --resume, from the run folder)."""
    config = _train_config(args)
    run = getattr(args, "spark_run", None)
    if run is not None:
        config["spark"] = dict(run, world_size=distributed.world_size())
    return config


def _train_config(args):
    given = {key: getattr(args, key) for key in DEFAULTS if getattr(args, key) is not None}
    if args.resume:
        config = read_config(args.out)
        for key in RUN_OPTIONS:
            if key in given and given[key] != config.get(key):
                option = "--" + key.replace("_", "-")
                raise CommandError(f"--resume continues the run as {args.out}/{CONFIG_FILE} "
                                   f"sets it up, with {option} {config.get(key)}; drop "
                                   f"{option} {given[key]}, or start a new run with another "
                                   f"--out")
        zoo = architectures.get(config["model"])
        if zoo is not None and zoo.stages and given.get("epochs", config["epochs"]) != \
                config["epochs"]:
            raise CommandError(f"--resume continues the {zoo.name} run as it was set up, "
                               f"--epochs {config['epochs']} for each of its stages; drop "
                               f"--epochs {given['epochs']}, or start a new run with another "
                               f"--out")
        if "epochs" in given:
            config["epochs"] = given["epochs"]
        return config
    config = {"format": RUN_FORMAT, "somanet_version": __version__,
              "created": datetime.datetime.now().isoformat(timespec="seconds")}
    config.update(DEFAULTS)
    zoo = architectures.get(given.get("model"))
    if zoo is not None:  # its own defaults; optimizer None: the model's own
        config.update(epochs=zoo.epochs, batch_size=zoo.batch_size, optimizer=None)
    config.update(given)
    if zoo is not None:
        config["options"] = dict(zoo.options)
        config["loss"] = zoo.objective
        config["metrics"] = []
    else:
        config["loss"] = "sparse_categorical_crossentropy (from logits)"
        config["metrics"] = ["accuracy"]
    return config


def _resume_point(out, config):
    """``resume_point`` for the run's checkpoint; a run trained in stages (a DBN's layers,
    a DSN's modules) is judged by its last stage, each stage's checkpoint checked."""
    zoo = architectures.get(config["model"])
    if zoo is None or not zoo.stages:
        return resume_point(out, config)
    folders = zoo.stage_folders(os.path.join(out, CHECKPOINT_DIR), config["options"])
    for folder in folders[:-1]:
        if io.is_checkpoint(folder):
            resume_point(out, config, folder, check_epochs=False)
    return resume_point(out, config, folders[-1])


def run_training(config, out_dir, resume=False, verbose=1, device="cpu", plot=True, log=print,
                 jit=False, callbacks=()):
    """Build the model and data of ``config``, train with ``fit``, evaluate, and save.

    This is the whole of ``somanet train`` after the command line is read: one
    function, so a data-parallel launcher can wrap it.

    Args:
        config: the run configuration (see ``config.json``); ``preprocessing``,
            ``num_classes`` and ``class_names`` are filled in here.
        out_dir: the run folder (it exists and is writable).
        resume: continue from the checkpoint in ``out_dir``.
        verbose: ``fit``'s verbosity (0 silent, 1 progress bar, 2 a line an epoch).
        device: where to train (``"cpu"``, ``"gpu:0"``).
        plot: draw the plots: the training and validation curves (history.png), the test
            set's confusion matrix (confusion_matrix.png) and, for images, the
            misclassified test images (misclassified.png).
        jit: train with compiled steps (``Model.compile(jit=True)``: the same results).
        callbacks: more callbacks for ``fit`` (after the run's own).
        log: prints the run's summary lines.

    Returns:
        The metrics dict written to metrics.json: ``test_loss``, ``test_accuracy``,
        ``test_samples``, ``train_samples`` (the rows trained on), ``validation_samples``
        (the last ``config["validation_split"]`` of the training rows, held out as
        Keras's ``validation_split`` does: ``history`` then has ``val_loss`` and
        ``val_accuracy`` per epoch), ``epochs``, ``fit_seconds``, ``history`` and
        ``confusion_matrix`` (rows: true class, columns: predicted, on the test set).

    With ``resume``, nothing is written before the checkpoint has been loaded: the data
    must be prepared as config.json says, and a damaged checkpoint is a CommandError.
    """
    chief = distributed.is_main()  # under MPI, rank 0 alone writes files and prints
    if not chief:
        verbose, plot, log = 0, False, lambda *args, **kwargs: None
    manual_seed(config["seed"])
    found = load_data(config["dataset"], config["target"], config["categorical"],
                      config["seed"], config["limit"])
    if resume:
        check_same_data(out_dir, config, found)
    zoo = architectures.get(config["model"])
    if zoo is not None:
        return _run_architecture(zoo, config, found, out_dir, resume, verbose, device, plot,
                                 log, chief)
    config["preprocessing"] = found.preprocessing
    config["num_classes"] = found.num_classes
    config["class_names"] = found.class_names
    n_features = found.x_train.shape[1] if found.tabular else None
    model = build_model(config["model"], found.preprocessing["kind"], found.num_classes,
                        n_features)
    target = resolve_device(device)
    config["device"] = str(target)
    model.to(target)
    compile_model(model, config["optimizer"], config["lr"], jit=jit)
    config["lr"] = float(model.optimizer.param_groups[0]["lr"])

    def begin_run():  # once fit has loaded the checkpoint, if any: the first write to the run
        if chief:
            remove_leftovers(out_dir)
            write_json(os.path.join(out_dir, CONFIG_FILE), config)  # on resume: epochs may grow

    started = _OnTrainBegin(begin_run)
    # a text run validates on its held-out text (test_bits_per_character), not on windows
    fraction = 0.0 if found.text else (config.get("validation_split") or 0.0)
    x_fit, y_fit, x_val, y_val = split_validation(found.x_train, found.y_train, fraction)
    held_out = f" / {len(y_val):,} validation" if y_val is not None else ""
    log(f"somanet train: {config['model']} ({model.num_parameters():,} parameters) on "
        f"{config['dataset']} ({len(y_fit):,} train{held_out} / {len(found.y_test):,} test), "
        f"{config['epochs']} epochs, {config['optimizer']} lr {config['lr']:g}, batch "
        f"{config['batch_size']}, seed {config['seed']}, {target} -> {out_dir}")
    x_fit, y_fit = on_device(x_fit, target), on_device(y_fit, target)
    validation = None if y_val is None else (on_device(x_val, target), on_device(y_val, target))
    x_test, y_test = on_device(found.x_test, target), on_device(found.y_test, target)
    start = time.perf_counter()
    try:
        history = model.fit(x_fit, y_fit, epochs=config["epochs"],
                            batch_size=config["batch_size"], verbose=verbose,
                            validation_data=validation, seed=config["seed"], resume=resume,
                            callbacks=[started] + list(callbacks),
                            checkpoint_dir=os.path.join(out_dir, CHECKPOINT_DIR))
    except FloatingPointError as error:  # the loss diverged: a learning rate to lower
        where = one_line(error).split("; ")[0]
        raise CommandError(f"{where}; lower --lr (it is {config['lr']:g}) or check the "
                           f"data") from None
    except (OSError, ValueError) as error:
        if resume and not started.began:  # fit could not load the checkpoint
            raise CommandError(f"cannot resume {out_dir}: {one_line(error)} (nothing was "
                               f"changed)") from None
        raise
    seconds = time.perf_counter() - start
    test_loss, test_accuracy = loss_and_accuracy(model, x_test, y_test, config["batch_size"])
    predicted = confusion = None
    if not found.text:  # a confusion matrix of characters over windows says little
        predicted = numpy.asarray(model.predict(x_test, batch_size=config["batch_size"]))
        predicted = predicted.argmax(1)
        confusion = viz.confusion_matrix(found.y_test, predicted, num_classes=found.num_classes)
    metrics = {"test_loss": test_loss, "test_accuracy": test_accuracy,
               "test_samples": int(len(found.y_test)), "train_samples": int(len(y_fit)),
               "validation_samples": 0 if y_val is None else int(len(y_val)),
               "epochs": config["epochs"], "fit_seconds": round(seconds, 3),
               "history": _history_dict(history),
               "confusion_matrix": None if confusion is None else confusion.tolist()}
    if found.text:
        metrics["test_bits_per_character"] = models.bits_per_character(model,
                                                                       found.validation_ids)
    if chief:
        io.save_weights(os.path.join(out_dir, WEIGHTS_FILE), model)
        write_json(os.path.join(out_dir, METRICS_FILE), metrics)
    plotted = []
    if plot:
        images = None if found.tabular or found.text else found.x_test
        plotted = _plot(out_dir, history, found.y_test, predicted, images, found.class_names,
                        log)
    log(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.4f} "
        f"({len(found.y_test):,} samples; fit took {seconds:.1f} s)")
    if found.text:
        log(f"held-out text: {metrics['test_bits_per_character']:.3f} bits per character "
            f"(uniform guess {math.log2(found.num_classes):.3f}); next-character accuracy "
            f"{test_accuracy:.4f}")
    written = [CONFIG_FILE, WEIGHTS_FILE, CHECKPOINT_DIR + "/", METRICS_FILE] + plotted
    log(f"wrote {out_dir}: {', '.join(written)}")
    return metrics


def _run_architecture(zoo, config, found, out_dir, resume, verbose, device, plot, log, chief):
    """``run_training`` for the architectures of ``cli.architectures`` (GAN, RBM, DBN...)."""
    if found.tabular:
        raise CommandError(f"--model {zoo.name} takes images; CSV data trains --model mlp")
    config["preprocessing"] = found.preprocessing
    config["num_classes"] = found.num_classes
    config["class_names"] = found.class_names
    model = zoo.build(config["options"])
    target = resolve_device(device)
    config["device"] = str(target)
    model.to(target)
    if plot and zoo.generative and zoo.name in ("gan", "dcgan"):
        config["sample_dir"] = os.path.join(out_dir, "samples")

    def begin_run():
        if chief:
            remove_leftovers(out_dir)
            write_json(os.path.join(out_dir, CONFIG_FILE), _stored(config))

    started = _OnTrainBegin(begin_run)
    log(f"somanet train: {zoo.name} ({model.num_parameters():,} parameters) on "
        f"{config['dataset']} ({len(found.y_train):,} train / {len(found.y_test):,} test), "
        f"{config['epochs']} epochs, batch {config['batch_size']}, seed {config['seed']}, "
        f"{target} -> {out_dir}")
    if not resume:
        started.on_train_begin()
    start = time.perf_counter()
    try:
        history = zoo.fit(model, found, config, os.path.join(out_dir, CHECKPOINT_DIR), resume,
                          verbose, [started] if resume else [])
    except FloatingPointError as error:
        raise CommandError(f"{one_line(error).split('; ')[0]}; lower --lr or check the "
                           f"data") from None
    except (OSError, ValueError) as error:
        if resume:
            raise CommandError(f"cannot resume {out_dir}: {one_line(error)}") from None
        raise
    seconds = time.perf_counter() - start
    if resume:
        begin_run()  # the epochs may have grown (DSN and LAMSTAR take no callbacks)
    scores, text = zoo.evaluate(model, found, config["batch_size"])
    metrics = {**{f"test_{key}" if not key.startswith("test_") else key: value
                  for key, value in scores.items()},
               "test_samples": int(len(found.y_test)), "train_samples": int(len(found.y_train)),
               "epochs": config["epochs"], "fit_seconds": round(seconds, 3),
               "history": _history_dict(history)}
    written = [CONFIG_FILE, WEIGHTS_FILE, CHECKPOINT_DIR + "/", METRICS_FILE]
    if chief:
        io.save_weights(os.path.join(out_dir, WEIGHTS_FILE), model)
        write_json(os.path.join(out_dir, METRICS_FILE), metrics)
        if plot:
            try:
                written += zoo.figures(model, found, history, out_dir)
            except ImportError:
                log("matplotlib is not installed, so no figures (pip install 'somanet[viz]')")
    log(f"test ({len(found.y_test):,} samples): {text} (fit took {seconds:.1f} s)")
    log(f"wrote {out_dir}: {', '.join(written)}")
    return metrics


def _stored(config):
    """The config as config.json holds it (the samples folder is not a setting)."""
    return {key: value for key, value in config.items() if key != "sample_dir"}


class _OnTrainBegin(Callback):
    """Calls ``action`` at ``on_train_begin`` (after fit has restored a checkpoint) and
    records that training began."""

    def __init__(self, action):
        super().__init__()
        self.action = action
        self.began = False

    def on_train_begin(self, logs=None):
        self.began = True
        self.action()


def _history_dict(history):
    logs = getattr(history, "history", history) or {}
    return {key: [float(value) for value in values] for key, values in logs.items()}


def _plot(out_dir, history, labels, predicted, images, class_names, log):
    """Draw the run's plots; returns the names of the files written (none without
    matplotlib)."""
    try:
        figures = [viz.plot_history(history, os.path.join(out_dir, PLOT_FILE))]
    except ImportError:
        log(f"matplotlib is not installed, so no {', '.join(PLOT_FILES)} (pip install "
            f"'somanet[viz]')")
        return []
    written = [PLOT_FILE]
    if predicted is not None:
        figures.append(viz.plot_confusion_matrix(labels, predicted,
                                                 os.path.join(out_dir, CONFUSION_FILE),
                                                 class_names=class_names))
        written.append(CONFUSION_FILE)
    if images is not None:
        figures.append(viz.plot_misclassified(images, labels, predicted,
                                              os.path.join(out_dir, MISCLASSIFIED_FILE),
                                              class_names=class_names))
        written.append(MISCLASSIFIED_FILE)
    from matplotlib import pyplot  # present: the plots above needed it
    for figure in figures:  # many runs in one process (the Python API) must not pile up
        pyplot.close(figure)
    return written
