"""Users' own ops through the Function contract, as the docstring shows."""
import numpy as np
import pytest

import somanet as sn


class Cube(sn.Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * 3 * x ** 2


class SplitSign(sn.Function):
    """Two outputs: the positive and the negative part."""

    def forward(ctx, x):
        ctx.save_for_backward(x > 0)
        return np.maximum(x, 0), np.minimum(x, 0)

    def backward(ctx, grad_positive, grad_negative):
        (positive,) = ctx.saved
        return np.where(positive, grad_positive, grad_negative)


def test_user_function_forward_and_backward():
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    Cube.apply(x).sum().backward()
    assert x.grad.numpy().tolist() == [3.0, 12.0]
    assert sn.gradcheck(Cube.apply, [sn.tensor([0.5, -1.0], dtype="float64",
                                               requires_grad=True)])


def test_multi_output_function_and_a_missing_output_gradient():
    x = sn.tensor([1.0, -2.0, 3.0], requires_grad=True)
    positive, negative = SplitSign.apply(x)
    (positive * 2).sum().backward()  # negative gets no gradient: zeros are filled in
    assert x.grad.numpy().tolist() == [2.0, 0.0, 2.0]
    assert sn.gradcheck(lambda t: SplitSign.apply(t), [sn.tensor([0.5, -1.0], dtype="float64",
                                                                 requires_grad=True)])


def test_missing_backward_says_not_differentiable():
    class NoBackward(sn.Function):
        def forward(ctx, x):
            return x + 1

    x = sn.tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="NoBackward has no backward"):
        NoBackward.apply(x).sum().backward()


def test_gradcheck_catches_a_wrong_gradient():
    class Wrong(sn.Function):
        def forward(ctx, x):
            return x * x

        def backward(ctx, grad):
            return grad * 3  # should be 2x

    with pytest.raises(sn.GradcheckError, match="autograd gives"):
        sn.gradcheck(Wrong.apply, [sn.tensor([0.7], dtype="float64", requires_grad=True)])


def test_gradcheck_on_a_large_input_uses_random_directions():
    x = sn.randn(30, 30, dtype="float64", requires_grad=True)
    assert sn.gradcheck(lambda t: (t.tanh() * t).sum(), [x])


def test_gradcheck_needs_a_differentiable_input():
    with pytest.raises(ValueError, match="nothing to check"):
        sn.gradcheck(lambda t: t * 2, [sn.tensor([1.0])])


def test_a_non_differentiable_op_never_records_a_node():
    a = sn.tensor([1.0, 2.0], requires_grad=True)
    result = a > 1.5
    assert result.dtype == np.bool_ and not result.requires_grad and result.is_leaf
    assert (a == a).tolist() == [True, True]
