"""``Sequential``: layers one after another, with the Keras workflow (compile, fit...).

It is an ``nn.Sequential`` (indexing, slicing, ``append``, the ``state_dict`` keys
``"0.weight"``...) that is also a ``Model``. The Keras quickstart's model, and a
softmax stacked on it to turn its logits into probabilities::

    >>> import somanet as sn
    >>> from somanet import nn
    >>> model = sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
    ...                        nn.Dropout(0.2), nn.Dense(10)])
    >>> probability_model = sn.Sequential([model, nn.Softmax()])
    >>> probs = probability_model(sn.zeros(5, 28, 28))
    >>> probs.shape, round(float(probs.sum(axis=1)[0]), 5)
    ((5, 10), 1.0)

When the input shape is known at construction (an ``Input(shape)`` first, as
Keras allows, a first layer with ``input_shape=`` / ``input_dim=``, also when
added with ``add``, or a first model that knows its input), the lazy layers are
built right away, so ``summary()`` shows every output shape and ``parameters()``
works before any data is seen::

    >>> model = sn.Sequential([nn.Dense(4, input_shape=(3,)), nn.Dense(1)])
    >>> model.input_specs, sum(p.size for p in model.parameters())
    ([((3,), None)], 21)
"""
from collections import OrderedDict

from .. import nn
from ..nn.container import _decoded_children
from .functional import KerasTensor
from .model import Model


def _is_input(value):
    return isinstance(value, KerasTensor) and value.node.module is None


def _declared_input(layer):
    """``(sample shape, dtype)`` a first layer declares: Keras's ``input_shape=`` (kept by
    the layers that take it as ``layer.input_shape``: ``Dense``, the convolutions, the
    recurrent layers, ``Flatten``), or a nested model's one known input; else ``None``."""
    shape = getattr(layer, "input_shape", None)
    if shape is not None:
        return tuple(shape), None
    specs = layer.input_specs if isinstance(layer, Model) else None
    return specs[0] if specs and len(specs) == 1 else None


class Sequential(nn.Sequential, Model):
    """Layers applied one after another: ``y = layer_n(...layer_1(x))``, with ``compile``,
    ``fit``, ``evaluate``, ``predict`` and ``summary``.

    Args:
        layers: a list of layers (Keras), optionally starting with an ``Input(shape)``;
            or the layers as separate arguments (PyTorch); or an ``OrderedDict`` of
            name -> layer.
        name: an optional name.

    Shape:
        (N, *input) -> (N, *output of the last layer).
    """

    def __init__(self, layers=None, *more, name=None):
        if layers is None:
            layers = []
        elif isinstance(layers, (dict, OrderedDict)):
            layers = [layers]
        elif isinstance(layers, (list, tuple)):
            layers = list(layers)
        else:
            layers = [layers]
        layers += list(more)
        spec = None
        if layers and _is_input(layers[0]):
            spec = (layers[0].declared_shape, layers[0].dtype)
            self._input_dtype = layers[0].dtype
            layers = layers[1:]
        nn.Sequential.__init__(self, *layers)
        self.name = name
        if spec is None and len(self):
            spec = _declared_input(self[0])
        if spec is not None:
            self._build_from(spec)

    def _build_from(self, spec):
        """Record the input shape and build the lazy layers with one sample of zeros."""
        shape, dtype = spec
        if len(self):
            self.build((None,) + tuple(shape), dtype=dtype)
        else:
            self._input_specs = [(tuple(shape), dtype)]

    def add(self, layer):
        """Append ``layer`` (Keras's name for ``append``); an ``Input(shape)`` added first
        sets the input shape. Returns self."""
        if _is_input(layer):
            if len(self):
                raise ValueError("Sequential.add: an Input can only come first")
            self._input_specs = [(layer.declared_shape, layer.dtype)]
            self._input_dtype = layer.dtype
            return self
        self.append(layer)
        spec = self._input_specs[0] if self._input_specs else None
        if spec is None and len(self) == 1:
            spec = _declared_input(layer)
        if spec is not None:
            self._build_from(spec)
        return self

    def _num_inputs(self):
        return 1

    def saved_config(self, encoder):
        """What ``model.save`` writes: the layers, the name, an ``Input`` given first."""
        config = nn.Sequential.saved_config(self, encoder)
        config["name"] = self.name
        declared = getattr(self, "_input_dtype", None)
        if declared is not None and self._input_specs:
            config["input"] = {"shape": list(self._input_specs[0][0]), "dtype": str(declared)}
        return config

    @classmethod
    def from_saved_config(cls, config, decoder):
        from .functional import Input
        layers = _decoded_children(config, decoder)
        given = [layers] if layers else []
        spec = config.get("input")
        if spec is not None:
            given.insert(0, Input(tuple(spec["shape"]), dtype=spec["dtype"]))
        return cls(given, name=config.get("name"))

    def _takes_integers(self, index):
        """An ``Input(dtype="int64")`` first, or a first layer that takes integers
        (``Embedding``): integer inputs go to it as they are."""
        declared = getattr(self, "_input_dtype", None)
        if declared is not None:
            return declared.kind in "biu"
        if type(self).integer_input is not None:
            return bool(type(self).integer_input)
        first = self
        while isinstance(first, nn.Sequential) and len(first):
            first = first[0]
        if first is self:
            return False
        if isinstance(first, Model):
            return first._takes_integers(0)
        return bool(first.integer_input)

    def forward(self, x):
        return nn.Sequential.forward(self, x)
