"""The five workloads in somanet, written the way a user would write them: W1 with
Sequential + compile + fit; W2-W4 a plain loop over a DataLoader; W5 tensors and backward()."""
import somanet as sn
from somanet import nn
from somanet.data import DataLoader, TensorDataset

from .common import (EPOCHS, EpochTimer, Result, dense_weights, lenet_weights, lstm_weights,
                     peak_rss_mb, reset_peak_rss, three_bit_images)


def _load(model, weights):
    """Copy NumPy (kernel, bias) pairs into the model's layers, in order."""
    arrays = [array for pair in weights for array in pair]
    state = model.state_dict()
    assert len(state) == len(arrays), (list(state), [a.shape for a in arrays])
    model.load_state_dict(dict(zip(state, arrays)))


def _accuracy(model, x, y, batch_size=500):
    model.eval()
    correct = 0
    with sn.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(sn.tensor(x[start:start + batch_size]))
            correct += int((logits.argmax(axis=1).numpy() == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


def _loop(name, model, optimizer, data, batch_size, prepare=lambda x: x, compiled=False):
    """A plain training loop over a shuffled DataLoader; ``compiled``: its step wrapped
    once in ``sn.graph.compile`` (somanet_jit_impl)."""
    x_train = prepare(data.x_train)
    loader = DataLoader(TensorDataset(x_train, data.y_train), batch_size=batch_size,
                        shuffle=True, seed=1)

    def train_step(x, y):
        loss = sn.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    step = sn.graph.compile(train_step) if compiled else train_step
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
    return Result("somanet-jit" if compiled else "somanet", name, timer.times,
                  _accuracy(model, prepare(data.x_test), data.y_test), total / count, rss,
                  programs(step) if compiled else "")


def programs(step):
    """What ``note`` says about a CompiledStep: its programs, and any eager fallback."""
    eager = sum(program is None for program in step.programs.values())
    reasons = sorted({program.native_reason for program in step.programs.values()
                      if program is not None and program.native is None})
    native = sum(program is not None and program.native is not None
                 for program in step.programs.values())
    return (f"{len(step.programs) - eager} compiled program(s), {native} native"
            + (f" (not native: {'; '.join(reasons)})" if reasons else "")
            + (f", {eager} signature(s) running eagerly (CompileWarning)" if eager else ""))


def w1(data, jit=False):
    """Seed 004's quickstart with Sequential + compile + fit (``jit``: compiled steps)."""
    sn.manual_seed(0)
    model = sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
                           nn.Dropout(0.2), nn.Dense(10)])
    model(sn.zeros(1, 28, 28))
    _load(model, dense_weights([784, 128, 10]))
    model.compile(optimizer=sn.optim.Adam(model.parameters(), lr=1e-3),
                  loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit=jit)
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
    note = "; ".join(f"{kind}: {programs(step)}" for kind, step in
                     (model._jit_steps or {}).items() if isinstance(step, sn.graph.CompiledStep))
    return Result("somanet-jit" if jit else "somanet", "W1", timer.times,
                  _accuracy(model, data.x_test, data.y_test), history.history["loss"][-1], rss,
                  note)


def w2_model():
    """784-512-512-10 ReLU MLP with the benchmark's weights."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                          nn.ReLU(), nn.Linear(512, 10))
    _load(model, dense_weights([784, 512, 512, 10]))
    return model


def w2(data, compiled=False):
    """784-512-512-10 ReLU MLP, SGD with momentum."""
    model = w2_model()
    optimizer = sn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return _loop("W2", model, optimizer, data, 128, compiled=compiled)


def w3_model():
    """LeNet-5 style CNN with the benchmark's weights."""
    model = nn.Sequential(
        nn.Conv2D(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2D(2),
        nn.Conv2D(6, 16, 5), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    _load(model, lenet_weights())
    return model


def w3(data, compiled=False):
    """LeNet-5 style CNN with Adam."""
    model = w3_model()
    optimizer = sn.optim.Adam(model.parameters(), lr=1e-3)
    return _loop("W3", model, optimizer, data, 64, prepare=lambda x: x[:, None, :, :],
                 compiled=compiled)


class RowLSTM(nn.Module):
    """The 28 image rows as a sequence; the last hidden state feeds a dense layer."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


def w4_model():
    """The row LSTM with the benchmark's weights."""
    model = RowLSTM()
    (w_ih, w_hh, bias), head = lstm_weights()
    model.load_state_dict({"lstm.weight_ih_l0": w_ih, "lstm.weight_hh_l0": w_hh,
                           "lstm.bias_l0": bias, "head.weight": head[0], "head.bias": head[1]})
    return model


def w4(data, compiled=False):
    model = w4_model()
    optimizer = sn.optim.Adam(model.parameters(), lr=1e-3)
    return _loop("W4", model, optimizer, data, 64, compiled=compiled)


def w5(data):
    """Seed 000's 3-4-1 sigmoid network: 10,000 full-batch gradient-descent steps."""
    x_np, d_np, w1_np, w2_np = three_bit_images()
    x, d = sn.tensor(x_np), sn.tensor(d_np)
    w1 = sn.tensor(w1_np, requires_grad=True)
    w2 = sn.tensor(w2_np, requires_grad=True)
    timer = EpochTimer()
    reset_peak_rss()
    with timer:
        for _ in range(10_000):
            z = sn.sigmoid(sn.sigmoid(x @ w1) @ w2)
            error = 0.5 * ((z - d) ** 2).sum()
            error.backward()
            with sn.no_grad():
                w1 -= w1.grad
                w2 -= w2.grad
                w1.grad = w2.grad = None
    correct = float(((z.numpy() > 0.5) == (d_np > 0.5)).mean())
    return Result("somanet", "W5", timer.times, correct, error.item(), peak_rss_mb())
