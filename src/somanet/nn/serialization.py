"""Architectures as JSON: what ``model.save`` writes and ``somanet.load_model`` reads back.

A layer's configuration is the arguments its constructor was called with: every
Module records them when it is made (``Module.__init_subclass__`` wraps each
``__init__``; only the outermost call of a construction records, so a subclass's
``super().__init__(...)`` does not overwrite them). Containers (``Sequential``,
``ModuleList``, ``ModuleDict``) and functional models describe what they hold now
instead, through ``saved_config`` / ``from_saved_config``, so ``append`` and ``add`` are kept.

Rebuilding never runs code from the file: a configuration names its class by a key
that must be in the registry. somanet's own classes are registered when they are
defined; a user's layer or model is registered with the decorator::

    import somanet as sn

    @sn.register_layer
    class Scale(sn.nn.Module):
        def __init__(self, factor=2.0):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

An unknown class is an error that names it (and says how to register it). The
arguments themselves must be JSON: numbers, strings, bools, ``None``, lists, tuples
and dicts of them, dtypes, other layers (saved as their own configurations; a layer
given twice is saved once), and somanet's named activation functions and
initialisers (``sn.relu``, ``nn.init.he_normal``). Anything else (a lambda, an array)
is an error naming the layer, the argument and the value, at save time.
"""
import functools
import inspect

import numpy

from ..backend import as_dtype

_REGISTRY = {}  # key -> class
_KEYS = {}  # class -> key
_INIT_ARGS = "_somanet_init_args"  # where a Module keeps its constructor's arguments
_SENTINEL = object()


def registry_key(cls):
    """The key a class is saved under (``None`` when it is not registered)."""
    return _KEYS.get(cls)


def register_class(cls, key=None):
    """Register ``cls`` under ``key`` (default: its module and qualified name for somanet's
    own classes, its qualified name for others). Returns ``cls``."""
    if key is None:
        key = f"{cls.__module__}.{cls.__qualname__}" if _is_own(cls) else cls.__qualname__
    if not isinstance(key, str) or not key:
        raise TypeError(f"register_layer: the name must be a non-empty string, got {key!r}")
    known = _REGISTRY.get(key)
    if known is not None and known is not cls and not _same_class(known, cls):
        raise ValueError(f"register_layer: the name {key!r} is taken by {known.__module__}."
                         f"{known.__qualname__}; give another one: "
                         f"@sn.register_layer(name='...')")
    _REGISTRY[key] = cls
    _KEYS[cls] = key
    return cls


def _same_class(first, second):
    """A class defined again (a module reloaded, a test run twice): the same definition."""
    return (first.__module__, first.__qualname__) == (second.__module__, second.__qualname__)


def _is_own(cls):
    return cls.__module__ == "somanet" or cls.__module__.startswith("somanet.")


def register_layer(cls=None, *, name=None):
    """Make a Module subclass (a layer or a model) rebuildable by ``somanet.load_model``.

    Use it as ``@sn.register_layer`` or ``@sn.register_layer(name="my_package.Scale")``;
    the name (default the class's qualified name) is what the saved JSON holds, and
    ``load_model`` rebuilds the class registered under it by calling it with the
    arguments it was made with. Returns the class unchanged.
    """
    def register(target):
        if not inspect.isclass(target):
            raise TypeError(f"register_layer decorates a class, got {type(target).__name__}")
        return register_class(target, name)
    if cls is None:
        return register
    return register(cls)


def class_named(key, custom_objects=None, what="layer"):
    """The class registered under ``key`` (or given in ``custom_objects``).

    Raises:
        ValueError: naming the unknown class and how to make it known.
    """
    if custom_objects and key in custom_objects:
        return custom_objects[key]
    short = key.rpartition(".")[2]
    if custom_objects and short in custom_objects:
        return custom_objects[short]
    found = _REGISTRY.get(key)
    if found is None:
        raise ValueError(f"the saved model uses the {what} class {key!r}, which is not "
                         f"registered here: import the code that defines it and decorate the "
                         f"class with @somanet.register_layer, or pass custom_objects="
                         f"{{{short!r}: {short}}} (nothing from the file is run)")
    return found


# -- recording constructor arguments --------------------------------------------------------

def record_init_args(cls):
    """Wrap ``cls.__init__`` (if it defines one) so that an instance keeps the arguments of
    the outermost constructor call (what ``saved_config`` saves)."""
    init = cls.__dict__.get("__init__")
    if init is None or getattr(init, "_records_args", False):
        return
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        state = self.__dict__
        if _INIT_ARGS not in state:
            state[_INIT_ARGS] = (type(self), args, kwargs)
        init(self, *args, **kwargs)
    __init__._records_args = True
    cls.__init__ = __init__


def track_class(cls):
    """What every saveable class does when defined (Modules, the Keras-named losses and
    metrics): record its constructor's arguments; somanet's own are registered."""
    record_init_args(cls)
    if _is_own(cls):
        register_class(cls)
    return cls


def init_args(obj):
    """``(args, kwargs)`` ``obj``'s class was called with (``None`` if not recorded)."""
    recorded = obj.__dict__.get(_INIT_ARGS)
    if recorded is None or recorded[0] is not type(obj):
        return None  # made another way (copied from a base class's instance, __new__...)
    return recorded[1], recorded[2]


# -- encoding -------------------------------------------------------------------------------

class Encoder:
    """Turns layers and their arguments into JSON, each layer object once (later uses
    are references to the first)."""

    def __init__(self):
        self.memo = {}  # id(module) -> its number
        self.keep = []  # the objects numbered (so ids stay unique while encoding)

    def module(self, module, where=None):
        """``{"class": key, "config": ...}`` of ``module`` (or a reference to it)."""
        where = where or type(module).__name__
        number = self.memo.get(id(module))
        if number is not None:
            return {"ref": number}
        cls = type(module)
        key = registry_key(cls)
        if key is None:
            raise TypeError(f"cannot save {where}: its class {cls.__qualname__} is not "
                            f"registered, so load_model could not rebuild it; decorate it "
                            f"with @somanet.register_layer (or save the weights alone with "
                            f"model.save_weights)")
        number = self.memo[id(module)] = len(self.memo)
        self.keep.append(module)
        if describes_itself(cls):
            return {"class": key, "id": number, "from": "saved_config",
                    "config": module.saved_config(self)}
        else:
            recorded = init_args(module)
            if recorded is None:
                raise TypeError(f"cannot save {where}: it was not made by calling "
                                f"{cls.__qualname__}(...), so its arguments are unknown")
            args, kwargs = recorded
            config = {"args": [self.value(arg, f"{where} argument {i}")
                               for i, arg in enumerate(args)],
                      "kwargs": {name: self.value(arg, f"{where} argument {name}=")
                                 for name, arg in kwargs.items()}}
        return {"class": key, "id": number, "config": config}

    def value(self, value, where):
        """One argument as JSON (see the module docstring for what is allowed)."""
        from .module import Module
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, (numpy.integer, numpy.floating, numpy.bool_)):
            return value.item()
        if isinstance(value, Module):
            return {"module": self.module(value, where)}
        if isinstance(value, list):
            return [self.value(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, tuple):
            return {"tuple": [self.value(item, f"{where}[{i}]") for i, item in
                              enumerate(value)]}
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise TypeError(f"cannot save {where}: a dict with keys that are not strings")
            return {"dict": {key: self.value(item, f"{where}[{key!r}]")
                             for key, item in value.items()}}
        if isinstance(value, numpy.dtype) or (isinstance(value, type) and
                                              issubclass(value, numpy.generic)):
            return {"dtype": str(as_dtype(value))}
        name = function_name(value)
        if name is not None:
            return {"function": name}
        if inspect.isclass(value) and registry_key(value) is not None:
            return {"class_object": registry_key(value)}
        raise TypeError(f"cannot save {where}: {type(value).__name__} {value!r:.60} is not "
                        f"JSON; give layers arguments that are numbers, strings, lists, "
                        f"dicts, layers or somanet's named functions (activation='relu')")


def _defining(cls, name):
    return next((base for base in cls.__mro__ if name in base.__dict__), None)


def describes_itself(cls):
    """Whether ``cls`` is saved by its ``saved_config`` (what it holds now: containers,
    functional models) rather than by its constructor's arguments: it has one, and no
    subclass between changed the constructor (a user's ``class Block(nn.Sequential)``
    with its own ``__init__`` is rebuilt from that ``__init__``'s arguments)."""
    config_class = _defining(cls, "saved_config")
    if config_class is None:
        return False
    init_class = _defining(cls, "__init__")
    return init_class is None or issubclass(config_class, init_class)


def function_name(function):
    """``"activation.relu"`` / ``"init.he_normal"`` for somanet's named functions."""
    for prefix, table in _function_tables():
        for name, known in table.items():
            if known is function:
                return f"{prefix}.{name}"
    return None


def _function_tables():
    from . import activation, init
    return (("activation", activation._FUNCTIONS), ("init", init._REGISTRY))


class Decoder:
    """Rebuilds layers from what ``Encoder`` wrote, through the registry only."""

    def __init__(self, custom_objects=None):
        self.custom_objects = custom_objects or {}
        self.built = {}  # number -> module

    def module(self, entry):
        if not isinstance(entry, dict):
            raise ValueError(f"a layer entry must be an object, got {entry!r:.80}")
        if "ref" in entry:
            found = self.built.get(entry["ref"])
            if found is None:
                raise ValueError(f"a layer entry refers to layer {entry['ref']!r}, which "
                                 f"is not defined before it")
            return found
        cls = class_named(entry.get("class"), self.custom_objects)
        config = entry.get("config") or {}
        if entry.get("from") == "saved_config":
            if not describes_itself(cls):
                raise ValueError(f"{cls.__qualname__} cannot be rebuilt from the saved "
                                 f"description of what it holds")
            module = cls.from_saved_config(config, self)
        else:
            args = [self.value(item) for item in config.get("args", [])]
            kwargs = {name: self.value(item) for name, item in config.get("kwargs", {}).items()}
            try:
                module = cls(*args, **kwargs)
            except TypeError as error:
                raise ValueError(f"cannot rebuild {cls.__qualname__} from the saved "
                                 f"arguments: {error}") from None
        self.built[entry.get("id")] = module
        return module

    def value(self, value):
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "module" in value:
            return self.module(value["module"])
        if "tuple" in value:
            return tuple(self.value(item) for item in value["tuple"])
        if "dict" in value:
            return {key: self.value(item) for key, item in value["dict"].items()}
        if "dtype" in value:
            return as_dtype(value["dtype"])
        if "function" in value:
            prefix, _, name = str(value["function"]).partition(".")
            for known_prefix, table in _function_tables():
                if known_prefix == prefix and name in table:
                    return table[name]
            raise ValueError(f"the saved model uses an unknown function {value['function']!r}")
        if "class_object" in value:
            return class_named(value["class_object"], self.custom_objects)
        raise ValueError(f"cannot read the saved argument {value!r:.80}")
