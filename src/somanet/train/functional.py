"""Keras's functional API: ``Input`` -> layers called on it -> ``Model(inputs, outputs)``.

    >>> import somanet as sn
    >>> from somanet import nn
    >>> inputs = sn.Input(shape=(2,))
    >>> hidden = nn.Dense(4, activation="sigmoid")(inputs)
    >>> outputs = nn.Dense(1)(hidden)
    >>> model = sn.Model(inputs, outputs)
    >>> hidden.shape, model(sn.ones(3, 2)).shape
    ((None, 4), (3, 1))

How it works, in two steps:

1. **Recording.** ``Input(shape)`` returns a ``KerasTensor``, a placeholder (an
   ``nn.module.Symbolic``). Calling any Module on a placeholder does not compute
   anything for real: ``Module.__call__`` hands the call to the placeholder,
   which records a ``Node`` (the module, and the arguments with placeholders
   in them) and returns new placeholders for the module's outputs. To learn
   the output shapes, and to build lazy layers (``Dense(4)`` learns its input
   size) right away, the module is run once on an example batch of one
   sample (zeros of the input shape), in evaluation mode, without gradients.
2. **Replaying.** ``Model(inputs, outputs)`` walks back from the outputs to the
   inputs and keeps the nodes in topological order (an iterative walk over
   ordered lists: deterministic). Its ``forward`` puts the real inputs where
   the ``Input`` placeholders were and calls each node's module in that order.

A layer called twice (a shared layer) is one module in the model, with one set
of weights, used by two nodes. A node may take several placeholders (in a
list, e.g. ``Concatenate()([a, b])``) and a module may return a tuple (an
LSTM's ``(outputs, state)``): each element gets its own placeholder.
"""
from .._checks import is_int
from ..autograd import no_grad
from ..backend import as_dtype, get_default_dtype
from ..nn.merge import FUNCTIONAL_FORMS, Add, Concatenate  # noqa: F401  (sn.train.Add...)
from ..nn.module import Module, Symbolic
from ..ops import zeros
from ..tensor import Tensor
from .model import Model


class Node:
    """One recorded call: ``module(*args, **kwargs)``, with ``KerasTensor`` placeholders
    inside ``args`` / ``kwargs``. An ``Input`` is a node without a module.

    Attributes:
        module: the Module called (``None`` for an input).
        args, kwargs: the call's arguments, placeholders included.
        parents: the placeholders the call consumed, in argument order.
        outputs: the placeholder(s) the call returned (same structure as the real output).
    """

    def __init__(self, module, args=(), kwargs=None, parents=(), name=None):
        self.module = module
        self.args = args
        self.kwargs = kwargs or {}
        self.parents = list(parents)
        self.outputs = None
        self.name = name

    def __repr__(self):
        what = "Input" if self.module is None else type(self.module).__name__
        return f"Node({what})"


class KerasTensor(Symbolic):
    """A placeholder for a tensor in a functional model: what ``Input`` returns and
    what layers return when called on placeholders.

    Attributes:
        shape: the batch shape, ``None`` for the batch size: ``(None, 4)``.
        dtype: the dtype the real tensor will have.
        node: the ``Node`` (layer call) that produces it.
    """

    def __init__(self, node, path, example):
        self.node = node
        self.path = path  # where this tensor sits in the node's output: () or (i, j...)
        self.example = example  # the output for the one-sample example batch

    @property
    def shape(self):
        return (None,) + tuple(self.example.shape[1:])

    @property
    def dtype(self):
        return self.example.dtype

    @property
    def ndim(self):
        return self.example.ndim

    def symbolic_call(self, module, args, kwargs):
        return _record(module, args, kwargs)

    def symbolic_op(self, name, tensors, params):
        """An op of ``somanet.ops`` called on placeholders: its merge layer, called on them
        (``sn.concatenate([a, b], axis=-1)`` is ``nn.Concatenate(axis=-1)([a, b])``)."""
        layer = FUNCTIONAL_FORMS.get(name)
        if layer is None:
            raise TypeError(f"{name}() got a KerasTensor (a functional API placeholder), "
                            f"which has no value yet; use a layer on placeholders")
        for tensor in tensors:
            if not isinstance(tensor, KerasTensor):
                raise TypeError(f"{name}(): in the functional API every input must be a "
                                f"placeholder (made from an Input), got a "
                                f"{type(tensor).__name__}")
        return layer(**params)(list(tensors))

    def __repr__(self):
        where = "Input" if self.node.module is None else type(self.node.module).__name__
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, from {where}>"

    def _no_arithmetic(self, *args):
        raise TypeError("KerasTensor (a placeholder of the functional API) has no value to "
                        "compute with yet; combine placeholders with layers, e.g. "
                        "nn.Add()([a, b]) or nn.Concatenate()([a, b]), or their functional "
                        "forms sn.add(a, b), sn.concatenate([a, b])")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_arithmetic
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = _no_arithmetic

    def __bool__(self):
        raise TypeError("a KerasTensor (functional API placeholder) has no truth value: it "
                        "holds no data until the model is called on real inputs")


def Input(shape, dtype=None, batch_size=None, name=None):
    """A placeholder for a model input of per-sample shape ``shape`` (the batch axis is
    not part of it), as Keras's ``keras.Input``.

    Args:
        shape: the shape of one sample, e.g. ``(2,)`` or ``(28, 28)``; an int means
            ``(int,)``. ``None`` entries (e.g. a variable sequence length) are allowed.
        dtype: the input's dtype (default: the default float dtype, float32; use
            ``"int64"`` for token ids).
        batch_size: accepted for Keras code; the batch size stays free.
        name: a label shown by ``summary()``.

    Returns:
        A ``KerasTensor`` with ``shape == (None, *shape)``.
    """
    if is_int(shape):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"Input: shape must be a tuple of ints (one sample's shape, no batch "
                        f"axis), got {shape!r}") from None
    if not all(size is None or (is_int(size) and size >= 0) for size in shape):
        raise ValueError(f"Input: shape must hold non-negative ints (or None), got {shape!r}")
    dtype = get_default_dtype() if dtype is None else as_dtype(dtype)
    example = zeros(1, *[1 if size is None else size for size in shape], dtype=dtype)
    node = Node(None, name=name)
    tensor = KerasTensor(node, (), example)
    tensor.declared_shape = shape
    node.outputs = tensor
    return tensor


# -- recording ---------------------------------------------------------------------------------

def _map_structure(value, fn):
    """``value`` with every KerasTensor inside lists/tuples/dicts replaced by ``fn(it)``."""
    if isinstance(value, KerasTensor):
        return fn(value)
    if type(value) in (list, tuple):
        return type(value)(_map_structure(item, fn) for item in value)
    if type(value) is dict:
        return {key: _map_structure(item, fn) for key, item in value.items()}
    return value


def _placeholders(value, found):
    _map_structure(value, found.append)
    return found


def _record(module, args, kwargs):
    """Record ``module(*args, **kwargs)`` as a Node; run it on the examples to build the
    module and learn the output shapes; return placeholders for the outputs."""
    parents = _placeholders(kwargs, _placeholders(args, []))
    example_args = _map_structure(args, lambda tensor: tensor.example)
    example_kwargs = _map_structure(kwargs, lambda tensor: tensor.example)
    modes = [(each, each.training) for each in module.modules()]
    module.eval()  # no dropout, and BatchNorm leaves its running statistics alone
    try:
        with no_grad():
            example_out = module(*example_args, **example_kwargs)
    except Exception as error:
        shapes = ", ".join(str(tensor.shape) for tensor in parents)
        error.add_note(f"(functional API: calling {type(module).__name__} on placeholders of "
                       f"shape {shapes})")
        raise
    finally:
        for each, mode in modes:
            each.training = mode
    node = Node(module, args, kwargs, parents)
    node.outputs = _wrap_outputs(example_out, node, (), module)
    return node.outputs


def _wrap_outputs(value, node, path, module):
    if isinstance(value, Tensor):
        return KerasTensor(node, path, value.detach())
    if type(value) in (list, tuple):
        return type(value)(_wrap_outputs(item, node, path + (i,), module)
                           for i, item in enumerate(value))
    if value is None:
        return None
    raise TypeError(f"functional API: {type(module).__name__} returned a "
                    f"{type(value).__name__}; layers used on Input placeholders must return "
                    f"tensors, or lists/tuples of tensors")


# -- the model -----------------------------------------------------------------------------------

def _as_list(value, what):
    if isinstance(value, KerasTensor):
        return [value], True
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, KerasTensor)
                                                           for item in value):
        return list(value), False
    raise TypeError(f"Model: {what} must be a placeholder from Input() / a layer called on one, "
                    f"or a list of them; got {type(value).__name__}"
                    + (" (a real tensor? build the model from Input placeholders)"
                       if isinstance(value, Tensor) else ""))


def _topological_order(outputs):
    """The nodes the outputs depend on, each after the nodes it consumes (iterative
    depth-first walk over ordered lists, so the order is the same every run)."""
    order, done, in_progress = [], set(), set()
    stack = [(tensor.node, False) for tensor in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            in_progress.discard(id(node))
            if id(node) not in done:
                done.add(id(node))
                order.append(node)
            continue
        if id(node) in done:
            continue
        if id(node) in in_progress:  # cannot happen with placeholders, but never loop
            raise ValueError("Model: the layer graph has a cycle")
        in_progress.add(id(node))
        stack.append((node, True))
        for parent in reversed(node.parents):
            if id(parent.node) not in done:
                stack.append((parent.node, False))
    return order


def _snake_case(name):
    out = []
    for i, char in enumerate(name):
        if char.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


class Functional(Model):
    """A model defined by placeholders: ``Model(inputs, outputs)`` (see the module docstring).

    Args:
        inputs: an ``Input`` placeholder or a list of them.
        outputs: a placeholder computed from the inputs, or a list of them.
        name: an optional name.

    Calling it: ``model(x)`` for one input; ``model(x1, x2)`` or ``model([x1, x2])`` for
    several. It returns a Tensor for one output, a list of Tensors for a list of outputs.
    Layers are registered as sub-modules named after their type (``linear``,
    ``linear_1``...), in the order they are first used.
    """

    def __init__(self, inputs=None, outputs=None, name=None):
        super().__init__(name=name)
        if inputs is None or outputs is None:
            raise TypeError("Model(inputs, outputs): give both the Input placeholder(s) and "
                            "the output placeholder(s)")
        input_list, single_input = _as_list(inputs, "inputs")
        output_list, single_output = _as_list(outputs, "outputs")
        for number, tensor in enumerate(input_list):
            if tensor.node.module is not None:
                raise ValueError(f"Model: input {number} is the output of "
                                 f"{type(tensor.node.module).__name__}, not an Input(); the "
                                 f"inputs must be the placeholders made by Input(shape)")
        if len({id(tensor) for tensor in input_list}) != len(input_list):
            raise ValueError("Model: the same Input appears twice in inputs")
        order = _topological_order(output_list)
        given = {id(tensor.node) for tensor in input_list}
        for node in order:
            if node.module is None and id(node) not in given:
                raise ValueError(f"Model: the outputs depend on an Input of shape "
                                 f"{node.outputs.shape} that is not in inputs; add it to the "
                                 f"inputs list")
        self._inputs = input_list
        self._outputs = output_list
        self._single_input = single_input
        self._single_output = single_output
        self._nodes = [node for node in order if node.module is not None]
        self._names = {}  # id(module) -> its attribute name
        counts = {}
        for node in self._nodes:
            module = node.module
            if id(module) in self._names:
                continue  # a shared layer: one module, several nodes
            base = _snake_case(type(module).__name__)
            while True:  # skip names taken, or that would hide a Model attribute ("loss")
                count = counts.get(base, 0)
                counts[base] = count + 1
                name = base if count == 0 else f"{base}_{count}"
                if name not in self._modules and not hasattr(type(self), name):
                    break
            self._names[id(module)] = name
            self.add_module(name, module)
        self._input_specs = [(tensor.declared_shape, tensor.dtype) for tensor in input_list]

    @property
    def inputs(self):
        """The Input placeholders, a list."""
        return list(self._inputs)

    @property
    def outputs(self):
        """The output placeholders, a list."""
        return list(self._outputs)

    @property
    def nodes(self):
        """The layer calls in the order they run, a list of nodes: each has ``module``
        (the layer), ``parents`` (the placeholders it was called on) and ``outputs``
        (the placeholder(s) it made). A layer called twice (shared) has two nodes."""
        return list(self._nodes)

    def num_inputs(self):
        return len(self._inputs)

    def _takes_integers(self, index):
        """The ``Input``'s dtype says: ``Input(shape, dtype="int64")`` keeps integers."""
        if index >= len(self._inputs):
            return False
        return self._inputs[index].dtype.kind in "biu"

    def num_outputs(self):
        return len(self._outputs)

    def _default_output_names(self):
        """Each output's layer name in the model (its own ``name`` if it has one), as Keras
        names outputs after their layers; an output taken twice from one layer gets
        ``_1``, ``_2``... after the first."""
        names = []
        for number, tensor in enumerate(self._outputs):
            module = tensor.node.module
            if module is None:
                name = tensor.node.name or f"input_{self._inputs.index(tensor)}"
            else:
                own = getattr(module, "name", None)
                name = own if isinstance(own, str) and own else self._names[id(module)]
            base, count = name, 0
            while name in names:
                count += 1
                name = f"{base}_{count}"
            names.append(name)
        return names

    def forward(self, *inputs):
        if len(inputs) == 1 and len(self._inputs) > 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])
        if len(inputs) != len(self._inputs):
            raise TypeError(f"the model takes {len(self._inputs)} input(s), got {len(inputs)}"
                            + ("; pass them as model(x1, x2) or model([x1, x2])"
                               if len(self._inputs) > 1 else ""))
        values = {}
        for number, (placeholder, value) in enumerate(zip(self._inputs, inputs)):
            if not isinstance(value, Tensor):
                value = Tensor(value)
            _check_input(number, placeholder, value)
            values[id(placeholder.node)] = value
        lookup = lambda tensor: _value_of(values, tensor)  # noqa: E731
        for node in self._nodes:
            args = _map_structure(node.args, lookup)
            kwargs = _map_structure(node.kwargs, lookup) if node.kwargs else {}
            values[id(node)] = node.module(*args, **kwargs)
        outputs = [_value_of(values, tensor) for tensor in self._outputs]
        return outputs[0] if self._single_output else outputs

    def extra_repr(self):
        shapes = ", ".join(str(tensor.shape) for tensor in self._inputs)
        return f"inputs: {shapes}"

    # -- saving (model.save / load_model) ---------------------------------------------------

    def saved_config(self, encoder):
        """The layer graph as JSON: the inputs, each layer once (by its attribute name),
        each call in order with the placeholders it took, and the outputs."""
        where = {id(tensor.node): ["input", number] for number, tensor in
                 enumerate(self._inputs)}
        for number, node in enumerate(self._nodes):
            where[id(node)] = ["node", number]

        def reference(tensor):
            return {"keras_tensor": where[id(tensor.node)] + [list(tensor.path)]}

        def encode(value, label):
            if isinstance(value, KerasTensor):
                return reference(value)
            if type(value) in (list, tuple):
                items = [encode(item, f"{label}[{i}]") for i, item in enumerate(value)]
                return items if type(value) is list else {"tuple": items}
            if type(value) is dict:
                return {"dict": {key: encode(item, f"{label}[{key!r}]")
                                 for key, item in value.items()}}
            return encoder.value(value, label)

        layers = [[self._names[id(module)], encoder.module(module, f"{type(self).__name__}."
                                                           f"{self._names[id(module)]}")]
                  for module in self._unique_modules()]
        nodes = []
        for node in self._nodes:
            name = self._names[id(node.module)]
            nodes.append({"layer": name, "args": encode(list(node.args), f"the call of {name}"),
                          "kwargs": encode(dict(node.kwargs), f"the call of {name}")})
        return {"name": self.name,
                "inputs": [{"shape": list(tensor.declared_shape), "dtype": str(tensor.dtype),
                            "name": tensor.node.name} for tensor in self._inputs],
                "layers": layers, "nodes": nodes,
                "outputs": [reference(tensor) for tensor in self._outputs],
                "single_input": self._single_input, "single_output": self._single_output}

    def _unique_modules(self):
        seen, modules = set(), []
        for node in self._nodes:
            if id(node.module) not in seen:
                seen.add(id(node.module))
                modules.append(node.module)
        return modules

    @classmethod
    def from_saved_config(cls, config, decoder):
        inputs = [Input(tuple(spec["shape"]), dtype=spec["dtype"], name=spec.get("name"))
                  for spec in config["inputs"]]
        layers = {str(name): decoder.module(entry) for name, entry in config["layers"]}
        made = []  # each node's outputs

        def resolve(value):
            if isinstance(value, list):
                return [resolve(item) for item in value]
            if not isinstance(value, dict):
                return value
            if "keras_tensor" in value:
                kind, number, path = value["keras_tensor"]
                tensor = inputs[number] if kind == "input" else made[number]
                for index in path:
                    tensor = tensor[index]
                return tensor
            if "tuple" in value:
                return tuple(resolve(item) for item in value["tuple"])
            if "dict" in value:
                return {key: resolve(item) for key, item in value["dict"].items()}
            return decoder.value(value)

        for node in config["nodes"]:
            module = layers.get(node["layer"])
            if module is None:
                raise ValueError(f"the saved model calls a layer {node['layer']!r} it does "
                                 f"not define")
            made.append(module(*resolve(node["args"]), **resolve(node["kwargs"])))
        outputs = [resolve(reference) for reference in config["outputs"]]
        return Model(inputs[0] if config.get("single_input") else inputs,
                     outputs[0] if config.get("single_output") else outputs,
                     name=config.get("name"))


def _value_of(values, tensor):
    value = values[id(tensor.node)]
    for index in tensor.path:
        value = value[index]
    return value


def _check_input(number, placeholder, value):
    expected = placeholder.declared_shape
    got = tuple(value.shape[1:])
    if len(got) != len(expected) or any(size is not None and size != found
                                        for size, found in zip(expected, got)):
        raise ValueError(f"input {number} expects samples of shape {expected} (batch shape "
                         f"{placeholder.shape}), got a batch of shape {tuple(value.shape)}")
