"""The five workloads in somanet with compiled training steps (``somanet.graph.compile``).

The models, initial weights, data and batch order are somanet_impl's; only the step
differs. W1: somanet_impl.w1 with ``model.compile(..., jit=True)``. W2-W4: somanet_impl's
w2-w4 with its loop swapped for ``_loop`` below, whose body (forward, loss, zero_grad,
backward, step) is one ``sn.graph.compile``d step called per batch. W5: somanet_impl.w5
with ``optimizer = sn.optim.SGD([w1, w2], lr=1.0)`` inside a compiled step (the same
update as eager's ``w -= w.grad``).

Each step is captured at its first call for a batch shape (run eagerly while recording:
in epoch 1, which the median leaves out) and replayed after that; the results are
bitwise those of the eager steps. ``note`` says how many programs were compiled and
whether any step fell back to eager code (a ``CompileWarning``).
"""
import somanet as sn
from somanet import nn
from somanet.data import DataLoader, TensorDataset

from . import somanet_impl
from .common import (EPOCHS, EpochTimer, Result, dense_weights, peak_rss_mb, reset_peak_rss,
                     three_bit_images)
from .somanet_impl import _accuracy, _load

NAME = "somanet-jit"


def _programs(step):
    """What ``note`` says about a CompiledStep: its programs, and any eager fallback."""
    eager = sum(program is None for program in step.programs.values())
    return (f"{len(step.programs) - eager} compiled program(s)"
            + (f", {eager} signature(s) running eagerly (CompileWarning)" if eager else ""))


def _loop(name, model, optimizer, data, batch_size, prepare=lambda x: x):
    """somanet_impl._loop with its body compiled once: ``step(x, y)`` per batch."""
    x_train = prepare(data.x_train)
    loader = DataLoader(TensorDataset(x_train, data.y_train), batch_size=batch_size,
                        shuffle=True, seed=1)

    def train_step(x, y):
        loss = sn.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    step = sn.graph.compile(train_step)
    timer = EpochTimer()
    sn.manual_seed(0)
    reset_peak_rss()
    for epoch in range(EPOCHS):
        total, count = 0.0, 0
        with timer:
            for x, y in loader:
                total += step(x, y).item()
                count += 1
    rss = peak_rss_mb()
    return Result(NAME, name, timer.times, _accuracy(model, prepare(data.x_test), data.y_test),
                  total / count, rss, _programs(step))


def _with_compiled_loop(workload, data):
    """Run somanet_impl's ``workload`` (its model, weights and optimiser) with ``_loop``."""
    eager_loop = somanet_impl._loop
    somanet_impl._loop = _loop
    try:
        return workload(data)
    finally:
        somanet_impl._loop = eager_loop


def w1(data):
    """somanet_impl.w1 (Sequential + compile + fit) with ``compile(..., jit=True)``."""
    sn.manual_seed(0)
    model = sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
                           nn.Dropout(0.2), nn.Dense(10)])
    model(sn.zeros(1, 28, 28))
    _load(model, dense_weights([784, 128, 10]))
    model.compile(optimizer=sn.optim.Adam(model.parameters(), lr=1e-3),
                  loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit=True)
    timer = EpochTimer()

    class Timing(sn.train.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            timer.__enter__()

        def on_epoch_end(self, epoch, logs=None):
            timer.__exit__()

    reset_peak_rss()
    history = model.fit(data.x_train, data.y_train, epochs=EPOCHS, batch_size=32, shuffle=True,
                        seed=1, verbose=0, callbacks=[Timing()])
    rss = peak_rss_mb()
    steps = model._jit_steps or {}
    note = "; ".join(f"{kind}: {_programs(step)}" for kind, step in steps.items()
                     if isinstance(step, sn.graph.CompiledStep))
    return Result(NAME, "W1", timer.times, _accuracy(model, data.x_test, data.y_test),
                  history.history["loss"][-1], rss, note)


def w2(data):
    return _with_compiled_loop(somanet_impl.w2, data)


def w3(data):
    return _with_compiled_loop(somanet_impl.w3, data)


def w4(data):
    return _with_compiled_loop(somanet_impl.w4, data)


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
    return Result(NAME, "W5", timer.times, correct, error.item(), peak_rss_mb(), _programs(step))
