"""Run folders: creating ``--out``, its config.json, ``load_run``, undoing an unfinished run.

A run folder (``--out``, default ``runs/<timestamp>``) holds everything about a run:

===================== ====================================================================
``config.json``       what rebuilds the model and the data pipeline: model, dataset spec,
                      preprocessing (for CSV data the fitted encoder), seed, hyper-parameters
``model.safetensors`` the trained weights
``checkpoint/``       the last checkpoint of ``fit`` (weights, optimiser, RNG, data position)
``metrics.json``      test loss and accuracy, the per-epoch history, timings
``history.png``       the training curves, training against validation (with matplotlib)
``confusion_matrix.png`` the test set's confusion matrix (with matplotlib)
``misclassified.png`` the test images the model got wrong, predicted (true) (image data)
``tensorboard/``      TensorBoard event files (with ``--tensorboard``)
===================== ====================================================================

One run at a time writes a folder: ``somanet train`` holds an exclusive lock on it
(``somanet.io.lock_folder``; no file is added). ``--resume`` checks the checkpoint and
the data before it writes anything, so a resume that fails leaves the folder as it was.
"""
import datetime
import json
import math
import os
import shutil

from .. import datasets, io, models
from ..train import checkpointing
from . import architectures
from .errors import CommandError, one_line
from .model import build_model, resolve_device

RUN_FORMAT = "somanet-run/1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_DIR = "checkpoint"
METRICS_FILE = "metrics.json"
PLOT_FILE = "history.png"
CONFUSION_FILE = "confusion_matrix.png"
MISCLASSIFIED_FILE = "misclassified.png"
PLOT_FILES = (PLOT_FILE, CONFUSION_FILE, MISCLASSIFIED_FILE)
TENSORBOARD_DIR = "tensorboard"  # where --tensorboard writes, in the run folder

# The options `train --resume` takes from the run folder's config.json.
RUN_OPTIONS = ("model", "dataset", "target", "categorical", "batch_size", "optimizer", "lr",
               "seed", "limit", "validation_split")
# Options added since the first run folders, with what a folder without them did.
LATER_OPTIONS = {"validation_split": 0.0}
CONFIG_KEYS = tuple(key for key in RUN_OPTIONS if key not in LATER_OPTIONS) + (
    "epochs", "preprocessing", "num_classes", "class_names")


def model_names():
    """Every ``--model``: the classifiers of ``somanet.models.get``, then the architectures
    of ``cli.architectures``."""
    return models.names() + [name for name in architectures.NAMES if name not in models.names()]


def default_out():
    """``runs/<timestamp>``, with a count appended if that folder exists already."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path, count = os.path.join("runs", stamp), 1
    while os.path.exists(path):
        count += 1
        path = os.path.join("runs", f"{stamp}-{count}")
    return path


def prepare_out(path, resume):
    """Create the run folder (or check the one to resume), check it is writable, and lock
    it for this run.

    Returns:
        ``(created, lock)``: the folders this call created, so a failure before training
        can remove them, and the folder's ``FolderLock`` (release it when done).
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(f"--out {path!r} is a file, not a folder")
    for name in (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE) + PLOT_FILES:
        if os.path.isdir(os.path.join(path, name)):
            raise CommandError(f"{os.path.join(path, name)!r} is a folder; somanet train "
                               f"writes a file of that name there: move it away")
    checkpoint = os.path.join(path, CHECKPOINT_DIR)
    if os.path.exists(checkpoint) and not os.path.isdir(checkpoint):
        raise CommandError(f"{checkpoint!r} is a file; somanet train keeps its checkpoint "
                           f"in a folder of that name: move the file away")
    created, parent = [], os.path.abspath(path)
    while not os.path.exists(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    try:
        io.check_writable(path, who="somanet train", what="the run")
    except OSError as error:
        raise CommandError(f"cannot write to --out {path!r}: {error.reason}") from None
    try:
        lock = io.lock_folder(path, who="somanet train",
                              hint="wait for that run to end, or choose another --out")
    except io.FolderLockedError as error:
        raise CommandError(str(error).split(": ", 1)[1]) from None
    # Checked under the lock: two commands started together cannot both see a free folder.
    if not resume and os.path.exists(os.path.join(path, CONFIG_FILE)):
        lock.release()
        raise CommandError(f"{path!r} already holds a run; continue it with --resume, or "
                           f"choose another --out")
    return created, lock


def resume_point(run_dir, config, folder=None, check_epochs=True):
    """How far the run in ``run_dir`` got, from its checkpoint (``None`` without one), and
    whether ``config["epochs"]`` leaves anything to do. Nothing is written.

    Args:
        folder: the checkpoint folder (default ``run_dir/checkpoint``; a stage's folder for
            a run trained in stages).
        check_epochs: raise when the checkpoint is past ``config["epochs"]``.

    Returns:
        ``(progress, finished)``: the checkpoint's ``Progress`` (or ``None``), and whether
        the run has trained all of ``config["epochs"]`` (or a callback stopped it).

    Raises:
        CommandError: the checkpoint is damaged, or the run is already past
            ``config["epochs"]``.
    """
    folder = os.path.join(run_dir, CHECKPOINT_DIR) if folder is None else folder
    if not io.is_checkpoint(folder):
        return None, False
    try:
        progress = checkpointing.read_progress(folder)
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot resume {run_dir}: {one_line(error)}") from None
    epochs = config["epochs"]
    if check_epochs and progress.epoch > epochs or (progress.epoch == epochs and progress.batch > 0):
        trained = f"{progress.epoch} epoch(s)" + (f" and {progress.batch} batch(es) of the "
                                                  f"next" if progress.batch else "")
        raise CommandError(f"{run_dir} has already trained {trained}, past --epochs {epochs}; "
                           f"give --epochs {progress.epoch + 1} or more to train it further "
                           f"(nothing was changed)")
    return progress, progress.epoch == epochs or progress.stopped


def check_same_data(run_dir, config, found):
    """Raise CommandError unless the data loaded now is prepared as the run's config.json
    says (the same CSV columns, levels and statistics; the same classes): resuming on
    changed data would retrain on other rows and silently change the model's inputs."""
    def plain(value):
        return json.loads(json.dumps(value))

    saved, now = plain(config["preprocessing"]), plain(found.preprocessing)
    what = None
    if saved.get("kind") != now.get("kind"):
        what = f"the data is now {now.get('kind')}, the run's was {saved.get('kind')}"
    elif saved != now:
        what = _preprocessing_change(saved, now)
    elif plain(config["class_names"]) != plain(found.class_names):
        what = (f"the classes are now {found.class_names}, the run's were "
                f"{config['class_names']}")
    if what is not None:
        raise CommandError(f"cannot resume {run_dir}: {config['dataset']} changed since the run "
                           f"started ({what}); restore the data it was trained on, or start a "
                           f"new run with another --out (nothing was changed)")


def _preprocessing_change(saved, now):
    old, new = saved.get("encoder"), now.get("encoder")
    if not isinstance(old, dict) or not isinstance(new, dict):
        return "its preprocessing differs"
    if old.get("features") != new.get("features"):
        return f"the feature columns are now {new.get('features')}, the run's were " \
               f"{old.get('features')}"
    for column, levels in (old.get("categories") or {}).items():
        if (new.get("categories") or {}).get(column) != levels:
            return f"the levels of column {column!r} changed"
    if old.get("target_classes") != new.get("target_classes"):
        return f"the classes of {old.get('target')!r} are now {new.get('target_classes')}"
    for key in ("mean", "std"):
        for column, value in (old.get(key) or {}).items():
            if (new.get(key) or {}).get(column) != value:
                return f"the {key} of column {column!r} is now " \
                       f"{(new.get(key) or {}).get(column)!r}, the run's was {value!r}: rows " \
                       f"were added, removed or edited"
    return "its preprocessing differs"


def remove_leftovers(run_dir):
    """Remove the temporary files of writes to the run folder that were interrupted."""
    io.remove_orphans(run_dir, lambda name: name in (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE)
                      + PLOT_FILES)


def remove_run(out, created, logs=None):
    """Undo a run folder that holds nothing of value yet (no weights, no checkpoint):
    only what this command wrote before the error.

    Args:
        created: the folders ``prepare_out`` created, deepest first.
        logs: the TensorBoard folder of this run, removed with its event files when it
            lies in ``out`` (a folder elsewhere may hold other runs' logs: it is kept).
    """
    if logs is not None and os.path.abspath(logs) == os.path.abspath(
            os.path.join(out, TENSORBOARD_DIR)) and os.path.isdir(logs):
        shutil.rmtree(logs)
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
        raise CommandError(f"run folder {run_dir!r} does not exist" if not os.path.exists(
            run_dir) else f"{run_dir!r} is a file, not a run folder")
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
    for key, value in LATER_OPTIONS.items():
        config.setdefault(key, value)
    _check_config_values(path, config)
    return config


def _whole(value, minimum):
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _names(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# What each entry of config.json must hold: a test, and the words for the message.
_CONFIG_VALUES = {
    "model": (lambda v: isinstance(v, str) and v != "", "a model name"),
    "dataset": (lambda v: isinstance(v, str) and v != "", "a dataset spec"),
    "target": (lambda v: v is None or isinstance(v, str), "a column name or null"),
    "categorical": (lambda v: v is None or _names(v), "a list of column names or null"),
    "epochs": (lambda v: _whole(v, 1), "an int >= 1"),
    "batch_size": (lambda v: _whole(v, 1), "an int >= 1"),
    "optimizer": (lambda v: v is None or (isinstance(v, str) and v != ""),
                  "an optimizer name or null (the architecture's own)"),
    "lr": (lambda v: v is None or (_number(v) and v > 0), "a positive number or null"),
    "seed": (lambda v: _whole(v, 0), "an int >= 0"),
    "limit": (lambda v: v is None or _whole(v, 1), "an int >= 1 or null"),
    "validation_split": (lambda v: _number(v) and 0 <= v < 1, "a fraction in [0, 1)"),
    "num_classes": (lambda v: _whole(v, 2), "an int >= 2"),
    "class_names": (_names, "a list of names"),
    "preprocessing": (lambda v: isinstance(v, dict) and v.get("kind") in ("image", "tabular",
                                                                           "text")
                      and (v["kind"] != "tabular" or isinstance(v.get("encoder"), dict)),
                      "{\"kind\": \"image\"}, {\"kind\": \"text\", ...} or {\"kind\": "
                      "\"tabular\", \"encoder\": {...}}"),
}


def _check_config_values(path, config):
    """Raise CommandError naming the first entry of ``config`` that holds what somanet
    train never writes (the file was edited or damaged)."""
    for key, (valid, expected) in _CONFIG_VALUES.items():
        value = config[key]
        if not valid(value):
            raise CommandError(f"{path}: {key} is {json.dumps(value)[:60]}, expected "
                               f"{expected}; the file was edited or is damaged")
    if len(config["class_names"]) != config["num_classes"]:
        raise CommandError(f"{path}: class_names has {len(config['class_names'])} names for "
                           f"num_classes {config['num_classes']}; the file was edited or is "
                           f"damaged")


def tabular_encoder(config):
    """The fitted ``TabularEncoder`` of a CSV run's config."""
    try:
        return datasets.TabularEncoder.from_state_dict(config["preprocessing"]["encoder"])
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise CommandError(f"the CSV encoding in {CONFIG_FILE} is damaged ({one_line(error)}); "
                           f"the file was edited or is damaged") from None


def load_run(run_dir, device="cpu"):
    """Rebuild a run's model from its config.json and load its trained weights.

    Returns:
        ``(config, model)``, the model in eval mode on ``device``.
    """
    config = read_config(run_dir)
    kind = config["preprocessing"]["kind"]
    zoo = architectures.get(config["model"])
    if zoo is not None:
        if not isinstance(config.get("options"), dict):
            raise CommandError(f"{run_dir}/{CONFIG_FILE} lacks the {zoo.name}'s options; it "
                               f"was edited or is damaged")
        model = zoo.build(config["options"])
    else:
        n_features = len(tabular_encoder(config).feature_names) if kind == "tabular" else None
        model = build_model(config["model"], kind, config["num_classes"], n_features)
    weights = os.path.join(run_dir, WEIGHTS_FILE)
    if not os.path.isfile(weights):
        raise CommandError(f"{run_dir!r} holds no {WEIGHTS_FILE}: the run did not finish; "
                           f"continue it with somanet train --resume --out {run_dir}")
    try:
        io.load_weights(weights, model)
    except (OSError, ValueError) as error:
        raise CommandError(one_line(error)) from None
    model.to(resolve_device(device))
    model.eval()
    return config, model
