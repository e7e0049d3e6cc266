"""Capturing an eager program as a graph: ``trace`` and ``@function``.

    >>> import somanet as sn
    >>> from somanet import nn
    >>> layer = nn.Linear(3, 2)
    >>> g = sn.graph.trace(lambda x: sn.relu(layer(x)), sn.ones(4, 3))
    >>> [node.op.__name__ for node in g.ops]
    ['Linear', 'ReLU']
    >>> g(sn.ones(4, 3)).shape
    (4, 2)
"""
import functools
import inspect

from ..autograd import no_grad
from ..tensor import Tensor
from .graph import Graph, building
from .structure import flatten


def trace(fn, *example_inputs, name=None):
    """Run ``fn(*example_inputs)`` once and record it as a ``Graph``.

    Every op the call runs (the Functions of ``somanet.ops``, inside any Module, loss or
    helper) becomes a node, with its attributes and inputs. The inputs become
    placeholders (named after ``fn``'s parameters); the Parameters and other tensors
    ``fn`` reads are captured by reference (``g.variables``: training updates are seen
    when the graph runs again); what ``fn`` returns (a tensor, or tuples, lists and dicts
    of them) becomes ``g.outputs``. The trace runs without recording gradients; running
    the graph (``g(x)``) records them as eager code does.

    What a graph cannot hold raises ``GraphCaptureError`` at the line that does it: a
    Python decision on a tensor's value (``if t > 0:``, ``.item()``, ``.numpy()``; use
    ``somanet.graph.cond``), a write into a tensor in place, ``backward()``. Random
    tensors made inside ``fn`` by creation functions (``sn.randn``) are recorded as
    constants; the random ops (dropout) draw anew at every run.

    Args:
        fn: the program: a function or Module taking tensors.
        *example_inputs: one example per input: Tensors, arrays or numbers (made
            Tensors by the dtype policy). The graph is specialised to their shapes and
            dtypes (``@function`` traces again for new ones).
        name: the graph's name (default: ``fn``'s).

    Returns:
        The ``Graph``; ``g(*inputs)`` runs it.
    """
    graph = Graph(name or getattr(fn, "__name__", None) or type(fn).__name__)
    names = _parameter_names(fn, len(example_inputs))
    graph.variable_names = _parameter_paths(fn, example_inputs)
    with building(graph), no_grad():
        placeholders = []
        for value, input_name in zip(example_inputs, names):
            # A graph tensor as an example (a traced function called while another graph is
            # built) stands for its example value.
            tensor = value if isinstance(value, Tensor) else Tensor(value)
            node = graph.add_node("placeholder", name=input_name, outputs=[tensor.data])
            placeholders.append(node.outputs[0])
        result = fn(*placeholders)
        leaves, spec = flatten(result, lambda item: isinstance(item, Tensor))
        for index, leaf in enumerate(leaves):
            if not isinstance(leaf, Tensor):
                raise TypeError(f"trace: {graph.name} returned a {type(leaf).__name__} "
                                f"(output {index}); a traced function returns tensors "
                                f"(or tuples, lists and dicts of them)")
        graph.outputs = [graph.tensor(leaf) for leaf in leaves]
        graph.output_spec = spec
    return graph


def _modules_of(fn, args):
    """``[(name, Module)]``: the Modules ``fn`` involves: ``fn`` itself (or the object of
    a bound method: name ``""``), Modules given as arguments, and Modules ``fn`` reads by
    name (closures, globals)."""
    from ..nn.module import Module
    function = getattr(fn, "__func__", fn)
    code = getattr(function, "__code__", None)
    named = [("", fn), ("", getattr(fn, "__self__", None))]
    named += list(zip(_parameter_names(fn, len(args)), args))
    if code is not None:
        cells = getattr(function, "__closure__", None) or ()
        named += [(name, cell.cell_contents) for name, cell in zip(code.co_freevars, cells)
                  if _filled(cell)]
        scope = getattr(function, "__globals__", {})
        named += [(name, scope[name]) for name in code.co_names if name in scope]
    return [(name, owner) for name, owner in named if isinstance(owner, Module)]


def _parameter_paths(fn, args):
    """``{id(tensor): "layer.weight"}`` for the Modules ``fn`` involves (``_modules_of``),
    to name the variables."""
    paths = {}
    for name, owner in _modules_of(fn, args):
        prefix = f"{name}." if name else ""
        for path, tensor in list(owner.named_parameters()) + list(owner.named_buffers()):
            paths.setdefault(id(tensor), prefix + path)
    return paths


def _filled(cell):
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _parameter_names(fn, count):
    from ..nn.module import Module
    try:
        parameters = list(inspect.signature(fn.forward if isinstance(fn, Module)
                                            else fn).parameters)
    except (TypeError, ValueError):
        parameters = []
    names = [name for name in parameters if name not in ("self", "args", "kwargs")]
    return [names[i] if i < len(names) else f"input_{i}" for i in range(count)]


class function:
    """Decorator: trace on the first call, then run the graph; trace again for a new
    input signature.

    The signature of a call is, for each argument, the shape, dtype and device of a
    Tensor (or array), or the value itself for anything else (numbers, strings: they
    are baked into that trace), plus the training / evaluation mode of every Module
    involved (``fn`` itself, the Module a method belongs to, Module arguments).

        >>> import somanet as sn
        >>> @sn.graph.function
        ... def f(x):
        ...     return (x * 2).sum()
        >>> float(f(sn.ones(3))), float(f(sn.ones(5))), len(f.graphs)
        (6.0, 10.0, 2)

    Attributes:
        graphs: ``{signature: Graph}``, one per signature traced.
    """

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.graphs = {}

    def __get__(self, instance, owner):
        if instance is None:
            return self
        bound = instance.__dict__.get(f"_graph_function_{self.__name__}")
        if bound is None:  # one cache per object: its Parameters are captured
            bound = function(self.fn.__get__(instance, owner))
            instance.__dict__[f"_graph_function_{self.__name__}"] = bound
        return bound

    def graph_for(self, *args):
        """The Graph ``self(*args)`` runs (traced now if that signature is new)."""
        key = _signature(self.fn, args)
        graph = self.graphs.get(key)
        if graph is None:
            tensors = [i for i, arg in enumerate(args) if _is_tensor_like(arg)]

            def program(*inputs):
                full = list(args)
                for position, value in zip(tensors, inputs):
                    full[position] = value
                return self.fn(*full)

            program.__name__ = getattr(self.fn, "__name__", "function")
            graph = self.graphs[key] = trace(program, *[args[i] for i in tensors])
        return graph

    def __call__(self, *args):
        graph = self.graph_for(*args)
        return graph(*[arg for arg in args if _is_tensor_like(arg)])


def _is_tensor_like(value):
    return isinstance(value, Tensor) or (hasattr(value, "shape") and hasattr(value, "dtype")
                                         and hasattr(value, "__array__"))


def _signature(fn, args, modules=None):
    """The cache key of a call (see ``function``); ``modules``: ``_modules_of(fn, args)``
    when the caller knows it already."""
    key = []
    for arg in args:
        if _is_tensor_like(arg):
            tensor = arg if isinstance(arg, Tensor) else Tensor(arg)
            key.append(("tensor", tensor.shape, tensor.dtype, tensor.device))
        else:
            try:
                hash(arg)
            except TypeError:
                raise TypeError(f"{getattr(fn, '__name__', 'function')}: a traced function's "
                                f"non-tensor arguments are part of its signature and must be "
                                f"hashable; got a {type(arg).__name__}") from None
            key.append(("value", type(arg).__name__, arg))
    if modules is None:
        modules = _modules_of(fn, args)
    key.append(("modes",) + tuple(module.training for _, owner in modules
                                  for module in owner.modules()))
    return tuple(key)


