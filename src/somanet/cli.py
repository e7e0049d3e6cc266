"""The ``somanet`` command: train, evaluate and use models from the shell.

    somanet train                        # seed 004's quickstart MLP on mnist_small, 5 epochs
    somanet train --model lenet --out runs/lenet
    somanet train --dataset csv:admissions.csv --target admit --epochs 50
    somanet train --resume --out runs/lenet      # continue a killed run
    somanet evaluate runs/lenet
    somanet predict runs/lenet digit.png digits.npy
    somanet info

A run folder (``--out``, default ``runs/<timestamp>``) holds everything about a run:

===================== ====================================================================
``config.json``       what rebuilds the model and the data pipeline: model, dataset spec,
                      preprocessing (for CSV data the fitted encoder), seed, hyper-parameters
``model.safetensors`` the trained weights
``checkpoint/``       the last checkpoint of ``fit`` (weights, optimiser, RNG, data position)
``metrics.json``      test loss and accuracy, the per-epoch history, timings
``history.png``       the training curves (with matplotlib installed)
===================== ====================================================================

Errors the user can fix (a missing dataset folder, an unknown model, a bad CSV
column, an unwritable ``--out``, an unreadable image) print one line
``somanet: error: ...`` and exit with status 2; anything else is a bug and
shows its traceback.
"""
import argparse
import csv
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import time
import warnings

import numpy

from . import __version__, datasets, distributed, io, models, nn, viz
from .backend import device as as_device, gpu_count, manual_seed, to_device
from .train import Sequential, losses, optimizers

EXIT_USAGE = 2  # argparse's status for a bad command line; ours for every user error
RUN_FORMAT = "somanet-run/1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_DIR = "checkpoint"
METRICS_FILE = "metrics.json"
PLOT_FILE = "history.png"
IMAGE_SHAPE = models.IMAGE_SHAPE  # (28, 28): what every image model here takes
CSV_TEST_FRACTION = 0.2
DATASET_FORMS = "mnist-small, mnist:DIR, fashion-mnist:DIR or csv:FILE"

# The options `train --resume` takes from the run folder's config.json.
RUN_OPTIONS = ("model", "dataset", "target", "categorical", "batch_size", "optimizer", "lr",
               "seed", "limit")
DEFAULTS = {"model": "mlp", "dataset": "mnist-small", "target": None, "categorical": None,
            "epochs": 5, "batch_size": 32, "optimizer": "adam", "lr": None, "seed": 0,
            "limit": None}


class CommandError(Exception):
    """A mistake the user can fix: printed as one line, exit status 2, no traceback."""


def _one_line(error):
    """An exception's message on one line (some loaders explain themselves over several)."""
    text = str(error.args[0]) if len(getattr(error, "args", ())) == 1 else str(error)
    return " ".join(text.split())


# -- the data -------------------------------------------------------------------------------


class Data:
    """What a dataset spec loads: arrays, the class names, and the preprocessing to store."""

    def __init__(self, x_train, y_train, x_test, y_test, class_names, preprocessing):
        self.x_train, self.y_train = x_train, y_train
        self.x_test, self.y_test = x_test, y_test
        self.class_names = list(class_names)
        self.preprocessing = preprocessing

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def tabular(self):
        return self.preprocessing["kind"] == "tabular"


def parse_dataset(spec):
    """``"mnist:DIR"`` -> ``("mnist", "DIR")``; checks the form, not the files."""
    if not isinstance(spec, str) or not spec.strip():
        raise CommandError(f"--dataset is empty; expected {DATASET_FORMS}")
    kind, colon, where = spec.partition(":")
    kind = kind.strip().lower().replace("_", "-")
    if kind == "mnist-small":
        if colon:
            raise CommandError(f"--dataset mnist-small takes no path (it ships with "
                               f"somanet), got {spec!r}")
        return kind, None
    if kind in ("mnist", "fashion-mnist", "csv"):
        if not where:
            what = "FILE" if kind == "csv" else "DIR"
            raise CommandError(f"--dataset {kind} needs a path: {kind}:{what}")
        return kind, os.path.expanduser(where)
    raise CommandError(f"unknown dataset {spec!r}; expected {DATASET_FORMS}")


def load_data(spec, target=None, categorical=None, seed=0, limit=None):
    """Load the dataset ``spec`` (see ``parse_dataset``) as a ``Data``.

    Images are float32 in [0, 1], shape (N, 28, 28). CSV files are split into
    80% train and 20% test rows by ``seed``, numeric columns standardised and
    text (or ``categorical``) columns one-hot encoded; the target must hold
    classes (text or whole numbers).

    Args:
        limit: keep only the first ``limit`` training and test rows (a debugging aid).
    """
    kind, where = parse_dataset(spec)
    if kind != "csv" and (target or categorical):
        raise CommandError(f"--target and --categorical are for csv:FILE datasets, not {spec}")
    if kind == "mnist-small":
        (x_train, y_train), (x_test, y_test) = (datasets.mnist_small("train"),
                                                datasets.mnist_small("test"))
        found = Data(x_train, y_train, x_test, y_test, [str(i) for i in range(10)], _IMAGES)
    elif kind in ("mnist", "fashion-mnist"):
        found = _load_idx(kind, where)
    else:
        found = _load_csv(where, target, categorical, seed)
    if limit is not None:
        found.x_train, found.y_train = found.x_train[:limit], found.y_train[:limit]
        found.x_test, found.y_test = found.x_test[:limit], found.y_test[:limit]
    return found


_IMAGES = {"kind": "image", "shape": list(IMAGE_SHAPE), "scale": "pixel / 255",
           "dtype": "float32"}


def _load_idx(kind, folder):
    if not os.path.isdir(folder):
        what = "a file" if os.path.exists(folder) else "missing"
        raise CommandError(f"dataset folder {folder!r} is {what}; --dataset {kind}:DIR needs "
                           f"a folder holding the four IDX files (train-images-idx3-ubyte.gz, "
                           f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                           f"t10k-labels-idx1-ubyte.gz)")
    loader = datasets.mnist if kind == "mnist" else datasets.fashion_mnist
    try:
        x_train, y_train = loader(folder, "train")
        x_test, y_test = loader(folder, "test")
    except (OSError, ValueError) as error:
        raise CommandError(_one_line(error)) from None
    if x_train.shape[1:] != IMAGE_SHAPE or x_test.shape[1:] != IMAGE_SHAPE:
        raise CommandError(f"{folder} holds images of shape {x_train.shape[1:]}; the models "
                           f"expect {IMAGE_SHAPE}")
    names = (datasets.FASHION_MNIST_CLASSES if kind == "fashion-mnist"
             else [str(i) for i in range(10)])
    return Data(x_train, y_train, x_test, y_test, names, _IMAGES)


def _load_csv(path, target, categorical, seed):
    if not os.path.isfile(path):
        raise CommandError(f"CSV file {path!r} does not exist" if not os.path.exists(path)
                           else f"{path!r} is not a file; --dataset csv:FILE needs a CSV file")
    if not target:
        header = _csv_header(path)
        raise CommandError(f"--dataset csv:{path} needs --target COLUMN, the column to "
                           f"predict; the columns are {', '.join(header)}")
    try:
        table = datasets.load_csv(path, target, categorical=categorical,
                                  test_fraction=CSV_TEST_FRACTION, seed=seed)
    except (OSError, ValueError, TypeError) as error:
        raise CommandError(_one_line(error)) from None
    encoder = table.encoder
    if encoder.target_classes is not None:
        class_names = list(encoder.target_classes)
    elif table.y_train.dtype.kind == "i":
        labels = numpy.concatenate([table.y_train, table.y_test])
        if labels.min() < 0:
            raise CommandError(f"target column {target!r} holds negative numbers; class "
                               f"labels must be 0, 1, 2...; list it with --categorical "
                               f"{target} to treat its values as names")
        class_names = [str(i) for i in range(int(labels.max()) + 1)]
    else:
        raise CommandError(f"target column {target!r} holds fractional numbers; somanet "
                           f"train trains classifiers (use the Python API for regression), "
                           f"or list it with --categorical {target}")
    if len(class_names) < 2:
        raise CommandError(f"target column {target!r} holds a single class "
                           f"({class_names[0]!r}); a classifier needs at least two")
    if len(table.y_test) == 0:
        raise CommandError(f"{path} has too few rows to hold out a test set "
                           f"({CSV_TEST_FRACTION:.0%} of {len(table.y_train)})")
    preprocessing = {"kind": "tabular", "encoder": encoder.state_dict(),
                     "test_fraction": CSV_TEST_FRACTION, "split_seed": seed}
    return Data(table.x_train, table.y_train, table.x_test, table.y_test, class_names,
                preprocessing)


def _csv_header(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return [name.strip() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return ["(unreadable)"]


# -- the model ------------------------------------------------------------------------------


def build_model(name, data_kind, num_classes, n_features=None):
    """The model ``name`` for a dataset of ``data_kind`` (``"image"`` or ``"tabular"``),
    as ``train`` builds it and ``evaluate`` / ``predict`` rebuild it from config.json."""
    if data_kind == "tabular":
        if name != "mlp":
            raise CommandError(f"--model {name} takes images; CSV data trains --model mlp")
        return models.mlp_tabular(n_features, num_classes)
    try:
        return models.get(name, num_classes=num_classes)
    except ValueError as error:
        raise CommandError(_one_line(error)) from None


def check_optimizer(name):
    """The optimiser name, lower-cased, if ``compile`` knows it (Keras's names)."""
    key = name.strip().lower()
    if key not in optimizers.names():
        raise CommandError(f"unknown optimizer {name!r}; the known optimizers are "
                           f"{', '.join(sorted(optimizers.names()))}")
    return key


def compile_model(model, optimizer="adam", lr=None):
    """Compile for classification: the models output logits, so the loss is sparse
    categorical cross-entropy on logits (Keras's ``from_logits=True``), with accuracy."""
    try:
        model.compile(optimizer=optimizer, learning_rate=lr,
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    except ValueError as error:
        raise CommandError(_one_line(error)) from None


def _device(spec):
    try:
        return as_device(spec)
    except (ValueError, RuntimeError, ImportError) as error:
        raise CommandError(f"--device {spec}: {_one_line(error)}") from None


# -- run folders ----------------------------------------------------------------------------


def _default_out():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, count = os.path.join("runs", stamp), 1
    while os.path.exists(path):
        count += 1
        path = os.path.join("runs", f"{stamp}-{count}")
    return path


def _prepare_out(path, resume):
    """Create the run folder (or check the one to resume) and check it is writable.

    Returns the folders this call created, so a failure before training can remove them.
    """
    if not resume and os.path.exists(os.path.join(path, CONFIG_FILE)):
        raise CommandError(f"{path!r} already holds a run; continue it with --resume, or "
                           f"choose another --out")
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(f"--out {path!r} is a file, not a folder")
    created, parent = [], os.path.abspath(path)
    while not os.path.exists(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".somanet-write-test")
        with open(probe, "w") as handle:
            handle.write("ok")
        os.remove(probe)
    except OSError as error:
        _remove_empty(created)
        raise CommandError(f"cannot write to --out {path!r}: {error.strerror or error}") \
            from None
    return created


def _remove_empty(folders):
    for folder in folders:  # deepest first
        try:
            os.rmdir(folder)
        except OSError:
            return


def _write_json(path, value):
    io.atomic_write_text(path, json.dumps(value, indent=2, sort_keys=False) + "\n")


def read_config(run_dir):
    """The ``config.json`` of a run folder, checked."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isdir(run_dir):
        raise CommandError(f"run folder {run_dir!r} does not exist")
    if not os.path.isfile(path):
        raise CommandError(f"{run_dir!r} holds no {CONFIG_FILE}; is it a folder made by "
                           f"somanet train?")
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot read {path}: {_one_line(error)}") from None
    if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
        raise CommandError(f"{path} is not a somanet run configuration (expected "
                           f"format {RUN_FORMAT!r})")
    missing = [key for key in _CONFIG_KEYS if key not in config]
    if missing:
        raise CommandError(f"{path} lacks {', '.join(missing)}; it was edited or is damaged")
    return config


_CONFIG_KEYS = RUN_OPTIONS + ("epochs", "preprocessing", "num_classes", "class_names")


def load_run(run_dir, device="cpu"):
    """Rebuild a run's model from its config.json and load its trained weights.

    Returns:
        ``(config, model)``, the model in eval mode on ``device``.
    """
    config = read_config(run_dir)
    prep = config["preprocessing"]
    n_features = len(datasets.TabularEncoder.from_state_dict(prep["encoder"]).feature_names) \
        if prep["kind"] == "tabular" else None
    model = build_model(config["model"], prep["kind"], config["num_classes"], n_features)
    weights = os.path.join(run_dir, WEIGHTS_FILE)
    if not os.path.isfile(weights):
        raise CommandError(f"{run_dir!r} holds no {WEIGHTS_FILE}: the run did not finish; "
                           f"continue it with somanet train --resume --out {run_dir}")
    try:
        io.load_weights(model, weights)
    except (OSError, ValueError) as error:
        raise CommandError(_one_line(error)) from None
    model.to(_device(device))
    model.eval()
    return config, model


# -- somanet train --------------------------------------------------------------------------


def run_training(config, out_dir, resume=False, verbose=1, device="cpu", plot=True, log=print):
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
        plot: draw the training curves into history.png.
        log: prints the run's summary lines.

    Returns:
        The metrics dict written to metrics.json.
    """
    chief = distributed.is_main()  # under MPI, rank 0 alone writes files and prints
    if not chief:
        verbose, plot, log = 0, False, lambda *args, **kwargs: None
    manual_seed(config["seed"])
    found = load_data(config["dataset"], config["target"], config["categorical"],
                      config["seed"], config["limit"])
    config["preprocessing"] = found.preprocessing
    config["num_classes"] = found.num_classes
    config["class_names"] = found.class_names
    n_features = found.x_train.shape[1] if found.tabular else None
    model = build_model(config["model"], found.preprocessing["kind"], found.num_classes,
                        n_features)
    target = _device(device)
    config["device"] = str(target)
    model.to(target)
    compile_model(model, config["optimizer"], config["lr"])
    config["lr"] = float(model.optimizer.param_groups[0]["lr"])
    if chief:
        _write_json(os.path.join(out_dir, CONFIG_FILE), config)  # on resume: epochs may grow
    log(f"somanet train: {config['model']} ({model.num_parameters():,} parameters) on "
        f"{config['dataset']} ({len(found.y_train):,} train / {len(found.y_test):,} test), "
        f"{config['epochs']} epochs, {config['optimizer']} lr {config['lr']:g}, batch "
        f"{config['batch_size']}, seed {config['seed']}, {target} -> {out_dir}")
    x_train, y_train = _to(found.x_train, target), _to(found.y_train, target)
    x_test, y_test = _to(found.x_test, target), _to(found.y_test, target)
    start = time.perf_counter()
    try:
        history = model.fit(x_train, y_train, epochs=config["epochs"],
                            batch_size=config["batch_size"], verbose=verbose,
                            seed=config["seed"], resume=resume,
                            checkpoint_dir=os.path.join(out_dir, CHECKPOINT_DIR))
    except FloatingPointError as error:  # the loss diverged: a learning rate to lower
        where = _one_line(error).split("; ")[0]
        raise CommandError(f"{where}; lower --lr (it is {config['lr']:g}) or check the "
                           f"data") from None
    seconds = time.perf_counter() - start
    test_loss, test_accuracy = _evaluate(model, x_test, y_test, config["batch_size"])
    metrics = {"test_loss": test_loss, "test_accuracy": test_accuracy,
               "test_samples": int(len(found.y_test)), "train_samples": int(len(found.y_train)),
               "epochs": config["epochs"], "fit_seconds": round(seconds, 3),
               "history": _history_dict(history)}
    if chief:
        io.save_weights(model, os.path.join(out_dir, WEIGHTS_FILE))
        _write_json(os.path.join(out_dir, METRICS_FILE), metrics)
    plotted = plot and _plot(history, os.path.join(out_dir, PLOT_FILE), log)
    log(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.4f} "
        f"({len(found.y_test):,} samples; fit took {seconds:.1f} s)")
    written = [CONFIG_FILE, WEIGHTS_FILE, CHECKPOINT_DIR + "/", METRICS_FILE] + \
        ([PLOT_FILE] if plotted else [])
    log(f"wrote {out_dir}: {', '.join(written)}")
    return metrics


def _to(array, target):
    """``array`` on the device ``target`` (the data goes where the model is)."""
    return array if target.type == "cpu" else to_device(array, target)


def _evaluate(model, x, y, batch_size):
    """``(loss, accuracy)`` from ``model.evaluate``."""
    result = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    if isinstance(result, dict):
        return float(result["loss"]), float(result["accuracy"])
    loss, accuracy = result[:2]
    return float(loss), float(accuracy)


def _history_dict(history):
    logs = getattr(history, "history", history) or {}
    return {key: [float(value) for value in values] for key, values in logs.items()}


def _plot(history, path, log):
    try:
        viz.plot_history(history, path)
    except ImportError:
        log(f"matplotlib is not installed, so no {PLOT_FILE} (pip install 'somanet[viz]')")
        return False
    return True


def _train_config(args):
    """The run configuration from the command line (or, with --resume, from the run folder)."""
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
        if "epochs" in given:
            config["epochs"] = given["epochs"]
        return config
    config = {"format": RUN_FORMAT, "somanet_version": __version__,
              "created": datetime.datetime.now().isoformat(timespec="seconds")}
    config.update(DEFAULTS)
    config.update(given)
    config["loss"] = "sparse_categorical_crossentropy (from logits)"
    config["metrics"] = ["accuracy"]
    return config


def cmd_train(args):
    """``somanet train``: check the options, prepare the run folder, then ``run_training``."""
    if args.resume and args.out is None:
        raise CommandError("--resume needs the run folder to continue: somanet train --resume "
                           "--out runs/<timestamp>")
    for name in ("epochs", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.lr is not None and not args.lr > 0:
        raise CommandError(f"--lr must be positive, got {args.lr}")
    if args.model is not None and args.model.lower() not in models.names():
        raise CommandError(f"unknown model {args.model!r}; the known models are "
                           f"{', '.join(models.names())}")
    if args.optimizer is not None:
        args.optimizer = check_optimizer(args.optimizer)
    kind, _ = parse_dataset(args.dataset or DEFAULTS["dataset"])
    if kind != "csv" and not args.resume and (args.target or args.categorical):
        raise CommandError(f"--target and --categorical are for csv:FILE datasets, not "
                           f"{args.dataset or DEFAULTS['dataset']}")
    _device(args.device)
    if args.categorical is not None:
        args.categorical = [name.strip() for name in args.categorical.split(",") if name.strip()]
    if args.model is not None:
        args.model = args.model.lower()
    # Under MPI (mpiexec -n N somanet train) every rank trains, rank 0 names and writes
    # the one run folder.
    out = distributed.broadcast_object(args.out if args.out is not None else _default_out())
    args.out = out
    config = _train_config(args)
    created = _prepare_out(out, args.resume) if distributed.is_main() else []
    distributed.barrier()
    try:
        run_training(config, out, resume=args.resume, verbose=args.verbose, device=args.device,
                     plot=not args.no_plot)
    except CommandError:
        if not args.resume and not os.path.exists(os.path.join(out, WEIGHTS_FILE)):
            _remove_run(out, created)
        raise
    return 0


def _remove_run(out, created):
    """Undo a run folder that holds nothing of value yet (no weights, no checkpoint):
    only what this command wrote before the error."""
    checkpoint = os.path.join(out, CHECKPOINT_DIR)
    if os.path.isdir(checkpoint) and not os.listdir(checkpoint):
        os.rmdir(checkpoint)
    config_path = os.path.join(out, CONFIG_FILE)
    if os.path.isfile(config_path) and not os.path.exists(checkpoint):
        os.remove(config_path)
    _remove_empty(created)


# -- somanet evaluate -----------------------------------------------------------------------


def cmd_evaluate(args):
    """``somanet evaluate RUN_DIR``: loss and accuracy on the test split of the run's data."""
    config, model = load_run(args.run_dir, args.device)
    spec = args.dataset or config["dataset"]
    if config["preprocessing"]["kind"] == "tabular":
        if args.dataset:
            raise CommandError("--dataset cannot change the data of a CSV run (its encoding "
                               "is fitted to that file)")
        found = load_data(spec, config["target"], config["categorical"], config["seed"],
                          config["limit"])
        encoder = config["preprocessing"]["encoder"]
        if found.preprocessing["encoder"]["features"] != encoder["features"] or \
                found.class_names != config["class_names"]:
            raise CommandError(f"{spec} no longer matches the run (its columns or classes "
                               f"changed since training)")
    else:
        found = load_data(spec, limit=None if args.dataset else config["limit"])
        if found.tabular:
            raise CommandError(f"{args.run_dir} holds an image model; --dataset {spec} is "
                               f"tabular")
    labels = found.y_test
    if labels.size and int(labels.max()) >= config["num_classes"]:
        raise CommandError(f"{spec} has labels up to {int(labels.max())}; the model knows "
                           f"{config['num_classes']} classes")
    compile_model(model)
    target = _device(args.device)
    loss, accuracy = _evaluate(model, _to(found.x_test, target), _to(labels, target),
                               config["batch_size"])
    print(f"{args.run_dir}: {config['model']} on {spec} (test, {len(labels):,} samples): "
          f"loss {loss:.4f}, accuracy {accuracy:.4f}")
    return 0


# -- somanet predict ------------------------------------------------------------------------


def read_inputs(path, config, invert=False):
    """The model inputs in the file ``path``: ``(labels, x)``, one label per input row."""
    if not os.path.isfile(path):
        raise CommandError(f"{path!r} does not exist" if not os.path.exists(path)
                           else f"{path!r} is not a file")
    name = os.path.basename(path)
    lower = path.lower()
    tabular = config["preprocessing"]["kind"] == "tabular"
    if lower.endswith(".npy"):
        try:
            array = numpy.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise CommandError(f"cannot read {path} as a .npy file: {_one_line(error)}") \
                from None
        if tabular:
            return _rows_from_array(array, path, config)
        x = _images_from_array(array, path)
        if invert:
            x = 1 - x
        if x.shape[0] == 1:
            return [name], x
        return [f"{name}[{i}]" for i in range(x.shape[0])], x
    if tabular:
        if not lower.endswith(".csv"):
            raise CommandError(f"{path}: a CSV run predicts from .csv or .npy rows")
        return _rows_from_csv(path, config)
    image = _read_image(path)
    if invert:
        image = 1 - image
    return [name], image[None]


def _images_from_array(array, path):
    if array.dtype.kind not in "biuf":
        raise CommandError(f"{path} holds {array.dtype} values; expected images (numbers)")
    shape = array.shape
    if shape == IMAGE_SHAPE:
        array = array[None]
    elif len(shape) == 4 and shape[1] == 1 and shape[2:] == IMAGE_SHAPE:
        array = array[:, 0]
    elif not (len(shape) == 3 and shape[1:] == IMAGE_SHAPE):
        raise CommandError(f"{path} holds an array of shape {shape}; expected one image "
                           f"(28, 28) or a batch (N, 28, 28)")
    if array.shape[0] == 0:
        raise CommandError(f"{path} holds no images")
    if array.dtype.kind in "biu":  # 0-255 pixels, as MNIST stores them
        if int(array.min()) < 0 or int(array.max()) > 255:
            raise CommandError(f"{path} holds integers in [{int(array.min())}, "
                               f"{int(array.max())}]; expected pixels 0-255")
        return array.astype(numpy.float32) / numpy.float32(255)
    array = array.astype(numpy.float32)
    if not numpy.isfinite(array).all():
        raise CommandError(f"{path} holds NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise CommandError(f"{path} holds values in [{low:g}, {high:g}]; expected pixels in "
                           f"[0, 1] as in training (divide by 255, or save uint8)")
    return array


def _read_image(path):
    try:
        from matplotlib import image as mpimg
    except ImportError:
        raise CommandError(f"reading {path} needs matplotlib (pip install 'somanet[viz]'); "
                           f"or give the image as a .npy file") from None
    try:
        pixels = numpy.asarray(mpimg.imread(path))
    except Exception as error:  # PIL and matplotlib raise many kinds for a bad image file
        raise CommandError(f"cannot read {path} as an image: {_one_line(error)}") from None
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        rgb = pixels[..., :3].astype(numpy.float32)
        pixels = rgb @ numpy.array([0.299, 0.587, 0.114], dtype=numpy.float32)  # luma
    elif pixels.ndim == 3 and pixels.shape[2] in (1, 2):
        pixels = pixels[..., 0]
    if pixels.ndim != 2:
        raise CommandError(f"{path} has pixel array shape {pixels.shape}; expected a "
                           f"grayscale or RGB image")
    if pixels.shape != IMAGE_SHAPE:
        raise CommandError(f"{path} is {pixels.shape[1]}x{pixels.shape[0]} pixels; expected "
                           f"28x28 (resize it first)")
    if pixels.dtype.kind in "biu":  # JPEG through Pillow: 0-255
        return pixels.astype(numpy.float32) / numpy.float32(255)
    return numpy.clip(pixels.astype(numpy.float32), 0, 1)


def _encoder(config):
    return datasets.TabularEncoder.from_state_dict(config["preprocessing"]["encoder"])


def _rows_from_array(array, path, config):
    """Raw feature rows (the CSV's feature columns, in order) -> encoded features."""
    encoder = _encoder(config)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != len(encoder.features):
        raise CommandError(f"{path} holds an array of shape {array.shape}; expected rows of "
                           f"the {len(encoder.features)} feature columns "
                           f"({', '.join(encoder.features)})")
    columns = {}
    for index, column in enumerate(encoder.features):
        columns[column] = [_cell(value) for value in array[:, index].tolist()]
    return _encode(encoder, columns, path, array.shape[0])


def _cell(value):
    """A .npy value as the CSV would spell it (3.0 -> "3", so category levels match)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows_from_csv(path, config):
    encoder = _encoder(config)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CommandError(f"cannot read {path} as CSV: {_one_line(error)}") from None
    if not rows:
        raise CommandError(f"{path} is empty; expected a header row and data rows")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in encoder.features if name not in header]
    if missing:
        raise CommandError(f"{path} lacks the feature column(s) {', '.join(missing)}; the "
                           f"model reads {', '.join(encoder.features)}")
    body = rows[1:]
    if not body:
        raise CommandError(f"{path} has a header but no data rows")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise CommandError(f"{path} line {number} has {len(row)} fields, the header "
                               f"has {len(header)}")
    columns = {name: [row[i].strip() for row in body] for i, name in enumerate(header)}
    return _encode(encoder, columns, path, len(body))


def _encode(encoder, columns, path, count):
    try:
        x = encoder.transform(columns)
    except ValueError as error:
        raise CommandError(f"{path}: {_one_line(error)}") from None
    name = os.path.basename(path)
    return [f"{name}[{i}]" for i in range(count)], x


def cmd_predict(args):
    """``somanet predict RUN_DIR FILE...``: the class and its probability for each input."""
    config, model = load_run(args.run_dir, args.device)
    probability_model = Sequential([model, nn.Softmax()])  # seed 004's probability model
    probability_model.eval()
    names = config["class_names"]
    width = max(len(name) for name in names)
    target = _device(args.device)
    for path in args.files:
        labels, x = read_inputs(path, config, args.invert)
        probabilities = numpy.asarray(probability_model.predict(_to(x, target), verbose=0))
        best = probabilities.argmax(axis=1)
        for label, index, row in zip(labels, best, probabilities):
            print(f"{label}: {names[index]:>{width}}  p={float(row[index]):.4f}")
    return 0


# -- somanet info ---------------------------------------------------------------------------


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _blas():
    """A line naming the BLAS NumPy uses: threadpoolctl's view when it is installed (the
    library actually loaded, and its threads), else NumPy's build configuration."""
    if importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_info
        found = [f"{lib.get('internal_api')} {lib.get('version') or ''} "
                 f"({lib.get('num_threads')} threads, {os.path.basename(lib.get('filepath', ''))})"
                 for lib in threadpool_info() if lib.get("user_api") == "blas"]
        if found:
            return "; ".join(" ".join(item.split()) for item in found)
    try:
        config = numpy.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')} (NumPy's build configuration)"
    except Exception:  # older NumPy without mode="dicts", or an unusual build
        return "unknown (NumPy does not report it)"


def cmd_info(args):
    """``somanet info``: what somanet runs on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    gpus = gpu_count()
    devices = ["cpu"] + [f"gpu:{i}" for i in range(gpus)]
    lines = [
        ("somanet", f"{__version__} ({os.path.dirname(os.path.abspath(__file__))})"),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("numpy", numpy.__version__),
        ("platform", platform.platform()),
        ("CPUs", f"{usable} usable of {os.cpu_count()}"),
        ("BLAS", _blas()),
        ("devices", ", ".join(devices) + ("" if gpus else
                                          " (no GPU: needs CuPy and a CUDA GPU)")),
    ]
    extras = []
    for module, package in (("cupy", None), ("mpi4py", "mpi4py"),
                            ("matplotlib", "matplotlib"), ("numba", "numba"),
                            ("threadpoolctl", "threadpoolctl")):
        if importlib.util.find_spec(module) is None:
            extras.append(f"{module} -")
            continue
        version = _version(package) if package else None
        if version is None:  # cupy's distribution is cupy-cuda12x, cupy-cuda11x...
            version = next((_version(name) for name in ("cupy", "cupy-cuda12x",
                                                        "cupy-cuda11x") if _version(name)), "")
        extras.append(f"{module} {version}".strip())
    lines.append(("extras", ", ".join(extras)))
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


# -- the parser -----------------------------------------------------------------------------


def build_parser():
    parser = argparse.ArgumentParser(
        prog="somanet", description="Train, evaluate and use somanet models.",
        epilog="Run 'somanet COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"somanet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train", help="train a model (default: seed 004's quickstart MLP on mnist_small)",
        description="Train a model and write a run folder (config.json, model.safetensors, "
                    "checkpoint/, metrics.json, history.png). With no options: seed 004's "
                    "Keras quickstart model (Flatten, Dense 128 relu, Dropout 0.2, Dense 10) "
                    "on the bundled mnist_small (4,000 train / 1,000 test digits), 5 epochs "
                    "of Adam.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    train.add_argument("--model", help=f"one of {', '.join(models.names())} (default mlp; "
                                       f"CSV data uses a tabular MLP)")
    train.add_argument("--dataset", help=f"{DATASET_FORMS} (default mnist-small)")
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
    train.add_argument("--out", help="the run folder (default runs/<timestamp>)")
    train.add_argument("--resume", action="store_true",
                       help="continue the killed run in --out from its checkpoint")
    train.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    train.add_argument("--limit", type=int, metavar="N",
                       help="use only the first N training and N test samples (a debugging "
                            "aid for quick runs)")
    train.add_argument("--no-plot", action="store_true",
                       help=f"do not draw {PLOT_FILE} (saves a moment; needs no matplotlib)")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                       help="0 silent, 1 progress bar, 2 one line per epoch")
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser(
        "evaluate", help="test loss and accuracy of a trained run",
        description="Rebuild a run's model from RUN_DIR/config.json, load its weights and "
                    "report loss and accuracy on the test split of its dataset.")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("--dataset", help=f"evaluate on another image dataset "
                                            f"({DATASET_FORMS})")
    evaluate.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = commands.add_parser(
        "predict", help="classify images or rows with a trained run",
        description="Print the predicted class and its probability for each input: a "
                    "28x28 image file (PNG; grayscale in [0, 1], white digit on black as in "
                    "MNIST), a .npy of one image (28, 28) or a batch (N, 28, 28), or for a "
                    "CSV run a .csv / .npy of rows of the feature columns.")
    predict.add_argument("run_dir", metavar="RUN_DIR")
    predict.add_argument("files", metavar="FILE", nargs="+")
    predict.add_argument("--invert", action="store_true",
                         help="invert images (1 - pixel): for dark digits on a light background")
    predict.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    predict.set_defaults(handler=cmd_predict)

    info = commands.add_parser(
        "info", help="versions, devices, BLAS, CPUs and optional extras",
        description="Print somanet's and NumPy's versions, the devices found, the BLAS "
                    "NumPy uses, the CPU count and which optional extras are installed.")
    info.set_defaults(handler=cmd_info)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"somanet: warning: {message}", file=sys.stderr if file is None else file)


def main(argv=None):
    """Run the ``somanet`` command with ``argv`` (default ``sys.argv[1:]``); returns the
    exit status (0 success, 2 a usage error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or argparse's own usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # one line, without the source location
            return args.handler(args)
    except CommandError as error:
        print(f"somanet: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        hint = ""
        out = getattr(args, "out", None)
        if args.command == "train" and out and os.path.isfile(
                os.path.join(out, CHECKPOINT_DIR, "checkpoint.json")):
            hint = f"; the last checkpoint is intact: somanet train --resume --out {out}"
        print(f"somanet: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
