"""The op contract: a ``Function`` is a forward and a backward, side by side.

Every differentiable op in somanet, and any op a user writes, is a subclass
of ``Function`` with two methods:

- ``forward(ctx, *arrays, **params) -> array`` (or a tuple of arrays) computes
  on raw arrays of the inputs' device (``xp = get_array_module(a)``).
  Keyword ``params`` are non-differentiable settings (an axis, a shape).
- ``backward(ctx, grad) -> grads`` gets the gradient of the loss with respect
  to the output (one argument per output) and returns one gradient per
  input, each with that input's shape, dtype and device, or ``None`` for an
  input that needs none (``ctx.needs_input_grad[i]`` says which do).

``ctx`` is the Function instance itself, one per call: a node of the graph.
Keep on it only what backward needs, and keep arrays in
``ctx.save_for_backward(...)`` (read back as ``ctx.saved``) so the engine can
free them as soon as backward has used them. Where the derivative is a
function of the output (exp, sigmoid, tanh) save the output, not the input.

Writing your own op::

    import somanet as sn

    class Cube(sn.Function):
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        def backward(ctx, grad):
            (x,) = ctx.saved
            return grad * 3 * x ** 2

    x = sn.tensor([1.0, 2.0], requires_grad=True)
    Cube.apply(x).sum().backward()
    x.grad  # tensor([ 3., 12.])

    sn.gradcheck(Cube.apply, [sn.tensor([0.5, -1.0], dtype="float64", requires_grad=True)])

The engine checks every gradient a backward returns (shape, dtype, device)
and names the Function when one is wrong.

Integer data meeting floats: when the inputs of one call mix integer tensors with
tensors of one float dtype, the integer ones are cast to that float dtype first
(through the cast op, so a graph records the cast), and the op computes in float32
rather than in NumPy's float64. Bool inputs (masks, conditions) are passed on as
they are (NumPy never upcasts a float for them), and so are the inputs an op lists
in ``integer_inputs``, integers by nature (indices, labels)::

    class Gather(sn.Function):
        integer_inputs = (1,)  # forward(ctx, table, indices): indices stay integers
"""
import itertools

from ..backend import CPU, as_array_like, device_of, same_device
from ..tensor import Tensor
from .mode import mode

LEAF = -1  # the output index an edge carries when it points at a leaf tensor
FREED = None  # ctx.saved after backward has released the saved arrays


class Function:
    """Base class of every op. Subclass it, define ``forward`` and ``backward``,
    and call ``YourOp.apply(*tensors, **params)``."""

    saved = ()
    needs_input_grad = ()
    outputs = None  # (shape, dtype) of each output, for a node with several
    differentiable = True  # False: outputs never require grad (comparisons, argmax)
    integer_inputs = ()  # positions of inputs that stay integers (indices, labels)
    # True for an op whose output lives on another device than its input (ToDevice): the
    # engine then does not hold its input gradients to the output gradient's device
    moves_device = False

    def forward(ctx, *arrays, **params):
        raise NotImplementedError(f"{type(ctx).__name__} has no forward()")

    def backward(ctx, *grads):
        raise NotImplementedError(f"{type(ctx).__name__} has no backward(); it is not "
                                  f"differentiable")

    def save_for_backward(ctx, *arrays):
        """Keep ``arrays`` for backward (read back as ``ctx.saved``); freed after use."""
        ctx.saved = arrays

    def input_shape(ctx, index):
        """In backward: the shape of input ``index`` (one that needs a gradient)."""
        return ctx.parents[index][2]

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors and, when any input requires grad, record it in the graph.

        Returns:
            A Tensor, or a tuple of Tensors when ``forward`` returns a tuple.
        """
        # This runs for every op of every step: it is written for speed. A non-Tensor
        # input (a number, a raw array) has no _requires_grad and lands in the except.
        arrays = []
        records = False
        try:
            for tensor in inputs:
                arrays.append(tensor.data)
                if tensor._requires_grad:
                    records = True
        except AttributeError:
            raise TypeError(f"{cls.__name__}.apply expects Tensors, got "
                            f"{[type(t).__name__ for t in inputs]}; wrap data with "
                            f"somanet.tensor()") from None
        first = arrays[0]
        kind = type(first)
        if len(arrays) > 1:
            dtype = first.dtype
            for other in arrays:
                if type(other) is not kind or other.dtype is not dtype or kind is not _HOST:
                    promoted = _check_inputs_agree(cls, arrays, inputs)
                    if promoted is not None:  # integer data met floats: cast, then run
                        return cls.apply(*promoted, **params)
                    break
        ctx = _new(cls)
        try:
            out = ctx.forward(*arrays, **params)
        except (ValueError, TypeError, IndexError) as error:
            raise _named(error, cls, arrays) from error
        if mode.detect_anomaly:
            from .anomaly import check_forward
            check_forward(cls, arrays, out)
        if records and mode.grad_enabled and cls.differentiable:
            needs, parents = [], []
            for tensor in inputs:
                if tensor._requires_grad:
                    needs.append(True)
                    parents.append(_edge(tensor))
                else:
                    needs.append(False)
                    parents.append(None)
            ctx.needs_input_grad = tuple(needs)
            ctx.parents = tuple(parents)
            ctx.sequence = next(_sequence)
        else:
            ctx = None
        if type(out) is tuple:
            if ctx is not None:
                ctx.outputs = tuple([(part.shape, part.dtype) for part in out])
            result = tuple([_wrap(part, first, ctx, index) for index, part in enumerate(out)])
        else:
            if type(out) is not kind:
                out = as_array_like(out, first)
            result = _new(Tensor)
            result.data = out
            if ctx is not None:
                result._node = ctx
                result._requires_grad = True
        if mode.recorder is not None:
            return mode.recorder.op(cls, inputs, params, result)
        return result

    def __repr__(self):
        return f"<{type(self).__name__} backward>"


def _edge(tensor):
    """Where a gradient for ``tensor`` goes: its producing node and output index,
    or the leaf itself; plus the shape and dtype the gradient must have."""
    data = tensor.data
    if tensor._node is None:
        return (tensor, LEAF, data.shape, data.dtype)
    return (tensor._node, tensor._index, data.shape, data.dtype)


_new = object.__new__
# Nodes are numbered as they are made: a node's inputs always come from lower numbers,
# so backward can visit nodes from the highest number down (see engine.py).
_sequence = itertools.count()
_HOST = CPU.array_type  # NumPy arrays: same type means same device


def _wrap(array, like, node=None, index=0):
    """A Tensor around an op's output array (a NumPy scalar becomes a 0-d array)."""
    if type(array) is not type(like):
        array = as_array_like(array, like)
    tensor = object.__new__(Tensor)
    tensor.data = array
    if node is not None:
        tensor._node = node
        tensor._index = index
        tensor._requires_grad = True
    return tensor


def _named(error, cls, arrays):
    """``error`` from inside a forward, with the op's name and its inputs added (unless
    the op's own message already names it)."""
    message = str(error)
    if message.lower().startswith(cls.__name__.lower()):
        return error
    inputs = ", ".join(f"{a.shape} {a.dtype}" for a in arrays)
    message = f"{cls.__name__}: {message} (inputs: {inputs})"
    try:
        return type(error)(message)
    except Exception:  # an exception type with an unusual constructor
        return ValueError(message)


def _check_inputs_agree(cls, arrays, inputs):
    """Inputs of one op live on one device, and their float dtypes agree.

    Returns:
        ``None`` when the inputs can go to ``forward`` as they are; else the inputs with
        each integer tensor (but those in ``cls.integer_inputs``) cast to the one float
        dtype among them.
    """
    first = arrays[0]
    mixed = False
    for other in arrays[1:]:
        if not same_device(first, other):
            raise ValueError(f"{cls.__name__}: inputs are on {device_of(first)} and "
                             f"{device_of(other)}; move them to one device with .to()")
        if other.dtype != first.dtype:
            mixed = True
    if not mixed:
        return None
    floats = sorted({str(array.dtype) for array in arrays if array.dtype.kind == "f"})
    if len(floats) > 1:
        raise TypeError(f"{cls.__name__}: inputs have dtypes {' and '.join(floats)}; "
                        f"somanet never mixes float dtypes silently. Cast one with "
                        f".astype()")
    if not floats:
        return None
    keep = cls.integer_inputs
    cast = [index for index, array in enumerate(arrays)
            if array.dtype.kind in "iu" and index not in keep]
    if not cast:
        return None
    from ..ops.conversion import AsType  # same layer; ops import this module first
    target = arrays[[array.dtype.kind for array in arrays].index("f")].dtype
    return tuple(AsType.apply(tensor, dtype=target) if index in cast else tensor
                 for index, tensor in enumerate(inputs))
