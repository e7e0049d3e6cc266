import hashlib
from pathlib import Path

import numpy as np
import pytest

import somanet as sn
from somanet.data.datasets import vision as mnist_module

DATA = Path(mnist_module.__file__).with_name("data")


def test_splits_shapes_and_dtypes():
    x, y = sn.datasets.mnist_small("train")
    assert x.shape == (4000, 28, 28) and x.dtype == np.float32
    assert y.shape == (4000,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    x_test, y_test = sn.datasets.mnist_small("test")
    assert x_test.shape == (1000, 28, 28) and y_test.shape == (1000,)
    x_all, y_all = sn.datasets.mnist_small("all", normalize=False)
    assert x_all.dtype == np.uint8 and x_all.max() == 255
    assert np.bincount(y_all).tolist() == [500] * 10
    assert np.array_equal(x_all[:4000] / np.float32(255), x)
    assert np.array_equal(y_all[4000:], y_test)


def test_split_is_the_documented_permutation():
    with np.load(DATA / "mnist_small.npz") as archive:
        images, labels = archive["images"], archive["labels"]
    assert np.array_equal(labels, np.repeat(np.arange(10), 500))  # the file is ordered by class
    order = np.random.default_rng(0).permutation(5000)
    x, y = sn.datasets.mnist_small("test", normalize=False)
    assert np.array_equal(y, labels[order[4000:]])
    assert np.array_equal(x, images[order[4000:]])


def test_results_are_fresh_arrays():
    x, _ = sn.datasets.mnist_small("test", normalize=False)
    x[:] = 0
    assert sn.datasets.mnist_small("test", normalize=False)[0].max() == 255


def test_checksum_recorded_in_provenance_and_verified(monkeypatch):
    digest = hashlib.sha256((DATA / "mnist_small.npz").read_bytes()).hexdigest()
    assert digest == sn.datasets.MNIST_SMALL_SHA256
    assert digest in (DATA / "PROVENANCE.md").read_text()
    monkeypatch.setattr(mnist_module, "MNIST_SMALL_SHA256", "0" * 64)
    monkeypatch.setattr(mnist_module, "_small_cache", {})
    with pytest.raises(ValueError, match="damaged: its SHA-256 is 4c69"):
        sn.datasets.mnist_small()


def test_bad_split():
    with pytest.raises(ValueError, match="split must be one of 'train', 'test', 'all'"):
        sn.datasets.mnist_small("validation")


def test_conversion_script_is_kept():
    script = (DATA / "make_mnist_small.py").read_text()
    assert "mnist_5k.csv.gz" in script and "__main__" in script
