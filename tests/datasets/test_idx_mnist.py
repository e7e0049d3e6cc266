import gzip
import hashlib
import io
import os
import urllib.error

import numpy as np
import pytest

import somanet as sn
from somanet.data.datasets import vision as mnist_module
from somanet.datasets import read_idx, write_idx

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "uint8":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, array)
    if suffix:
        assert gzip.open(path).read(2) == b"\x00\x00"


def test_idx_layout_is_big_endian(tmp_path):
    write_idx(tmp_path / "x", np.array([1, 256], dtype=np.int32))
    assert (tmp_path / "x").read_bytes() == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2,
                                                   0, 0, 0, 1, 0, 0, 1, 0])


def test_idx_errors(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    write_idx(path, np.zeros((3, 4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"shape \(3, 4, 4\).*truncated"):
        read_idx(path)
    (tmp_path / "junk").write_bytes(b"PK\x03\x04 this is a zip")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "junk")
    (tmp_path / "junk.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="cannot read it as a"):
        read_idx(tmp_path / "junk.gz")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 3, 0]))
    with pytest.raises(ValueError, match="announces 3 sizes"):
        read_idx(tmp_path / "short")
    with pytest.raises(TypeError, match="IDX stores"):
        write_idx(tmp_path / "bad", np.zeros(3, dtype=np.int64))


def _write_fake_mnist(folder, train=7, test=3, gz_train=True):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        gz = gz_train and name.startswith("train")
        write_idx(os.path.join(folder, name + (".gz" if gz else "")), array)
    return arrays


@pytest.mark.parametrize("loader", [sn.datasets.mnist, sn.datasets.fashion_mnist])
def test_mnist_from_idx_files(tmp_path, loader):
    arrays = _write_fake_mnist(tmp_path)
    x, y = loader(tmp_path)
    assert x.shape == (7, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(x, arrays["train-images-idx3-ubyte"] / np.float32(255))
    assert np.array_equal(y, arrays["train-labels-idx1-ubyte"])
    x, y = loader(str(tmp_path), split="test", normalize=False)
    assert x.dtype == np.uint8 and np.array_equal(x, arrays["t10k-images-idx3-ubyte"])


def test_missing_files_say_which_and_where(tmp_path):
    _write_fake_mnist(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError) as caught:
        sn.datasets.mnist(tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "1 of the MNIST IDX files" in message and "download=True" in message
    with pytest.raises(FileNotFoundError, match="lacks 4 of the Fashion-MNIST"):
        sn.datasets.fashion_mnist(tmp_path / "empty")


def test_mismatched_files(tmp_path):
    _write_fake_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"labels of shape \(5,\) for 3 images"):
        sn.datasets.mnist(tmp_path, split="test")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(3, 12, dtype=np.uint8))
    with pytest.raises(ValueError, match="label 12"):
        sn.datasets.mnist(tmp_path, split="test")
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'"):
        sn.datasets.mnist(tmp_path, split="all")


def test_download_without_network_says_what_to_do(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(mnist_module, "_urlopen", offline)
    folder = tmp_path / "mnist"
    with pytest.raises(RuntimeError) as caught:
        sn.datasets.mnist(folder, download=True, timeout=0.1)
    message = str(caught.value)
    for name in NAMES:
        assert name + ".gz" in message
    assert f"copy these files into {folder}" in message and "no network" in message
    assert os.listdir(folder) == []  # nothing half-written


def _fake_server(payloads):
    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    def urlopen(url, timeout):
        name = url.rsplit("/", 1)[1]
        return Response(payloads[name])

    return urlopen


def test_download_checks_checksums(tmp_path, monkeypatch):
    source = tmp_path / "source"
    source.mkdir()
    _write_fake_mnist(source, gz_train=False)
    payloads = {}
    for name in NAMES:
        raw = (source / name).read_bytes()
        payloads[name + ".gz"] = gzip.compress(raw)
    md5 = {name: hashlib.md5(data).hexdigest() for name, data in payloads.items()}
    monkeypatch.setattr(mnist_module, "_urlopen", _fake_server(payloads))
    monkeypatch.setattr(mnist_module, "MNIST_MD5", md5)

    folder = tmp_path / "downloaded"
    x, y = sn.datasets.mnist(folder, download=True)
    assert x.shape == (7, 28, 28)
    assert sorted(os.listdir(folder)) == sorted(name + ".gz" for name in NAMES)

    monkeypatch.setattr(mnist_module, "MNIST_MD5", {name: "0" * 32 for name in md5})
    other = tmp_path / "corrupt"
    with pytest.raises(RuntimeError, match="MD5 mismatch"):
        sn.datasets.mnist(other, download=True)
    assert os.listdir(other) == []
