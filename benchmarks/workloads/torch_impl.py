"""The five workloads in PyTorch eager, the idiomatic way, from the same data and weights."""
import torch
import torch.nn.functional as F
from torch import nn

from .common import (EPOCHS, THREADS, EpochTimer, Result, dense_weights, epoch_orders,
                     lenet_weights, lstm_weights, peak_rss_mb, reset_peak_rss,
                     three_bit_images)

torch.set_num_threads(THREADS)


def _linear(layer, pair):
    kernel, bias = pair
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(kernel.T.copy()))
        layer.bias.copy_(torch.from_numpy(bias))


def _conv(layer, pair):
    kernel, bias = pair
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(kernel))
        layer.bias.copy_(torch.from_numpy(bias))


def _accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        predictions = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    model.train()
    return float((predictions == y).mean())


def _loop(name, model, optimizer, data, batch_size, prepare=lambda x: x):
    x_train = torch.from_numpy(prepare(data.x_train))
    y_train = torch.from_numpy(data.y_train)
    timer = EpochTimer()
    torch.manual_seed(0)
    reset_peak_rss()
    for order in epoch_orders(len(x_train)):
        total, count = 0.0, 0
        with timer:
            order = torch.from_numpy(order)
            for start in range(0, len(order), batch_size):
                index = order[start:start + batch_size]
                loss = F.cross_entropy(model(x_train[index]), y_train[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
                count += 1
    rss = peak_rss_mb()
    return Result("torch", name, timer.times, _accuracy(model, prepare(data.x_test),
                                                        data.y_test), total / count, rss)


def w1(data):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(128, 10))
    for layer, pair in zip([model[1], model[4]], dense_weights([784, 128, 10])):
        _linear(layer, pair)
    return _loop("W1", model, torch.optim.Adam(model.parameters(), lr=1e-3), data, 32)


def w2_model():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                          nn.ReLU(), nn.Linear(512, 10))
    for layer, pair in zip([model[1], model[3], model[5]], dense_weights([784, 512, 512, 10])):
        _linear(layer, pair)
    return model


def w2(data):
    model = w2_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return _loop("W2", model, optimizer, data, 128)


def w3_model():
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    weights = lenet_weights()
    _conv(model[0], weights[0])
    _conv(model[3], weights[1])
    for layer, pair in zip([model[7], model[9], model[11]], weights[2:]):
        _linear(layer, pair)
    return model


def w3(data):
    model = w3_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return _loop("W3", model, optimizer, data, 64, prepare=lambda x: x[:, None, :, :])


class RowLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


def w4_model():
    """The row LSTM with the benchmark's weights; torch's second bias (b_hh) stays zero and
    frozen: somanet's LSTM has one bias, and training both would move it twice as fast."""
    model = RowLSTM()
    (w_ih, w_hh, bias), head = lstm_weights()
    with torch.no_grad():
        model.lstm.weight_ih_l0.copy_(torch.from_numpy(w_ih.T.copy()))
        model.lstm.weight_hh_l0.copy_(torch.from_numpy(w_hh.T.copy()))
        model.lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        model.lstm.bias_hh_l0.zero_()
    model.lstm.bias_hh_l0.requires_grad_(False)
    _linear(model.head, head)
    return model


def w4(data):
    model = w4_model()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    return _loop("W4", model, optimizer, data, 64)


def w5(data):
    x_np, d_np, w1_np, w2_np = three_bit_images()
    x, d = torch.from_numpy(x_np), torch.from_numpy(d_np)
    w1 = torch.from_numpy(w1_np).requires_grad_()
    w2 = torch.from_numpy(w2_np).requires_grad_()
    timer = EpochTimer()
    reset_peak_rss()
    with timer:
        for _ in range(10_000):
            z = torch.sigmoid(torch.sigmoid(x @ w1) @ w2)
            error = 0.5 * ((z - d) ** 2).sum()
            error.backward()
            with torch.no_grad():
                w1 -= w1.grad
                w2 -= w2.grad
                w1.grad = w2.grad = None
    correct = float(((z.detach().numpy() > 0.5) == (d_np > 0.5)).mean())
    return Result("torch", "W5", timer.times, correct, error.item(), peak_rss_mb())
