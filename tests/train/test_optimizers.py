"""Optimisers by name, class, factory or instance."""
import functools

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
