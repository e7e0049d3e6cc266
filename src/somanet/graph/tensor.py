"""``SymbolicTensor``: a tensor of a graph, and ``GraphCaptureError``.

A symbolic tensor is a ``Tensor`` (so every op, layer and operator accepts it)
that also names the graph node that makes it. Its ``data`` is an example value:
the real value while ``trace`` runs a program on example inputs, or a stand-in
(ones, zeros for integers) for a TensorFlow-style placeholder. Ops applied to it
are recorded into its graph (``somanet.graph.graph``); asking for its value in
Python (``.item()``, ``bool()``, ``.numpy()``) is a ``GraphCaptureError``,
because a graph cannot record a decision Python makes from a value.
"""
import inspect
import os

from ..tensor import Tensor

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STRING = "string"  # the dtype of string placeholders and constants (TensorFlow's tf.string)


class GraphCaptureError(RuntimeError):
    """A traced or graph-built program asked for the value of a graph tensor in Python
    (``.item()``, ``bool(t)``, ``if t > 0:``, ``.numpy()``), wrote into one in place, or
    called ``backward()`` on one: a graph cannot record that. Use ``somanet.graph.cond``
    / ``while_loop`` for decisions, and run the graph (``g(x)``, ``Session.run``) for
    values."""


def user_frame():
    """``"file.py:12"``: the innermost caller outside the somanet package."""
    for frame in inspect.stack()[1:]:
        if not os.path.abspath(frame.filename).startswith(_PACKAGE):
            return f"{frame.filename}:{frame.lineno}"
    return "(inside somanet)"


def shape_text(shape):
    """``(None, 784)`` for a static shape (``None``: a size not fixed); ``<unknown>`` when
    not even the rank is known."""
    if shape is None:
        return "<unknown>"
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + \
        ("," if len(shape) == 1 else "") + ")"


class SymbolicTensor(Tensor):
    """A tensor of a graph: ``graph``, the ``node`` that makes it, and which of the
    node's outputs it is (``index``).

    Attributes:
        graph: the ``Graph``.
        node: the ``Node`` producing it.
        index: its position among the node's outputs.
        static_shape: the shape with ``None`` for the sizes not fixed (a placeholder's
            batch axis, and what follows from it). ``shape`` is the example's shape, which
            the layers' own shape arithmetic works on.
    """

    graph = None
    node = None
    index = 0
    static_shape = None
    alternative = None  # a second example (other sizes for the None axes), for shapes

    @property
    def name(self):
        """TensorFlow's spelling: ``"<node name>:<output index>"``."""
        return f"{self.node.name}:{self.index}" if self.node is not None else None

    @name.setter
    def name(self, value):
        pass  # the node names it

    @property
    def dtype(self):
        return self.node.dtypes[self.index] if self.node is not None else self.data.dtype

    def __repr__(self):
        return (f"SymbolicTensor({self.name!r}, shape={shape_text(self.static_shape)}, "
                f"dtype={self.dtype})")

    # -- what a graph cannot record ---------------------------------------------------------

    def _no_value(self, what):
        made_by = self.node.describe() if self.node is not None else "a graph"
        raise GraphCaptureError(
            f"{what} of the graph tensor {self.name!r} (made by {made_by}) at "
            f"{user_frame()}: a graph tensor has no value while the graph is built, and a "
            f"graph cannot record a decision Python makes from a value. Branch with "
            f"somanet.graph.cond(pred, true_fn, false_fn) (or while_loop), and get values "
            f"by running the graph: g(x) or Session.run(tensor)")

    def item(self):
        self._no_value("item()")

    def tolist(self):
        self._no_value("tolist()")

    def numpy(self):
        self._no_value("numpy()")

    def __array__(self, dtype=None, copy=None):
        self._no_value("numpy.asarray()")

    def __bool__(self):
        self._no_value("bool()")

    def __float__(self):
        self._no_value("float()")

    def __int__(self):
        self._no_value("int()")

    def __index__(self):
        self._no_value("using as an index")

    def backward(self, *args, **kwargs):
        raise GraphCaptureError(
            f"backward() on the graph tensor {self.name!r} at {user_frame()}: a graph "
            f"records the forward computation; run it (out = g(x)) and call backward() on "
            f"the result, or fetch optimizer.minimize(loss) in a Session")

    def detach(self):
        from .graph import record_detach
        return record_detach(self)

    def _check_writable(self, what):
        raise GraphCaptureError(f"{what} into the graph tensor {self.name!r} at "
                                f"{user_frame()}: a graph does not record writes in place; "
                                f"use somanet.graph.assign(variable, value) for state")

    def __iadd__(self, other):
        self._check_writable("+=")

    def __isub__(self, other):
        self._check_writable("-=")

    def __imul__(self, other):
        self._check_writable("*=")

    def __itruediv__(self, other):
        self._check_writable("/=")

    def minimize_op(self, optimizer):
        """The graph op that ``optimizer.minimize(loss)`` returns for this loss."""
        from .state import minimize
        return minimize(optimizer, self)
