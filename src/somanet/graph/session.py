"""``Session``: runs the parts of a graph that fetched values need, with fed inputs.

    >>> from somanet import graph as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     hello = tf.constant("Hello World!")
    ...     x = tf.placeholder("float32")
    ...     y = x * 2
    >>> with tf.Session(g) as sess:
    ...     sess.run(hello), float(sess.run(y, feed_dict={x: 21}))
    (b'Hello World!', 42.0)
"""
import numpy

from ..backend import to_numpy
from ..tensor import Tensor
from .graph import paused
from .run import execute, feed_value
from .state import Operation, get_default_graph
from .structure import flatten, rebuild
from .tensor import STRING, SymbolicTensor


class Session:
    """An environment that runs a graph (TensorFlow's ``tf.Session``).

    Variables keep their values in the graph itself, so every session of one graph
    sees the same values (TensorFlow keeps one copy per session).

    Args:
        graph: the graph to run (default: the one being built, or the default graph).
    """

    def __init__(self, graph=None):
        self.graph = graph if graph is not None else get_default_graph()
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """End the session (``run`` is an error afterwards)."""
        self.closed = True

    def run(self, fetches, feed_dict=None):
        """Compute ``fetches`` and return their values in the same structure.

        Args:
            fetches: a graph tensor, an op (``global_variables_initializer()``,
                ``optimizer.minimize(loss)``: fetched as ``None``), or a list, tuple or
                dict of them (nested as you like).
            feed_dict: ``{placeholder: value}``: a value per placeholder the fetches
                need (arrays, nested lists, numbers, Tensors; text for a string
                placeholder), checked against its dtype and shape.

        Returns:
            NumPy arrays (0-d ones as NumPy scalars), bytes for text, ``None`` for ops.
        """
        if self.closed:
            raise RuntimeError("Session.run: this session is closed")
        leaves, spec = flatten(fetches, lambda item: isinstance(item, (SymbolicTensor,
                                                                       Operation)))
        for leaf in leaves:
            self._check_fetch(leaf)
        feeds = {}
        for key, value in (feed_dict or {}).items():
            if not (isinstance(key, SymbolicTensor) and key.node.kind == "placeholder"):
                raise TypeError(f"Session.run: the keys of feed_dict must be placeholders; "
                                f"got {getattr(key, 'name', None) or type(key).__name__}")
            if key.graph is not self.graph:
                raise ValueError(f"Session.run: the placeholder {key.name!r} belongs to "
                                 f"another graph")
            feeds[id(key.node)] = feed_value(key, value)
        with paused():
            computed = execute(self.graph, [leaf.node for leaf in leaves], feeds,
                               record_gradients=False)
        values = [None if isinstance(leaf, Operation) else
                  _host(computed[id(leaf.node)][leaf.index], leaf) for leaf in leaves]
        return rebuild(spec, values)

    def _check_fetch(self, leaf):
        if not isinstance(leaf, (SymbolicTensor, Operation)):
            raise TypeError(f"Session.run: cannot fetch a {type(leaf).__name__}; fetch graph "
                            f"tensors and ops (or lists, tuples and dicts of them)")
        if leaf.graph is not self.graph:
            raise ValueError(f"Session.run: {leaf.name!r} belongs to another graph than this "
                             f"session's")


def _host(value, leaf):
    if leaf.dtype == STRING:
        return value
    array = to_numpy(value.data if isinstance(value, Tensor) else value)
    return array[()] if array.ndim == 0 else numpy.array(array, copy=True)
