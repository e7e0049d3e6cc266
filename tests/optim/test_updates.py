"""Each optimiser's first steps against values worked out by hand from its published rule.

The expected values are written from the papers' formulas (or plain arithmetic), not
from the implementation: a parameter ``w``, a fixed sequence of gradients ``g``.
"""
import math

import numpy as np
import pytest

import somanet as sn

from .helpers import assert_steps, param, run

GRADS = [0.5, -0.2, 0.3]  # the gradient of steps 1, 2, 3 (one weight)


# -- SGD ---------------------------------------------------------------------------------------

def test_sgd_is_plain_gradient_descent_without_momentum():
    w = param([1.0])
    values = run(sn.optim.SGD([w], lr=0.1), w, [[g] for g in GRADS])
    # w <- w - lr * g
    assert_steps(values, [[1.0 - 0.1 * 0.5],            # 0.95
                          [0.95 - 0.1 * -0.2],          # 0.97
                          [0.97 - 0.1 * 0.3]])          # 0.94


def test_sgd_seed_001_step():
    """Seed 001's worked gradient-descent step: w <- w + learnrate * error_term * x."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w0 = np.array([0.5, -0.5, 0.3, 0.1])
    y, learnrate = 0.5, 0.5
    h = float(x @ w0)                                   # -0.8
    output = 1 / (1 + math.exp(-h))                     # sigmoid(h) = 0.3100...
    error_term = (y - output) * output * (1 - output)   # 0.0407...
    by_hand = w0 + learnrate * error_term * x           # the seed's del_w = lr * err * x
    w = param(w0.tolist())
    w.grad = sn.tensor(-error_term * x, dtype="float64")  # dE/dw of E = (y - out)^2 / 2
    sn.optim.SGD([w], lr=learnrate).step()
    np.testing.assert_allclose(w.numpy(), by_hand, rtol=1e-12)


def test_sgd_momentum():
    w = param([1.0])
    values = run(sn.optim.SGD([w], lr=0.1, momentum=0.9), w, [[g] for g in GRADS])
    # b <- 0.9 b + g ; w <- w - 0.1 b
    # b1 = 0.5              w1 = 1 - 0.05 = 0.95
    # b2 = 0.45 - 0.2 = 0.25      w2 = 0.95 - 0.025 = 0.925
    # b3 = 0.225 + 0.3 = 0.525    w3 = 0.925 - 0.0525 = 0.8725
    assert_steps(values, [[0.95], [0.925], [0.8725]])


def test_sgd_nesterov():
    w = param([1.0])
    values = run(sn.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True), w,
                 [[g] for g in GRADS[:2]])
    # b <- 0.9 b + g ; w <- w - 0.1 (g + 0.9 b)
    # b1 = 0.5, g + 0.9 b = 0.95          w1 = 1 - 0.095 = 0.905
    # b2 = 0.25, g + 0.9 b = 0.025        w2 = 0.905 - 0.0025 = 0.9025
    assert_steps(values, [[0.905], [0.9025]])


def test_sgd_weight_decay():
    w = param([1.0])
    values = run(sn.optim.SGD([w], lr=0.1, weight_decay=0.1), w, [[g] for g in GRADS[:2]])
    # g' = g + 0.1 w ; w <- w - 0.1 g'
    # g'1 = 0.5 + 0.1 = 0.6               w1 = 1 - 0.06 = 0.94
    # g'2 = -0.2 + 0.094 = -0.106         w2 = 0.94 + 0.0106 = 0.9506
    assert_steps(values, [[0.94], [0.9506]])


def test_sgd_momentum_with_weight_decay_elementwise():
    w = param([1.0, -2.0])
    values = run(sn.optim.SGD([w], lr=0.1, momentum=0.5, weight_decay=0.1), w,
                 [[0.5, 1.0], [-0.2, 0.4]])
    # weight 0: g'1 = 0.6, b1 = 0.6, w1 = 0.94; g'2 = -0.106, b2 = 0.3 - 0.106 = 0.194,
    #           w2 = 0.94 - 0.0194 = 0.9206
    # weight 1: g'1 = 1.0 - 0.2 = 0.8, b1 = 0.8, w1 = -2.08; g'2 = 0.4 - 0.208 = 0.192,
    #           b2 = 0.4 + 0.192 = 0.592, w2 = -2.08 - 0.0592 = -2.1392
    assert_steps(values, [[0.94, -2.08], [0.9206, -2.1392]])


# -- Adam, AdamW -------------------------------------------------------------------------------

def adam_by_hand(w, grads, lr, beta1, beta2, eps, l2=0.0, decoupled=0.0):
    """Kingma & Ba, Algorithm 1 (with an optional L2 term or AdamW's decoupled decay)."""
    m = v = 0.0
    values = []
    for t, g in enumerate(grads, start=1):
        w = w * (1 - lr * decoupled)
        g = g + l2 * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        w = w - lr * m_hat / (math.sqrt(v_hat) + eps)
        values.append([w])
    return values


def test_adam_first_step_is_lr_times_sign():
    w = param([1.0, 1.0])
    (values,) = run(sn.optim.Adam([w], lr=0.1, eps=0.0), w, [[3.0, -0.01]])
    # m_hat = g, v_hat = g^2, so the step is lr * g / |g|
    np.testing.assert_allclose(values, [0.9, 1.1], rtol=1e-12)


def test_adam():
    w = param([1.0])
    values = run(sn.optim.Adam([w], lr=0.1, betas=(0.9, 0.999), eps=1e-8), w,
                 [[g] for g in GRADS])
    assert_steps(values, adam_by_hand(1.0, GRADS, 0.1, 0.9, 0.999, 1e-8))
    # step 2 written out: m = 0.9 * 0.05 + 0.1 * -0.2 = 0.025, v = 0.999 * 0.00025 + 0.001
    # * 0.04 = 0.00028975; m_hat = 0.025 / 0.19, v_hat = 0.00028975 / 0.001999
    w2 = 0.9 - 0.1 * (0.025 / 0.19) / (math.sqrt(0.00028975 / (1 - 0.999 ** 2)) + 1e-8)
    np.testing.assert_allclose(values[1], [w2], rtol=1e-6)


def test_adam_l2_weight_decay():
    w = param([1.0])
    values = run(sn.optim.Adam([w], lr=0.1, weight_decay=0.5), w, [[g] for g in GRADS])
    assert_steps(values, adam_by_hand(1.0, GRADS, 0.1, 0.9, 0.999, 1e-8, l2=0.5))


def test_adamw_decoupled_weight_decay():
    w = param([1.0])
    values = run(sn.optim.AdamW([w], lr=0.1, weight_decay=0.5), w, [[g] for g in GRADS])
    assert_steps(values, adam_by_hand(1.0, GRADS, 0.1, 0.9, 0.999, 1e-8, decoupled=0.5))
    # first step: w = 1 * (1 - 0.05) - 0.1 * sign(0.5) = 0.85 (up to eps)
    np.testing.assert_allclose(values[0], [0.85], rtol=1e-7)


def test_adamw_default_weight_decay_differs_from_adam():
    assert sn.optim.AdamW([param([1.0])]).defaults["weight_decay"] == 0.01
    assert sn.optim.Adam([param([1.0])]).defaults["weight_decay"] == 0.0


# -- RMSprop -----------------------------------------------------------------------------------

def rmsprop_by_hand(w, grads, lr, alpha, eps, momentum=0.0, l2=0.0):
    """Hinton's RMSprop: v <- a v + (1 - a) g^2 ; w <- w - lr g / (sqrt(v) + eps)."""
    v = b = 0.0
    values = []
    for g in grads:
        g = g + l2 * w
        v = alpha * v + (1 - alpha) * g * g
        d = g / (math.sqrt(v) + eps)
        if momentum:
            b = momentum * b + d
            d = b
        w = w - lr * d
        values.append([w])
    return values


def test_rmsprop():
    w = param([1.0])
    values = run(sn.optim.RMSprop([w], lr=0.01, alpha=0.9, eps=1e-8), w, [[g] for g in GRADS])
    # step 1 written out: v = 0.1 * 0.25 = 0.025; w = 1 - 0.01 * 0.5 / sqrt(0.025)
    np.testing.assert_allclose(values[0], [1 - 0.01 * 0.5 / (math.sqrt(0.025) + 1e-8)],
                               rtol=1e-12)
    assert_steps(values, rmsprop_by_hand(1.0, GRADS, 0.01, 0.9, 1e-8))


def test_rmsprop_momentum_and_weight_decay():
    w = param([1.0])
    values = run(sn.optim.RMSprop([w], lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1), w,
                 [[g] for g in GRADS])
    assert_steps(values, rmsprop_by_hand(1.0, GRADS, 0.01, 0.9, 1e-8, momentum=0.5, l2=0.1))


# -- Adagrad -----------------------------------------------------------------------------------

def test_adagrad():
    w = param([1.0])
    values = run(sn.optim.Adagrad([w], lr=0.1, eps=0.0), w, [[g] for g in GRADS])
    # s <- s + g^2 ; w <- w - lr g / sqrt(s)
    # s1 = 0.25                 w1 = 1 - 0.1 * 0.5 / 0.5 = 0.9
    # s2 = 0.29                 w2 = 0.9 + 0.1 * 0.2 / sqrt(0.29)
    # s3 = 0.38                 w3 = w2 - 0.1 * 0.3 / sqrt(0.38)
    w2 = 0.9 + 0.02 / math.sqrt(0.29)
    assert_steps(values, [[0.9], [w2], [w2 - 0.03 / math.sqrt(0.38)]])


def test_adagrad_initial_accumulator_and_weight_decay():
    w = param([1.0])
    values = run(sn.optim.Adagrad([w], lr=0.1, eps=1e-10, weight_decay=0.1,
                                  initial_accumulator_value=0.75), w, [[g] for g in GRADS[:2]])
    # g'1 = 0.5 + 0.1 = 0.6, s1 = 0.75 + 0.36 = 1.11, w1 = 1 - 0.06 / sqrt(1.11)
    w1 = 1 - 0.1 * 0.6 / (math.sqrt(1.11) + 1e-10)
    g2 = -0.2 + 0.1 * w1
    w2 = w1 - 0.1 * g2 / (math.sqrt(1.11 + g2 * g2) + 1e-10)
    assert_steps(values, [[w1], [w2]])


# -- Rprop, Manhattan --------------------------------------------------------------------------

def test_rprop():
    w = param([1.0, 1.0])
    values = run(sn.optim.Rprop([w], lr=0.01), w,
                 [[0.5, -0.5], [0.3, 0.2], [0.1, 0.4]])
    # every step size starts at lr = 0.01; etas (0.5, 1.2)
    # step 1: no previous gradient: d = [0.01, 0.01];  w = [1 - 0.01, 1 + 0.01]
    # step 2: weight 0 keeps its sign: d0 = 0.012, w0 = 0.99 - 0.012 = 0.978
    #         weight 1 flips: d1 = 0.005, and (iRprop-) it does not move: w1 = 1.01
    # step 3: weight 0 again: d0 = 0.0144, w0 = 0.978 - 0.0144 = 0.9636
    #         weight 1 has no previous gradient (zeroed): d1 stays 0.005, w1 = 1.01 - 0.005
    assert_steps(values, [[0.99, 1.01], [0.978, 1.01], [0.9636, 1.005]], rtol=1e-14)


def test_rprop_step_size_bounds():
    w = param([1.0, 1.0])
    values = run(sn.optim.Rprop([w], lr=0.01, step_sizes=(0.008, 0.011)), w,
                 [[0.5, -0.5], [0.3, 0.2], [0.1, 0.4]])
    # step 2: d0 = min(0.012, 0.011) = 0.011; d1 = max(0.005, 0.008) = 0.008 (no move)
    # step 3: d0 = min(0.0132, 0.011) = 0.011; d1 = 0.008
    assert_steps(values, [[0.99, 1.01], [0.979, 1.01], [0.968, 1.002]], rtol=1e-14)


def test_manhattan():
    w = param([1.0, 1.0, 1.0])
    values = run(sn.optim.Manhattan([w], lr=0.1), w, [[0.5, -3.0, 0.0], [-1e-4, 2.0, 0.0]])
    # w <- w - lr * sign(g): the size of g does not matter, a zero gradient gives no step
    assert_steps(values, [[0.9, 1.1, 1.0], [1.0, 1.0, 1.0]])


# -- bookkeeping -------------------------------------------------------------------------------

def test_param_groups_have_their_own_learning_rates():
    a, b = param([1.0]), param([1.0])
    optimizer = sn.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1,
                             momentum=0.9)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.01]
    assert optimizer.param_groups[1]["momentum"] == 0.9  # the defaults fill the rest
    a.grad, b.grad = sn.tensor([0.5], dtype="float64"), sn.tensor([0.5], dtype="float64")
    optimizer.step()
    np.testing.assert_allclose([a.item(), b.item()], [1 - 0.05, 1 - 0.005], rtol=1e-12)


def test_schedule_changes_group_lr_used_by_step():
    w = param([1.0])
    optimizer = sn.optim.SGD([w], lr=0.1)
    optimizer.param_groups[0]["lr"] = 0.5
    w.grad = sn.tensor([1.0], dtype="float64")
    optimizer.step()
    assert w.item() == 0.5


def test_add_param_group():
    a, b = param([1.0]), param([2.0])
    optimizer = sn.optim.Adam([a], lr=0.1)
    optimizer.add_param_group({"params": b, "betas": (0.5, 0.9)})
    first, second = optimizer.parameters()
    assert first is a and second is b
    assert optimizer.param_groups[1]["betas"] == (0.5, 0.9)
    assert optimizer.param_groups[1]["lr"] == 0.1


def test_params_without_grad_are_skipped_and_get_no_state():
    a, b = param([1.0]), param([1.0])
    optimizer = sn.optim.Adam([a, b], lr=0.1)
    a.grad = sn.tensor([1.0], dtype="float64")
    optimizer.step()
    assert b.item() == 1.0 and b not in optimizer.state
    assert optimizer.state[a]["step"] == 1


def test_zero_grad_sets_to_none():
    w = param([1.0])
    optimizer = sn.optim.SGD([w], lr=0.1)
    w.grad = sn.tensor([1.0], dtype="float64")
    optimizer.zero_grad()
    assert w.grad is None


def test_zero_grad_to_zeros_does_not_touch_a_shared_array():
    a, b = param([1.0, 2.0]), param([3.0, 4.0])
    a.grad, b.grad = sn.zeros(2), sn.zeros(2)
    shared = np.array([5.0, 6.0])
    a.grad.data = shared
    b.grad.data = shared
    sn.optim.SGD([a], lr=0.1).zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    assert b.grad.tolist() == [5.0, 6.0] and shared.tolist() == [5.0, 6.0]


def test_step_does_not_write_into_the_gradient():
    """Weight decay and the like must not modify grad in place: it may be shared."""
    for name, options in [("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1,
                                   "nesterov": True}),
                          ("Adam", {"weight_decay": 0.1}), ("AdamW", {}),
                          ("RMSprop", {"weight_decay": 0.1, "momentum": 0.5}),
                          ("Adagrad", {"weight_decay": 0.1}), ("Rprop", {}),
                          ("Manhattan", {})]:
        w = param([1.0, -2.0])
        optimizer = getattr(sn.optim, name)([w], **options)
        for _ in range(3):
            w.grad = sn.tensor([0.5, -0.25], dtype="float64")
            optimizer.step()
            assert w.grad.tolist() == [0.5, -0.25], name


def test_step_records_no_graph_and_keeps_the_parameter_a_leaf():
    w = param([1.0])
    optimizer = sn.optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward()
    data = w.data
    optimizer.step()
    assert w.is_leaf and w.grad_fn is None and w.requires_grad
    assert w.data is data  # updated in place


def test_step_with_closure_returns_the_loss():
    w = param([2.0])
    optimizer = sn.optim.SGD([w], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with sn.no_grad():  # the closure still records its graph
        loss = optimizer.step(closure)
    assert loss.item() == 4.0
    assert w.item() == 2.0 - 0.25 * 4.0


def test_repr_lists_the_groups():
    text = repr(sn.optim.SGD([param([1.0])], lr=0.1, momentum=0.9))
    assert "SGD(" in text and "lr=0.1" in text and "momentum=0.9" in text


def test_grad_of_the_wrong_shape_is_an_error():
    w = param([1.0, 2.0])
    optimizer = sn.optim.SGD([w], lr=0.1)
    w.grad = sn.tensor([1.0, 2.0, 3.0], dtype="float64")
    with pytest.raises(ValueError, match=r"SGD.step: parameter 0 of group 0 has shape \(2,\)"
                                         r".*grad has shape \(3,\)"):
        optimizer.step()
