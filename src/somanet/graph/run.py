"""Running a graph: each needed node once, in the recorded order, on real Tensors.

An ``op`` node runs ``node.op.apply(*inputs, **node.params)``: the same Function,
through the same entry point, as in eager mode, so the outputs carry autograd
and ``backward()`` reaches the Parameters a graph captured. Nodes that change
state (``assign``, ``init``, ``minimize``), and everything computed from them, run
after the rest: a ``Session.run([train_op, loss])`` returns the loss the update
was computed from.
"""
import numpy

from ..autograd import enable_grad, no_grad
from ..backend import as_dtype
from ..tensor import Tensor
from .graph import current_graph, paused
from .tensor import STRING, SymbolicTensor

STATE_KINDS = ("assign", "init", "minimize")


def execute(graph, roots, feeds, record_gradients=None):
    """Run what ``roots`` (nodes of ``graph``) need; return ``{id(node): outputs}``.

    Args:
        feeds: ``{id(placeholder node): value}``: a Tensor, or a bytes string for a string
            placeholder.
        record_gradients: ``None`` keeps the caller's autograd mode (``no_grad`` or not);
            ``False`` runs without recording gradients. A ``minimize`` among the nodes
            always records them.
    """
    steps, training = _plan(graph, roots)
    values = {}
    with (enable_grad() if training else no_grad() if record_gradients is False
          else _unchanged()):
        for node, key, sources in steps:
            values[key] = _run_node(node, [values[source][index] for source, index in sources],
                                    feeds)
    return values


def _plan(graph, roots):
    """The nodes ``roots`` need, in the order they run, with where each input comes from
    (``[(node, id(node), [(id(input node), output index)...])]``), and whether a
    ``minimize`` is among them; cached per graph while it does not grow."""
    key = (len(graph.nodes), tuple(id(root) for root in roots))
    found = graph.plans.get(key)
    if found is not None:
        return found
    needed = _needed(roots)
    deferred = set()
    for node in graph.nodes:  # state changes, and what depends on them, run last
        if id(node) in needed and (node.kind in STATE_KINDS or
                                   any(id(t.node) in deferred for t in node.inputs)):
            deferred.add(id(node))
    steps = [(node, id(node), [(id(t.node), t.index) for t in node.inputs])
             for wave in (False, True) for node in graph.nodes
             if id(node) in needed and (id(node) in deferred) == wave]
    training = any(node.kind == "minimize" for node, _, _ in steps)
    graph.plans[key] = found = (steps, training)
    return found


class _unchanged:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _needed(roots):
    needed, stack = set(), list(roots)
    while stack:
        node = stack.pop()
        if id(node) in needed:
            continue
        needed.add(id(node))
        stack.extend(tensor.node for tensor in node.inputs)
    return needed


def _run_node(node, args, feeds):
    kind = node.kind
    if kind == "op":
        result = node.op.apply(*args, **node.params)
    elif kind == "call":
        result = node.fn(*args, **node.params)
    elif kind == "placeholder":
        if id(node) not in feeds:
            raise ValueError(f"the placeholder {node.outputs[0].name!r} needs a value: feed "
                             f"it (feed_dict={{placeholder: value}} in Session.run)")
        result = feeds[id(node)]
    elif kind == "constant":
        result = node.value
    elif kind == "variable":
        if not node.initialized:
            raise ValueError(f"the variable {node.outputs[0].name!r} is not initialized; run "
                             f"somanet.graph.global_variables_initializer() in the session "
                             f"first")
        result = node.value
    else:
        result = node.fn(node, *args)  # state ops carry their own runner
    return result if isinstance(result, tuple) else (result,)


def run_subgraph(graph, values):
    """Run a branch graph (of ``cond`` / ``while_loop``) with ``values`` for its
    placeholders (in ``graph.inputs`` order); return its outputs, a tuple of Tensors."""
    feeds = {id(tensor.node): value for tensor, value in zip(graph.inputs, values)}
    computed = execute(graph, [tensor.node for tensor in graph.outputs], feeds)
    return tuple(computed[id(tensor.node)][tensor.index] for tensor in graph.outputs)


def run_graph(graph, inputs):
    """``graph(*inputs)``: see ``Graph.__call__``."""
    placeholders = graph.inputs
    if len(inputs) != len(placeholders):
        raise TypeError(f"the graph takes {len(placeholders)} input(s) "
                        f"({', '.join(p.name for p in placeholders)}), got {len(inputs)}")
    # Called while another graph is being built (a traced function calling this one), its
    # ops are recorded there: the inner graph is inlined. Otherwise nothing is recorded.
    building_other = current_graph() not in (None, graph)
    feeds = {id(p.node): feed_value(p, value, exact=True, symbolic=building_other)
             for p, value in zip(placeholders, inputs)}
    if building_other:
        computed = execute(graph, [t.node for t in graph.outputs], feeds)
    else:
        with paused():
            computed = execute(graph, [t.node for t in graph.outputs], feeds)
    outputs = [computed[id(t.node)][t.index] for t in graph.outputs]
    return graph.structure(outputs)


def feed_value(placeholder, value, exact=False, symbolic=False):
    """``value`` checked against ``placeholder`` (dtype, and shape where it is fixed) and
    made a Tensor (a bytes string for a string placeholder).

    Args:
        exact: the dtype must be the placeholder's (a traced graph's signature); else
            numbers are converted to it where no information is lost (an int into a
            float placeholder), as TensorFlow does.
        symbolic: accept graph tensors (a graph inlined into another being built).
    """
    name = placeholder.name
    if placeholder.dtype == STRING:
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, bytes):
            return value
        raise TypeError(f"the placeholder {name!r} holds strings; got {type(value).__name__}")
    dtype = as_dtype(placeholder.dtype)
    if isinstance(value, SymbolicTensor) and not symbolic:
        raise TypeError(f"the placeholder {name!r} was fed the graph tensor {value.name!r}; "
                        f"feed values (arrays, numbers, Tensors), not graph tensors")
    tensor = value if isinstance(value, Tensor) else None
    if tensor is None:
        try:
            array = numpy.asarray(value)
        except Exception as error:
            raise TypeError(f"the placeholder {name!r} cannot take a "
                            f"{type(value).__name__}: {error}") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"the placeholder {name!r} holds {dtype} numbers; got a value of "
                            f"dtype {array.dtype}")
        tensor = Tensor(array, dtype=_fed_dtype(name, array.dtype, dtype, exact))
    elif tensor.dtype != dtype:
        tensor = tensor.astype(_fed_dtype(name, tensor.dtype, dtype, exact))
    _check_shape(name, placeholder.static_shape, tuple(tensor.shape))
    return tensor


def _fed_dtype(name, given, wanted, exact):
    given = numpy.dtype(given)
    if given == wanted:
        return wanted
    safe = numpy.can_cast(given, wanted, casting="same_kind") and not (
        given.kind == "f" and wanted.kind in "biu")
    python_default = given in (numpy.dtype("float64"), numpy.dtype("int64"))
    if exact and not (python_default and safe):
        raise TypeError(f"the input {name!r} was traced with dtype {wanted}; got {given} "
                        f"(cast it, or let somanet.graph.function trace a version for it)")
    if not safe:
        raise TypeError(f"the placeholder {name!r} holds {wanted}; got values of dtype "
                        f"{given}, which would lose information (cast them first)")
    return wanted


def _check_shape(name, static, shape):
    if static is None:
        return
    if len(static) != len(shape) or any(s is not None and s != g for s, g in zip(static,
                                                                             shape)):
        expected = "(" + ", ".join("None" if s is None else str(s) for s in static) + \
            ("," if len(static) == 1 else "") + ")"
        raise ValueError(f"the placeholder {name!r} takes shape {expected} (None: any "
                         f"size); got a value of shape {shape}")
