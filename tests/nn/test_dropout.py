"""Dropout: inverted scaling in training, identity in eval."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn


def test_training_drops_and_rescales():
    sn.manual_seed(0)
    layer = nn.Dropout(0.25)
    out = layer(sn.ones(200, 100)).numpy()
    kept = out != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)


def test_eval_is_identity_and_train_switches_back():
    model = nn.Sequential(nn.Dropout(0.5))
    x = sn.ones(10, 10)
    model.eval()
    assert model(x) is x
    model.train()
    assert (model(x).numpy() == 0).any()


def test_rate_alias_and_bad_p():
    assert nn.Dropout(rate=0.2).p == 0.2
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2)"
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1"):
        nn.Dropout(1)
