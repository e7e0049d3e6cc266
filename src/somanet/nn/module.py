"""``Module``: the base class of every layer and model.

A Module owns Parameters, buffers and sub-modules, registered by plain
attribute assignment::

    import somanet as sn
    from somanet import nn

    class TwoLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(3, 4, activation="sigmoid")
            self.out = nn.Linear(4, 1, activation="sigmoid")

        def forward(self, x):
            return self.out(self.hidden(x))

    model = TwoLayer()
    model.num_parameters()         # 21 = (3*4 + 4) + (4*1 + 1)
    list(model.state_dict())       # ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']

The API is PyTorch's: ``parameters()``, ``named_parameters()``, ``modules()``,
``state_dict()`` / ``load_state_dict()``, ``train()`` / ``eval()``, ``to(device)``,
``zero_grad()``, ``apply(fn)``, ``register_buffer``, forward hooks.

Guardrails:

- a list, tuple or dict of Modules assigned as an attribute becomes a
  ``ModuleList`` / ``ModuleDict`` (so its parameters are found); a plain list
  that only gains Modules later is warned about when the parameters are listed;
- an exception raised anywhere inside ``forward`` gets the path of the
  innermost module it went through prepended to its message, e.g.
  ``Sequential[2] (Conv2D): ...`` or ``Net.encoder.fc (Linear): ...``, keeping
  its type.
"""
import types
import warnings
from collections import OrderedDict, namedtuple

from ..autograd import recordable, zero_grads
from ..backend import as_dtype, device as as_device, is_device_spec, to_device
from ..tensor import Tensor
from .parameter import Parameter
from .serialization import track_class

_EMPTY = types.MappingProxyType({})  # the registries of a Module whose __init__ did not run

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Symbolic:
    """Base class of placeholders that stand for tensors not computed yet (the functional
    API's ``Input`` in ``somanet.train`` and what layers make from it).

    Calling a Module with a placeholder as the first argument (or as the first item of a
    list/tuple first argument, for layers that take a list) does not run ``forward``: it
    returns ``placeholder.symbolic_call(module, args, kwargs)``, which records the call
    and returns new placeholders. This is the only hook the functional API needs here.
    """

    def symbolic_call(self, module, args, kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define symbolic_call")


class Module:
    """Base class of layers and models: subclass it, assign parameters and
    sub-modules in ``__init__``, compute in ``forward``, call the instance.

    Attributes:
        training: ``True`` in training mode (the default), ``False`` after ``eval()``;
            Dropout and BatchNorm read it.
    """

    training = True
    # True for a layer whose input is integer data by nature (Embedding's indices): a
    # Model whose first layer it is passes integer inputs to it as they are, where it
    # casts integer features to the default float dtype (see train.Model.__call__).
    integer_input = False
    _parameters = _EMPTY
    _buffers = _EMPTY
    _modules = _EMPTY
    _non_persistent = frozenset()
    _forward_hooks = _EMPTY
    _warned = frozenset()  # attribute names already warned about by _warn_unregistered

    def __init_subclass__(cls, **kwargs):
        # Every layer remembers its constructor's arguments (what model.save writes), and
        # somanet's own classes can be rebuilt by load_model (see nn.serialization).
        super().__init_subclass__(**kwargs)
        track_class(cls)

    def __init__(self):
        # Idempotent: a subclass may assign attributes before calling super().__init__().
        self._ensure_registries()

    def _ensure_registries(self):
        state = self.__dict__
        if "_parameters" not in state:
            state["_parameters"] = OrderedDict()
            state["_buffers"] = OrderedDict()
            state["_modules"] = OrderedDict()

    # -- calling ------------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define "
                                  f"forward(self, x) in the subclass")

    def __call__(self, *args, **kwargs):
        if args and type(args[0]) is not Tensor:  # (the common case costs one test)
            first = args[0]
            if isinstance(first, Symbolic) or (type(first) in (list, tuple) and first
                                               and isinstance(first[0], Symbolic)):
                # A placeholder of the functional API (somanet.train.Input): record it.
                placeholder = first if isinstance(first, Symbolic) else first[0]
                return placeholder.symbolic_call(self, args, kwargs)
        try:
            out = self.forward(*args, **kwargs)
        except Exception as error:
            _add_module_path(error, self)
            raise
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks.values()):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward; if it returns
        something other than ``None`` that replaces the output.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        if "_forward_hooks" not in self.__dict__:
            self.__dict__["_forward_hooks"] = OrderedDict()
        handle = _HookHandle(self._forward_hooks)
        self._forward_hooks[handle.key] = hook
        return handle

    # -- registration -------------------------------------------------------------------------

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            self._ensure_registries()
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            self._forget(name, keep=params)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter '{name}' "
                                f"of {type(self).__name__}: expected a Parameter or None "
                                f"(wrap it: nn.Parameter(value))")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to sub-module "
                                f"'{name}' of {type(self).__name__}: expected a Module or None")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer '{name}' "
                                f"of {type(self).__name__}: expected a Tensor or None")
            buffers[name] = value
        else:
            converted = _as_container(value, name, self)
            if converted is not value:
                self._forget(name, keep=modules)
                modules[name] = value = converted
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name, keep=None):
        """Unregister ``name`` (from every registry but ``keep``, where a replacement keeps
        its position)."""
        for registry in (self._parameters, self._modules, self._buffers):
            if name in registry and registry is not keep:
                del registry[name]

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or ``None`` for a slot filled later) as ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter('{name}'): expected a Parameter or None, got "
                            f"{type(param).__name__}")
        self._ensure_registries()
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Register a tensor that is state but not a parameter (BatchNorm's running mean).

        Buffers move with ``to(device)`` and are in ``state_dict()`` unless
        ``persistent=False``; optimisers never see them.
        """
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer('{name}'): expected a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._ensure_registries()
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent = self._non_persistent | {name}
        elif name in self._non_persistent:
            self._non_persistent = self._non_persistent - {name}
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        """Register ``module`` as the sub-module ``name`` (what attribute assignment does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module('{name}'): expected a Module or None, got "
                            f"{type(module).__name__}")
        self._ensure_registries()
        self._forget(name, keep=self._modules)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # -- traversal ----------------------------------------------------------------------------

    def named_modules(self, prefix=""):
        """``(name, module)`` for this module (name ``prefix``) and every sub-module below it,
        depth first, in registration order; a module reachable twice is listed once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self):
        """This module and every sub-module below it."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """``(name, module)`` for the direct sub-modules."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self):
        """The direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse):
        seen = set()
        walk = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in walk:
            module._warn_unregistered()
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix="", recurse=True):
        """``(dotted name, Parameter)`` pairs, e.g. ``("0.weight", ...)``; a parameter shared
        by two layers is listed once.

        Warns when a lazy layer below has not been built yet (its parameters do
        not exist until the first call, so an optimiser made now would miss them).
        """
        if recurse:
            self._warn_unbuilt()
        return self._named_members("_parameters", prefix, recurse)

    def _warn_unbuilt(self):
        lazy = [f"{name or type(self).__name__} ({type(module).__name__})"
                for name, module in self.named_modules() if not module._built()]
        if lazy:
            warnings.warn(f"{type(self).__name__} has layers whose input size is not known "
                          f"yet, so they have no parameters: {', '.join(lazy)}. Pass one "
                          f"batch through the model first (model(x)), or give the input "
                          f"size (e.g. Linear(784, 128), Conv2D(1, 6, 5))",
                          UserWarning, stacklevel=4)

    def parameters(self, recurse=True):
        """The Parameters of this module and (with ``recurse``) all its sub-modules."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True):
        """``(dotted name, Tensor)`` for every registered buffer."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def _warn_unregistered(self):
        """Warn about a plain list/dict attribute that holds Modules or Parameters: they are
        not registered (assigning a non-empty list converts it; appending later does not)."""
        for name, value in list(self.__dict__.items()):
            if isinstance(value, (list, tuple)):
                items = value
            elif isinstance(value, dict):
                items = value.values()
            else:
                continue
            if name.startswith("_") or name in self._warned:
                continue
            if any(isinstance(item, (Module, Parameter)) for item in items):
                self.__dict__["_warned"] = self._warned | {name}
                warnings.warn(
                    f"{type(self).__name__}.{name} is a plain {type(value).__name__} holding "
                    f"Modules or Parameters; they are not registered, so parameters(), "
                    f"state_dict() and to() do not see them. Use nn.ModuleList / "
                    f"nn.ModuleDict / nn.ParameterList, or assign the filled list",
                    UserWarning, stacklevel=4)

    def num_parameters(self, trainable_only=False):
        """How many numbers the parameters hold (each shared parameter counted once).

        Args:
            trainable_only: count only parameters with ``requires_grad``.

        A lazy layer that has not seen an input yet has no parameters to count.
        """
        return sum(param.size for _, param in self._named_members("_parameters", "", True)
                   if param.requires_grad or not trainable_only)

    @property
    def is_built(self):
        """False while a lazy layer below (``Linear(128)``) waits for its first input."""
        return all(module._built() for module in self.modules())

    def _built(self):
        return True

    # -- state --------------------------------------------------------------------------------

    def state_dict(self, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, in registration order.

        The tensors share memory with the module (as in PyTorch): copy them to
        keep a snapshot. With ``keep_vars`` they are the Parameters themselves.
        """
        state = OrderedDict()
        for module_name, module in self.named_modules(prefix):
            dot = module_name + "." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[dot + name] = param if keep_vars else param.detach()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    state[dot + name] = buffer if keep_vars else buffer.detach()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` (name -> Tensor or array) into this module, in place.

        Values are cast to each parameter's dtype and moved to its device. A lazy
        layer that has not been built takes its shape from the state dict.

        Args:
            strict: when True, missing and unexpected keys are an error; a shape
                mismatch is always an error.

        Returns:
            ``(missing_keys, unexpected_keys)``.

        Raises:
            ValueError: naming every missing, unexpected and mis-shaped key.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict expects a mapping of name -> tensor, got "
                            f"{type(state_dict).__name__}")
        expected = {}  # key -> (module, registry name, attribute name)
        for module_name, module in self.named_modules():
            dot = module_name + "." if module_name else ""
            lazy = not module._built()  # its empty slots are filled from the state dict
            for name, param in module._parameters.items():
                if param is not None or lazy:
                    expected[dot + name] = (module, "_parameters", name)
            for name, buffer in module._buffers.items():
                if (buffer is not None or lazy) and name not in module._non_persistent:
                    expected[dot + name] = (module, "_buffers", name)
        missing = [key for key in expected if key not in state_dict]
        unexpected = [key for key in state_dict if key not in expected]
        mismatched = []
        for key, (module, registry, name) in expected.items():
            if key not in state_dict:
                continue
            current = getattr(module, registry)[name]
            shape = tuple(_array_of(state_dict[key]).shape)
            if current is not None and tuple(current.shape) != shape:
                mismatched.append(f"'{key}' has shape {shape} in the state dict but "
                                  f"{tuple(current.shape)} in the model")
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        if mismatched:
            problems.append("shape mismatch: " + "; ".join(mismatched))
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed: "
                             + "; ".join(problems))
        materialised = {}
        for key, (module, registry, name) in expected.items():
            if key not in state_dict:
                continue
            current = getattr(module, registry)[name]
            value = state_dict[key]
            if current is None:
                array = _array_of(value)
                setattr(module, name, Parameter(Tensor(array)) if registry == "_parameters"
                        else Tensor(array))
                materialised[id(module)] = module
                continue
            array = _array_of(value)
            if array.dtype != current.dtype:
                array = array.astype(current.dtype)
            current.data[...] = to_device(array, current.device)
        for module in materialised.values():
            module._after_load()
        return IncompatibleKeys(missing, unexpected)

    def _after_load(self):
        """Called on a lazy module after ``load_state_dict`` gave it its parameters."""

    # -- modes, devices, gradients ------------------------------------------------------------

    def train(self, mode=True):
        """Set training mode on this module and all below it (Dropout drops, BatchNorm
        uses batch statistics). Returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self):
        """Set evaluation mode (Dropout is the identity, BatchNorm uses running statistics).
        Returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (``False``) or unfreeze every parameter. Returns self."""
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    @recordable
    def zero_grad(self, set_to_none=True):
        """Clear the gradients of every parameter: to ``None`` (the default), or to new
        arrays of zeros (never in place: a gradient array may be shared; see
        ``somanet.autograd.zero_grads``)."""
        zero_grads(self.parameters(), set_to_none)

    def to(self, target):
        """Move every parameter and buffer to a device (``"cpu"``, ``"gpu:0"``, a Device),
        or cast the float ones to a dtype (``"float64"``), in place. Returns self.

        The Parameter objects stay the same (an optimiser holding them still
        works); only their arrays are replaced. Lazy layers build on the device
        of their first input.
        """
        if is_device_spec(target):
            device = as_device(target)
            convert = lambda array: to_device(array, device)  # noqa: E731
        else:
            dtype = as_dtype(target)
            if dtype.kind != "f":
                raise TypeError(f"Module.to: parameters can only be cast to a float dtype, "
                                f"got {dtype}")
            convert = lambda array: (array.astype(dtype)  # noqa: E731
                                     if array.dtype.kind == "f" else array)
        for module in self.modules():
            for tensor in list(module._parameters.values()) + list(module._buffers.values()):
                if tensor is None:
                    continue
                tensor.data = convert(tensor.data)
                if tensor.grad is not None:
                    tensor.grad.data = convert(tensor.grad.data)
        return self

    def cpu(self):
        return self.to("cpu")

    def gpu(self, index=0):
        return self.to(f"gpu:{index}")

    def float(self):
        return self.to("float32")

    def double(self):
        return self.to("float64")

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first) and on self. Returns self."""
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    # -- printing -----------------------------------------------------------------------------

    def extra_repr(self):
        """The settings shown inside this module's parentheses; override in layers."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        children = [(name, module) for name, module in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}("]
        if extra:
            lines.append("  " + extra.replace("\n", "\n  "))
        for name, module in children:
            text = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        lines.append(")")
        return "\n".join(lines)

    def __dir__(self):
        return sorted(set(super().__dir__()))


class _HookHandle:
    _next_key = 0

    def __init__(self, hooks):
        self.hooks = hooks
        self.key = _HookHandle._next_key
        _HookHandle._next_key += 1

    def remove(self):
        self.hooks.pop(self.key, None)


def _array_of(value):
    """The array inside a state-dict value (a Tensor, a NumPy/CuPy array, nested lists)."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    return Tensor(value).data


def _as_container(value, name, owner):
    """A list/tuple/dict of Modules (or of Parameters) as a registered container; anything
    else unchanged. A mixed container is warned about (its Modules would be invisible)."""
    if isinstance(value, Module) or not isinstance(value, (list, tuple, dict)) or not value:
        return value
    items = list(value.values()) if isinstance(value, dict) else list(value)
    modules = sum(isinstance(item, Module) for item in items)
    params = sum(isinstance(item, Parameter) for item in items)
    if modules == 0 and params == 0:
        return value
    from .container import ModuleDict, ModuleList, ParameterList
    if modules == len(items):
        return ModuleDict(value) if isinstance(value, dict) else ModuleList(items)
    if params == len(items) and not isinstance(value, dict):
        return ParameterList(items)
    warnings.warn(f"{type(owner).__name__}.{name}: a {type(value).__name__} mixing Modules or "
                  f"Parameters with other values is not registered, so parameters() and "
                  f"state_dict() do not see what it holds; keep Modules in an nn.ModuleList "
                  f"or nn.ModuleDict of their own", UserWarning, stacklevel=3)
    return value


# -- the module path in error messages ---------------------------------------------------------

def _add_module_path(error, module):
    """Record that ``error`` passed out of ``module``'s forward, and rewrite its message to
    start with the path of the innermost module, as seen from the outermost one so far."""
    state = error.__dict__ if hasattr(error, "__dict__") else None
    if state is None:
        return
    chain = state.get("_somanet_modules")
    if chain is None:
        chain = state["_somanet_modules"] = []
        args = error.args
        rewritable = (type(error).__str__ is BaseException.__str__ and len(args) == 1
                      and isinstance(args[0], str))
        state["_somanet_message"] = args[0] if rewritable else None
    elif chain[-1] is module:
        return
    chain.append(module)
    path = module_path(chain)
    message = state["_somanet_message"]
    if message is not None:
        error.args = (f"{path}: {message}",)
        return
    notes = state.setdefault("__notes__", [])
    text = f"in module {path}"
    if notes and notes[-1].startswith("in module "):
        notes[-1] = text
    else:
        notes.append(text)


def module_path(chain):
    """The display path of ``chain[0]`` inside ``chain[-1]`` (``chain`` lists the modules
    a call went through, innermost first), e.g. ``Sequential[2] (Conv2D)``."""
    root = chain[-1]
    text = type(root).__name__
    for parent, child in zip(reversed(chain), reversed(chain[:-1])):
        text += _child_name(parent, child)
    if len(chain) > 1:
        text += f" ({type(chain[0]).__name__})"
    return text


def _child_name(parent, child):
    for name, module in parent._modules.items():
        if module is child:
            return _format_name(name)
    for name, module in parent.named_modules():  # called past an intermediate module
        if module is child and name:
            return "".join(_format_name(part) for part in name.split("."))
    return f".<unregistered {type(child).__name__}>"


def _format_name(name):
    return f"[{name}]" if name.isdigit() else f".{name}"
