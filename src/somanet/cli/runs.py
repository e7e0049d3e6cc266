"""Run folders: creating ``--out``, its config.json, ``load_run``, undoing an unfinished run.

A run folder (``--out``, default ``runs/<timestamp>``) holds everything about a run:

===================== ====================================================================
``config.json``       what rebuilds the model and the data pipeline: model, dataset spec,
                      preprocessing (for CSV data the fitted encoder), seed, hyper-parameters
``model.safetensors`` the trained weights
``checkpoint/``       the last checkpoint of ``fit`` (weights, optimiser, RNG, data position)
``metrics.json``      test loss and accuracy, the per-epoch history, timings
``history.png``       the training curves (with matplotlib installed)
===================== ====================================================================
"""
import datetime
import json
import os

from .. import datasets, io
from .errors import CommandError, one_line
from .model import build_model, resolve_device

RUN_FORMAT = "somanet-run/1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_DIR = "checkpoint"
METRICS_FILE = "metrics.json"
PLOT_FILE = "history.png"

# The options `train --resume` takes from the run folder's config.json.
RUN_OPTIONS = ("model", "dataset", "target", "categorical", "batch_size", "optimizer", "lr",
               "seed", "limit")
CONFIG_KEYS = RUN_OPTIONS + ("epochs", "preprocessing", "num_classes", "class_names")


def default_out():
    """``runs/<timestamp>``, with a count appended if that folder exists already."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, count = os.path.join("runs", stamp), 1
    while os.path.exists(path):
        count += 1
        path = os.path.join("runs", f"{stamp}-{count}")
    return path


def prepare_out(path, resume):
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
        io.check_writable(path, who="somanet train", what="the run")
    except OSError as error:
        raise CommandError(f"cannot write to --out {path!r}: {error.reason}") from None
    return created


def remove_run(out, created):
    """Undo a run folder that holds nothing of value yet (no weights, no checkpoint):
    only what this command wrote before the error.

    Args:
        created: the folders ``prepare_out`` created, deepest first.
    """
    checkpoint = os.path.join(out, CHECKPOINT_DIR)
    if os.path.isdir(checkpoint) and not os.listdir(checkpoint):
        os.rmdir(checkpoint)
    config_path = os.path.join(out, CONFIG_FILE)
    if os.path.isfile(config_path) and not os.path.exists(checkpoint):
        os.remove(config_path)
    io.remove_empty_folders(created)


def write_json(path, value):
    """Write ``value`` as indented JSON, atomically (a temporary file, then a rename)."""
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
        raise CommandError(f"cannot read {path}: {one_line(error)}") from None
    if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
        raise CommandError(f"{path} is not a somanet run configuration (expected "
                           f"format {RUN_FORMAT!r})")
    missing = [key for key in CONFIG_KEYS if key not in config]
    if missing:
        raise CommandError(f"{path} lacks {', '.join(missing)}; it was edited or is damaged")
    return config


def tabular_encoder(config):
    """The fitted ``TabularEncoder`` of a CSV run's config."""
    return datasets.TabularEncoder.from_state_dict(config["preprocessing"]["encoder"])


def load_run(run_dir, device="cpu"):
    """Rebuild a run's model from its config.json and load its trained weights.

    Returns:
        ``(config, model)``, the model in eval mode on ``device``.
    """
    config = read_config(run_dir)
    kind = config["preprocessing"]["kind"]
    n_features = len(tabular_encoder(config).feature_names) if kind == "tabular" else None
    model = build_model(config["model"], kind, config["num_classes"], n_features)
    weights = os.path.join(run_dir, WEIGHTS_FILE)
    if not os.path.isfile(weights):
        raise CommandError(f"{run_dir!r} holds no {WEIGHTS_FILE}: the run did not finish; "
                           f"continue it with somanet train --resume --out {run_dir}")
    try:
        io.load_weights(model, weights)
    except (OSError, ValueError) as error:
        raise CommandError(one_line(error)) from None
    model.to(resolve_device(device))
    model.eval()
    return config, model
