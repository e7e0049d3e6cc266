"""Seed 001, "Brief Introduction to Tensorflow", and seed 004's computation graph, in
somanet's graph layer (``somanet.graph``, imported here as ``tf``).

Seed 001, line for line::

    hello = tf.constant('Hello World!')                 the same (fetched as b'Hello World!')
    A = tf.constant(500)                                 a 0-d int tensor (int64 in somanet,
    B = tf.constant([345,999,888,7777])                  NumPy's default; TensorFlow's is
    C = tf.constant([[1,2,3],[444,555,666],[77,88,99]])  int32). The article calls C
                                                         "3-dimensional": it has rank 2;
                                                         a rank-3 constant is added here.
    with tf.Session() as sess:                           the same
        output = sess.run(hello)
    x = tf.placeholder(tf.string)                        the same
    output = sess.run(x, feed_dict={x: 'Hello World'})   the same
    tf.subtract(tf.cast(tf.constant(2.0), tf.int32),     the same: 1
                tf.constant(1))
    x = tf.Variable(5)                                   the same
    init = tf.global_variables_initializer()             the same
    weights = tf.Variable(tf.truncated_normal(           the same (the article's
        (n_features, n_labels)))                          "120n_labels = 5" is n_features
    bias = tf.Variable(tf.zeros(num_labels))              = 120, n_labels = 5)
    ReLU, softmax                                        tf.nn.relu, tf.nn.softmax

Seed 004: "Computation is described in terms of data flow and operations in the
structure of a directed graph ... Edges: the graph defines the flow of data,
branching, looping, and updates to state". Here the graph of a softmax
classifier on the bundled digits (784 pixels -> 10 logits) is built with a
placeholder for the images, variables for the weights (truncated normal) and
bias (zeros), and ``optimizer.minimize(loss)`` as its update to state, then
trained through ``Session.run`` with ``feed_dict`` mini-batches. The same model,
the same initial weights and the same batches trained eagerly reach the same
test accuracy (0.89 after 5 epochs with seed 0): the graph runs the very ops eager
code runs, and the final weights agree to float32 round-off. Branching (``tf.cond``) and looping (``tf.while_loop``) are graph nodes too.

Figures: ``classifier_graph.dot`` (the graph in Graphviz's language) and, with
Graphviz installed, ``classifier_graph.svg``.

    python examples/tensorflow_graph.py [--out FOLDER] [--epochs N]
"""
import argparse
import os
import shutil
import tempfile

import numpy as np

import somanet as sn
from somanet import graph as tf


def introduction():
    """Seed 001's snippets, run in a session; returns what each gives."""
    graph = tf.Graph()
    with graph.as_default():
        hello = tf.constant("Hello World!")
        a = tf.constant(500)
        b = tf.constant([345, 999, 888, 7777])
        c = tf.constant([[1, 2, 3], [444, 555, 666], [77, 88, 99]])
        d = tf.constant(np.arange(12).reshape(2, 3, 2))  # rank 3
        text = tf.placeholder(tf.string)
        one = tf.subtract(tf.cast(tf.constant(2.0), "int32"), tf.constant(1))
        x = tf.Variable(5)
        n_features, n_labels, num_labels = 120, 5, 3
        weights = tf.Variable(tf.truncated_normal((n_features, n_labels)))
        bias = tf.Variable(tf.zeros(num_labels))
        scores = tf.constant([3.0, 1.0, 0.2, -1.0])
        relu, softmax = tf.nn.relu(scores), tf.nn.softmax(scores)
        init = tf.global_variables_initializer()
    with tf.Session(graph) as sess:
        found = {"hello": sess.run(hello), "ranks": [np.ndim(v) for v in
                                                     sess.run([a, b, c, d])],
                 "fed": sess.run(text, feed_dict={text: "Hello World"}),
                 "cast_subtract": int(sess.run(one))}
        sess.run(init)
        found["x"] = int(sess.run(x))
        found["weights"] = sess.run(weights)
        found["bias"] = sess.run(bias)
        found["relu"], found["softmax"] = sess.run([relu, softmax])
    return found


def build_classifier(seed):
    """The softmax classifier as a graph; returns (graph, tensors and ops by name)."""
    sn.manual_seed(seed)
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder("float32", shape=(None, 784), name="images")
        labels = tf.placeholder("int64", shape=(None,), name="labels")
        weights = tf.Variable(tf.truncated_normal((784, 10), stddev=0.1), name="weights")
        bias = tf.Variable(tf.zeros(10), name="bias")
        logits = tf.add(tf.matmul(images, weights), bias)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits))
        train = sn.optim.SGD([weights, bias], lr=0.5).minimize(loss)
        predicted = tf.argmax(logits, axis=1)
        init = tf.global_variables_initializer()
    return graph, dict(images=images, labels=labels, weights=weights, bias=bias,
                       loss=loss, train=train, predicted=predicted, init=init)


def batches(count, size, seed, epoch):
    order = np.random.default_rng([seed, epoch]).permutation(count)
    return [order[i:i + size] for i in range(0, count, size)]


def main(out=None, epochs=5, seed=0, batch_size=100):
    """Seed 001's snippets, then the classifier trained in a session and eagerly.

    Returns:
        ``{"introduction", "graph_accuracy", "eager_accuracy", "graph_weights",
        "eager_weights", "losses", "figures", "graph"}``.
    """
    out = out or tempfile.mkdtemp(prefix="tensorflow_graph-")
    os.makedirs(out, exist_ok=True)
    found = {"introduction": introduction()}
    (x_train, y_train), (x_test, y_test) = (sn.datasets.mnist_small("train"),
                                            sn.datasets.mnist_small("test"))
    x_train, x_test = x_train.reshape(-1, 784), x_test.reshape(-1, 784)

    graph, t = build_classifier(seed)
    losses = []
    with tf.Session(graph) as sess:
        sess.run(t["init"])
        initial = sess.run([t["weights"], t["bias"]])
        for epoch in range(epochs):
            for index in batches(len(x_train), batch_size, seed, epoch):
                _, value = sess.run([t["train"], t["loss"]],
                                    feed_dict={t["images"]: x_train[index],
                                               t["labels"]: y_train[index]})
            losses.append(float(value))
        predicted = sess.run(t["predicted"], feed_dict={t["images"]: x_test})
        found["graph_weights"] = sess.run(t["weights"])
    found["graph_accuracy"] = float((predicted == y_test).mean())
    found["losses"] = losses

    # The same model, weights and batches, eagerly.
    weights = sn.tensor(initial[0], requires_grad=True)
    bias = sn.tensor(initial[1], requires_grad=True)
    optimizer = sn.optim.SGD([weights, bias], lr=0.5)
    for epoch in range(epochs):
        for index in batches(len(x_train), batch_size, seed, epoch):
            logits = sn.tensor(x_train[index]) @ weights + bias
            optimizer.minimize(sn.cross_entropy(logits, sn.tensor(y_train[index])))
    with sn.no_grad():
        eager = sn.argmax(sn.tensor(x_test) @ weights + bias, axis=1).numpy()
    found["eager_accuracy"] = float((eager == y_test).mean())
    found["eager_weights"] = weights.numpy()

    dot_path = os.path.join(out, "classifier_graph.dot")
    with open(dot_path, "w") as handle:
        handle.write(graph.to_dot())
    figures = [dot_path]
    if shutil.which("dot"):
        figures.append(graph.render(os.path.join(out, "classifier_graph.svg")))
    found["figures"] = figures
    found["graph"] = graph
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder for the figures (default: a temporary one)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = main(args.out, epochs=args.epochs, seed=args.seed)
    intro = result["introduction"]
    print(f"hello: {intro['hello']}   ranks of A, B, C, D: {intro['ranks']}")
    print(f"fed placeholder: {intro['fed']}   subtract(cast(2.0, int32), 1) = "
          f"{intro['cast_subtract']}   Variable(5) = {intro['x']}")
    print(f"truncated-normal weights {intro['weights'].shape}, largest |w| "
          f"{np.abs(intro['weights']).max():.3f} (< 2 standard deviations); bias "
          f"{intro['bias'].tolist()}")
    print(f"relu {intro['relu'].round(4).tolist()}   softmax "
          f"{intro['softmax'].round(4).tolist()}")
    print(result["graph"])
    print(f"loss per epoch: {[round(v, 4) for v in result['losses']]}")
    print(f"test accuracy: {result['graph_accuracy']:.4f} through Session.run, "
          f"{result['eager_accuracy']:.4f} eagerly")
    print("figures:", ", ".join(result["figures"]))
