"""The five workloads in somanet with compiled training steps (``somanet.graph.compile``).

The models, initial weights, data and batch order are somanet_impl's; only the step
differs. W1: somanet_impl.w1 with ``model.compile(..., jit=True)``. W2-W4: somanet_impl's
w2-w4 with their loop's body (forward, loss, zero_grad, backward, step) one
``sn.graph.compile``d step called per batch. W5: somanet_impl.w5
with ``optimizer = sn.optim.SGD([w1, w2], lr=1.0)`` inside a compiled step (the same
update as eager's ``w -= w.grad``).

Each step is captured at its first call for a batch shape (run eagerly while recording:
in epoch 1, which the median leaves out) and replayed after that; the results are
bitwise those of the eager steps. ``note`` says how many programs were compiled and
whether any step fell back to eager code (a ``CompileWarning``).
"""
import somanet as sn

from . import somanet_impl
from .common import EpochTimer, Result, peak_rss_mb, reset_peak_rss, three_bit_images

NAME = "somanet-jit"


def w1(data):
    return somanet_impl.w1(data, jit=True)


def w2(data):
    return somanet_impl.w2(data, compiled=True)


def w3(data):
    return somanet_impl.w3(data, compiled=True)


def w4(data):
    return somanet_impl.w4(data, compiled=True)


def w5(data):
    """Seed 000's 3-4-1 sigmoid network, 10,000 full-batch steps of a compiled step."""
    x_np, d_np, w1_np, w2_np = three_bit_images()
    x, d = sn.tensor(x_np), sn.tensor(d_np)
    w1 = sn.tensor(w1_np, requires_grad=True)
    w2 = sn.tensor(w2_np, requires_grad=True)
    optimizer = sn.optim.SGD([w1, w2], lr=1.0)

    def train_step(x, d):
        z = sn.sigmoid(sn.sigmoid(x @ w1) @ w2)
        error = 0.5 * ((z - d) ** 2).sum()
        error.backward()
        optimizer.step()
        optimizer.zero_grad()
        return error, z

    step = sn.graph.compile(train_step)
    timer = EpochTimer()
    reset_peak_rss()
    with timer:
        for _ in range(10_000):
            error, z = step(x, d)
    correct = float(((z.numpy() > 0.5) == (d_np > 0.5)).mean())
    return Result(NAME, "W5", timer.times, correct, error.item(), peak_rss_mb(), somanet_impl.programs(step))
