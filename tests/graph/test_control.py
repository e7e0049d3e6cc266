"""cond and while_loop: eager, traced and TensorFlow-style, with gradients."""
import numpy as np
import pytest

import somanet as sn
from somanet import graph as tf


def test_cond_and_while_loop_run_eagerly_on_eager_tensors():
    x = sn.tensor([1.0, -2.0])
    assert tf.cond(x.sum() > 0, lambda: x * 2, lambda: -x).tolist() == [-1.0, 2.0]
    i, total = tf.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t + x),
                             [sn.tensor(0), sn.zeros(2)])
    assert int(i) == 3 and total.tolist() == [3.0, -6.0]
    assert tf.while_loop(lambda v: v < 100, lambda v: v * 2, sn.tensor(1.0),
                         maximum_iterations=3).item() == 8.0


def test_traced_cond_runs_the_branch_the_value_picks():
    scale = sn.tensor([3.0], requires_grad=True)

    def f(x):
        return tf.cond(x.sum() > 0, lambda: x * scale, lambda: x - 1)

    g = tf.trace(f, sn.ones(2))
    assert [node.kind for node in g.nodes].count("call") == 1
    assert g(sn.tensor([1.0, 2.0])).tolist() == [3.0, 6.0]
    assert g(sn.tensor([-1.0, -2.0])).tolist() == [-2.0, -3.0]
    x = sn.tensor([1.0, 2.0], requires_grad=True)
    g(x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and scale.grad.tolist() == [3.0]
    x.grad = None
    g(-x).sum().backward()
    assert x.grad.tolist() == [-1.0, -1.0]  # through the other branch


def test_gradient_of_a_while_loop_flows_through_every_iteration():
    def power(x, n):
        _, result = tf.while_loop(lambda i, r: i < n, lambda i, r: (i + 1, r * x),
                                  [sn.tensor(0), sn.ones(2)])
        return result

    g = tf.trace(power, sn.ones(2), sn.tensor(5))
    x = sn.tensor([2.0, 3.0], requires_grad=True)
    result = g(x, sn.tensor(5))
    assert result.tolist() == [32.0, 243.0]
    result.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 5 * np.array([2.0, 3.0]) ** 4)  # 5 x^4
    x.grad = None
    g(x, sn.tensor(2)).sum().backward()  # the run took 2 iterations this time
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])


def test_nested_control_flow_reads_tensors_of_every_enclosing_graph():
    def f(x, limit):
        def body(v):
            return tf.cond(v.sum() > limit, lambda: v, lambda: v + x)
        return tf.while_loop(lambda v: v.sum() < limit, body, x)

    g = tf.trace(f, sn.ones(2), sn.tensor(10.0))
    assert g(sn.tensor([1.0, 2.0]), sn.tensor(10.0)).tolist() == [4.0, 8.0]


def test_control_flow_in_a_session_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder("float32", shape=(None,), name="x")
        w = tf.Variable(tf.ones(1))
        absolute = tf.cond(tf.reduce_sum(x) > 0, lambda: x * w, lambda: -x * w)
        doubled = tf.while_loop(lambda v: tf.reduce_sum(v) < 50, lambda v: v * 2, x)
        init = tf.global_variables_initializer()
    with tf.Session(g) as sess:
        sess.run(init)
        assert sess.run(absolute, feed_dict={x: [-1.0, -2.0]}).tolist() == [1.0, 2.0]
        assert sess.run(doubled, feed_dict={x: [1.0, 2.0]}).tolist() == [32.0, 64.0]
    assert doubled.static_shape == (None,)


def test_branches_must_agree():
    with pytest.raises(ValueError, match="the branches must return the same number of "
                                         "tensors with the same dtypes"):
        tf.trace(lambda x: tf.cond(x.sum() > 0, lambda: x, lambda: (x, x)), sn.ones(2))
    with pytest.raises(ValueError, match="body changes loop variable 0 from dtype int64"):
        tf.trace(lambda x: tf.while_loop(lambda i: i < 3, lambda i: i * 0.5, sn.tensor(0)),
                 sn.ones(1))
    with pytest.raises(ValueError, match="body returned 1 values for 2 loop variables"):
        tf.while_loop(lambda a, b: a < 3, lambda a, b: a + 1, [sn.tensor(0), sn.tensor(0)])
