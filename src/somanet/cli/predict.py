"""``somanet predict RUN_DIR FILE...``: read images, .npy arrays or CSV rows; print classes.

Each input prints its predicted class and that class's probability (a softmax on the
model's logits).
"""
import csv
import os

import numpy

from .. import nn
from ..train import Sequential
from .data import IMAGE_SHAPE
from .architectures import check_classifier
from .errors import CommandError, one_line
from .help import DefaultsOnceFormatter
from .model import on_device, resolve_device
from .runs import load_run, tabular_encoder


def add_parser(commands):
    """Add ``predict`` and its options to the ``commands`` subparsers."""
    predict = commands.add_parser(
        "predict", help="classify images or rows with a trained run",
        description="Print the predicted class and its probability for each input: a "
                    "28x28 image file (PNG; grayscale in [0, 1], white digit on black as in "
                    "MNIST), a .npy of one image (28, 28) or a batch (N, 28, 28), or for a "
                    "CSV run a .csv / .npy of rows of the feature columns.",
        formatter_class=DefaultsOnceFormatter)
    predict.add_argument("run_dir", metavar="RUN_DIR")
    predict.add_argument("files", metavar="FILE", nargs="+")
    predict.add_argument("--invert", action="store_true",
                         help="invert images (1 - pixel): for dark digits on a light background")
    predict.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    predict.set_defaults(handler=cmd_predict)
    return predict


def cmd_predict(args):
    """``somanet predict RUN_DIR FILE...``: the class and its probability for each input."""
    config, model = load_run(args.run_dir, args.device)
    if config["preprocessing"]["kind"] == "text":
        raise CommandError(f"{args.run_dir} holds a character language model; it writes text "
                           f"with: somanet generate {args.run_dir} --prime TEXT")
    check_classifier(args.run_dir, config)
    probability_model = Sequential([model, nn.Softmax()])  # a softmax on the logits
    probability_model.eval()
    names = config["class_names"]
    width = max(len(name) for name in names)
    target = resolve_device(args.device)
    for path in args.files:
        labels, x = read_inputs(path, config, args.invert)
        probabilities = numpy.asarray(probability_model.predict(on_device(x, target),
                                                                verbose=0))
        best = probabilities.argmax(axis=1)
        for label, index, row in zip(labels, best, probabilities):
            print(f"{label}: {names[index]:>{width}}  p={float(row[index]):.4f}")
    return 0


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
            raise CommandError(f"cannot read {path} as a .npy file: {one_line(error)}") \
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
        raise CommandError(f"cannot read {path} as an image: {one_line(error)}") from None
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


def _rows_from_array(array, path, config):
    """Raw feature rows (the CSV's feature columns, in order) -> encoded features."""
    encoder = tabular_encoder(config)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != len(encoder.features):
        raise CommandError(f"{path} holds an array of shape {array.shape}; expected rows of "
                           f"the {len(encoder.features)} feature columns "
                           f"({', '.join(encoder.features)})")
    if array.shape[0] == 0:
        raise CommandError(f"{path} holds no rows")
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
    encoder = tabular_encoder(config)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CommandError(f"cannot read {path} as CSV: {one_line(error)}") from None
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
        raise CommandError(f"{path}: {one_line(error)}") from None
    name = os.path.basename(path)
    return [f"{name}[{i}]" for i in range(count)], x
