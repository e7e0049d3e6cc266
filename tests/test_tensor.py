"""Tensor: creation, properties, values out, operators, indexing, transfers."""
import numpy as np
import pytest

import somanet as sn


def test_creation_functions():
    assert sn.zeros(2, 3).shape == (2, 3) and sn.zeros((2, 3)).shape == (2, 3)
    assert sn.ones(4).numpy().tolist() == [1, 1, 1, 1]
    assert sn.empty(2, 2).shape == (2, 2)
    assert sn.full((2,), 7.0).numpy().tolist() == [7, 7]
    assert sn.arange(3).numpy().tolist() == [0, 1, 2]
    assert sn.arange(1, 7, 2).numpy().tolist() == [1, 3, 5]
    assert np.array_equal(sn.eye(3).numpy(), np.eye(3))
    assert sn.linspace(0, 1, 5).numpy().tolist() == [0, 0.25, 0.5, 0.75, 1]
    x = sn.tensor([[1.0, 2.0]])
    for like in (sn.zeros_like, sn.ones_like, sn.empty_like, sn.rand_like, sn.randn_like):
        made = like(x)
        assert made.shape == x.shape and made.dtype == x.dtype
    assert sn.full_like(x, 3).numpy().tolist() == [[3, 3]]
    assert sn.zeros(2, requires_grad=True).requires_grad


def test_tensor_copies_its_data():
    data = np.array([1.0, 2.0], dtype=np.float32)
    t = sn.tensor(data)
    data[0] = 99
    assert t.numpy()[0] == 1.0


def test_bad_data_is_a_clear_error():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        sn.tensor("hello")
    with pytest.raises(ValueError, match="ragged"):
        sn.tensor([[1, 2], [3]])
    with pytest.raises(ValueError, match="non-negative ints"):
        sn.zeros(-1)


def test_properties_and_values():
    t = sn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 3), 2, 6, 2)
    assert t.dtype == np.float32
    assert sn.tensor(3.5).item() == 3.5
    assert t.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert isinstance(t.numpy(), np.ndarray)
    assert np.asarray(t).shape == (2, 3)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert float(sn.tensor([2.0])) == 2.0
    with pytest.raises(ValueError, match="one element"):
        t.item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    assert [row.tolist() for row in t] == [[1, 2, 3], [4, 5, 6]]


def test_repr():
    assert repr(sn.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(sn.tensor([1.0], requires_grad=True))
    assert "dtype=float64" in repr(sn.tensor([1.0], dtype="float64"))
    assert "grad_fn=Mul" in repr(sn.tensor([1.0], requires_grad=True) * 2)
    assert repr(sn.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2],\n        [3, 4]])"


def test_operators_match_numpy():
    a_np = np.array([[1.0, -2.0], [3.0, 4.0]], dtype=np.float32)
    b_np = np.array([0.5, 2.0], dtype=np.float32)
    a, b = sn.tensor(a_np), sn.tensor(b_np)
    cases = {
        "+": (a + b, a_np + b_np), "-": (a - b, a_np - b_np), "*": (a * b, a_np * b_np),
        "/": (a / b, a_np / b_np), "@": (a @ b, a_np @ b_np), "**": (b ** 2, b_np ** 2),
        "neg": (-a, -a_np), "abs": (abs(a), np.abs(a_np)), "r-": (1 - a, 1 - a_np),
        "r/": (1 / b, 1 / b_np), "rpow": (2 ** b, 2 ** b_np),
    }
    for name, (ours, theirs) in cases.items():
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6, err_msg=name)


def test_comparisons_give_bool_without_gradient():
    a = sn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in [(a > 2, [0, 0, 1]), (a >= 2, [0, 1, 1]), (a < 2, [1, 0, 0]),
                             (a <= 2, [1, 1, 0]), (a == 2, [0, 1, 0]), (a != 2, [1, 0, 1])]:
        assert result.dtype == np.bool_
        assert not result.requires_grad
        assert result.numpy().astype(int).tolist() == expected


def test_tensors_hash_by_identity():
    a, b = sn.tensor([1.0]), sn.tensor([1.0])
    assert len({a: 1, b: 2}) == 2


def test_numpy_array_on_the_left_calls_the_tensor():
    out = np.array([1.0, 2.0]) + sn.tensor([1.0, 1.0])
    assert isinstance(out, sn.Tensor) and out.dtype == np.float32


@pytest.mark.parametrize("index", [1, (slice(None), 0), (Ellipsis, None), [0, 0, 2],
                                   (np.array([0, 2]), np.array([1, 0]))])
def test_indexing_matches_numpy_with_gradient(index):
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = sn.tensor(data, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.numpy(), data[index])
    out.sum().backward()
    expected = np.zeros_like(data)
    np.add.at(expected, index, 1)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_boolean_mask_indexing_and_tensor_indices():
    x = sn.tensor([1.0, -2.0, 3.0], requires_grad=True)
    picked = x[x > 0]
    assert picked.numpy().tolist() == [1, 3]
    (picked * 2).sum().backward()
    assert x.grad.numpy().tolist() == [2, 0, 2]
    assert x[sn.tensor([2, 0])].numpy().tolist() == [3, 1]


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"shape \(3,\)"):
        sn.tensor([1.0, 2.0, 3.0])[5]


def test_setitem_and_in_place_ops_outside_the_graph():
    w = sn.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="no_grad"):
        w[0] = 1.0
    with pytest.raises(ValueError, match="no_grad"):
        w -= 1.0
    with sn.no_grad():
        w[0] = 1.0
        w += sn.ones(3)
        w *= 2
    assert w.numpy().tolist() == [4, 2, 2]
    assert w.requires_grad and w.is_leaf
    with sn.no_grad(), pytest.raises(TypeError, match="float32 and float64"):
        w -= sn.ones(3, dtype="float64")


def test_detach_shares_data_and_leaves_the_graph():
    x = sn.tensor([1.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    assert d.data is y.data


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="only float tensors can require grad"):
        sn.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        sn.tensor([1, 2]).requires_grad_()


def test_astype_and_casts():
    x = sn.tensor([1.5, 2.5])
    assert x.astype("float64").dtype == np.float64
    assert x.double().dtype == np.float64
    assert x.long().numpy().tolist() == [1, 2]
    assert x.to("float64").dtype == np.float64
    assert x.astype("float32") is x


def test_dlpack_both_ways_without_copy():
    x = sn.tensor([1.0, 2.0, 3.0])
    shared = np.from_dlpack(x)
    shared[0] = 10
    assert x.numpy()[0] == 10
    back = sn.from_dlpack(np.arange(3.0, dtype=np.float32))
    assert back.numpy().tolist() == [0, 1, 2]


def test_dlpack_with_torch():
    torch = pytest.importorskip("torch")
    x = sn.tensor([1.0, 2.0])
    t = torch.from_dlpack(x)
    t[1] = 5
    assert x.numpy()[1] == 5
    y = sn.from_dlpack(torch.arange(3, dtype=torch.float32))
    assert y.numpy().tolist() == [0, 1, 2]


def test_methods_delegate_to_ops():
    x = sn.tensor([[1.0, 4.0], [9.0, 16.0]])
    assert x.sqrt().numpy().tolist() == [[1, 2], [3, 4]]
    assert x.sum(axis=0).numpy().tolist() == [10, 20]
    assert x.mean().item() == 7.5
    assert x.max(axis=1).numpy().tolist() == [4, 16]
    assert x.argmax(axis=1).numpy().tolist() == [1, 1]
    assert x.T.numpy().tolist() == [[1, 9], [4, 16]]
    assert x.reshape(4).shape == (4,) and x.reshape(1, 4).shape == (1, 4)
    assert x.flatten().shape == (4,)
    assert x.unsqueeze(0).shape == (1, 2, 2)
    assert x.unsqueeze(0).squeeze().shape == (2, 2)
    assert x.permute(1, 0).numpy().tolist() == x.T.numpy().tolist()
    assert [p.shape for p in x.split(2, axis=1)] == [(2, 1), (2, 1)]
