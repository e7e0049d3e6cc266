"""lr_find: the sweep, the suggestion, the plot, and the exact restore afterwards."""
import os

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.data import DataLoader, TensorDataset

from .helpers import blobs, classifier, logits_loss, regression, same_weights, weights


def optimizer_arrays(optimizer):
    state = optimizer.state_dict()
    return state["steps"], {key: value.copy() for key, value in state["arrays"].items()}, \
        [dict(group) for group in state["param_groups"]]


def test_lr_find_restores_weights_optimizer_and_rng_bit_for_bit():
    x, y = blobs(n=64)
    model = classifier(dropout=0.2)
    model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # the optimiser has state now
    before = weights(model)
    steps, arrays, groups = optimizer_arrays(model.optimizer)
    rng = sn.get_rng_state()
    result = sn.lr_find(model, x, y, steps=30, batch_size=16)
    assert len(result.lrs) >= 5 and len(result.lrs) == len(result.losses)
    assert same_weights(before, weights(model))
    after_steps, after_arrays, after_groups = optimizer_arrays(model.optimizer)
    assert after_steps == steps and after_groups == groups
    assert arrays.keys() == after_arrays.keys()
    for key in arrays:
        np.testing.assert_array_equal(arrays[key], after_arrays[key])
    assert sn.get_rng_state() == rng


@pytest.mark.filterwarnings("ignore::somanet.train.LossIncreasingWarning")
def test_training_after_lr_find_is_as_if_it_never_ran():
    x, y = blobs(n=48)
    runs = []
    for sweep in (False, True):
        model = classifier(dropout=0.3, seed=4)
        model.compile(optimizer="adam", loss=logits_loss())
        sn.manual_seed(9)
        if sweep:
            sn.lr_find(model, x, y, steps=20, batch_size=8)
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        runs.append(weights(model))
    assert same_weights(*runs)


def test_suggestion_is_in_the_descending_part_and_the_sweep_stops_on_divergence():
    x, y = regression(n=256)
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    result = sn.lr_find(model, x, y, start_lr=1e-5, end_lr=10.0, steps=60, batch_size=32)
    assert len(result.lrs) < 60  # SGD diverges well before lr = 10 on this problem
    lowest = int(np.argmin(result.losses))
    assert result.lrs[0] <= result.suggestion <= result.lrs[lowest]
    assert result.min_lr_div10 == pytest.approx(result.lrs[lowest] / 10)
    ratio = result.lrs[1] / result.lrs[0]
    assert ratio == pytest.approx((10.0 / 1e-5) ** (1 / 59))
    assert "suggestion=" in repr(result)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = regression(n=64)
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "sweep.png"
    result = sn.lr_find(model, x, y, steps=20, plot=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and os.path.getsize(path) > 1000
    figure = result.plot()
    assert figure.axes[0].get_xscale() == "log"


def test_a_given_loader_keeps_its_position():
    x, y = blobs(n=40)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, seed=0)
    iterator = iter(loader)
    next(iterator)
    state = loader.state_dict()
    model = classifier()
    model.compile(optimizer="sgd", loss=logits_loss())
    sn.lr_find(model, loader, steps=12)
    after = loader.state_dict()
    assert after["epoch"] == state["epoch"] and after["position"] == state["position"]
    np.testing.assert_array_equal(after["order"], state["order"])


def test_lr_find_bad_arguments():
    x, y = blobs(n=16)
    model = classifier()
    with pytest.raises(RuntimeError, match="lr_find: the model is not compiled"):
        sn.lr_find(model, x, y)
    model.compile(optimizer="sgd", loss=logits_loss())
    with pytest.raises(ValueError, match=r"need 0 < start_lr < end_lr"):
        sn.lr_find(model, x, y, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match=r"steps must be an int >= 2"):
        sn.lr_find(model, x, y, steps=1)
