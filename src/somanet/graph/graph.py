"""``Graph`` and ``Node``: a program recorded as the ops eager mode runs.

A graph is a list of nodes in the order they were recorded (inputs always come
first: the order is topological). A node is

- ``placeholder``: an input, fed when the graph runs;
- ``constant``: a value fixed when the graph was built;
- ``variable``: a tensor read by reference (a model's Parameter, or a
  ``Variable``), so training updates are seen;
- ``op``: one ``Function`` of ``somanet.ops`` with its attributes (``params``) and
  input tensors: the very Function eager mode runs, applied again when the graph
  runs, so gradients flow through a graph as through eager code;
- ``call``: a Python function of graph tensors (random initial values, the
  branches of ``cond`` and ``while_loop``);
- state ops (``assign``, ``init``, ``minimize``), which change variables when a
  ``Session`` runs them.

How ops get recorded: ``Function.apply`` hands every op to the recorder
installed here (``autograd.mode.recorder``). While a graph is being built in this
thread (``trace``, ``with graph.as_default():``, a branch of ``cond``) every op is
recorded into it; outside, an op with a graph tensor among its inputs is recorded
into that tensor's graph. Its outputs become ``SymbolicTensor``s. A tensor from
outside the graph met by a recorded op is captured by reference: a Parameter (or
any tensor that requires grad) as a variable, anything else as a constant.
"""
import re
import threading

import numpy

from ..autograd import no_grad
from ..autograd.mode import mode
from ..backend import as_array_like
from ..tensor import Tensor
from .tensor import GraphCaptureError, SymbolicTensor, shape_text, user_frame

KINDS = ("placeholder", "constant", "variable", "op", "call", "assign", "init", "minimize")


class Node:
    """One step of a graph.

    Attributes:
        kind: one of ``KINDS``.
        name: unique in its graph (``"matmul_2"``).
        op: the ``Function`` class of an ``op`` node (``None`` otherwise).
        fn: the Python function of a ``call`` node.
        params: the op's (or call's) non-tensor arguments, a dict.
        inputs: the ``SymbolicTensor``s it reads (of the same graph).
        outputs: the ``SymbolicTensor``s it makes.
        value: a constant's Tensor (or string), a variable's Tensor.
        dtypes: the dtype of each output.
    """

    def __init__(self, graph, kind, name, op=None, fn=None, params=None, inputs=(),
                 value=None):
        self.graph = graph
        self.kind = kind
        self.name = name
        self.op = op
        self.fn = fn
        self.params = dict(params or {})
        self.inputs = tuple(inputs)
        self.value = value
        self.outputs = []
        self.dtypes = []
        self.initialized = kind != "variable" or value is not None

    @property
    def what(self):
        """What the node does: its Function's name, its function's, or its kind."""
        if self.op is not None:
            return self.op.__name__
        if self.kind == "call":
            return getattr(self.fn, "__name__", "call")
        return self.kind

    def attributes(self):
        """The params as short text: ``"axis=1, keepdims=False"``."""
        return ", ".join(f"{key}={_short(value)}" for key, value in self.params.items()
                         if key != "outer")

    def describe(self):
        """``"compare (Compare, test=gt)"``: the name, what it does and its attributes."""
        attributes = self.attributes()
        return f"{self.name} ({self.what}{', ' + attributes if attributes else ''})"

    def __repr__(self):
        return f"Node({self.describe()}, inputs={[t.name for t in self.inputs]})"


class Graph:
    """A recorded program: nodes, the tensors between them, its inputs and outputs.

    Build one by tracing an eager program (``somanet.graph.trace(fn, *inputs)``), or
    TensorFlow-style: ``with Graph().as_default():`` then ``placeholder``,
    ``constant``, ``Variable`` and ordinary somanet maths on them. Run it with
    ``g(*inputs)`` (a traced graph) or a ``Session``.

    Attributes:
        nodes: every node, in the order recorded (a topological order).
        inputs: the placeholders (``SymbolicTensor``s), in order.
        outputs: a traced graph's results (``SymbolicTensor``s); empty for a graph
            built TensorFlow-style, whose results are what a Session fetches.
        variables: the tensors read by reference (Parameters, Variables).
        parent: the graph a branch graph (of ``cond`` / ``while_loop``) belongs to.
    """

    def __init__(self, name=None, parent=None):
        self.name = name
        self.parent = parent
        self.nodes = []
        self.outputs = []
        self.output_spec = None  # how the outputs nest (structure.flatten's spec)
        self.captures = {}  # id(outside tensor) -> the SymbolicTensor standing for it here
        self._kept = []  # the outside tensors captured (kept alive: captures are keyed by id)
        self._names = {}
        self._reserved = set()  # names handed out by unique_name, not used by a node yet
        self.variable_names = {}  # id(tensor) -> a name for it when captured
        self.plans = {}  # what running given outputs needs (somanet.graph.run._plan)

    # -- what it holds ----------------------------------------------------------------------

    @property
    def inputs(self):
        return [node.outputs[0] for node in self.nodes if node.kind == "placeholder"]

    @property
    def variables(self):
        return [node.outputs[0] for node in self.nodes if node.kind == "variable"]

    @property
    def ops(self):
        """The ``op`` nodes: one per Function call recorded."""
        return [node for node in self.nodes if node.kind == "op"]

    def __len__(self):
        return len(self.nodes)

    def __call__(self, *inputs):
        """Run the graph on ``inputs`` (one per placeholder, in order) and return its
        outputs as ordinary Tensors, with autograd: ``loss = g(x); loss.backward()``
        fills the captured Parameters' ``.grad``."""
        from .run import run_graph
        return run_graph(self, inputs)

    def structure(self, values):
        """``values`` (one per output) nested as the traced function returned them."""
        from .structure import rebuild
        if self.output_spec is None:
            return values[0] if len(values) == 1 else tuple(values)
        return rebuild(self.output_spec, values)

    def __repr__(self):
        return self.table()

    def table(self):
        """The nodes as a table: name, kind / op, inputs, output shape and dtype."""
        rows = [("name", "op", "inputs", "attributes", "shape", "dtype")]
        for node in self.nodes:
            inputs = ", ".join(tensor.name for tensor in node.inputs)
            shapes = ", ".join(shape_text(out.static_shape) for out in node.outputs) or "-"
            dtypes = ", ".join(str(dtype) for dtype in node.dtypes) or "-"
            rows.append((node.name, node.what, inputs, node.attributes(), shapes, dtypes))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                 for row in rows]
        lines.insert(1, "  ".join("-" * width for width in widths))
        title = f"Graph {self.name!r}" if self.name else "Graph"
        outputs = ", ".join(out.name for out in self.outputs)
        return "\n".join([f"{title}: {len(self.nodes)} nodes" +
                          (f", outputs {outputs}" if outputs else "")] + lines)

    def to_dot(self):
        """The graph in Graphviz's DOT language (see ``somanet.graph.dot``)."""
        from .dot import graph_to_dot
        return graph_to_dot(self)

    def render(self, path):
        """Draw the graph into ``path`` (``.svg`` or ``.png``) with Graphviz's ``dot``."""
        from .dot import render
        return render(self.to_dot(), path)

    # -- building ---------------------------------------------------------------------------

    def as_default(self):
        """A context in which this graph is the one being built: ``placeholder``,
        ``constant``, ``Variable`` add to it, and every op in this thread is recorded
        into it."""
        return building(self)

    def unique_name(self, base):
        """``base``, or ``base_1``, ``base_2``... if taken; reserved for the next node
        given that name."""
        base = base or "node"
        count = self._names.get(base, 0)
        self._names[base] = count + 1
        name = base if count == 0 else f"{base}_{count}"
        self._reserved.add(name)
        return name

    def add_node(self, kind, name=None, outputs=(), dtypes=None, **fields):
        """Add a node and return it.

        Args:
            kind: one of ``KINDS``.
            name: the base of its name (made unique: ``matmul``, ``matmul_1``...).
            outputs: an example value per output: a Tensor (an op's own result is made
                symbolic in place), an array, or ``(example, static shape, alternative
                example)``.
            dtypes: the outputs' dtypes (default: the examples').
            **fields: ``op``, ``fn``, ``params``, ``inputs``, ``value`` (see ``Node``).
        """
        if name in self._reserved:
            self._reserved.discard(name)
        else:
            name = self.unique_name(name or kind)
            self._reserved.discard(name)
        node = Node(self, kind, name, **fields)
        self.nodes.append(node)
        for index, example in enumerate(outputs):
            node.outputs.append(_symbolic(node, index, example))
        node.dtypes = list(dtypes) if dtypes is not None else \
            [out.data.dtype for out in node.outputs]
        return node

    def tensor(self, value):
        """``value`` as a tensor of this graph: its own tensors as they are, a tensor of
        an enclosing graph (for a branch graph) or an outside tensor as a capture."""
        if isinstance(value, SymbolicTensor) and value.graph is self:
            return value
        found = self.captures.get(id(value))
        if found is not None:
            return found
        if isinstance(value, SymbolicTensor) and not self._encloses(value.graph):
            raise ValueError(f"the tensor {value.name!r} belongs to another graph; a graph "
                             f"can only use its own tensors (and those of the graph it is a "
                             f"branch of)")
        if isinstance(value, SymbolicTensor):
            node = self.add_node("placeholder", name="capture", outputs=[value],
                                 params={"outer": value})
        elif isinstance(value, Tensor) and value.requires_grad:
            node = self.add_node("variable", name=self._name_of(value, "variable"),
                                 outputs=[value], value=value)
        elif isinstance(value, Tensor):
            node = self.add_node("constant", name=self._name_of(value, "constant"),
                                 outputs=[value], value=value)
        else:
            raise TypeError(f"a graph op got a {type(value).__name__}; expected a Tensor")
        self.captures[id(value)] = node.outputs[0]
        self._kept.append(value)
        return node.outputs[0]

    def _name_of(self, tensor, default):
        graph = self
        while graph is not None:
            if id(tensor) in graph.variable_names:
                return graph.variable_names[id(tensor)]
            graph = graph.parent
        return tensor.name or default

    def _encloses(self, other):
        graph = self.parent
        while graph is not None:
            if graph is other:
                return True
            graph = graph.parent
        return False

    @property
    def outer_captures(self):
        """For a branch graph: ``[(inner placeholder, the enclosing graph's tensor)]``."""
        return [(node.outputs[0], node.params["outer"]) for node in self.nodes
                if node.kind == "placeholder" and "outer" in node.params]


def _short(value):
    if isinstance(value, SymbolicTensor):
        return value.name
    if isinstance(value, numpy.dtype):
        return str(value)
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _symbolic(node, index, example):
    """The ``SymbolicTensor`` for output ``index`` of ``node``, from its example value:
    an array, a Tensor (converted in place: an op's own result), or a triple
    ``(example array, static shape, alternative example or None)``."""
    static = alternative = None
    given = isinstance(example, tuple)  # a static shape given (None: not even the rank)
    if given:
        example, static, alternative = example
    if isinstance(example, Tensor) and type(example) is Tensor and node.kind == "op":
        tensor = example  # the op's own result becomes the graph tensor the program holds
        tensor.__class__ = SymbolicTensor
        tensor._node, tensor._requires_grad = None, False  # a graph keeps no autograd
    else:
        tensor = SymbolicTensor.__new__(SymbolicTensor)
        tensor.data = example.data if isinstance(example, Tensor) else example
    tensor.graph, tensor.node, tensor.index = node.graph, node, index
    tensor.static_shape = static if given else tuple(tensor.data.shape)
    tensor.alternative = alternative
    return tensor


# -- recording --------------------------------------------------------------------------------

_local = threading.local()


def _stack():
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def current_graph():
    """The graph being built in this thread (``None`` outside ``trace``, ``as_default``
    and branch building)."""
    stack = _stack()
    return stack[-1] if stack else None


class building:
    """Make ``graph`` the one being built in this thread, inside a ``with`` block."""

    def __init__(self, graph):
        self.graph = graph

    def __enter__(self):
        _stack().append(self.graph)
        with _lock:
            _recording["scopes"] += 1
            _install()
        return self.graph

    def __exit__(self, *exc):
        _stack().pop()
        with _lock:
            _recording["scopes"] -= 1
            _install()
        return False


class paused:
    """Record nothing inside the block (a graph running, a second example going through
    an op): ops run as in eager mode."""

    def __enter__(self):
        self.saved = getattr(_local, "paused", False)
        _local.paused = True

    def __exit__(self, *exc):
        _local.paused = self.saved
        return False


# The recorder is installed only while it can have work: while a graph is being built in
# some thread, and from the first TensorFlow-style graph on (ops on its tensors are
# recorded wherever they run). Eager code otherwise pays one attribute read per op.
_lock = threading.Lock()
_recording = {"scopes": 0, "open_graphs": False}


class GraphRecorder:
    """``autograd.mode.recorder`` while graphs are being built: ops are recorded
    (``record``); state changes (``backward``, ``optimizer.step``...) run as they are
    outside a graph being built, and are an error inside one."""

    op = staticmethod(lambda cls, inputs, params, result: record(cls, inputs, params, result))

    @staticmethod
    def call(fn, args, kwargs):
        graph = current_graph()
        if graph is not None and not getattr(_local, "paused", False):
            raise GraphCaptureError(
                f"{fn.__qualname__}() while the graph {graph.name!r} is being built, at "
                f"{user_frame()}: a graph records computations, not training steps; "
                f"compile a whole training step with somanet.graph.compile(train_step)")
        return fn(*args, **kwargs)


RECORDER = GraphRecorder()


def _install():
    if mode.recorder is not None and not isinstance(mode.recorder, GraphRecorder):
        return  # a training step is being captured (somanet.graph.compiled): it decides
    mode.recorder = RECORDER if _recording["scopes"] or _recording["open_graphs"] else None


def enable_recording():
    """Keep the recorder installed from now on: a TensorFlow-style graph exists, whose
    tensors may meet ops anywhere (each op then costs a check of its inputs)."""
    with _lock:
        _recording["open_graphs"] = True
        _install()


def record(cls, inputs, params, result):
    """``Function.apply``'s hook: add the op to the graph it belongs to (see the module
    docstring) and return its outputs as ``SymbolicTensor``s; else ``result`` unchanged."""
    if getattr(_local, "paused", False):
        return result
    graph = current_graph()
    if graph is None:
        graph = next((tensor.graph for tensor in inputs
                      if type(tensor) is SymbolicTensor), None)
        if graph is None:
            return result
    with paused():
        return _record_op(graph, cls, inputs, params, result)


def _record_op(graph, cls, inputs, params, result):
    tensors = [graph.tensor(value) for value in inputs]
    parts = result if isinstance(result, tuple) else (result,)
    examples = _static_shapes(cls, tensors, params, parts)
    name = _snake_case(cls.__name__)
    node = graph.add_node("op", name=name, op=cls, params=params, inputs=tensors,
                          outputs=examples)
    outputs = tuple(node.outputs)
    return outputs if isinstance(result, tuple) else outputs[0]


def _snake_case(name):
    """A node name from a Function's: ``"MatMul"`` -> ``"matmul"``, ``"ReLU"`` ->
    ``"relu"``; names of three words or more get underscores
    (``"SparseSoftmaxCrossEntropy"`` -> ``"sparse_softmax_cross_entropy"``)."""
    words = re.findall(r"[A-Z][a-z0-9]+|[A-Z]+(?![a-z])|[a-z0-9]+", name)
    return "_".join(words).lower() if len(words) >= 3 else name.lower()


def _static_shapes(cls, tensors, params, parts):
    """Each output with its static shape: when an input has sizes not fixed (``None``),
    the op is run once more on a second example with other sizes for them, and an
    output size that changes with it is not fixed either."""
    if not any(tensor.alternative is not None for tensor in tensors):
        return list(parts)
    arrays = [tensor.alternative if tensor.alternative is not None else tensor.data
              for tensor in tensors]
    try:
        with no_grad():
            other = cls.__new__(cls).forward(*arrays, **params)
    except Exception:  # the op only works on the first example's sizes: keep them
        return list(parts)
    others = other if isinstance(other, tuple) else (other,)
    found = []
    for part, alternative in zip(parts, others):
        alternative = as_array_like(alternative, part.data)
        if alternative.shape == part.data.shape or alternative.ndim != part.data.ndim:
            found.append(part)
            continue
        static = tuple(a if a == b else None
                       for a, b in zip(part.data.shape, alternative.shape))
        found.append((part, static, alternative))
    return found


def record_detach(tensor):
    """``tensor.detach()`` of a graph tensor: a node that passes the value on without
    gradient."""
    graph = current_graph() or tensor.graph
    source = graph.tensor(tensor)
    node = graph.add_node("call", name="detach", fn=_detach, inputs=[source],
                          outputs=[(source.data, source.static_shape, source.alternative)])
    return node.outputs[0]


def _detach(value):
    return value.detach()
