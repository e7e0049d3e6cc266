"""Dataset specs (``--dataset``) and loading them as train and test arrays.

``mnist-small`` (bundled), ``mnist:DIR`` and ``fashion-mnist:DIR`` (the four IDX files)
give 28x28 images in [0, 1]; ``csv:FILE`` gives encoded table rows, split 80/20;
``shakespeare`` (bundled) and ``text:FILE`` give a text cut into windows of characters
(the last 10% of the text held out), for ``--model char-lstm``.
"""
import csv
import math
import os

import numpy

from .. import datasets, models
from ..data.text import CharSequenceDataset, Vocabulary
from .errors import CommandError, one_line

IMAGE_SHAPE = models.IMAGE_SHAPE  # (28, 28): what every image model here takes
CSV_TEST_FRACTION = 0.2
MAX_CLASSES = 1000  # integer targets above this (and above the row count) are not labels
DATASET_FORMS = "mnist-small, mnist:DIR, fashion-mnist:DIR, csv:FILE, shakespeare or text:FILE"
TEXT_KINDS = ("shakespeare", "text")
TEXT_WINDOW = 100  # characters a training window unrolls
TEXT_VALIDATION_FRACTION = 0.1

# The preprocessing config.json records for image data.
IMAGES = {"kind": "image", "shape": list(IMAGE_SHAPE), "scale": "pixel / 255",
          "dtype": "float32"}


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

    @property
    def text(self):
        return self.preprocessing["kind"] == "text"


def parse_dataset(spec):
    """``"mnist:DIR"`` -> ``("mnist", "DIR")``; checks the form, not the files."""
    if not isinstance(spec, str) or not spec.strip():
        raise CommandError(f"--dataset is empty; expected {DATASET_FORMS}")
    kind, colon, where = spec.partition(":")
    kind = kind.strip().lower().replace("_", "-")
    if kind in ("mnist-small", "shakespeare"):
        if colon:
            raise CommandError(f"--dataset {kind} takes no path (it ships with "
                               f"somanet), got {spec!r}")
        return kind, None
    if kind in ("mnist", "fashion-mnist", "csv", "text"):
        if not where:
            what = "FILE" if kind in ("csv", "text") else "DIR"
            raise CommandError(f"--dataset {kind} needs a path: {kind}:{what}")
        return kind, os.path.expanduser(where)
    raise CommandError(f"unknown dataset {spec!r}; expected {DATASET_FORMS}")


def load_data(spec, target=None, categorical=None, seed=0, limit=None, vocabulary=None):
    """Load the dataset ``spec`` (see ``parse_dataset``) as a ``Data``.

    Images are float32 in [0, 1], shape (N, 28, 28). CSV files are split into
    80% train and 20% test rows by ``seed``, numeric columns standardised and
    text (or ``categorical``) columns one-hot encoded; the target must hold
    classes (text or whole numbers).

    Text (``shakespeare``, ``text:FILE``) is cut into windows of ``TEXT_WINDOW``
    character ids, each with the next characters as targets (``CharSequenceDataset``);
    the last ``TEXT_VALIDATION_FRACTION`` of the text is the test split. The classes are
    the text's characters.

    Args:
        limit: keep only the first ``limit`` training and test rows (a debugging aid).
        vocabulary: for text, the characters of a trained run (``None``: the text's own).
    """
    kind, where = parse_dataset(spec)
    if kind != "csv" and (target or categorical):
        raise CommandError(f"--target and --categorical are for csv:FILE datasets, not {spec}")
    if kind == "mnist-small":
        (x_train, y_train), (x_test, y_test) = (datasets.mnist_small("train"),
                                                datasets.mnist_small("test"))
        found = Data(x_train, y_train, x_test, y_test, [str(i) for i in range(10)], IMAGES)
    elif kind in ("mnist", "fashion-mnist"):
        found = _load_idx(kind, where)
    elif kind in TEXT_KINDS:
        found = _load_text(spec, where, vocabulary)
    else:
        found = _load_csv(where, target, categorical, seed)
    if limit is not None:
        found.x_train, found.y_train = found.x_train[:limit], found.y_train[:limit]
        found.x_test, found.y_test = found.x_test[:limit], found.y_test[:limit]
        if found.text:  # the held-out text those windows cover
            found.validation_ids = found.validation_ids[:limit * TEXT_WINDOW + 1]
    return found


def _load_text(spec, path, chars=None):
    if path is None:
        text = datasets.shakespeare()
    else:
        try:
            text = datasets.read_text(path)
        except (OSError, ValueError) as error:
            raise CommandError(one_line(error).replace("read_text: ", "")) from None
    needed = int((TEXT_WINDOW + 1) / TEXT_VALIDATION_FRACTION) + 1
    if len(text) < needed:
        raise CommandError(f"{spec} holds {len(text):,} characters; a text to train on needs "
                           f"at least {needed:,} (its last {TEXT_VALIDATION_FRACTION:.0%} is "
                           f"held out in windows of {TEXT_WINDOW} characters)")
    vocabulary = Vocabulary.from_text(text) if chars is None else Vocabulary(chars)
    if chars is not None and vocabulary.unknown(text):
        missing = vocabulary.unknown(text)
        raise CommandError(f"{spec} holds characters the run's model never saw: "
                           f"{', '.join(repr(c) for c in missing[:10])}")
    split = datasets.split_text(text, TEXT_VALIDATION_FRACTION)
    ids = {name: vocabulary.encode(part) for name, part in split.items()}
    x_train, y_train = CharSequenceDataset(ids["train"], TEXT_WINDOW).arrays()
    x_test, y_test = CharSequenceDataset(ids["validation"], TEXT_WINDOW).arrays()
    preprocessing = {"kind": "text", "vocabulary": vocabulary.chars, "window": TEXT_WINDOW,
                     "validation_fraction": TEXT_VALIDATION_FRACTION,
                     "characters": len(text)}
    found = Data(x_train, y_train, x_test, y_test, list(vocabulary.chars), preprocessing)
    found.validation_ids = ids["validation"]
    return found


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
        raise CommandError(one_line(error)) from None
    if x_train.shape[1:] != IMAGE_SHAPE or x_test.shape[1:] != IMAGE_SHAPE:
        raise CommandError(f"{folder} holds images of shape {x_train.shape[1:]}; the models "
                           f"expect {IMAGE_SHAPE}")
    names = (datasets.FASHION_MNIST_CLASSES if kind == "fashion-mnist"
             else [str(i) for i in range(10)])
    return Data(x_train, y_train, x_test, y_test, names, IMAGES)


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
        raise CommandError(one_line(error)) from None
    if table.y_test is None or len(table.y_test) == 0:
        rows = len(table.y_train)
        raise CommandError(f"{path} has {rows} data row(s): too few to hold out a test set "
                           f"({CSV_TEST_FRACTION:.0%} of them rounds to none); somanet train "
                           f"needs at least 3 rows")
    encoder = table.encoder
    if encoder.target_classes is not None:
        class_names = list(encoder.target_classes)
    elif table.y_train.dtype.kind == "i":
        labels = numpy.concatenate([table.y_train, table.y_test])
        if labels.min() < 0:
            raise CommandError(f"target column {target!r} holds negative numbers; class "
                               f"labels must be 0, 1, 2...; list it with --categorical "
                               f"{target} to treat its values as names")
        count = int(labels.max()) + 1
        if count > max(MAX_CLASSES, len(labels)):
            raise CommandError(f"target column {target!r} holds whole numbers up to "
                               f"{count - 1}: as class labels 0..{count - 1} that makes "
                               f"{count:,} classes for {len(labels):,} rows; class labels "
                               f"must be 0, 1, 2...; list it with --categorical {target} to "
                               f"treat its values as names")
        class_names = [str(i) for i in range(count)]
    else:
        raise CommandError(f"target column {target!r} holds fractional numbers; somanet "
                           f"train trains classifiers (use the Python API for regression), "
                           f"or list it with --categorical {target}")
    if len(class_names) < 2:
        raise CommandError(f"target column {target!r} holds a single class "
                           f"({class_names[0]!r}); a classifier needs at least two")
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


def split_validation(x, y, fraction):
    """``(x_fit, y_fit, x_val, y_val)``: the last ``fraction`` of the training rows held out
    to validate on, as Keras's ``fit(validation_split=...)`` takes them (before any
    shuffling, so the split does not depend on the seed). ``fraction`` 0: nothing is held
    out (``x_val`` and ``y_val`` are ``None``)."""
    if not fraction:
        return x, y, None, None
    size = len(y)
    split_at = int(math.floor(size * (1.0 - fraction)))
    if split_at == 0 or split_at == size:
        raise CommandError(f"--validation-split {fraction:g} of {size} training sample(s) "
                           f"leaves {split_at} to train on and {size - split_at} to validate "
                           f"on; both need at least one (give more data, another fraction, "
                           f"or --validation-split 0)")
    return x[:split_at], y[:split_at], x[split_at:], y[split_at:]
