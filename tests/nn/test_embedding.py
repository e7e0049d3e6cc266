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


def test_padding_idx_row_starts_at_zero_gets_no_gradient_and_stays_as_set():
    emb = nn.Embedding(5, 3, padding_idx=-1)  # negative counts from the end, as PyTorch
    assert emb.padding_idx == 4 and repr(emb) == "Embedding(5, 3, padding_idx=4)"
    np.testing.assert_array_equal(emb.weight.numpy()[4], 0)
    emb.weight.data[4] = 7.0  # set by hand: training must leave it so
    optimizer = sn.optim.SGD(emb.parameters(), lr=0.5)
    for _ in range(2):
        optimizer.zero_grad()
        emb(sn.tensor([[4, 1], [4, 4]])).sum().backward()
        np.testing.assert_array_equal(emb.weight.grad.numpy()[4], 0)
        np.testing.assert_array_equal(emb.weight.grad.numpy()[1], 1)
        optimizer.step()
    np.testing.assert_array_equal(emb.weight.numpy()[4], 7.0)


@pytest.mark.parametrize("padding_idx", [5, -6, 1.0, "0"])
def test_padding_idx_outside_the_table_is_an_error(padding_idx):
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be an int in \[-5, 4\] "
                                         r"\(a row of the table of 5\) or None, got"):
        nn.Embedding(5, 3, padding_idx=padding_idx)
    with pytest.raises(ValueError, match=r"embedding: padding_idx must be an int in \[-5, 4\]"):
        sn.embedding(sn.tensor([0]), sn.zeros(5, 3), padding_idx=padding_idx)


def test_padding_idx_matches_torch():
    torch = pytest.importorskip("torch")
    table = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    indices = np.array([[0, 2, 2], [5, 0, 1]])
    ours = sn.tensor(table, requires_grad=True)
    theirs = torch.tensor(table, requires_grad=True)
    out = sn.embedding(sn.tensor(indices), ours, padding_idx=2)
    expected = torch.nn.functional.embedding(torch.tensor(indices), theirs, padding_idx=2)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    seed = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    out.backward(sn.tensor(seed))
    expected.backward(torch.tensor(seed))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-6)
