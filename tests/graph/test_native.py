"""Native compiled steps: a captured step lowered to one numba function equals its Python
program (and eager code) within float32 round-off, and falls back where it must."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import somanet as sn
from somanet import graph, nn

pytest.importorskip("numba")

# Native code sums and multiplies matrices in other orders than NumPy and OpenBLAS and
# takes exp/log/tanh from LLVM's library: after a few steps, results agree to a few
# float32 ulps of the values involved.
RTOL, ATOL = 2e-5, 2e-6


def twin_runs(make, step_fn, batches, steps_python=None):
    """Run ``step_fn(model, optimizer)`` compiled twice from the same start: as Python
    code (``native=False``) and lowered at once (``native_after=0``); return both runs'
    outputs and parameters, and the native run's CompiledStep."""
    results = []
    for native in (False, True):
        sn.manual_seed(7)
        model, optimizer = make()
        step = graph.compile(step_fn(model, optimizer), strict=True, native=native,
                             native_after=0)
        sn.manual_seed(3)
        outputs = []
        for batch in batches:
            result = step(*batch)
            outputs.append([t.numpy().copy() for t in
                            (result if isinstance(result, (tuple, list)) else [result])])
        results.append((outputs, [p.numpy().copy() for p in model.parameters()], step))
    return results


def assert_twins(make, step_fn, batches):
    (out_a, params_a, _), (out_b, params_b, step) = twin_runs(make, step_fn, batches)
    programs = [p for p in step.programs.values()]
    assert all(p.native is not None for p in programs), [p.native_reason for p in programs]
    for a, b in zip(out_a, out_b):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(y, x, rtol=RTOL, atol=ATOL)
    for a, b in zip(params_a, params_b):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL)
    return step


def data(shape=(6, 4), count=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return [(sn.tensor(rng.normal(size=shape).astype("float32")),
             sn.tensor(rng.integers(0, classes, size=shape[0]))) for _ in range(count)]


def classifier_step(model, optimizer):
    def step(x, y):
        loss = sn.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss
    return step


OPTIMIZERS = {
    "sgd": lambda p: sn.optim.SGD(p, lr=0.1),
    "sgd-wd": lambda p: sn.optim.SGD(p, lr=0.1, weight_decay=0.01),
    "momentum": lambda p: sn.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1),
    "nesterov": lambda p: sn.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                       weight_decay=0.01),
    "adam": lambda p: sn.optim.Adam(p, lr=0.01, weight_decay=0.01),
    "amsgrad": lambda p: sn.optim.Adam(p, lr=0.01, amsgrad=True),
    "adamw": lambda p: sn.optim.AdamW(p, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("optimizers", [("nesterov", "amsgrad", "momentum"),
                                        ("sgd-wd", "adam", "adamw"), ("sgd", "sgd", "sgd")])
def test_an_mlp_with_dropout_trains_natively_as_in_python(optimizers):
    """Each layer has its own optimiser (one program covers three update loops)."""
    def make():
        layers = [nn.Dense(16, activation="relu"), nn.Dropout(0.3), nn.Dense(8),
                  nn.Dense(3)]
        model = sn.Sequential(layers)
        model(sn.ones(1, 4))
        dense = [layers[0], layers[2], layers[3]]
        return model.train(), [OPTIMIZERS[name](layer.parameters())
                               for name, layer in zip(optimizers, dense)]

    def step_fn(model, optimizers):
        def step(x, y):
            loss = sn.cross_entropy(model(x), y)
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
                optimizer.zero_grad()
            return loss
        return step

    step = assert_twins(make, step_fn, data())
    (program,) = step.programs.values()
    source = program.native.native_source
    assert "matmul_small(" in source and "gemm(" not in source  # tiny products: loops


def elementwise_model():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(sn.tensor(np.linspace(0.5, 1.5, 4, dtype="float32")))
            self.b = nn.Parameter(sn.tensor(np.full((3, 1), 0.1, dtype="float32")))

        def forward(self, x):
            h = sn.tanh(x * self.w + self.b) - sn.sigmoid(x) / (self.w ** 2 + 1)
            h = sn.exp(-h ** 3) + sn.log(self.w * self.w + 1) - h.mean(axis=0, keepdims=True)
            return (h.reshape(12) ** 2).sum() + sn.relu(h).sum(axis=(0, 1))
    model = Model()
    return model, sn.optim.SGD(model.parameters(), lr=0.01)


def test_elementwise_ops_reductions_broadcasting_and_reshape():
    def step_fn(model, optimizer):
        def step(x):
            loss = model(x)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            return loss
        return step
    rng = np.random.default_rng(1)
    batches = [(sn.tensor(rng.normal(size=(3, 4)).astype("float32")),) for _ in range(4)]
    assert_twins(elementwise_model, step_fn, batches)


def test_large_products_go_to_blas_and_sum_reduction_and_matmul():
    def make():
        w = nn.Parameter(sn.tensor(np.random.default_rng(0).normal(
            size=(40, 30)).astype("float32") * 0.1))
        return w, sn.optim.Adam([w], lr=0.01)

    def step_fn(w, optimizer):
        def step(x, y):
            loss = sn.cross_entropy(x @ w, y, reduction="sum")
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            return loss
        return step

    class Holder:  # twin_runs asks the model for its parameters
        def __init__(self, w):
            self.w = w

        def parameters(self):
            return [self.w]

    def make_pair():
        w, optimizer = make()
        return Holder(w), optimizer

    step = assert_twins(make_pair, lambda holder, opt: step_fn(holder.w, opt),
                        data(shape=(50, 40), classes=30, count=3))
    (program,) = step.programs.values()
    source = program.native.native_source
    assert "gemm(" in source or "np.dot(" in source  # BLAS


def test_dropout_draws_the_eager_masks():
    def make():
        model = sn.Sequential([nn.Dense(32), nn.Dropout(0.5)])
        model(sn.ones(1, 4))
        return model.train(), sn.optim.SGD(model.parameters(), lr=0.0)

    def step_fn(model, optimizer):
        def step(x, y):
            out = model(x)
            out.sum().backward()
            optimizer.step()
            optimizer.zero_grad()
            return out
        return step

    (python, _, _), (native, _, _) = twin_runs(make, step_fn, data(count=3))
    for a, b in zip(python, native):
        np.testing.assert_array_equal(a[0] == 0, b[0] == 0)  # the same elements dropped


def test_gradients_set_before_the_step_and_left_after_it():
    """zero_grad first, then backward and step: the parameters keep their gradients, as
    eager code leaves them (the last batch's)."""
    def make():
        model = nn.Linear(4, 3)
        return model, sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step_fn(model, optimizer):
        def step(x, y):
            optimizer.zero_grad()
            loss = sn.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        return step

    batches = data()
    (_, _, python), (_, _, native) = twin_runs(make, step_fn, batches)
    grads = [[p.grad.numpy() for p in step.fn.__closure__[0].cell_contents.parameters()]
             for step in (python, native)]  # the optimiser of each run
    for a, b in zip(*grads):
        np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL)


def test_a_gradient_left_from_outside_runs_the_python_program():
    """Gradients that accumulate across steps (no zero_grad in the step): the native code
    assumes the step starts without them, so such a call runs the Python program."""
    sn.manual_seed(0)
    reference, model = nn.Linear(3, 1), nn.Linear(3, 1)
    model.load_state_dict(reference.state_dict())
    x, y = sn.ones(4, 3), sn.zeros(4, 1)

    def accumulate(model):
        def step(x, y):
            loss = sn.mse(model(x), y)
            loss.backward()
            return loss
        return step

    step = graph.compile(accumulate(model), strict=True, native_after=0)
    for _ in range(3):
        accumulate(reference)(x, y)
        step(x, y)
    (program,) = step.programs.values()
    assert program.native is not None
    np.testing.assert_allclose(model.weight.grad.numpy(), reference.weight.grad.numpy(),
                               rtol=RTOL)


def test_schedules_and_changed_choices_reach_the_native_step():
    def make():
        model = nn.Linear(4, 3)
        return model, sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    runs = []
    for native in (False, True):
        sn.manual_seed(7)
        model, optimizer = make()
        schedule = sn.optim.ExponentialLR(optimizer, gamma=0.5)
        step = graph.compile(classifier_step(model, optimizer), native=native, native_after=0)
        for number, batch in enumerate(data(count=6)):
            step(*batch)
            schedule.step()
            if number == 3:  # no momentum from here: a choice fixed in the native code
                optimizer.param_groups[0]["momentum"] = 0.0
        runs.append([p.numpy() for p in model.parameters()])
    for a, b in zip(*runs):
        np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL)


def test_grad_ready_hooks_run_the_python_program():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1)
    step = graph.compile(classifier_step(model, optimizer), native_after=0)
    x, y = sn.ones(2, 3), sn.tensor([0, 1])
    step(x, y)
    step(x, y)
    seen = []
    handle = model[0].weight.register_grad_ready_hook(lambda t: seen.append(t.grad.shape))
    step(x, y)
    handle.remove()
    assert seen == [(3, 4)]  # the hook ran: the Python program took that call


def test_a_step_without_native_forms_says_why_and_runs_in_python():
    model = nn.Sequential(nn.Conv2D(1, 2, 3), nn.Flatten(), nn.Linear(8, 3))
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1)
    step = graph.compile(classifier_step(model, optimizer), native_after=0)
    x, y = sn.ones(2, 1, 4, 4), sn.tensor([0, 1])
    losses = [float(step(x, y)) for _ in range(3)]
    (program,) = step.programs.values()
    assert program.native is None and "Conv" in program.native_reason
    assert losses[2] < losses[0]


def test_programs_are_lowered_after_native_after_replays():
    model = nn.Linear(4, 3)
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1)
    step = graph.compile(classifier_step(model, optimizer), native_after=3)
    batch = data(count=1)[0]
    step(*batch)  # the capture
    (program,) = step.programs.values()
    for replay in range(1, 4):
        assert program.native is None and "not yet" in program.native_reason
        step(*batch)
        assert program.replays == replay
    assert program.native is not None and program.native_reason is None
    assert "def step(" in program.native.native_source and "native(" in program.native.source
    no_native = graph.compile(classifier_step(model, optimizer), native=False)
    for _ in range(4):
        no_native(*batch)
    assert list(no_native.programs.values())[0].native_reason == "native=False"


def test_fit_with_jit_lowers_the_training_step_and_keeps_the_metrics(monkeypatch):
    monkeypatch.setattr(graph.compiled, "NATIVE_AFTER", 0)

    def fitted(jit):
        sn.manual_seed(0)
        model = sn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3, activation="softmax")])
        model.compile(optimizer=sn.optim.Adam(lr=0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit=jit)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 4)).astype("float32")
        y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)
        history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, shuffle=False)
        return model, history.history

    eager, eager_history = fitted(False)
    compiled, history = fitted(True)
    (program,) = compiled._jit_steps["train"].programs.values()
    assert program.native is not None, program.native_reason
    np.testing.assert_allclose(history["loss"], eager_history["loss"], rtol=RTOL)
    np.testing.assert_allclose(history["accuracy"], eager_history["accuracy"])


def test_a_second_process_loads_the_compiled_step_from_the_disk_cache(tmp_path):
    script = textwrap.dedent("""
        import numpy as np, somanet as sn
        w = sn.tensor(np.ones((3, 2), "float32"), requires_grad=True)
        optimizer = sn.optim.SGD([w], lr=0.1)
        def step(x):
            loss = (sn.sigmoid(x @ w) ** 2).sum()
            loss.backward(); optimizer.step(); optimizer.zero_grad()
            return loss
        step = sn.graph.compile(step, native_after=0)
        loss = [float(step(sn.ones(4, 3))) for _ in range(3)]
        (program,) = step.programs.values()
        print(program.native.from_cache, round(loss[-1], 6))
    """)
    env = dict(os.environ, SOMANET_CACHE_DIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(sn.__file__))] +
                                        sys.path)
    outputs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=300) for _ in range(2)]
    for run in outputs:
        assert run.returncode == 0, run.stderr
    first, second = (run.stdout.split() for run in outputs)
    assert first[0] == "False" and second[0] == "True"  # compiled, then loaded
    assert first[1] == second[1]
    assert any(name.endswith(".py") for name in os.listdir(tmp_path / "native"))


def test_an_optimiser_without_a_native_update_runs_in_python_after_the_native_part():
    """As a distributed optimiser's step (an all-reduce, then the update) would: the
    native code computes the gradients, sets .grad, and the step runs in Python."""
    def make():
        model = nn.Linear(4, 3)
        return model, sn.optim.RMSprop(model.parameters(), lr=0.01)
    step = assert_twins(make, classifier_step, data())
    (program,) = step.programs.values()
    assert "RMSprop" not in program.native.native_source
    assert "call" in program.native.source  # the recorded step and zero_grad, in Python


def test_a_native_run_resumes_eagerly_from_its_checkpoint(tmp_path):
    def make():
        sn.manual_seed(7)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        return model, sn.optim.Adam(model.parameters(), lr=0.01)

    batches = data(count=6)
    reference, reference_opt = make()
    for batch in batches:
        classifier_step(reference, reference_opt)(*batch)
    model, optimizer = make()
    step = graph.compile(classifier_step(model, optimizer), native_after=0)
    for batch in batches[:3]:
        step(*batch)
    assert list(step.programs.values())[0].native is not None
    sn.io.save_checkpoint(tmp_path / "ckpt", model, optimizer=optimizer)
    resumed, resumed_opt = make()
    sn.io.load_checkpoint(tmp_path / "ckpt", resumed, optimizer=resumed_opt)
    assert resumed_opt.state[resumed_opt.parameters()[0]]["step"] == 3
    for batch in batches[3:]:
        classifier_step(resumed, resumed_opt)(*batch)
    for a, b in zip(reference.parameters(), resumed.parameters()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=RTOL, atol=ATOL)


def test_leaky_relu_log_softmax_nll_transpose_and_binary_cross_entropy():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(3)
            self.w = nn.Parameter(sn.tensor(rng.normal(size=(4, 3)).astype("float32")))
            self.target = sn.tensor(np.eye(3, dtype="float32"))  # a constant leaf

        def forward(self, x, y):
            h = sn.leaky_relu(x @ self.w, 0.1)
            nll = sn.nll(sn.log_softmax(h, axis=1), y)
            square = h.T @ h  # (3, 3)
            return nll + sn.binary_cross_entropy_with_logits(square * 0.1, self.target)

    def make():
        model = Model()
        return model, sn.optim.SGD(model.parameters(), lr=0.05)

    def step_fn(model, optimizer):
        def step(x, y):
            loss = model(x, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            return loss
        return step

    assert_twins(make, step_fn, data())
