"""Seeing a graph: Graphviz DOT text, and drawing it with Graphviz's ``dot``.

``graph_to_dot(g)`` draws a recorded graph: a box per op, an ellipse per input,
a note per variable or constant, and an edge per tensor, labelled with its shape.
``autograd_to_dot(tensor)`` draws the graph backward() walks from an eager tensor:
the Function nodes that made it, back to the leaves.
"""
import os
import shutil
import subprocess

from ..autograd.function import LEAF
from .tensor import shape_text

SHAPES = {"placeholder": "ellipse", "constant": "note", "variable": "cylinder",
          "op": "box", "call": "box3d", "assign": "hexagon", "init": "hexagon",
          "minimize": "hexagon"}


def _quote(text):
    """``text`` as a DOT string (quotes and backslashes escaped, newlines as ``\\n``)."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def graph_to_dot(graph):
    """``graph`` as DOT text: one DOT node per graph node, one edge per tensor use."""
    ids = {id(node): f"n{number}" for number, node in enumerate(graph.nodes)}
    lines = [f"digraph {_quote(graph.name or 'graph')} {{", "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for node in graph.nodes:
        label = node.name if node.what == node.name else f"{node.name}\n{node.what}"
        lines.append(f"  {ids[id(node)]} [label={_quote(label)}, "
                     f"shape={SHAPES.get(node.kind, 'box')}];")
    for node in graph.nodes:
        for tensor in node.inputs:
            lines.append(f"  {ids[id(tensor.node)]} -> {ids[id(node)]} "
                         f"[label={_quote(shape_text(tensor.static_shape))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def autograd_to_dot(tensor, name="autograd"):
    """The autograd graph behind ``tensor`` as DOT text: a box per Function node that
    ``backward()`` would visit, an ellipse per leaf that gets a gradient, edges from
    inputs to the ops that used them, labelled with the shapes."""
    root = tensor.grad_fn
    lines = [f"digraph {_quote(name)} {{", "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    if root is None:
        lines.append(f"  leaf [label={_quote('leaf ' + shape_text(tensor.shape))}, "
                     f"shape=ellipse];")
        return "\n".join(lines + ["}"]) + "\n"
    ids, order, stack = {}, [], [root]
    while stack:  # every node once, without recursion
        node = stack.pop()
        if id(node) in ids:
            continue
        ids[id(node)] = f"n{len(ids)}"
        order.append(node)
        for parent in node.parents:
            if parent is not None and parent[1] != LEAF:
                stack.append(parent[0])
    leaves = {}
    for node in order:
        lines.append(f"  {ids[id(node)]} [label={_quote(type(node).__name__)}, shape=box];")
    for node in order:
        for parent in node.parents:
            if parent is None:
                continue
            source, index, shape, _ = parent
            if index == LEAF:
                if id(source) not in leaves:
                    leaves[id(source)] = f"leaf{len(leaves)}"
                    label = (source.name or "leaf") + " " + shape_text(shape)
                    lines.append(f"  {leaves[id(source)]} [label={_quote(label)}, "
                                 f"shape=ellipse];")
                start = leaves[id(source)]
            else:
                start = ids[id(source)]
            lines.append(f"  {start} -> {ids[id(node)]} [label={_quote(shape_text(shape))}];")
    lines.append(f"  output [label={_quote('output ' + shape_text(tensor.shape))}, "
                 f"shape=ellipse];")
    lines.append(f"  {ids[id(root)]} -> output;")
    return "\n".join(lines + ["}"]) + "\n"


def render(dot_text, path):
    """Draw ``dot_text`` into ``path`` with Graphviz's ``dot`` (the format from the
    extension: ``.svg``, ``.png``, ``.pdf``); returns ``path``.

    Raises:
        RuntimeError: Graphviz is not installed (saying how to install it).
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lstrip(".").lower() or "svg"
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError("drawing a graph needs Graphviz's 'dot' program, which is not "
                           "installed: apt install graphviz (Debian/Ubuntu), brew install "
                           "graphviz (macOS) or conda install graphviz; or save to_dot()'s "
                           "text to a .dot file and open it in any Graphviz viewer")
    result = subprocess.run([program, f"-T{extension}", "-o", path], input=dot_text,
                            text=True, capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"dot could not draw {path}: {result.stderr.strip()}")
    return path
