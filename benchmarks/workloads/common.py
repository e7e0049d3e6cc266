"""What every framework's workloads share, so the comparison is like for like."""
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

EPOCHS = 5
THREADS = 2
MNIST_SMALL = (Path(__file__).resolve().parents[2] / "src" / "somanet" / "data" / "datasets"
               / "data" / "mnist_small.npz")


@dataclass
class Data:
    """mnist_small, permuted with default_rng(0): first 4,000 train, last 1,000 test; pixels
    in [0, 1] float32, labels int64."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass
class Result:
    framework: str
    workload: str
    epoch_seconds: list = field(default_factory=list)  # per epoch (W5: one total)
    test_accuracy: float = float("nan")
    final_loss: float = float("nan")
    peak_rss_mb: float = float("nan")
    note: str = ""

    @property
    def seconds(self):
        """Median seconds per epoch over epochs 2..5 (W5: the total)."""
        times = self.epoch_seconds[1:] or self.epoch_seconds
        return float(np.median(times)) if times else float("nan")

    def to_json(self):
        return json.dumps({**asdict(self), "seconds": self.seconds})


def load_data():
    """The benchmark split, read straight from the bundled file (no framework import)."""
    with np.load(MNIST_SMALL) as archive:
        images, labels = archive["images"], archive["labels"]
    order = np.random.default_rng(0).permutation(len(images))
    images = images[order].astype(np.float32) / 255.0
    labels = labels[order].astype(np.int64)
    return Data(images[:4000], labels[:4000], images[4000:], labels[4000:])


def epoch_orders(count, epochs=EPOCHS, seed=1):
    """The sample order of every epoch, the same for every framework: the orders of
    ``somanet.data.RandomSampler(count, seed)``, a permutation drawn from (seed, epoch)."""
    return [np.random.default_rng([seed, epoch]).permutation(count) for epoch in range(epochs)]


def glorot(rng, fan_in, fan_out, shape):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def dense_weights(sizes, seed=0):
    """Glorot-uniform (in, out) kernels and zero biases for a stack of dense layers."""
    rng = np.random.default_rng(seed)
    return [(glorot(rng, n_in, n_out, (n_in, n_out)), np.zeros(n_out, np.float32))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def lenet_weights(seed=0):
    """LeNet: two conv kernels (out, in, kh, kw) and three dense layers."""
    rng = np.random.default_rng(seed)
    conv1 = (glorot(rng, 25, 150, (6, 1, 5, 5)), np.zeros(6, np.float32))
    conv2 = (glorot(rng, 150, 400, (16, 6, 5, 5)), np.zeros(16, np.float32))
    return [conv1, conv2] + dense_weights([400, 120, 84, 10], seed + 1)


def lstm_weights(hidden=128, features=28, seed=0):
    """LSTM (gates i, f, g, o): W_ih (in, 4H), W_hh (H, 4H), bias (4H,) with the
    forget-gate bias 1; then the dense head (H, 10)."""
    rng = np.random.default_rng(seed)
    w_ih = glorot(rng, features, 4 * hidden, (features, 4 * hidden))
    w_hh = np.linalg.qr(rng.standard_normal((4 * hidden, hidden)))[0].T.astype(np.float32)
    bias = np.zeros(4 * hidden, np.float32)
    bias[hidden:2 * hidden] = 1.0
    return (w_ih, w_hh, bias), dense_weights([hidden, 10], seed + 1)[0]


def three_bit_images():
    """Seed 000's four 3-bit images and targets, and its 3-4-1 weights (no bias)."""
    x = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], np.float32)
    d = np.array([[0], [1], [1], [0]], np.float32)
    rng = np.random.default_rng(1)
    w1 = (2 * rng.random((3, 4)) - 1).astype(np.float32)
    w2 = (2 * rng.random((4, 1)) - 1).astype(np.float32)
    return x, d, w1, w2


def reset_peak_rss():
    """Start measuring peak memory from now (Linux: clear the high-water mark)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb():
    """Peak resident memory since the last reset, in MB (NaN where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class EpochTimer:
    """Collects per-epoch wall times."""

    def __init__(self):
        self.times = []

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.times.append(time.perf_counter() - self.start)
        return False
