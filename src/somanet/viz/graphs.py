"""Pictures of computation graphs: the autograd graph behind a tensor, and recorded graphs.

    >>> import somanet as sn
    >>> w = sn.ones(3, requires_grad=True)
    >>> print(sn.viz.autograd_graph((w * 2).sum()).splitlines()[4])
      n0 [label="Sum", shape=box];
"""
from ..graph.dot import autograd_to_dot, render


def autograd_graph(tensor, path=None):
    """The graph ``tensor.backward()`` would walk, as Graphviz DOT text: a box per
    Function node, an ellipse per leaf tensor, edges labelled with shapes.

    Args:
        tensor: an eager Tensor computed with autograd (e.g. a loss).
        path: also draw it there (``.svg`` / ``.png``) with Graphviz's ``dot``.

    Returns:
        The DOT text.
    """
    text = autograd_to_dot(tensor)
    if path is not None:
        render(text, path)
    return text
