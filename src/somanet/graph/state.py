"""TensorFlow-style graph building: placeholders, constants, variables and state updates.

    >>> import somanet as sn
    >>> from somanet import graph as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     x = tf.placeholder("float32", shape=(None, 3), name="x")
    ...     w = tf.Variable(tf.zeros((3, 1)), name="w")
    ...     y = tf.matmul(x, w) + 1.0
    ...     init = tf.global_variables_initializer()
    >>> with tf.Session(g) as sess:
    ...     _ = sess.run(init)
    ...     sess.run(y, feed_dict={x: [[1.0, 2.0, 3.0]]}).tolist()
    [[1.0]]

The graph is the one being built in this thread (``with g.as_default():``), else
the process's default graph (``get_default_graph()``). A placeholder's example
value while the graph is built is ones (zeros for integers), with 2 for every
size given as ``None``; a second example (3 for those sizes) tells which sizes
of each op's output follow from them (``static_shape``).
"""
import numpy

from ..backend import as_dtype
from ..nn import init as _init
from ..ops import creation
from ..tensor import Tensor
from .graph import Graph, current_graph, enable_recording
from .tensor import STRING, SymbolicTensor

UNKNOWN_SIZE, OTHER_SIZE = 2, 3  # the example sizes of a None dimension
_default = []


def get_default_graph():
    """The graph ``placeholder``, ``constant``, ``Variable`` add to outside any
    ``with graph.as_default():`` block (made on first use)."""
    graph = current_graph()
    if graph is not None:
        return graph
    if not _default:
        _default.append(Graph("default"))
    return _default[0]


def reset_default_graph():
    """Start a new, empty default graph (the old one stays usable by those who hold it)."""
    _default[:] = [Graph("default")]
    return _default[0]


def _graph():
    graph = get_default_graph()
    enable_recording()  # ops on its tensors must be recorded from now on
    return graph


def _is_string(dtype):
    return dtype in (STRING, str, bytes) or (isinstance(dtype, str) and
                                             dtype.lower() in ("string", "str", "bytes"))


def placeholder(dtype, shape=None, name=None):
    """An input of the graph, fed when it runs (``Session.run(..., feed_dict={x: value})``).

    Args:
        dtype: ``"float32"``, ``sn.int64``... or ``somanet.graph.string`` (text).
        shape: the shape, with ``None`` for a size given at run time (``(None, 784)``: any
            number of rows); ``None``: any shape at all.
        name: its name in the graph (default ``"Placeholder"``).
    """
    graph = _graph()
    name = name or "Placeholder"
    if _is_string(dtype):
        node = graph.add_node("placeholder", name=name, dtypes=[STRING],
                              outputs=[(numpy.array(b""), None if shape is None else
                                        tuple(shape), None)])
        return node.outputs[0]
    dtype = as_dtype(dtype)
    if shape is None:
        example = (_example((), dtype), None, None)
    else:
        shape = tuple(None if size is None else int(size) for size in shape)
        first = _example(tuple(UNKNOWN_SIZE if s is None else s for s in shape), dtype)
        other = _example(tuple(OTHER_SIZE if s is None else s for s in shape), dtype) \
            if None in shape else None
        example = (first, shape, other)
    return graph.add_node("placeholder", name=name, outputs=[example]).outputs[0]


def _example(shape, dtype):
    fill = numpy.ones if dtype.kind == "f" else numpy.zeros
    return Tensor(fill(shape, dtype=dtype)).data


def constant(value, dtype=None, name=None):
    """A value fixed in the graph: a number, nested lists, an array, a Tensor, or text
    (``constant("Hello World!")``, fetched as bytes, as TensorFlow does).

    Args:
        dtype: the dtype (default: the dtype policy's, float32 for floats).
    """
    graph = _graph()
    name = name or "Const"
    if isinstance(value, (str, bytes)):
        text = value.encode("utf-8") if isinstance(value, str) else value
        node = graph.add_node("constant", name=name, dtypes=[STRING], value=text,
                              outputs=[(numpy.array(text), (), None)])
        return node.outputs[0]
    tensor = value.detach() if isinstance(value, Tensor) and \
        not isinstance(value, SymbolicTensor) else Tensor(value, dtype=dtype)
    if dtype is not None and tensor.dtype != as_dtype(dtype):
        tensor = Tensor(tensor.data.astype(as_dtype(dtype)))
    return graph.add_node("constant", name=name, value=tensor, outputs=[tensor]).outputs[0]


def _random_node(name, make, shape, dtype):
    graph = _graph()
    shape = tuple(int(size) for size in ((shape,) if isinstance(shape, int) else shape))
    example = make(shape)
    node = graph.add_node("call", name=name, fn=make, params={"shape": shape},
                          outputs=[example])
    return node.outputs[0]


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, name=None):
    """Random values from a normal distribution, redrawn where more than two standard
    deviations from the mean (TensorFlow's ``truncated_normal``). A graph node: each run
    (e.g. of ``global_variables_initializer()``) draws anew."""
    def truncated_normal(shape):
        return _init.truncated_normal(shape, mean=mean, std=stddev, dtype=dtype)
    return _random_node(name or "truncated_normal", truncated_normal, shape, dtype)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, name=None):
    """Random values from a normal distribution; a graph node that draws at each run."""
    def random_normal(shape):
        return creation.randn(*shape, dtype=dtype) * stddev + mean
    return _random_node(name or "random_normal", random_normal, shape, dtype)


def zeros(shape, dtype=None, name=None):
    """A constant of zeros (float32 by default)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return constant(creation.zeros(*shape, dtype=dtype), name=name or "zeros")


def ones(shape, dtype=None, name=None):
    """A constant of ones (float32 by default)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return constant(creation.ones(*shape, dtype=dtype), name=name or "ones")


# -- variables and state ----------------------------------------------------------------------

def Variable(initial_value, name=None, dtype=None, trainable=True):
    """A tensor of the graph that keeps its value between runs and can be changed
    (``assign``, an optimiser's ``minimize``). It has no value until its initializer runs
    (``global_variables_initializer()``); reading it before is an error naming it.

    The returned tensor is the variable itself: give it to an optimiser
    (``sn.optim.SGD([w, b], lr=0.5)``) and ``minimize`` updates it in place.

    Args:
        initial_value: a graph tensor (``truncated_normal(...)``, ``zeros(...)``) or a
            value (a number, lists, an array, a Tensor).
        name: its name (default ``"Variable"``).
        dtype: cast the initial value to this dtype.
        trainable: whether it requires grad (floats only).
    """
    graph = _graph()
    initial = initial_value if isinstance(initial_value, SymbolicTensor) else \
        constant(initial_value, dtype=dtype, name=(name or "Variable") + "/initial_value")
    graph.tensor(initial)  # an initial value from another graph is an error here
    data = initial.data if dtype is None else initial.data.astype(as_dtype(dtype))
    node = graph.add_node("variable", name=name or "Variable",
                          outputs=[(data.copy(), initial.static_shape, None)],
                          params={"initial_value": initial})
    variable = node.outputs[0]
    node.value, node.initialized = variable, False
    if trainable and data.dtype.kind == "f":
        variable._requires_grad = True
    return variable


def _state_node(kind, name, runner, inputs, params, outputs=()):
    graph = _graph()
    inputs = [graph.tensor(tensor) for tensor in inputs]
    return graph.add_node(kind, name=name, fn=runner, params=params, inputs=inputs,
                          outputs=outputs)


def _variable_node(variable, who):
    if not (isinstance(variable, SymbolicTensor) and variable.node.kind == "variable"):
        raise TypeError(f"{who}: expected a graph Variable, got "
                        f"{type(variable).__name__} {getattr(variable, 'name', '')!r}")
    return variable.node


def _write(node, value):
    variable = node.value
    array = value.data if isinstance(value, Tensor) else value
    if tuple(array.shape) != tuple(variable.data.shape):
        raise ValueError(f"assign: the variable {variable.name!r} has shape "
                         f"{tuple(variable.data.shape)}; the value has shape "
                         f"{tuple(array.shape)}")
    variable.data = array.astype(variable.data.dtype, copy=True)
    node.initialized = True
    return variable


def assign(variable, value, name=None):
    """A graph op that sets ``variable`` to ``value`` when run (and gives the new value).

    Args:
        variable: a ``Variable``.
        value: a graph tensor or a value of the variable's shape.
    """
    node = _variable_node(variable, "assign")
    value = value if isinstance(value, SymbolicTensor) else constant(value,
                                                                     dtype=variable.dtype)

    def run(state, new):
        return _write(node, new)
    return _state_node("assign", name or "Assign", run, [value], {"variable": variable.name},
                       outputs=[variable.data]).outputs[0]


def assign_add(variable, delta, name=None):
    """A graph op that adds ``delta`` to ``variable`` when run (and gives the new value)."""
    node = _variable_node(variable, "assign_add")
    delta = delta if isinstance(delta, SymbolicTensor) else constant(delta,
                                                                     dtype=variable.dtype)

    def run(state, step):
        if not node.initialized:
            raise ValueError(f"assign_add: the variable {variable.name!r} is not "
                             f"initialized; run global_variables_initializer() first")
        return _write(node, variable.data + step.data)
    return _state_node("assign", name or "AssignAdd", run, [delta],
                       {"variable": variable.name}, outputs=[variable.data]).outputs[0]


class Operation:
    """A graph op with no value, run for what it does (TensorFlow's ``Operation``):
    ``global_variables_initializer()``, ``optimizer.minimize(loss)``. Fetching it in
    ``Session.run`` gives ``None``."""

    def __init__(self, node):
        self.node = node
        self.graph = node.graph

    @property
    def name(self):
        return self.node.name

    def __repr__(self):
        return f"Operation({self.name!r}, {self.node.kind})"


def global_variables_initializer():
    """The op that sets every variable of the graph (made so far) to its initial value."""
    graph = _graph()
    nodes = [node for node in graph.nodes if node.kind == "variable" and
             "initial_value" in node.params]
    return variables_initializer([node.outputs[0] for node in nodes], name="init")


def variables_initializer(variables, name="init"):
    """The op that sets each of ``variables`` to its initial value."""
    nodes = [_variable_node(variable, "variables_initializer") for variable in variables]

    def run(state, *values):
        for node, value in zip(nodes, values):
            _write(node, value)
    initial = [node.params["initial_value"] for node in nodes]
    return Operation(_state_node("init", name, run, initial,
                                 {"variables": [node.name for node in nodes]}))


def minimize(optimizer, loss, name=None):
    """The op that, when run, computes ``loss``, backpropagates it and takes one step of
    ``optimizer`` (then clears the gradients): ``optimizer.minimize(loss)``.

    Args:
        optimizer: any somanet optimiser, made for the variables to train.
        loss: a 0-d graph tensor.
    """
    if not isinstance(loss, SymbolicTensor):
        raise TypeError(f"minimize: expected a graph tensor (the loss), got "
                        f"{type(loss).__name__}")
    if loss.static_shape not in ((), None) and loss.data.ndim != 0:
        raise ValueError(f"minimize: the loss must be a scalar (0-d), got "
                         f"{loss.name!r} of shape {loss.static_shape}; reduce it first "
                         f"(e.g. reduce_mean)")

    def run(state, value):
        value.backward()
        optimizer.step()
        optimizer.zero_grad()

    return Operation(_state_node("minimize", name or type(optimizer).__name__, run, [loss],
                                 {"optimizer": type(optimizer).__name__}))
