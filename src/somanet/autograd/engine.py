"""The backward engine: walk the graph once, in reverse topological order.

``backward`` starts from one or more output tensors and calls each node's
``backward`` exactly once, after every node that uses its output has passed
its gradient back: ops number their nodes as they create them, so visiting the
nodes from the highest number down (with a heap; no recursion, so a 10,000-step
chain is fine) is a reverse topological order. Gradients meeting at a node are summed; gradients
reaching a leaf are accumulated into ``leaf.grad``. Each node's saved arrays
are released right after its backward runs, unless ``retain_graph=True``.

Every gradient a Function returns is checked against its input (shape,
dtype, device), and a wrong one raises an error naming that Function.

A leaf may carry grad-ready hooks (``register_grad_ready_hook``): called with the
leaf once its gradient for this backward is complete, while backward goes on
through the rest of the graph (data-parallel training starts reducing a layer's
gradients there, while the earlier layers are still being differentiated).
"""
from heapq import heappop, heappush

from ..backend import CPU, as_array_like, device_of, same_device
from ..tensor import Tensor
from . import growth
from .function import FREED, LEAF
from .mode import mode

_HOST = CPU.array_type


_HOOKED = [0]  # how many grad-ready hooks exist: backward counts a leaf's uses only if any


class _Hooks(dict):
    """A leaf's grad-ready hooks, by key."""


class GradReadyHandle:
    """What ``register_grad_ready_hook`` returns: ``remove()`` unregisters the hook."""

    _next = 0

    def __init__(self, hooks):
        self.hooks = hooks
        self.key = GradReadyHandle._next
        GradReadyHandle._next += 1

    def remove(self):
        if self.hooks.pop(self.key, None) is not None:
            _HOOKED[0] -= 1


def register_grad_ready_hook(tensor, hook):
    """Call ``hook(tensor)`` during every ``backward()`` as soon as the gradient of the
    leaf ``tensor`` is complete for that backward: every use of it in the graph has
    delivered its part, and ``tensor.grad`` holds the sum (added to what it held
    before, as always). Backward continues through the rest of the graph afterwards.

    Args:
        tensor: a leaf that requires grad (a Parameter).
        hook: a function of the tensor; what it returns is ignored.

    Returns:
        A ``GradReadyHandle``; ``handle.remove()`` unregisters the hook.

        >>> import somanet as sn
        >>> w = sn.ones(2, requires_grad=True)
        >>> handle = w.register_grad_ready_hook(lambda t: print("ready:", t.grad.tolist()))
        >>> ((w * 3).sum() + w.sum()).backward()
        ready: [4.0, 4.0]
        >>> handle.remove()
    """
    if not isinstance(tensor, Tensor) or not tensor.requires_grad or not tensor.is_leaf:
        raise ValueError("register_grad_ready_hook: the tensor must be a leaf that requires "
                         "grad (a Parameter); a computed tensor's gradient is never stored")
    if not callable(hook):
        raise TypeError(f"register_grad_ready_hook: hook must be a function of the tensor, "
                        f"got {type(hook).__name__}")
    hooks = tensor.__dict__.get("_grad_ready_hooks")
    if hooks is None:
        hooks = tensor.__dict__["_grad_ready_hooks"] = _Hooks()
    handle = GradReadyHandle(hooks)
    hooks[handle.key] = hook
    _HOOKED[0] += 1
    return handle


def _leaf_uses(outputs):
    """``{id(leaf): [uses, leaf]}`` for the hooked leaves the graph behind ``outputs``
    reaches: how many gradients each will receive in this backward."""
    uses, seen = {}, set()
    stack = []
    for output in outputs:
        if output._node is not None:
            stack.append(output._node)
        elif output.__dict__.get("_grad_ready_hooks"):
            uses[id(output)] = [1, output]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node.parents:
            if edge is None:
                continue
            target, index = edge[0], edge[1]
            if index != LEAF:
                stack.append(target)
            elif target.__dict__.get("_grad_ready_hooks"):
                found = uses.get(id(target))
                if found is None:
                    uses[id(target)] = [1, target]
                else:
                    found[0] += 1
    return uses


def grad_ready(uses, leaf):
    """One gradient of ``leaf`` arrived (``uses`` from ``_leaf_uses``): run its hooks if
    it was the last."""
    found = uses.get(id(leaf))
    if found is not None:
        found[0] -= 1
        if found[0] == 0:
            for hook in list(leaf.__dict__.get("_grad_ready_hooks", {}).values()):
                hook(leaf)


def backward(outputs, grads, retain_graph=False):
    """Accumulate d(outputs)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    Args:
        outputs: a list of Tensors to differentiate.
        grads: one gradient array per output (the "vector" of the
            vector-Jacobian product), each with its output's shape.
        retain_graph: keep the saved arrays so backward can run again.
    """
    _run(outputs, grads, retain_graph, capture=None)


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors the outputs depend on.
        grad_outputs: the gradient of each output (default: ones for a scalar).
        retain_graph: keep the graph for another backward.
        allow_unused: return ``None`` for an input the outputs do not depend on
            instead of raising.

    Returns:
        A tuple of Tensors, one per input.

        >>> import somanet as sn
        >>> x = sn.tensor([1.0, 2.0], requires_grad=True)
        >>> (g,) = sn.grad((x * x).sum(), x)
        >>> g
        tensor([2., 4.])
    """
    outputs = _as_list(outputs, "outputs")
    inputs = _as_list(inputs, "inputs")
    for tensor in inputs:
        if not tensor.requires_grad:
            raise ValueError(f"grad(): an input of shape {tensor.shape} does not require grad, "
                             f"so no gradient can flow to it; create it with requires_grad=True")
    grads = initial_grads(outputs, grad_outputs)
    capture = {id(tensor): None for tensor in inputs}
    _run(outputs, grads, retain_graph, capture, inputs)
    results = []
    for tensor in inputs:
        found = capture[id(tensor)]
        if found is None:
            if not allow_unused:
                raise ValueError(f"grad(): an input of shape {tensor.shape} is not used to "
                                 f"compute the outputs; pass allow_unused=True to get None")
            results.append(None)
        else:
            results.append(_wrap_grad(found))
    return tuple(results)


def initial_grads(outputs, grad_outputs):
    """The gradients backward starts from: ones for a scalar output, else as given."""
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    grad_outputs = _as_list(grad_outputs, "grad_outputs", allow_none=True)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"got {len(grad_outputs)} gradient(s) for {len(outputs)} output(s)")
    grads = []
    for output, given in zip(outputs, grad_outputs):
        if not output.requires_grad:
            raise ValueError(f"backward(): a tensor of shape {output.shape} does not require "
                             f"grad and has no graph; did a parameter miss requires_grad=True, "
                             f"or was it computed under no_grad()?")
        data = output.data
        if given is None:
            if data.size != 1:
                raise ValueError(f"backward(): the output has shape {data.shape}, not a single "
                                 f"value; pass grad= of that shape, or reduce it first "
                                 f"(e.g. loss.sum() or loss.mean())")
            grads.append(device_of(data).xp.ones_like(data))
            continue
        given = given.data if isinstance(given, Tensor) else device_of(data).asarray(given)
        if given.shape != data.shape or given.dtype != data.dtype:
            raise ValueError(f"backward(): grad has shape {given.shape} and dtype {given.dtype}"
                             f", but the output has shape {data.shape} and dtype {data.dtype}")
        grads.append(given)
    return grads


def _run(outputs, grads, retain_graph, capture, inputs=()):
    pending = {}  # node -> gradient of its output (or a list, one per output)
    uses = _leaf_uses(outputs) if _HOOKED[0] and capture is None else None
    # Nodes waiting for their turn, highest sequence number first: a node's consumers all
    # have higher numbers, so by its turn every gradient of its output has arrived.
    ready = []
    for output, gradient in zip(outputs, grads):
        node = output._node
        if node is None:  # a leaf: its gradient is the given one
            _deliver((output, LEAF, output.shape, output.dtype), gradient, pending, capture)
            if uses:
                grad_ready(uses, output)
            continue
        if node not in pending:
            heappush(ready, (-node.sequence, node))
        _accumulate(pending, node, output._index, gradient)
    # Non-leaf inputs of grad() are captured when their node's turn comes.
    captured_nodes = {}
    for tensor in inputs:
        if tensor._node is not None:
            captured_nodes.setdefault(tensor._node, []).append(tensor)

    node = None
    while ready:
        node = heappop(ready)[1]
        gradient = pending.pop(node)
        if captured_nodes and node in captured_nodes:
            for tensor in captured_nodes[node]:
                part = gradient[tensor._index] if type(gradient) is list else gradient
                capture[id(tensor)] = part
        if node.saved is FREED:
            raise RuntimeError(f"backward through {type(node).__name__} a second time: its "
                               f"saved arrays were freed by the first backward. Pass "
                               f"retain_graph=True to the first backward() if you need two")
        if type(gradient) is list:
            gradient = _fill_missing(node, gradient)
            input_grads = node.backward(*gradient)
            reference = gradient[0]
        else:
            input_grads = node.backward(gradient)
            reference = gradient
        if node.moves_device:
            reference = None  # its input gradients live on the input's device, not here
        if not retain_graph:
            node.saved = FREED
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        edges = node.parents
        if len(input_grads) != len(edges):
            raise ValueError(f"{type(node).__name__}.backward returned {len(input_grads)} "
                             f"gradient(s) for {len(edges)} input(s)")
        if mode.detect_anomaly:
            from .anomaly import check_backward
            check_backward(node, input_grads)
        kind = type(reference)
        for edge, input_grad in zip(edges, input_grads):
            if edge is None or input_grad is None:
                continue
            target, index, shape, dtype = edge
            # The check of every gradient, fast when it passes (the same array type on
            # the host); anything else goes to _checked, which also explains a failure.
            if type(input_grad) is not kind or kind is not _HOST or \
                    input_grad.shape != shape or input_grad.dtype is not dtype:
                input_grad = _checked(node, edge, input_grad, reference)
            if index == LEAF:
                _deliver(edge, input_grad, pending, capture)
                if uses:
                    grad_ready(uses, target)
                continue
            if target not in pending:
                heappush(ready, (-target.sequence, target))
            if target.outputs is None:  # a single-output node: the common case
                previous = pending.get(target)
                pending[target] = input_grad if previous is None else previous + input_grad
            else:
                _accumulate(pending, target, index, input_grad)
    # The graph's first and last nodes, weakly: graphs kept across steps pile up (growth)
    growth.monitor.backward_ran(outputs[0]._node if outputs else None, node)


def _accumulate(pending, node, index, gradient):
    outputs = node.outputs
    if outputs is None:  # a single-output node
        previous = pending.get(node)
        pending[node] = gradient if previous is None else previous + gradient
        return
    slots = pending.get(node)
    if slots is None:
        slots = pending[node] = [None] * len(outputs)
    slots[index] = gradient if slots[index] is None else slots[index] + gradient


def _fill_missing(node, gradients):
    """Zeros for the outputs of a multi-output node that received no gradient."""
    reference = next(g for g in gradients if g is not None)
    xp = device_of(reference).xp
    return [xp.zeros(shape, dtype) if g is None else g
            for g, (shape, dtype) in zip(gradients, node.outputs)]


def _deliver(edge, gradient, pending, capture):
    """A gradient reaching a leaf: captured for grad(), or accumulated into ``.grad``."""
    leaf = edge[0]
    if capture is not None:
        key = id(leaf)
        if key in capture:
            previous = capture[key]
            capture[key] = gradient if previous is None else previous + gradient
        return
    if leaf.grad is None:
        leaf.grad = _wrap_grad(gradient)
    else:
        # Out of place: gradient arrays may be shared between tensors.
        leaf.grad.data = leaf.grad.data + gradient


def zero_grads(tensors, set_to_none=True):
    """Clear the ``.grad`` of each tensor before the next backward (what ``Module.zero_grad``
    and ``Optimizer.zero_grad`` do).

    Args:
        tensors: the parameters (any iterable of Tensors).
        set_to_none: ``True`` (the default, as in PyTorch) sets ``.grad`` to ``None``,
            freeing it; ``False`` gives each tensor a new gradient Tensor of zeros.

    Gradients are never zeroed in place: one array may be the gradient of several tensors
    (when ``a + b`` needs no broadcasting, ``sum_to`` hands both inputs the very same
    array, and the engine stores it as is), so writing zeros into it through one
    parameter would clear the other's gradient too.
    """
    for tensor in tensors:
        grad = tensor.grad
        if grad is None:
            continue
        if set_to_none:
            tensor.grad = None
        else:
            tensor.grad = _wrap_grad(device_of(grad.data).xp.zeros_like(grad.data))


def _checked(node, edge, gradient, reference):
    """The gradient an op returned for one input, checked against that input."""
    _, _, shape, dtype = edge
    if type(gradient) is not type(reference):
        gradient = as_array_like(gradient, reference)
    if (getattr(gradient, "shape", None) != shape or gradient.dtype != dtype
            or (reference is not None and not same_device(gradient, reference))):
        raise ValueError(
            f"{type(node).__name__}.backward returned a gradient of shape "
            f"{getattr(gradient, 'shape', None)}, dtype "
            f"{getattr(gradient, 'dtype', type(gradient).__name__)} on {device_of(gradient)} "
            f"for an input of shape {shape}, dtype {dtype}"
            f"{'' if reference is None else ' on ' + str(device_of(reference))}; "
            f"a gradient must match its input exactly")
    return gradient


def _wrap_grad(array):
    tensor = object.__new__(Tensor)
    tensor.data = array
    return tensor


def _as_list(value, name, allow_none=False):
    if isinstance(value, Tensor) or (allow_none and value is None):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{name} must be a Tensor or a sequence of Tensors, "
                        f"got {type(value).__name__}") from None
