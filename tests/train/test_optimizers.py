"""Optimisers by name, class, factory or instance."""
import functools

import numpy as np

import pytest

import somanet as sn
from somanet import nn
from somanet.train import optimizers


@pytest.mark.parametrize("name, cls, lr", [
    ("sgd", sn.optim.SGD, 0.01), ("adam", sn.optim.Adam, 0.001), ("ADAMW", sn.optim.AdamW, 0.001),
    ("rmsprop", sn.optim.RMSprop, 0.001), ("adagrad", sn.optim.Adagrad, 0.001),
    ("rprop", sn.optim.Rprop, 0.01), ("manhattan", sn.optim.Manhattan, 0.01)])
def test_names_give_keras_default_learning_rates(name, cls, lr):
    optimizer = optimizers.get(name, nn.Linear(2, 1).parameters())
    assert type(optimizer) is cls and optimizer.param_groups[0]["lr"] == lr
    assert optimizers.get(name, nn.Linear(2, 1).parameters(), 0.5).param_groups[0]["lr"] == 0.5


def test_classes_factories_and_instances():
    params = list(nn.Linear(2, 1).parameters())
    assert type(optimizers.get(sn.optim.Adam, params)) is sn.optim.Adam
    sgd = optimizers.get(functools.partial(sn.optim.SGD, momentum=0.9), params, 0.2)
    assert sgd.param_groups[0]["momentum"] == 0.9 and sgd.param_groups[0]["lr"] == 0.2
    instance = sn.optim.SGD(params, lr=0.1)
    assert optimizers.get(instance, params, 0.3) is instance
    assert instance.param_groups[0]["lr"] == 0.3


def test_bad_optimizers():
    with pytest.raises(ValueError, match=r"unknown optimizer 'adm'\. Did you mean 'adam'\? "
                                         r"Known optimizers: sgd, adam, adamw, rmsprop, adagrad, "
                                         r"rprop, manhattan"):
        optimizers.get("adm", [])
    with pytest.raises(TypeError, match="optimizer must be a name"):
        optimizers.check(3)
    with pytest.raises(TypeError, match="returned a int, not an Optimizer"):
        optimizers.get(lambda params: 3, nn.Linear(2, 1).parameters())


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32"))


def _fit(optimizer, build_first):
    sn.manual_seed(0)
    model = sn.Sequential([nn.Dense(4, activation="tanh"), nn.Dense(1)])
    if build_first:
        model.build((None, 3))
    model.compile(optimizer=optimizer(model), loss="mse")
    x, y = _data()
    history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    return model, history.history["loss"]


@pytest.mark.parametrize("build_first", [False, True])
def test_compile_binds_an_optimizer_made_without_parameters(build_first):
    _, keras_style = _fit(lambda model: sn.optim.SGD(lr=0.05, momentum=0.5), build_first)
    model, pytorch_style = _fit(lambda model: (model.build((None, 3)), sn.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.5))[1], True)
    assert keras_style == pytorch_style  # bit for bit: the same optimiser on the same weights
    assert keras_style[-1] < keras_style[0]


def test_compile_keeps_the_unbound_optimizer_and_fit_binds_it():
    optimizer = sn.optim.Adam(learning_rate=0.01)
    model = sn.Sequential([nn.Dense(2), nn.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", learning_rate=0.02)
    assert model.optimizer is optimizer and not optimizer.built  # Keras keeps the object
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    assert model.optimizer is optimizer and optimizer.built
    assert {id(p) for p in optimizer.parameters()} == {id(p) for p in model.parameters()}
    assert optimizer.learning_rate == 0.02  # compile's learning_rate wins, as before


def test_compile_lr_and_learning_rate():
    model = sn.Sequential([nn.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse", lr=0.2)
    assert model.optimizer.learning_rate == 0.2
    with pytest.raises(TypeError, match=r"compile: got lr=0.1 and learning_rate=0.2; they are "
                                        r"the same setting"):
        model.compile(optimizer="sgd", loss="mse", lr=0.1, learning_rate=0.2)


def test_one_optimizer_for_two_models_is_an_error():
    optimizer = sn.optim.SGD(lr=0.1)
    x, y = _data()
    first = sn.Sequential([nn.Dense(1)])
    first.compile(optimizer=optimizer, loss="mse")
    first.fit(x, y, epochs=1, verbose=0)
    second = sn.Sequential([nn.Dense(1)])
    second.compile(optimizer=optimizer, loss="mse")
    with pytest.raises(ValueError, match=r"holds none of this model's parameters \(one bound "
                                         r"to another model.*make one optimizer per model"):
        second.fit(x, y, epochs=1, verbose=0)
