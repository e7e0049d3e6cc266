"""GraphGrowthWarning: graphs of earlier steps kept alive are said once; normal loops never."""
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.autograd import GraphGrowthWarning, growth


@pytest.fixture(autouse=True)
def fresh_monitor():
    growth.monitor.reset()
    yield
    growth.monitor.reset()


def data():
    rng = np.random.default_rng(0)
    return (sn.tensor(rng.normal(size=(16, 4)).astype("float32")),
            sn.tensor(rng.normal(size=(16, 1)).astype("float32")))


def train(steps, keep=None, optimizer=True, per_sample=False):
    """A plain training loop; ``keep(loss, out, kept)`` is what the user keeps each step.
    Returns the GraphGrowthWarnings and the step at which the first came."""
    sn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = sn.optim.SGD(model.parameters(), lr=0.01) if optimizer else None
    x, y = data()
    kept, first = [], None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(steps):
            if per_sample:  # one backward per sample, all kept until the step's end
                losses = [((model(x[i:i + 1]) - y[i:i + 1]) ** 2).mean() for i in range(16)]
                for loss in losses:
                    loss.backward()
                out = None
            else:
                out = model(x)
                loss = ((out - y) ** 2).mean()
                loss.backward()
            if opt is not None:
                opt.step()
                opt.zero_grad()
            else:
                with sn.no_grad():
                    for param in model.parameters():
                        param -= 0.01 * param.grad
                        param.grad = None
            if keep is not None:
                keep(loss, out, kept)
            if first is None and any(issubclass(w.category, GraphGrowthWarning)
                                     for w in caught):
                first = step
    return [w for w in caught if issubclass(w.category, GraphGrowthWarning)], first


@pytest.mark.parametrize("optimizer", [True, False], ids=["optimizer", "by hand"])
def test_losses_kept_with_their_graphs_are_said_once(optimizer):
    caught, first = train(300, lambda loss, out, kept: kept.append(loss), optimizer)
    assert len(caught) == 1 and first < 100
    message = str(caught[0].message)
    assert "the autograd graphs of earlier training steps are piling up in memory" in message
    assert "the loss of every step is kept with its graph" in message
    assert "losses.append(loss.item())" in message


def test_a_running_total_of_losses_is_a_kept_loss():
    total = []

    def keep(loss, out, kept):
        total[:] = [loss if not total else total[0] + loss]
    caught, first = train(200, keep)
    assert len(caught) == 1 and "total += loss.item()" in str(caught[0].message)


def test_outputs_kept_with_their_graphs_name_detach():
    caught, first = train(300, lambda loss, out, kept: kept.append(out))
    assert len(caught) == 1 and first < 150
    assert "outputs.append(out.detach())" in str(caught[0].message)


@pytest.mark.parametrize("keep", [
    None,
    lambda loss, out, kept: kept.append(loss.item()),
    lambda loss, out, kept: kept.append(out.detach()),
    lambda loss, out, kept: kept.__setitem__(slice(None), [loss]),  # last = loss
], ids=["nothing", "item", "detach", "the last loss only"])
@pytest.mark.parametrize("optimizer", [True, False], ids=["optimizer", "by hand"])
def test_normal_loops_never_warn(keep, optimizer):
    caught, _ = train(400, keep, optimizer)
    assert caught == []


def test_many_backward_calls_in_one_step_do_not_warn():
    caught, _ = train(60, per_sample=True)
    assert caught == []


def test_a_graph_shared_by_every_step_does_not_warn():
    sn.manual_seed(0)
    w = sn.randn(4, 1, requires_grad=True)
    scale = w * 2.0  # computed once, before the loop, and used (retained) every step
    x, y = data()
    opt = sn.optim.SGD([w], lr=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphGrowthWarning)
        for _ in range(300):
            loss = ((x @ scale - y) ** 2).mean()
            loss.backward(retain_graph=True)
            opt.step()
            opt.zero_grad()


class KeepsLosses(sn.Model):
    def __init__(self):
        super().__init__()
        self.body = nn.Dense(1)
        self.losses = []

    def forward(self, x):
        return self.body(x)

    def train_step(self, batch):
        loss = super().train_step(batch)
        self.losses.append(loss)  # the mistake: the graph comes along
        return loss


def test_fit_with_a_train_step_keeping_losses_warns_once():
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = x[:, :1].copy()
    model = KeepsLosses()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(GraphGrowthWarning, match=r"the loss of every step is kept"):
        model.fit(x, y, epochs=20, batch_size=4, verbose=0)  # 320 steps


def test_a_plain_fit_does_not_warn():
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    model = sn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphGrowthWarning)
        model.fit(x, x[:, :1], epochs=20, batch_size=4, verbose=0,
                  validation_split=0.25)


def test_the_warning_is_exported():
    assert sn.GraphGrowthWarning is GraphGrowthWarning
    assert issubclass(GraphGrowthWarning, UserWarning)
