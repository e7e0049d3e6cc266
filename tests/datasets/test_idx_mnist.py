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


# -- crafted files: the header is checked before anything is read or decompressed ----------

READ_IN_A_FRESH_PROCESS = """
import sys, time
from somanet.datasets import read_idx
def peak_rss_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
try:
    read_idx(sys.argv[1])
    print("READ")
except ValueError as error:
    print("ERROR", error)
print("MAXRSS_MB", peak_rss_mb())
"""


def _read_in_a_fresh_process(path):
    import subprocess
    import sys
    job = subprocess.run([sys.executable, "-c", READ_IN_A_FRESH_PROCESS, str(path)],
                         capture_output=True, text=True, timeout=120)
    assert job.returncode == 0, job.stderr
    return job.stdout.split("MAXRSS_MB")[0], float(job.stdout.split("MAXRSS_MB")[1])


def test_a_gzip_that_expands_beyond_its_header_stops_at_the_declared_size(tmp_path):
    """A 300 KB gzip whose header declares 10 images but which expands to 300 MB."""
    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    zeros = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(bytes([0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]))
        for _ in range(300):
            handle.write(zeros)
    assert os.path.getsize(path) < 2 << 20
    message, peak = _read_in_a_fresh_process(path)
    assert "ERROR" in message and "says shape (10, 28, 28) (7856 bytes in all) but the " \
        "decompressed file has more bytes than that" in message, message
    assert peak < 200, message


def test_a_header_declaring_more_than_the_file_can_hold(tmp_path):
    huge = bytes([0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 28, 0, 0, 0, 28])
    plain = tmp_path / "huge-idx3-ubyte"
    plain.write_bytes(huge + bytes(100))
    message, peak = _read_in_a_fresh_process(plain)
    assert "says shape (4294967295, 28, 28)" in message and "the file has 116 bytes" in message
    assert peak < 200, message
    packed = tmp_path / "huge-idx3-ubyte.gz"
    with gzip.open(packed, "wb") as handle:
        handle.write(huge + bytes(100))
    message, peak = _read_in_a_fresh_process(packed)
    assert "more than a gzip file of" in message and peak < 200, message


def test_a_truncated_gzip_is_named(tmp_path):
    path = tmp_path / "labels-idx1-ubyte.gz"
    write_idx(path, np.arange(200, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte.gz: cannot read it as a \(gzipped\) "
                                         r"IDX file|decompressed file has"):
        read_idx(path)
