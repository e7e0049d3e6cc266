"""Batch norm's running statistics and eval mode, layer norm and batch norm against
PyTorch, embedding's scatter-add, and every error path. (Forward and gradient
checks of all three ops are in the registry, cases_normalization.py.)"""
import numpy as np
import pytest

import somanet as sn
from somanet.ops.normalization import BatchNorm

from .cases_normalization import batch_norm_reference, layer_norm_reference


def _running(mean, var):
    return sn.tensor(mean), sn.tensor(var)


# -- batch norm: running statistics and eval mode -------------------------------------------

def test_training_updates_running_statistics_in_place_by_hand():
    # Channel 0 sees 1 and 3 (mean 2, biased var 1, unbiased var 2); channel 1 sees
    # 10 and 30 (mean 20, unbiased var 200).
    x = sn.tensor([[1.0, 10.0], [3.0, 30.0]])
    running_mean, running_var = _running([0.0, 0.0], [1.0, 1.0])
    mean_array = running_mean.data
    out = sn.batch_norm(x, running_mean=running_mean, running_var=running_var, momentum=0.1,
                        eps=0.0)
    np.testing.assert_allclose(out.numpy(), [[-1, -1], [1, 1]])
    assert running_mean.data is mean_array  # updated in place, not replaced
    np.testing.assert_allclose(running_mean.numpy(), [0.9 * 0 + 0.1 * 2, 0.1 * 20])
    np.testing.assert_allclose(running_var.numpy(), [0.9 * 1 + 0.1 * 2, 0.9 * 1 + 0.1 * 200])
    assert running_mean.dtype == running_var.dtype == np.float32


def test_running_statistics_of_a_4d_input_use_every_axis_but_channels():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 2, 4, 5)).astype(np.float32)
    running_mean, running_var = _running([1.0, -1.0], [2.0, 3.0])
    sn.batch_norm(sn.tensor(data), running_mean=running_mean, running_var=running_var,
                  momentum=0.25)
    mean = data.mean(axis=(0, 2, 3))
    var = data.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(running_mean.numpy(), 0.75 * np.array([1, -1]) + 0.25 * mean,
                               rtol=1e-5)
    np.testing.assert_allclose(running_var.numpy(), 0.75 * np.array([2, 3]) + 0.25 * var,
                               rtol=1e-5)


def test_eval_mode_uses_running_statistics_and_leaves_them_alone():
    x = sn.tensor([[1.0, 10.0], [3.0, 30.0], [5.0, -2.0]])
    weight, bias = sn.tensor([2.0, 0.5]), sn.tensor([0.0, 1.0])
    running_mean, running_var = _running([1.0, 10.0], [4.0, 16.0])
    out = sn.batch_norm(x, weight, bias, running_mean, running_var, training=False, eps=0.0)
    expected = (x.numpy() - [1, 10]) / np.sqrt([4, 16]) * [2, 0.5] + [0, 1]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(running_mean.numpy(), [1, 10])
    np.testing.assert_array_equal(running_var.numpy(), [4, 16])


def test_eval_mode_gradient_treats_statistics_as_constants():
    x = sn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    running_mean, running_var = _running([0.0, 1.0], [3.0, 8.0])
    sn.batch_norm(x, running_mean=running_mean, running_var=running_var, training=False,
                  eps=1.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, 1 / 3], [0.5, 1 / 3]], rtol=1e-6)


def test_momentum_zero_keeps_and_momentum_one_replaces():
    x = sn.tensor([[1.0], [3.0]])
    running_mean, running_var = _running([5.0], [7.0])
    sn.batch_norm(x, running_mean=running_mean, running_var=running_var, momentum=0.0)
    np.testing.assert_allclose(running_mean.numpy(), [5.0])
    sn.batch_norm(x, running_mean=running_mean, running_var=running_var, momentum=1.0)
    np.testing.assert_allclose(running_mean.numpy(), [2.0])
    np.testing.assert_allclose(running_var.numpy(), [2.0])


def test_running_statistics_update_under_no_grad_and_stay_out_of_the_graph():
    x = sn.randn(4, 3, requires_grad=True)
    running_mean, running_var = _running(np.zeros(3), np.ones(3))
    with sn.no_grad():
        sn.batch_norm(x, running_mean=running_mean, running_var=running_var)
    assert not np.array_equal(running_mean.numpy(), np.zeros(3))
    out = sn.batch_norm(x, running_mean=running_mean, running_var=running_var)
    assert not running_mean.requires_grad and running_mean.grad is None
    assert isinstance(out.grad_fn, BatchNorm)  # one fused node
    assert all(edge is None or edge[0] is x for edge in out.grad_fn.parents)


def test_batch_norm_matches_torch_over_steps_train_and_eval():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(1)
    weight = rng.standard_normal(3).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    ours_mean, ours_var = _running(np.zeros(3, np.float32), np.ones(3, np.float32))
    torch_mean, torch_var = torch.zeros(3), torch.ones(3)
    for step in range(3):
        data = (rng.standard_normal((4, 3, 2, 5)) * (step + 1) + step).astype(np.float32)
        grad = rng.standard_normal(data.shape).astype(np.float32)
        ours = [sn.tensor(a, requires_grad=True) for a in (data, weight, bias)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (data, weight, bias)]
        out = sn.batch_norm(ours[0], ours[1], ours[2], ours_mean, ours_var, momentum=0.2)
        expected = functional.batch_norm(theirs[0], torch_mean, torch_var, theirs[1], theirs[2],
                                         training=True, momentum=0.2)
        out.backward(sn.tensor(grad))
        expected.backward(torch.tensor(grad))
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), atol=1e-5)
        for mine, other in zip(ours, theirs):
            np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), atol=1e-4)
        np.testing.assert_allclose(ours_mean.numpy(), torch_mean.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ours_var.numpy(), torch_var.numpy(), rtol=1e-5)
    data = rng.standard_normal((2, 3, 2, 5)).astype(np.float32)
    out = sn.batch_norm(sn.tensor(data), sn.tensor(weight), sn.tensor(bias), ours_mean,
                        ours_var, training=False)
    expected = functional.batch_norm(torch.tensor(data), torch_mean, torch_var,
                                     torch.tensor(weight), torch.tensor(bias), training=False)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-5)


def test_batch_norm_keeps_float32_and_matches_numpy():
    data = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32)
    out = sn.batch_norm(sn.tensor(data))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), batch_norm_reference(data), atol=1e-5)


# -- layer norm ----------------------------------------------------------------------------

def test_layer_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(shape).astype(np.float32)
              for shape in ((2, 3, 4, 5), (4, 5), (4, 5))]
    grad = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    ours = [sn.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = sn.layer_norm(ours[0], (4, 5), ours[1], ours[2])
    expected = torch.nn.functional.layer_norm(theirs[0], (4, 5), theirs[1], theirs[2])
    out.backward(sn.tensor(grad))
    expected.backward(torch.tensor(grad))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), atol=1e-5)
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), atol=1e-4)


def test_layer_norm_of_a_constant_row_is_zero_not_nan():
    out = sn.layer_norm(sn.full((2, 4), 3.0), 4)
    np.testing.assert_array_equal(out.numpy(), np.zeros((2, 4)))
    np.testing.assert_allclose(layer_norm_reference(np.full((2, 4), 3.0), 4), 0)


# -- embedding -----------------------------------------------------------------------------

def test_embedding_gradient_adds_up_repeated_indices():
    weight = sn.zeros((4, 2), requires_grad=True)
    indices = sn.tensor([[1, 3, 1], [1, 0, 3]])
    out = sn.embedding(indices, weight)
    assert out.shape == (2, 3, 2)
    out.backward(sn.ones((2, 3, 2)))
    np.testing.assert_array_equal(weight.grad.numpy(), [[1, 1], [3, 3], [0, 0], [2, 2]])


def test_embedding_takes_lists_and_arrays_of_indices():
    weight = sn.tensor([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(sn.embedding([1, 0, 1], weight).numpy(),
                                  [[2, 3], [0, 1], [2, 3]])
    np.testing.assert_array_equal(sn.embedding(np.array([[1]], dtype=np.uint8), weight).numpy(),
                                  [[[2, 3]]])


def test_embedding_float_indices_are_an_error():
    with pytest.raises(TypeError, match=r"embedding: indices must be integers, got dtype "
                                        r"float32 \(shape \(2,\)\)"):
        sn.embedding(sn.tensor([0.0, 1.0]), sn.zeros((3, 2)))


def test_embedding_index_past_the_table_names_index_and_size():
    with pytest.raises(IndexError, match=r"embedding: index 5 is out of range for a table of 5 "
                                         r"rows .*must be in \[0, 4\]"):
        sn.embedding(sn.tensor([0, 5, 2]), sn.zeros((5, 3)))


def test_embedding_negative_index_is_an_error():
    with pytest.raises(IndexError, match=r"embedding: index -1 is out of range for a table of "
                                         r"3 rows"):
        sn.embedding(sn.tensor([0, -1]), sn.zeros((3, 2)))


def test_embedding_needs_a_float_table():
    with pytest.raises(TypeError, match="embedding: weight must be a float table"):
        sn.embedding(sn.tensor([0]), sn.tensor([[1, 2]]))
    with pytest.raises(TypeError, match="embedding: weight must be a Tensor, got list"):
        sn.embedding(sn.tensor([0]), [[1.0, 2.0]])


# -- error paths ---------------------------------------------------------------------------

def test_batch_norm_needs_a_channel_axis():
    with pytest.raises(ValueError, match=r"batch_norm: expected an input with at least 2 "
                                         r"dimensions \(N, C, \.\.\.\), got shape \(5,\)"):
        sn.batch_norm(sn.randn(5))


def test_batch_norm_weight_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"batch_norm: weight has shape \(4,\), expected \(3,\) "
                                         r"for an input of shape \(2, 3\)"):
        sn.batch_norm(sn.randn(2, 3), sn.ones(4))


def test_batch_norm_weight_of_another_dtype():
    with pytest.raises(TypeError, match="batch_norm: bias has dtype float64 but the input has "
                                        "float32"):
        sn.batch_norm(sn.randn(2, 3), None, sn.zeros(3, dtype="float64"))


def test_batch_norm_running_mean_alone_is_an_error():
    with pytest.raises(ValueError, match="give both running_mean and running_var, or neither"):
        sn.batch_norm(sn.randn(2, 3), running_mean=sn.zeros(3))


def test_batch_norm_running_statistics_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"batch_norm: running_var has shape \(2,\), expected "
                                         r"\(3,\)"):
        sn.batch_norm(sn.randn(2, 3), running_mean=sn.zeros(3), running_var=sn.ones(2))


def test_batch_norm_eval_needs_running_statistics():
    with pytest.raises(ValueError, match=r"batch_norm: eval mode \(training=False\) normalises "
                                         r"with the running statistics"):
        sn.batch_norm(sn.randn(2, 3), training=False)


def test_batch_norm_training_on_one_value_per_channel():
    with pytest.raises(ValueError, match=r"more than one value per channel.*shape \(1, 3\)"):
        sn.batch_norm(sn.randn(1, 3))


def test_batch_norm_integer_input():
    # integer data is normalised in the default float dtype (the parameters' when given)
    out = sn.batch_norm(sn.tensor([[1, 2], [3, 4]]), eps=0.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), [[-1, -1], [1, 1]])
    assert sn.layer_norm(sn.tensor([[1, 3]]), 2, sn.ones(2), sn.zeros(2)).dtype == np.float32
    with pytest.raises(TypeError, match="batch_norm: expected a float input, got dtype bool"):
        sn.batch_norm(sn.tensor([[True, False], [False, True]]))


def test_layer_norm_shape_that_does_not_end_the_input():
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 3\) does not end with "
                                         r"normalized_shape \(4,\); expected shape \(\*, 4\)"):
        sn.layer_norm(sn.randn(2, 3), 4)
    with pytest.raises(ValueError, match="does not end with normalized_shape"):
        sn.layer_norm(sn.randn(3), (2, 3))


def test_layer_norm_weight_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"layer_norm: weight has shape \(3,\), expected \(4,\)"):
        sn.layer_norm(sn.randn(2, 4), 4, sn.ones(3))
