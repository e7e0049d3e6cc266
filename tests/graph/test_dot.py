"""Seeing graphs: DOT text of recorded graphs and of autograd graphs, and drawing them."""
import re
import shutil
import subprocess

import pytest

import somanet as sn
from somanet import graph as tf
from somanet import nn

NODE = re.compile(r"^\s+(\w+) \[label=", re.MULTILINE)
EDGE = re.compile(r"^\s+(\w+) -> (\w+)(?: \[label=\"([^\"]*)\"\])?;", re.MULTILINE)


def traced():
    model = sn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(2)])
    model(sn.ones(1, 3))
    return tf.trace(model.eval(), sn.ones(5, 3))


def test_every_node_is_a_dot_node_and_every_tensor_use_an_edge():
    g = traced()
    text = g.to_dot()
    assert text.startswith('digraph "Sequential" {') and text.rstrip().endswith("}")
    assert len(NODE.findall(text)) == len(g.nodes)
    edges = EDGE.findall(text)
    assert len(edges) == sum(len(node.inputs) for node in g.nodes)
    assert ("n0", "n3", "(5, 3)") in edges  # the input into the first Linear, its shape


def test_unknown_sizes_label_the_edges():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder("float32", shape=(None, 3), name="x")
        tf.nn.relu(x)
    assert '[label="(None, 3)"]' in g.to_dot()


def test_autograd_graph_of_an_eager_loss():
    w = sn.ones(3, 2, requires_grad=True)
    loss = sn.relu(sn.ones(4, 3) @ w).sum()
    text = sn.viz.autograd_graph(loss)
    labels = re.findall(r'\[label="([^"]*)", shape=box\]', text)
    assert labels == ["Sum", "ReLU", "MatMul"]
    assert 'label="leaf (3, 2)", shape=ellipse' in text  # w; the ones need no gradient
    assert "output" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_dot_parses_the_text_and_render_writes_svg(tmp_path):
    g = traced()
    subprocess.run(["dot", "-Tsvg"], input=g.to_dot(), text=True, check=True,
                   capture_output=True)
    path = g.render(tmp_path / "graph.svg")
    assert open(path).read().lstrip().startswith(("<?xml", "<svg"))


def test_render_without_graphviz_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="needs Graphviz's 'dot' program.*apt install "
                                           "graphviz"):
        traced().render(tmp_path / "graph.png")
