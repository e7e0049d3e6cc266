"""TensorFlow-style graphs: placeholders, constants, variables, sessions, training."""
import numpy as np
import pytest

import somanet as sn
from somanet import graph as tf


@pytest.fixture
def g():
    return tf.Graph()


def test_constants_of_every_rank_and_text(g):
    with g.as_default():
        hello = tf.constant("Hello World!")
        a = tf.constant(500)
        b = tf.constant([345, 999, 888, 7777])
        c = tf.constant([[1, 2, 3], [444, 555, 666], [77, 88, 99]])
        d = tf.constant(np.arange(8).reshape(2, 2, 2))
    with tf.Session(g) as sess:
        assert sess.run(hello) == b"Hello World!"
        values = sess.run([a, b, c, d])
    assert values[0] == 500 and np.ndim(values[0]) == 0
    assert values[1].tolist() == [345, 999, 888, 7777]
    assert values[2].shape == (3, 3) and values[3].shape == (2, 2, 2)
    assert hello.dtype == tf.string and str(a.dtype) == "int64"


def test_feed_dict_and_the_cast_and_subtract_example(g):
    with g.as_default():
        text = tf.placeholder(tf.string)
        one = tf.subtract(tf.cast(tf.constant(2.0), "int32"), tf.constant(1))
    with tf.Session(g) as sess:
        assert sess.run(text, feed_dict={text: "Hello World"}) == b"Hello World"
        assert sess.run(one) == 1


def test_fetches_come_back_in_their_structure(g):
    with g.as_default():
        x = tf.placeholder("float32", shape=(None, 2), name="x")
        doubled, total = x * 2, tf.reduce_sum(x)
    with tf.Session(g) as sess:
        out = sess.run({"pair": (doubled, [total]), "x": x}, feed_dict={x: [[1, 2], [3, 4]]})
    assert out["pair"][0].tolist() == [[2, 4], [6, 8]] and out["pair"][1][0] == 10
    assert out["x"].dtype == np.float32


def test_unknown_sizes_show_as_none(g):
    with g.as_default():
        x = tf.placeholder("float32", shape=(None, 784), name="x")
        w = tf.Variable(tf.zeros((784, 10)))
        logits = tf.matmul(x, w)
        flat = tf.reshape(logits, (-1,))
    assert x.static_shape == (None, 784) and logits.static_shape == (None, 10)
    assert flat.static_shape == (None,)
    assert "(None, 10)" in str(g) and repr(logits) == \
        "SymbolicTensor('matmul:0', shape=(None, 10), dtype=float32)"


def test_bad_feeds_name_the_placeholder(g):
    with g.as_default():
        x = tf.placeholder("float32", shape=(None, 3), name="x")
        labels = tf.placeholder("int64", shape=(None,), name="labels")
        y = x * 2
        z = labels + 1
    with tf.Session(g) as sess:
        with pytest.raises(ValueError, match=r"placeholder 'x:0' needs a value: feed it"):
            sess.run(y)
        with pytest.raises(ValueError, match=r"'x:0' takes shape \(None, 3\) \(None: any "
                                             r"size\); got a value of shape \(2, 2\)"):
            sess.run(y, feed_dict={x: np.ones((2, 2))})
        with pytest.raises(TypeError, match=r"'labels:0' holds int64; got values of dtype "
                                            r"float64, which would lose information"):
            sess.run(z, feed_dict={labels: [0.5, 1.5]})
        with pytest.raises(TypeError, match="keys of feed_dict must be placeholders"):
            sess.run(y, feed_dict={y: [[1, 2, 3]]})
        assert sess.run(y, feed_dict={x: [[1, 2, 3]]}).tolist() == [[2, 4, 6]]  # ints fit


def test_variables_need_their_initializer(g):
    with g.as_default():
        v = tf.Variable(5, name="v")
        w = tf.Variable(tf.truncated_normal((120, 5), stddev=0.1), name="weights")
        bias = tf.Variable(tf.zeros(3), name="bias")
        init = tf.global_variables_initializer()
    with tf.Session(g) as sess:
        with pytest.raises(ValueError, match=r"the variable 'v:0' is not initialized; run "
                                             r"somanet.graph.global_variables_initializer"):
            sess.run(v)
        assert sess.run(init) is None
        assert sess.run(v) == 5
        weights = sess.run(w)
        assert weights.shape == (120, 5) and np.abs(weights).max() <= 0.2  # truncated at 2 sd
        assert sess.run(bias).tolist() == [0.0, 0.0, 0.0]
        sess.run(init)  # every run of the initializer draws anew
        assert not np.array_equal(sess.run(w), weights)


def test_assign_and_assign_add(g):
    with g.as_default():
        counter = tf.Variable(0, name="counter")
        step = tf.assign_add(counter, 1)
        reset = tf.assign(counter, 10)
        init = tf.global_variables_initializer()
    with tf.Session(g) as sess:
        sess.run(init)
        assert [int(sess.run(step)) for _ in range(3)] == [1, 2, 3]
        assert sess.run(reset) == 10 and sess.run(counter) == 10
    with g.as_default():
        with pytest.raises(TypeError, match="assign: expected a graph Variable"):
            tf.assign(tf.constant(1), 2)


def test_fetching_from_another_graph_or_a_closed_session(g):
    other = tf.Graph()
    with other.as_default():
        c = tf.constant(1)
    sess = tf.Session(g)
    with pytest.raises(ValueError, match="belongs to another graph"):
        sess.run(c)
    sess.close()
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(c)
    with g.as_default():
        with pytest.raises(ValueError, match="belongs to another graph"):
            tf.constant(2) + c


def test_training_a_softmax_classifier_in_a_session_matches_eager(g):
    rng = np.random.default_rng(0)
    x_data = rng.normal(size=(96, 4)).astype("float32")
    y_data = (x_data[:, 0] + x_data[:, 1] > 0).astype("int64")
    w0 = rng.normal(scale=0.1, size=(4, 2)).astype("float32")
    with g.as_default():
        x = tf.placeholder("float32", shape=(None, 4))
        y = tf.placeholder("int64", shape=(None,))
        w = tf.Variable(w0)
        b = tf.Variable(tf.zeros(2))
        logits = tf.matmul(x, w) + b
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                            logits=logits))
        train = sn.optim.SGD([w, b], lr=0.5).minimize(loss)
        init = tf.global_variables_initializer()
    w_eager = sn.tensor(w0, requires_grad=True)
    b_eager = sn.zeros(2, requires_grad=True)
    eager_optimizer = sn.optim.SGD([w_eager, b_eager], lr=0.5)
    with tf.Session(g) as sess:
        sess.run(init)
        for _ in range(20):
            _, value = sess.run([train, loss], feed_dict={x: x_data, y: y_data})
            eager_loss = sn.cross_entropy(sn.tensor(x_data) @ w_eager + b_eager,
                                          sn.tensor(y_data))
            eager_loss.backward()
            eager_optimizer.step()
            eager_optimizer.zero_grad()
            assert value == pytest.approx(float(eager_loss), rel=1e-6)  # the pre-update loss
        np.testing.assert_allclose(sess.run(w), w_eager.numpy(), rtol=1e-5, atol=1e-7)
        accuracy = (sess.run(tf.argmax(logits, axis=1), feed_dict={x: x_data}) ==
                    y_data).mean()
    assert accuracy > 0.9


def test_minimize_needs_a_scalar_graph_loss(g):
    with g.as_default():
        x = tf.placeholder("float32", shape=(None, 2))
        w = tf.Variable(tf.ones((2, 1)))
        out = tf.matmul(x, w)
    optimizer = sn.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="the loss must be a scalar"):
        optimizer.minimize(out)
    eager = sn.ones(2, requires_grad=True)
    before = eager.numpy().copy()
    sn.optim.SGD([eager], lr=0.1).minimize((eager * eager).sum())  # eager: one step now
    np.testing.assert_allclose(eager.numpy(), before - 0.2)


def test_the_default_graph_outside_any_block():
    tf.reset_default_graph()
    a = tf.constant(3.0)
    b = a * 2 + 1  # recorded: it has a graph tensor as input
    assert isinstance(b, tf.SymbolicTensor) and b.graph is tf.get_default_graph()
    with tf.Session() as sess:
        assert sess.run(b) == 7.0
    tf.reset_default_graph()
