"""Control flow as graph nodes: ``cond`` (branching) and ``while_loop`` (looping).

Both work on eager tensors too (they just branch or loop in Python), inside a
traced function, and in a TensorFlow-style graph. In a graph, each branch (or the
loop's condition and body) is traced into a branch graph of its own; the node
runs the one the predicate picks, op by op as eager code does, so gradients flow
through the branch taken and through every iteration a loop ran.

    >>> import somanet as sn
    >>> def f(x):
    ...     return sn.graph.cond(x.sum() > 0, lambda: x * 2, lambda: -x)
    >>> g = sn.graph.trace(f, sn.ones(3))
    >>> g(sn.ones(3)).tolist(), g(-sn.ones(3)).tolist()
    ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
"""
from ..tensor import Tensor
from .graph import Graph, building, current_graph
from .run import run_subgraph
from .structure import flatten, rebuild
from .tensor import SymbolicTensor


def _graph_of(values):
    graph = current_graph()
    if graph is not None:
        return graph
    return next((value.graph for value in values if isinstance(value, SymbolicTensor)), None)


def _branch(parent, fn, args, name):
    """Trace ``fn(*args)`` into a branch graph of ``parent``; ``args`` are placeholders
    standing for the given tensors."""
    graph = Graph(name, parent=parent)
    with building(graph):
        placeholders = []
        for index, value in enumerate(args):
            node = graph.add_node("placeholder", name=f"{name}/input_{index}",
                                  outputs=[(value.data, value.static_shape, None)])
            placeholders.append(node.outputs[0])
        result = fn(*placeholders)
        leaves, spec = flatten(result, lambda item: isinstance(item, Tensor))
        for leaf in leaves:
            if not isinstance(leaf, Tensor):
                raise TypeError(f"{name}: the function returned a {type(leaf).__name__}; it "
                                f"must return tensors (or tuples, lists, dicts of them)")
        graph.outputs = [graph.tensor(leaf) for leaf in leaves]
    graph.output_spec = spec
    return graph


def _merge_shapes(first, second):
    if first is None or second is None or len(first) != len(second):
        return None
    return tuple(a if a == b else None for a, b in zip(first, second))


def cond(pred, true_fn, false_fn, name=None):
    """``true_fn()`` if ``pred`` holds, else ``false_fn()``; a graph node when built in
    a graph (both branches are traced, the one ``pred`` picks runs).

    Args:
        pred: a bool (or 0-d) tensor, or a Python bool.
        true_fn, false_fn: functions of no arguments returning tensors with the same
            structure and dtypes (they may use any tensor in scope).
        name: the node's name (default ``"cond"``).

    Returns:
        What the branch returns.
    """
    graph = _graph_of([pred])
    if graph is None:  # eager
        return true_fn() if bool(pred) else false_fn()
    name = graph.unique_name(name or "cond")
    pred = graph.tensor(pred if isinstance(pred, Tensor) else Tensor(bool(pred)))
    branches = [_branch(graph, true_fn, (), f"{name}/true"),
                _branch(graph, false_fn, (), f"{name}/false")]
    first, second = branches
    if len(first.outputs) != len(second.outputs) or \
            [t.dtype for t in first.outputs] != [t.dtype for t in second.outputs]:
        raise ValueError(f"{name}: the branches must return the same number of tensors "
                         f"with the same dtypes; true_fn gives "
                         f"{[(t.static_shape, str(t.dtype)) for t in first.outputs]}, false_fn "
                         f"{[(t.static_shape, str(t.dtype)) for t in second.outputs]}")
    outer = _outer_inputs(graph, branches)
    chosen = first if bool(pred.data) else second
    examples = [(out.data, _merge_shapes(out.static_shape, other.static_shape), None)
                for out, other in zip(chosen.outputs, (second if chosen is first else
                                                       first).outputs)]

    def run_cond(predicate, *values):
        branch = first if bool(predicate.data) else second
        found = dict(zip(map(id, outer), values))
        return run_subgraph(branch, [found[id(o)] for _, o in branch.outer_captures])

    run_cond.__name__ = "cond"
    node = graph.add_node("call", name=name, fn=run_cond, inputs=[pred] + outer,
                          outputs=examples)
    node.subgraphs = branches
    return rebuild(first.output_spec, node.outputs)


def _outer_inputs(graph, branches):
    """The tensors of ``graph`` the branches read (their captures), each once."""
    outer, seen = [], set()
    for branch in branches:
        for _, value in branch.outer_captures:
            tensor = graph.tensor(value)
            if id(tensor) not in seen:
                seen.add(id(tensor))
                outer.append(tensor)
    # A branch's capture refers to the tensor as ``graph`` sees it.
    for branch in branches:
        for node in branch.nodes:
            if "outer" in node.params:
                node.params["outer"] = graph.tensor(node.params["outer"])
    return outer


def while_loop(cond, body, loop_vars, maximum_iterations=None, name=None):
    """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds; a graph
    node when built in a graph (condition and body traced once, looped at run time).

    Args:
        cond: a function of the loop variables returning a bool (0-d) tensor.
        body: a function of the loop variables returning new values for them, with the
            same dtypes and shapes (sizes given as ``None`` may change).
        loop_vars: the initial values: a tensor or a list / tuple of them.
        maximum_iterations: stop after this many iterations at most.
        name: the node's name (default ``"while"``).

    Returns:
        The loop variables after the last iteration (a tensor if one was given, else a
        tuple).
    """
    single = isinstance(loop_vars, Tensor)
    values = [loop_vars] if single else list(loop_vars)
    graph = _graph_of(values)
    if graph is None:  # eager
        count = 0
        while (maximum_iterations is None or count < maximum_iterations) and \
                bool(cond(*values)):
            values = _as_list(body(*values), len(values), "while_loop")
            count += 1
        return values[0] if single else tuple(values)
    name = graph.unique_name(name or "while")
    values = [graph.tensor(value if isinstance(value, Tensor) else Tensor(value))
              for value in values]
    test = _branch(graph, cond, values, f"{name}/cond")
    step = _branch(graph, lambda *args: tuple(_as_list(body(*args), len(values), name)),
                   values, f"{name}/body")
    if len(test.outputs) != 1:
        raise ValueError(f"{name}: cond must return one bool tensor, got "
                         f"{len(test.outputs)} tensors")
    for index, (old, new) in enumerate(zip(values, step.outputs)):
        if old.dtype != new.dtype:
            raise ValueError(f"{name}: body changes loop variable {index} from dtype "
                             f"{old.dtype} to {new.dtype}; it must keep each one's dtype")
    outer = _outer_inputs(graph, [test, step])
    count = len(values)

    def run_while(*inputs, maximum_iterations):
        current, found = list(inputs[:count]), dict(zip(map(id, outer), inputs[count:]))
        test_outer = [found[id(o)] for _, o in test.outer_captures]
        step_outer = [found[id(o)] for _, o in step.outer_captures]
        iterations = 0
        while maximum_iterations is None or iterations < maximum_iterations:
            (go,) = run_subgraph(test, current + test_outer)
            if not bool(go.data):
                break
            current = list(run_subgraph(step, current + step_outer))
            iterations += 1
        return tuple(current)

    examples = [(old.data, _merge_shapes(old.static_shape, new.static_shape), None)
                for old, new in zip(values, step.outputs)]
    run_while.__name__ = "while_loop"
    node = graph.add_node("call", name=name, fn=run_while, inputs=values + outer,
                          params={"maximum_iterations": maximum_iterations},
                          outputs=examples)
    node.subgraphs = [test, step]
    return node.outputs[0] if single else tuple(node.outputs)


def _as_list(result, count, who):
    items = [result] if isinstance(result, Tensor) else list(result)
    if len(items) != count:
        raise ValueError(f"{who}: body returned {len(items)} values for {count} loop "
                         f"variables")
    return items
