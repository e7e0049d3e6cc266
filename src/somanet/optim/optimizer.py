"""``Optimizer``: the bookkeeping every optimiser shares.

An optimiser is two things:

- **bookkeeping**, here: parameter groups with their own hyper-parameters,
  the per-parameter state created lazily on the first step, skipping
  parameters whose ``.grad`` is ``None``, ``state_dict`` / ``load_state_dict``;
- **a pure update function** in each optimiser's module, of
  ``(param, grad, state, scratch, **hyper)`` on raw arrays (so no graph is ever
  recorded), that writes the new values into ``param`` and the state arrays in
  place. ``grad`` is read only: one gradient array may be shared by several
  parameters. ``scratch`` is a tuple of ``scratch_count`` arrays shaped like
  ``param`` for intermediate values (contents undefined on entry, views of one
  buffer the optimiser keeps), so a step allocates no parameter-sized arrays.
  ``state["step"]`` already counts the current step. A fused kernel can replace
  the function without touching the rest.

Writing an optimiser::

    def sign_update(param, grad, state, scratch, *, lr):
        (buffer,) = scratch
        xp_of(param).sign(grad, out=buffer)   # never write into grad: it may be shared
        buffer *= lr
        param -= buffer

    class SignDescent(Optimizer):
        update = staticmethod(sign_update)
        scratch_count = 1

        def __init__(self, params, lr=0.01, **unknown):
            super().__init__(params, {"lr": lr}, unknown)

        def check_hyper(self, hyper):
            return {"lr": check_lr(self, hyper["lr"])}
"""
import math

from .._checks import check_non_negative_int, check_real, is_real, owner_name, suggestion
from ..autograd import enable_grad, growth, recordable, zero_grads
from ..backend import device_of, same_device, to_device, xp_of
from ..tensor import Tensor

STATE_DICT_KEYS = ("type", "param_groups", "steps", "arrays")


class Optimizer:
    """Base class of the optimisers: parameter groups, lazy state, ``step``, ``zero_grad``,
    ``state_dict`` / ``load_state_dict``.

    Args:
        params: an iterable of Parameters (or Tensors that require grad), or of dicts,
            each a parameter group ``{"params": [...], "lr": ..., ...}`` whose keys
            override the defaults for that group; or ``None``: an optimiser bound later
            by ``build(params)`` (Keras style: ``model.compile(optimizer=SGD(lr=0.1))``
            binds it to the model's parameters). Until then ``step`` and ``zero_grad``
            raise a ``RuntimeError`` saying so.
        defaults: the hyper-parameters given to the constructor, by name.
        unknown: keyword arguments the constructor did not recognise (an error).

    Attributes:
        learning_rate: (also ``lr``) the first group's ``lr``; setting it sets every
            group's.
        param_groups: a list of dicts, each with ``"params"`` (a list of Parameters) and
            every hyper-parameter. Schedules change ``group["lr"]``.
        state: per parameter (keyed by the Parameter), a dict of its state arrays and
            ``"step"``, the number of updates applied to it. Created on its first step.
        defaults: the constructor's hyper-parameters.

    Subclasses set ``update`` (the pure update function), ``scratch_count`` (how many
    scratch arrays shaped like the parameter ``update`` needs), ``init_state`` (the
    state arrays of one parameter) and ``check_hyper`` (validate and normalise one set
    of hyper-parameters).
    """

    update = None
    scratch_count = 0

    def __init__(self, params, defaults, unknown=None):
        name = type(self).__name__
        if unknown:
            raise TypeError(unknown_option_message(name, sorted(unknown)[0], defaults))
        self.defaults = self.check_hyper(dict(defaults))
        self.param_groups = []
        self.state = {}
        self._scratch = {}  # (device, dtype) -> a flat buffer the scratch arrays are views of
        self._scratch_views = {}  # (device, dtype, shape) -> the views handed out
        if params is not None:
            self.build(params)

    @property
    def built(self):
        """Whether the optimiser has parameters: made with them, or bound later by
        ``build`` (which ``Model.compile`` / ``fit`` call for an optimiser made without
        parameters, Keras style: ``compile(optimizer=sn.optim.SGD(lr=0.1))``)."""
        return bool(self.param_groups)

    def build(self, params):
        """Bind an optimiser made without parameters (``sn.optim.Adam(lr=1e-3)``, as in
        Keras) to ``params``; ``Model.compile`` and ``fit`` do it with the model's
        parameters. Every parameter gets the constructor's hyper-parameters.

        Args:
            params: an iterable of Parameters, or of parameter-group dicts (as the
                constructor's ``params``).

        Returns:
            The optimiser.

        Raises:
            ValueError: the optimiser already has parameters (add more with
                ``add_param_group``), or ``params`` is empty.
            TypeError: ``params`` is not an ordered iterable of Parameters or dicts.

            >>> import somanet as sn
            >>> model = sn.nn.Linear(3, 1)
            >>> optimizer = sn.optim.SGD(lr=0.1).build(model.parameters())
            >>> optimizer.built, len(optimizer.parameters())
            (True, 2)
        """
        name = type(self).__name__
        if self.param_groups:
            raise ValueError(f"{name}.build: the optimizer already has "
                             f"{len(self.parameters())} parameter(s); an optimizer is bound "
                             f"once (make one optimizer per model), or add a group with "
                             f"add_param_group({{'params': [...]}})")
        if is_real(params) and not isinstance(params, Tensor):
            raise TypeError(f"{name}: the first argument is params (PyTorch's order), got the "
                            f"number {params!r}; for the learning rate write {name}(lr="
                            f"{params!r}) or {name}(learning_rate={params!r}), and leave "
                            f"params out to bind it at model.compile")
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Parameters or of dicts, got "
                            f"a single {type(params).__name__}; wrap it in a list: "
                            f"{name}([w], ...)")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered iterable (a list, or "
                            f"model.parameters()), not a set: the order of a set changes "
                            f"from run to run, and the state dict relies on the order")
        if isinstance(params, dict):
            params = [params]
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Parameters or of dicts, "
                            f"got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{name}: optimizer got an empty parameter list. Pass "
                             f"model.parameters() after the model has been built (a layer "
                             f"that infers its input size has no parameters before its first "
                             f"call), or a list of Parameters; or leave params out "
                             f"({name}(lr=...)) and give it to model.compile, which binds it "
                             f"once the model has its parameters")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)
        return self

    # -- the parts a subclass provides ---------------------------------------------------------

    def check_hyper(self, hyper):
        """Validate one complete set of hyper-parameters; return it normalised (floats,
        tuples). Raises ``TypeError`` / ``ValueError`` naming the optimiser."""
        raise NotImplementedError(f"{type(self).__name__} has no check_hyper()")

    def init_state(self, param, hyper):
        """The state arrays of one parameter (``param`` is its array), by name, created on
        its device with its dtype (``xp.zeros_like``). The default: none."""
        return {}

    # -- groups --------------------------------------------------------------------------------

    def add_param_group(self, group):
        """Add a parameter group: a dict with ``"params"`` and any hyper-parameters that
        differ from the defaults (e.g. a smaller ``lr`` for a pretrained body).

            >>> import somanet as sn
            >>> from somanet.nn.parameter import Parameter
            >>> body, head = Parameter(sn.zeros(3)), Parameter(sn.zeros(2))
            >>> optimizer = sn.optim.SGD([body], lr=0.1)
            >>> optimizer.add_param_group({"params": [head], "lr": 0.01})
            >>> [g["lr"] for g in optimizer.param_groups]
            [0.1, 0.01]
        """
        name = type(self).__name__
        number = len(self.param_groups)
        if not isinstance(group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict with 'params', got "
                            f"{type(group).__name__}; mix of Parameters and dicts in one list?")
        if "params" not in group:
            raise ValueError(f"{name}: parameter group {number} has no 'params' key; expected "
                             f"{{'params': [...], 'lr': ...}}")
        if "learning_rate" in group and "lr" in self.defaults:  # Keras's name for lr
            group = dict(group)
            group["lr"] = pick_lr(f"{name} parameter group {number}", group.get("lr"),
                                  group.pop("learning_rate"), None)
        for key in group:
            if key != "params" and key not in self.defaults:
                raise TypeError(unknown_option_message(f"{name} parameter group {number}", key,
                                                       self.defaults))
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameter group {number} gives its params as a set; use "
                            f"a list (a set's order changes from run to run)")
        else:
            params = list(params)
        if not params:
            raise ValueError(f"{name}: parameter group {number} has an empty parameter list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for index, param in enumerate(params):
            where = f"{name}: parameter {index} of group {number}"
            if not isinstance(param, Tensor):
                raise TypeError(f"{where} is a {type(param).__name__}, not a Parameter; "
                                f"pass model.parameters() or a list of Parameters")
            if param.data.dtype.kind != "f":
                raise TypeError(f"{where} has dtype {param.data.dtype}; only float tensors "
                                f"can be optimised")
            if not param.requires_grad:
                raise ValueError(f"{where} does not require grad, so it never gets a "
                                 f"gradient; use a Parameter or requires_grad=True, or leave "
                                 f"it out")
            if not param.is_leaf:
                raise ValueError(f"{where} was computed by an op (grad_fn="
                                 f"{type(param.grad_fn).__name__}); only leaf tensors can be "
                                 f"optimised: use the Parameter it was computed from")
            if id(param) in seen:
                raise ValueError(f"{where} (shape {param.shape}) appears twice in this "
                                 f"optimizer; give each parameter once")
            seen.add(id(param))
        hyper = dict(self.defaults)
        hyper.update((key, value) for key, value in group.items() if key != "params")
        if len(group) > 1:  # the group overrides some defaults: say which group is wrong
            try:
                hyper = self.check_hyper(hyper)
            except (TypeError, ValueError) as error:
                raise type(error)(f"{error} (in parameter group {number})") from None
        self.param_groups.append({"params": params, **hyper})

    def parameters(self):
        """Every parameter, group by group, in the order the state dict numbers them."""
        return [param for group in self.param_groups for param in group["params"]]

    # -- the step ------------------------------------------------------------------------------

    @recordable
    def step(self, closure=None):
        """Update every parameter that has a gradient, in place.

        Args:
            closure: optional; a function that recomputes the loss (zero the grads,
                forward, backward) and returns it. It runs with gradients on.

        Returns:
            The closure's loss, or ``None``.
        """
        if not self.param_groups:
            raise RuntimeError(self._unbound_message("step"))
        growth.monitor.optimizer_stepped()  # graphs of earlier steps still alive? (a leak)
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        update = self.update
        name = type(self).__name__
        for number, group in enumerate(self.param_groups):
            hyper = {key: group[key] for key in self.defaults}
            for index, param in enumerate(group["params"]):
                if param.grad is None:
                    continue
                array, grad = param.data, param.grad.data
                if (grad.shape != array.shape or grad.dtype != array.dtype
                        or not same_device(grad, array)):
                    raise ValueError(
                        f"{name}.step: parameter {index} of group {number} has shape "
                        f"{array.shape}, dtype {array.dtype} on {device_of(array)}, but its "
                        f"grad has shape {grad.shape}, dtype {grad.dtype} on "
                        f"{device_of(grad)}; a gradient must match its parameter")
                state = self.state.get(param)
                if state is None:
                    state = self.state[param] = {"step": 0, **self.init_state(array, hyper)}
                state["step"] += 1
                update(array, grad, state, self._scratch_like(array), **hyper)
        return loss

    def _scratch_like(self, array):
        """``scratch_count`` arrays shaped like ``array``: views of one flat buffer per
        device and dtype, sized for the largest parameter, so steps allocate nothing."""
        count = self.scratch_count
        if count == 0:
            return ()
        device = device_of(array)
        views = self._scratch_views.get((device, array.dtype, array.shape))
        if views is not None:
            return views
        size = array.size
        key = (device, array.dtype)
        buffer = self._scratch.get(key)
        if buffer is None or buffer.size < count * size:
            largest = max([size] + [p.data.size for p in self.parameters()
                                    if p.data.dtype == array.dtype
                                    and same_device(p.data, array)])
            buffer = self._scratch[key] = xp_of(array).empty(count * largest, array.dtype)
            self._scratch_views = {}  # views of the old buffer are not handed out again
        views = tuple(buffer[i * size:(i + 1) * size].reshape(array.shape)
                      for i in range(count))
        self._scratch_views[(device, array.dtype, array.shape)] = views
        return views

    @recordable
    def zero_grad(self, set_to_none=True):
        """Clear the gradients before the next backward.

        Args:
            set_to_none: ``True`` (the default) sets ``.grad`` to ``None``, freeing it;
                ``False`` gives each gradient a new array of zeros (never zeroed in place:
                one gradient array may be shared by several parameters; see
                ``somanet.autograd.zero_grads``).
        """
        if not self.param_groups:
            raise RuntimeError(self._unbound_message("zero_grad"))
        zero_grads(self.parameters(), set_to_none)

    def _unbound_message(self, method):
        name = type(self).__name__
        return (f"{name}.{method}: this optimizer was made without parameters, so it has "
                f"nothing to update yet; give it to model.compile(optimizer=...) (compile or "
                f"fit binds it to the model's parameters), or bind it yourself: "
                f"optimizer.build(model.parameters()), or make it with them: "
                f"{name}(model.parameters(), lr=...)")

    @property
    def learning_rate(self):
        """The learning rate (Keras's name; ``lr`` is the same): the first group's ``lr``
        (the constructor's before the optimiser is bound). Setting it sets every group's
        ``lr`` (and the default for groups bound later)."""
        if self.param_groups:
            return self.param_groups[0]["lr"]
        return self.defaults["lr"]

    @learning_rate.setter
    def learning_rate(self, value):
        value = check_lr(self, value, "learning_rate")
        self.defaults["lr"] = value
        for group in self.param_groups:
            group["lr"] = value

    lr = learning_rate

    def minimize(self, loss):
        """Minimise ``loss`` one step (Keras's and TensorFlow's ``optimizer.minimize``).

        - An eager loss (a 0-d Tensor): backpropagate it, take a step and clear the
          gradients, now.
        - A graph loss (built TensorFlow-style with ``somanet.graph``): return the graph
          op that does the same each time a ``Session`` runs it (the ``train_op``).

        Args:
            loss: a 0-d Tensor computed from this optimiser's parameters.

        Returns:
            ``None`` for an eager loss; the graph op for a graph loss.
        """
        graph_op = getattr(loss, "minimize_op", None)  # a graph tensor builds its own op
        if graph_op is not None:
            return graph_op(self)
        loss.backward()
        self.step()
        self.zero_grad()
        return None

    # -- state dict ----------------------------------------------------------------------------

    def state_dict(self):
        """The optimiser's state, serialisable without pickle.

        Parameters are numbered 0, 1, ... in the order of ``param_groups`` (as
        ``parameters()`` lists them). The dict has four keys:

        - ``"type"``: the optimiser's class name, e.g. ``"Adam"``;
        - ``"param_groups"``: one dict per group, its hyper-parameters (floats, bools,
          lists of floats) and ``"params"``, the numbers of its parameters;
        - ``"steps"``: one entry per parameter, the number of updates it has had, or
          ``None`` for a parameter that has no state yet;
        - ``"arrays"``: a flat dict ``{"state.<param number>.<name>": array}`` of the
          state arrays (e.g. ``"state.0.exp_avg"``), copies on the parameters' device.

        Everything but ``"arrays"`` is plain JSON; the arrays can go to a safetensors
        file. ``load_state_dict`` takes the same dict back.

            >>> import json, somanet as sn
            >>> from somanet.nn.parameter import Parameter
            >>> w = Parameter(sn.tensor([1.0, 2.0]))
            >>> optimizer = sn.optim.Adam([w], lr=0.1)
            >>> w.grad = sn.tensor([0.5, -0.5]); optimizer.step()
            >>> state = optimizer.state_dict()
            >>> sorted(state["arrays"]), state["steps"]
            (['state.0.exp_avg', 'state.0.exp_avg_sq'], [1])
            >>> text = json.dumps({k: v for k, v in state.items() if k != "arrays"})
        """
        groups, steps, arrays = [], [], {}
        number = 0
        for group in self.param_groups:
            saved = {key: _json_value(group[key]) for key in self.defaults}
            saved["params"] = list(range(number, number + len(group["params"])))
            groups.append(saved)
            for param in group["params"]:
                state = self.state.get(param)
                steps.append(None if state is None else state["step"])
                for key, value in (state or {}).items():
                    if key != "step":
                        arrays[f"state.{number}.{key}"] = value.copy()
                number += 1
        return {"type": type(self).__name__, "param_groups": groups, "steps": steps,
                "arrays": arrays}

    def load_state_dict(self, state_dict):
        """Restore the state ``state_dict()`` returned (possibly read back from JSON and
        safetensors), for the same parameters in the same order.

        The hyper-parameters of each group and every state array are replaced; the
        arrays are copied onto each parameter's device and into its dtype. Everything
        is checked first (the type, the number of groups and of parameters in each, the
        hyper-parameters, the names and shapes of the arrays), so on an error nothing
        has changed.
        """
        name = type(self).__name__
        check_state_keys(name, state_dict, STATE_DICT_KEYS, what="optimizer")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter group(s), this optimizer has {len(self.param_groups)}")
        new_hypers = []
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            count = len(saved.get("params", ()))
            if count != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {number} has {count} "
                                 f"parameter(s) in the state dict but {len(group['params'])} "
                                 f"in this optimizer")
            hyper = {key: group[key] for key in self.defaults}
            for key, value in saved.items():
                if key == "params":
                    continue
                if key not in self.defaults:
                    raise ValueError(unknown_option_message(
                        f"{name}.load_state_dict: group {number}", key, self.defaults))
                hyper[key] = value
            try:
                new_hypers.append(self.check_hyper(hyper))
            except (TypeError, ValueError) as error:
                raise type(error)(f"{name}.load_state_dict: group {number}: {error}") from None

        params = [(param, hyper) for group, hyper in zip(self.param_groups, new_hypers)
                  for param in group["params"]]
        steps = state_dict["steps"]
        if not isinstance(steps, (list, tuple)) or len(steps) != len(params):
            raise ValueError(f"{name}.load_state_dict: 'steps' must be a list with one entry "
                             f"per parameter ({len(params)}), got {steps!r:.80}")
        by_param = {}
        for key, array in state_dict["arrays"].items():
            number, _, array_name = _parse_array_key(name, key, len(params))
            by_param.setdefault(number, {})[array_name] = array

        new_state = {}
        for number, ((param, hyper), step) in enumerate(zip(params, steps)):
            given = by_param.pop(number, {})
            if step is None:
                if given:
                    raise ValueError(f"{name}.load_state_dict: parameter {number} has arrays "
                                     f"({sorted(given)}) but its step is None")
                continue
            check_non_negative_int(f"{name}.load_state_dict", f"the step of parameter {number}",
                                   step, what="a non-negative int")
            fresh = self.init_state(param.data, hyper)
            if sorted(given) != sorted(fresh):
                raise ValueError(f"{name}.load_state_dict: parameter {number} needs the state "
                                 f"arrays {sorted(fresh)}, the state dict has {sorted(given)}")
            for array_name, target in fresh.items():
                source = given[array_name]
                source = source.data if isinstance(source, Tensor) else source
                if getattr(source, "shape", None) != target.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: state.{number}.{array_name} has shape "
                        f"{getattr(source, 'shape', type(source).__name__)}, but parameter "
                        f"{number} has shape {target.shape}")
                if source.dtype.kind != "f":
                    raise TypeError(f"{name}.load_state_dict: state.{number}.{array_name} has "
                                    f"dtype {source.dtype}; expected floats")
                xp_of(target).copyto(target, to_device(source, device_of(target)))
            new_state[param] = {"step": step, **fresh}

        for group, hyper in zip(self.param_groups, new_hypers):
            group.update(hyper)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__}("]
        for number, group in enumerate(self.param_groups):
            settings = ", ".join(f"{key}={group[key]!r}" for key in self.defaults)
            lines.append(f"  group {number}: {len(group['params'])} parameter(s), {settings}")
        return "\n".join(lines) + "\n)"


# -- helpers the optimisers share --------------------------------------------------------------

def unknown_option_message(owner, key, options):
    """'X got an unknown option 'y'. Did you mean 'z'? The options are: ...'."""
    return (f"{owner} got an unknown option {key!r}.{suggestion(key, options)} The options "
            f"are: {', '.join(options)}")


def check_state_keys(owner, state_dict, keys, what=None):
    """Check that ``state_dict`` is the dict ``owner.state_dict()`` returns: a dict with
    exactly ``keys``, saved by a ``owner`` (its ``"type"``). ``what`` ("optimizer") adds a
    hint naming the kind of object that can load it."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"{owner}.load_state_dict: expected the dict state_dict() returns, "
                        f"got {type(state_dict).__name__}")
    missing = [key for key in keys if key not in state_dict]
    extra = [key for key in state_dict if key not in keys]
    if missing or extra:
        raise ValueError(f"{owner}.load_state_dict: expected the keys {list(keys)}; missing "
                         f"{missing}, unexpected {extra}")
    if state_dict["type"] != owner:
        hint = f"; load it into a {state_dict['type']} {what}" if what else ""
        raise ValueError(f"{owner}.load_state_dict: this state dict was saved by "
                         f"{state_dict['type']}, not {owner}{hint}")


def check_number(owner, name, value, low=0.0, high=math.inf, low_open=False, high_open=True,
                 what=None):
    """``value`` as a Python float in the interval from ``low`` to ``high`` (by default
    ``[0, inf)``), through ``somanet._checks.check_real``: ``what`` words a value out of
    range ("a decay rate in [0, 1)"), anything that is not a number "must be a number"."""
    if not is_real(value):
        check_real(owner, name, value)  # the type error (a 0-d array passes on)
    return check_real(owner, name, value, minimum=low, maximum=high, min_open=low_open,
                      max_open=high_open, finite=False, what=what)


def check_pair(owner, name, value, check):
    """A pair of numbers, each checked by ``check(owner, item_name, item)``; a tuple."""
    owner = owner_name(owner)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{owner}: {name} must be a pair of numbers, got {value!r:.40}")
    return tuple(check(owner, f"{name}[{i}]", item) for i, item in enumerate(value))


def check_lr(owner, value, name="lr"):
    """``value`` as a learning rate: a float in ``[0, inf)``."""
    return check_number(owner, name, value, what="a non-negative learning rate in [0, inf)")


def pick_lr(owner, lr, learning_rate, default):
    """The learning rate given as ``lr=`` (PyTorch's name) or ``learning_rate=`` (Keras's),
    or ``default`` when neither was. Both at once is a ``TypeError``: they are one setting.
    The value itself is checked by the optimiser's ``check_hyper`` (``check_lr``)."""
    if lr is not None and learning_rate is not None:
        raise TypeError(f"{owner_name(owner)}: got lr={lr!r} and learning_rate="
                        f"{learning_rate!r}; they are the same setting (PyTorch's and Keras's "
                        f"name for it): give one of them")
    if lr is not None:
        return lr
    return default if learning_rate is None else learning_rate


def _json_value(value):
    return list(value) if isinstance(value, tuple) else value


def _parse_array_key(owner, key, count):
    """'state.<n>.<name>' -> (n, '.', name), checked."""
    parts = key.split(".", 2) if isinstance(key, str) else []
    if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit() or not parts[2]:
        raise ValueError(f"{owner}.load_state_dict: array key {key!r} is not of the form "
                         f"'state.<param number>.<name>'")
    number = int(parts[1])
    if number >= count:
        raise ValueError(f"{owner}.load_state_dict: array key {key!r} names parameter "
                         f"{number}, but this optimizer has {count} parameter(s)")
    return number, ".", parts[2]
