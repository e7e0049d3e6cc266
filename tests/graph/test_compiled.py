"""Compiled training steps: bitwise eager results, replays without Tensors, fallbacks."""
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet import graph, nn
from somanet.graph import CompileWarning, GraphCaptureError


def pair(make):
    """Two identical (model, optimiser) pairs from ``make()``, built under one seed."""
    built = []
    for _ in range(2):
        sn.manual_seed(7)
        built.append(make())
    return built


def run(model, optimizer, batches, compiled, clip=None, seed=3):
    def train_step(x, y):
        loss = sn.cross_entropy(model(x), y)
        loss.backward()
        if clip:
            sn.optim.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        optimizer.zero_grad()
        return loss

    step = graph.compile(train_step, strict=True) if compiled else train_step
    sn.manual_seed(seed)  # the same dropout masks in both runs
    losses = [step(x, y).numpy().copy() for x, y in batches]
    return losses, [p.numpy().copy() for p in model.parameters()], step


def batches(shape, count=5, batch=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return [(sn.tensor(rng.normal(size=(batch,) + shape).astype("float32")),
             sn.tensor(rng.integers(0, classes, size=batch))) for _ in range(count)]


def assert_same_run(make, data, **options):
    (m1, o1), (m2, o2) = pair(make)
    eager_losses, eager_params, _ = run(m1, o1, data, compiled=False, **options)
    losses, params, step = run(m2, o2, data, compiled=True, **options)
    for a, b in zip(eager_losses, losses):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(eager_params, params):
        np.testing.assert_array_equal(a, b)  # bitwise: the same ops in the same order
    return step


def mlp(optimizer="sgd", dropout=0.0):
    def make():
        layers = [nn.Dense(16, activation="relu"), nn.Dropout(dropout), nn.Dense(3)]
        model = sn.Sequential(layers)
        model(sn.ones(1, 4))
        params = model.parameters()
        opt = sn.optim.SGD(params, lr=0.1, momentum=0.9) if optimizer == "sgd" else \
            sn.optim.Adam(params, lr=0.01)
        return model.train(), opt
    return make


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_an_mlp_trains_bitwise_as_eager(optimizer):
    step = assert_same_run(mlp(optimizer), batches((4,)))
    assert len(step.programs) == 1 and list(step.programs.values())[0] is not None


def test_dropout_gives_the_same_masks_for_the_same_seed():
    assert_same_run(mlp(dropout=0.5), batches((4,)))


def test_batch_norm_statistics_and_clipping():
    def make():
        model = sn.Sequential([nn.Dense(8), nn.BatchNorm1D(8), nn.ReLU(), nn.Dense(3)])
        model(sn.ones(2, 4))
        return model.train(), sn.optim.Adam(model.parameters(), lr=0.01)

    (m1, o1), (m2, o2) = pair(make)
    data = batches((4,))
    run(m1, o1, data, compiled=False, clip=0.5)
    run(m2, o2, data, compiled=True, clip=0.5)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # running stats included


def test_a_small_convolutional_network():
    def make():
        model = sn.Sequential([nn.Conv2D(4, 3, padding=1), nn.ReLU(), nn.MaxPool2D(2),
                               nn.Flatten(), nn.Dense(3)])
        model(sn.ones(1, 1, 6, 6))
        return model.train(), sn.optim.SGD(model.parameters(), lr=0.05)
    assert_same_run(make, batches((1, 6, 6), count=3))


def test_a_recurrent_classifier_and_an_embedding():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 5)
            self.lstm = nn.LSTM(5, 6)
            self.out = nn.Dense(3)

        def forward(self, tokens):
            outputs, _ = self.lstm(self.embed(tokens))
            return self.out(outputs[-1])

    def make():
        model = Tagger()
        model(sn.zeros(7, 4, dtype="int64"))  # build the lazy Dense
        return model.train(), sn.optim.Adam(model.parameters(), lr=0.01)

    rng = np.random.default_rng(1)
    data = [(sn.tensor(rng.integers(0, 10, size=(7, 4))), sn.tensor(rng.integers(0, 3, 4)))
            for _ in range(3)]
    assert_same_run(make, data)


def test_each_signature_is_captured_once():
    (model, optimizer), = pair(mlp())[:1]
    _, _, step = run(model, optimizer, batches((4,), count=3) +
                     batches((4,), count=2, batch=5), compiled=True)
    assert len(step.programs) == 2  # the full batches and the short last one


def test_a_replay_makes_no_tensors_or_nodes_per_op(monkeypatch):
    (model, optimizer), = pair(mlp())[:1]
    data = batches((4,), count=2)
    _, _, step = run(model, optimizer, data[:1], compiled=True)
    made = []
    original = sn.Function.apply.__func__

    def counting(cls, *args, **kwargs):
        made.append(cls.__name__)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(sn.Function, "apply", classmethod(counting))
    step(*data[1])
    assert made == []  # the replay calls forward / backward on arrays only


def test_gradients_accumulate_when_the_step_does_not_clear_them():
    def make():
        model = nn.Linear(3, 1)
        return model, sn.optim.SGD(model.parameters(), lr=0.1)

    (m1, _), (m2, _) = pair(make)
    x, y = sn.ones(4, 3), sn.zeros(4, 1)

    def accumulate(model):
        def step(x, y):
            loss = sn.mse(model(x), y)
            loss.backward()
            return loss
        return step

    eager, compiled = accumulate(m1), graph.compile(accumulate(m2), strict=True)
    for _ in range(3):
        eager(x, y)
        compiled(x, y)
    np.testing.assert_array_equal(m1.weight.grad.numpy(), m2.weight.grad.numpy())


def test_metrics_update_through_the_model_and_detach_is_recorded():
    model = nn.Linear(2, 2)
    metric = sn.train.metrics.SparseCategoricalAccuracy()
    seen = []

    def step(x, y):
        logits = model(x)
        metric.update_state(y, logits.detach())  # a direct update is Python: not replayed
        seen.append(1)
        return sn.argmax(logits.detach(), axis=1)

    compiled = graph.compile(step, strict=True)
    x = sn.tensor([[1.0, 0.0], [0.0, 1.0]])
    first = compiled(x, sn.tensor([0, 1])).numpy()
    with sn.no_grad():
        model.weight.data[...] = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    second = compiled(x, sn.tensor([0, 1])).numpy()
    assert len(seen) == 1  # traced once
    np.testing.assert_array_equal(second, np.argmax(model(x).numpy(), axis=1))
    assert first.shape == (2,)


@pytest.mark.parametrize("decide, what", [
    (lambda loss: loss.item(), r"item\(\) of a tensor made by"),
    (lambda loss: loss * 2 if loss > 0 else loss, r"bool\(\) of a tensor made by"),
])
def test_a_step_deciding_on_values_runs_eagerly_with_one_warning(decide, what):
    model = nn.Linear(2, 1)

    def step(x):
        return decide((model(x) ** 2).sum())

    compiled = graph.compile(step)
    with pytest.warns(CompileWarning, match=r"step cannot be compiled, it runs eagerly: " +
                      what + r".*test_compiled.py"):
        compiled(sn.ones(2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(sn.ones(2, 2))  # said once; runs eagerly
    assert list(compiled.programs.values()) == [None]
    with pytest.raises(GraphCaptureError, match="cannot be compiled"):
        graph.compile(step, strict=True)(sn.ones(2, 2))


@pytest.mark.parametrize("first, then", [(True, False), (False, True)])
def test_a_run_resumes_across_modes_from_a_checkpoint(tmp_path, first, then):
    (reference, reference_opt), (model, optimizer) = pair(mlp("adam"))
    data = batches((4,), count=6)
    _, expected, _ = run(reference, reference_opt, data, compiled=False)
    run(model, optimizer, data[:3], compiled=first)
    sn.io.save_checkpoint(tmp_path / "ckpt", model, optimizer=optimizer)
    (resumed, resumed_opt), = pair(mlp("adam"))[:1]
    sn.io.load_checkpoint(tmp_path / "ckpt", resumed, optimizer=resumed_opt)
    _, params, _ = run(resumed, resumed_opt, data[3:], compiled=then)
    for a, b in zip(expected, params):
        np.testing.assert_array_equal(a, b)


def test_grad_ready_hooks_fire_in_a_replay_as_in_eager_code():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    seen = []
    for name, param in model.named_parameters():
        param.register_grad_ready_hook(lambda t, name=name: seen.append(name))

    def step(x):
        (model(x) ** 2).sum().backward()
        model.zero_grad()

    step(sn.ones(2, 3))
    eager, seen[:] = list(seen), []
    compiled = graph.compile(step, strict=True)
    compiled(sn.ones(2, 3))  # the capture runs eagerly
    seen.clear()
    compiled(sn.ones(2, 3))  # the replay
    assert seen == eager and sorted(eager) == sorted(n for n, _ in model.named_parameters())


def test_a_program_is_straight_line_code_that_can_be_read():
    sn.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1)

    def train_step(x, y):
        loss = sn.mse(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    step = sn.graph.compile(train_step)
    x, y = sn.ones(4, 3), sn.zeros(4, 1)
    step(x, y)
    step(x, y)
    (program,) = step.programs.values()
    source = program.source
    assert source.startswith("def run(arrays):") and "for " not in source
    assert source.count("= ones_like(") == 1  # one backward, from the loss
    assert source.count("deliver(") == 2  # the weight's and the bias's gradients
    import linecache
    filename = program.run_python.__code__.co_filename
    assert "".join(linecache.getlines(filename)) == source  # tracebacks show the code
