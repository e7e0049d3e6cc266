"""Embedding: lookup and gradient."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn


def test_lookup_shape_and_values():
    emb = nn.Embedding(10, 3)
    indices = sn.tensor([[1, 2], [2, 9]])
    out = emb(indices)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy()[1, 0], emb.weight.numpy()[2])
    assert emb.weight.numpy().std() == pytest.approx(1.0, abs=0.5)


def test_gradient_accumulates_repeated_indices():
    emb = nn.Embedding(4, 2)
    emb(sn.tensor([1, 1, 3])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[0, 0], [2, 2], [0, 0], [1, 1]])


def test_out_of_range_index_names_the_layer():
    model = nn.Sequential(nn.Embedding(5, 2))
    with pytest.raises(IndexError, match=r"^Sequential\[0\] \(Embedding\): .*5"):
        model(sn.tensor([7]))
