"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``.

    >>> import somanet as sn
    >>> from somanet import nn
    >>> model = nn.Sequential([nn.Flatten(), nn.Dense(128, activation="relu"),
    ...                        nn.Dropout(0.2), nn.Dense(10)])
    >>> len(model), type(model[1]).__name__
    (4, 'Linear')
"""
from collections import OrderedDict

from .._checks import is_int
from ..tensor import Tensor
from .module import Module
from .parameter import Parameter


def _check_module(module, where):
    if not isinstance(module, Module):
        raise TypeError(f"{where}: expected a Module, got {type(module).__name__}"
                        + (" (call the class: nn.ReLU(), not nn.ReLU)"
                           if isinstance(module, type) and issubclass(module, Module) else ""))
    return module


class _IndexedModules(Module):
    """Modules registered under the names "0", "1", ... (the list-like containers)."""

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def _index(self, index):
        count = len(self._modules)
        if not is_int(index):
            raise TypeError(f"{type(self).__name__} indices must be ints or slices, got "
                            f"{type(index).__name__}")
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for {type(self).__name__} of "
                             f"length {count}")
        return int(index) % count

    def __getitem__(self, index):
        values = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)(values[index])
        return values[self._index(index)]

    def __setitem__(self, index, module):
        key = list(self._modules)[self._index(index)]
        setattr(self, key, _check_module(module, f"{type(self).__name__}[{index}] ="))

    def __delitem__(self, index):
        values = list(self._modules.values())
        if isinstance(index, slice):
            del values[index]
        else:
            del values[self._index(index)]
        self._renumber(values)

    def _renumber(self, values):
        for key in list(self._modules):
            delattr(self, key)
        for position, module in enumerate(values):
            self.add_module(str(position), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end. Returns self."""
        self.add_module(str(len(self._modules)),
                        _check_module(module, f"{type(self).__name__}.append"))
        return self

    def extend(self, modules):
        """Append each of ``modules``. Returns self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``."""
        values = list(self._modules.values())
        values.insert(index, _check_module(module, f"{type(self).__name__}.insert"))
        self._renumber(values)


class Sequential(_IndexedModules):
    """Layers applied one after another: ``y = layer_n(...layer_1(x))``.

    Args:
        *layers: the layers, in order; or one list of layers (Keras style);
            or one ``OrderedDict`` of name -> layer (the names then appear in
            ``state_dict`` keys and error messages).

    Supports ``len``, iteration, indexing (``model[0]``, ``model[-1]``),
    slicing (``model[:2]`` is a Sequential sharing the layers), ``append``,
    ``extend`` and ``insert``. An input that is not a Tensor (a NumPy array,
    nested lists) is converted with ``somanet.tensor`` first.

        >>> import somanet as sn
        >>> from somanet import nn
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1))
        >>> model(sn.ones(2, 3)).shape
        (2, 1)
    """

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (dict, OrderedDict)):
            for name, layer in layers[0].items():
                self.add_module(str(name), _check_module(layer, f"Sequential['{name}']"))
            return
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = layers[0]
        for layer in layers:
            self.append(layer)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return super().__getitem__(index)

    def saved_config(self, encoder):
        """What ``model.save`` writes: the layers it holds now, by name."""
        return {"layers": _encoded_children(self, encoder)}

    @classmethod
    def from_saved_config(cls, config, decoder):
        return cls(_decoded_children(config, decoder))

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        for layer in self._modules.values():
            x = layer(x)
        return x


class ModuleList(_IndexedModules):
    """A list of Modules whose parameters are registered (a plain list's are not).

    Assigning a non-empty list of Modules as an attribute makes one of these
    automatically. Supports indexing, slicing, ``len``, iteration, ``append``,
    ``extend``, ``insert``.
    """

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over it and call "
                                  "each module, or use nn.Sequential")

    def saved_config(self, encoder):
        return {"layers": _encoded_children(self, encoder)}

    @classmethod
    def from_saved_config(cls, config, decoder):
        return cls(list(_decoded_children(config, decoder).values()))


class ModuleDict(Module):
    """A dict of Modules whose parameters are registered, in insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, _check_module(module, f"ModuleDict['{key}'] ="))

    def __delitem__(self, key):
        delattr(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        """Add the ``name -> Module`` pairs of a mapping (or of a list of pairs)."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(); call the modules it holds")

    def saved_config(self, encoder):
        return {"layers": _encoded_children(self, encoder)}

    @classmethod
    def from_saved_config(cls, config, decoder):
        return cls(_decoded_children(config, decoder))


def _encoded_children(container, encoder):
    """``[[name, layer config], ...]`` of a container's modules."""
    owner = type(container).__name__
    return [[name, encoder.module(module, f"{owner}[{name}] ({type(module).__name__})")]
            for name, module in container._modules.items() if module is not None]


def _decoded_children(config, decoder):
    layers = config.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(item, list) and len(item) == 2
                                               for item in layers):
        raise ValueError("a container's saved layers must be a list of [name, layer] pairs")
    return OrderedDict((str(name), decoder.module(entry)) for name, entry in layers)


class ParameterList(Module):
    """A list of Parameters, registered under the names "0", "1", ..."""

    def __init__(self, parameters=()):
        super().__init__()
        for param in parameters:
            self.append(param)

    def append(self, param):
        if not isinstance(param, Parameter):
            raise TypeError(f"ParameterList.append: expected a Parameter, got "
                            f"{type(param).__name__}")
        self.register_parameter(str(len(self._parameters)), param)
        return self

    def __getitem__(self, index):
        return list(self._parameters.values())[index]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def extra_repr(self):
        return "\n".join(f"({name}): Parameter of shape {tuple(param.shape)}"
                         for name, param in self._parameters.items())
