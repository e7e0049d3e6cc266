"""Bad input to the core ops: each error names the op, the shapes and what was expected."""
import numpy as np
import pytest

import somanet as sn


def test_matmul_shape_mismatch():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not fit.*\(3\)"):
        sn.ones(2, 3) @ sn.ones(4, 5)


def test_matmul_batch_axes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"matmul: the batch axes of shapes \(2, 3, 4\) and "
                                         r"\(5, 4, 2\)"):
        sn.ones(2, 3, 4) @ sn.ones(5, 4, 2)


def test_matmul_of_scalars():
    with pytest.raises(ValueError, match="at least one axis"):
        sn.matmul(sn.tensor(2.0), sn.ones(2))


def test_broadcasting_failure_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"Add: .*broadcast.*\(2, 3\) float32, \(4,\) float32"):
        sn.ones(2, 3) + sn.ones(4)


def test_reshape_to_the_wrong_size():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape .* \(2, 3\) \(6 elements\) "
                                         r"into shape \(4,\)"):
        sn.ones(2, 3).reshape(4)


def test_reduction_axis_out_of_range():
    with pytest.raises(ValueError, match="sum: axis 2 is out of range.*2 dimension"):
        sn.ones(2, 3).sum(axis=2)


def test_max_of_empty():
    with pytest.raises(ValueError, match="empty"):
        sn.zeros(0).max()


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_reductions_without_identity_over_an_empty_axis(name):
    with pytest.raises(ValueError, match=rf"{name}: the tensor of shape \(3, 0\) is empty along "
                                         rf"the reduced axis 1, so it has no "
                                         rf"{name.removeprefix('arg')} \(unlike sum or prod"):
        getattr(sn, name)(sn.zeros((3, 0)), axis=1)
    assert getattr(sn, name)(sn.zeros((3, 0)), axis=0).shape == (0,)  # nothing to reduce


def test_reductions_with_an_identity_over_an_empty_axis():
    assert sn.sum(sn.zeros((3, 0)), axis=1).tolist() == [0.0, 0.0, 0.0]
    assert sn.prod(sn.zeros((3, 0)), axis=1).tolist() == [1.0, 1.0, 1.0]
    assert sn.prod(sn.zeros(0)).item() == 1.0
    assert sn.logsumexp(sn.zeros((2, 0)), axis=1).tolist() == [-np.inf, -np.inf]
    assert sn.prod(sn.zeros((3, 0)), axis=1).dtype == np.float32


def test_linear_shapes():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 5\) does not fit a weight "
                                         r"of shape \(3, 4\)"):
        sn.linear(sn.ones(2, 5), sn.ones(3, 4))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\)"):
        sn.linear(sn.ones(2, 3), sn.ones(3, 4), sn.ones(3))


def test_shape_op_errors():
    with pytest.raises(ValueError, match="squeeze: axis 0 .* has size 2"):
        sn.ones(2, 1).squeeze(0)
    with pytest.raises(ValueError, match="stack: all tensors must have one shape"):
        sn.stack([sn.ones(2), sn.ones(3)])
    with pytest.raises(ValueError, match="split: axis 0 of size 5 does not divide into 2"):
        sn.split(sn.ones(5), 2)
    with pytest.raises(ValueError, match="transpose: axes"):
        sn.ones(2, 3).transpose(0, 0)
    with pytest.raises(ValueError, match="broadcast_to: cannot broadcast shape"):
        sn.ones(3).broadcast_to((2, 4))
    with pytest.raises(ValueError, match="concatenate: needs at least one tensor"):
        sn.concatenate([])
    with pytest.raises(ValueError, match="pad: got 1"):
        sn.pad(sn.ones(2, 2), [(1, 1)])


def test_clip_bounds():
    with pytest.raises(ValueError, match="clip: low=2 is greater than high=1"):
        sn.clip(sn.ones(2), 2, 1)


def test_clip_with_one_bound_or_none_as_onnx():
    a = sn.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    assert sn.clip(a, low=0.0).tolist() == [0.0, 0.5, 3.0]
    assert sn.clip(a, high=1.0).tolist() == [-2.0, 0.5, 1.0]
    same = sn.clip(a)  # ONNX Clip without min and max: the identity
    assert same.tolist() == [-2.0, 0.5, 3.0] and same.dtype == np.float32
    same.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0]
