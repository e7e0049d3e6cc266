"""``Tensor``: an array on a device, plus what autograd needs to differentiate it.

A Tensor holds ``data`` (a NumPy or CuPy array), and when it was computed
from tensors that require grad, the node (``Function``) that produced it.
``backward()`` walks those nodes and fills ``.grad`` of the leaves.

    >>> import somanet as sn
    >>> w = sn.tensor([[1.0, 2.0]], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> w.grad
    tensor([[2., 4.]])

Maths on tensors lives in ``somanet.ops``; the methods and operators here
call it.
"""
from .backend import (as_dtype, device as as_device, device_of, from_dlpack as _from_dlpack,
                      get_default_dtype, infer_dtype, is_device_spec, to_device, to_numpy)
from .backend.device import CPU


class Tensor:
    """An n-dimensional array on a device, with reverse-mode autograd.

    Create tensors with ``somanet.tensor(data)``, ``zeros``, ``randn`` and
    friends (``Tensor(data, ...)`` takes the same arguments as ``tensor``).

    Attributes:
        data: the underlying array (``numpy.ndarray`` on the CPU, ``cupy.ndarray`` on a GPU).
        grad: the accumulated gradient (a Tensor) after ``backward()``, else ``None``.
        name: an optional label used in error messages and graph exports.
    """

    __array_priority__ = 1000  # so numpy_array + tensor calls Tensor.__radd__
    grad = None
    name = None
    _node = None  # the Function that produced this tensor (None for a leaf)
    _index = 0  # which output of that Function this tensor is
    _requires_grad = False

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        self.data = as_array(data, dtype, device)
        if requires_grad:
            self.requires_grad = True

    # -- what it is -------------------------------------------------------------------------

    @property
    def shape(self):
        """The shape, a tuple of ints."""
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        """The number of elements."""
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        """The Device this tensor's data lives on."""
        return device_of(self.data)

    @property
    def requires_grad(self):
        """Whether gradients flow to this tensor. Only float tensors can require grad."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.data.dtype.kind != "f":
            raise TypeError(f"only float tensors can require grad; this tensor has dtype "
                            f"{self.data.dtype}. Create it with dtype='float32'")
        if not value and self._node is not None:
            raise ValueError("requires_grad cannot be turned off on a tensor computed from "
                             "others; use .detach() to get one outside the graph")
        self._requires_grad = bool(value)

    def requires_grad_(self, value=True):
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = value
        return self

    @property
    def is_leaf(self):
        """True for tensors created by the user rather than computed by an op."""
        return self._node is None

    @property
    def grad_fn(self):
        """The Function node that produced this tensor, or ``None`` for a leaf."""
        return self._node

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        # NumPy's layout, renamed: "array([...], dtype=...)" -> "tensor([...], ...)".
        text = repr(to_numpy(self.data)).replace("\n      ", "\n       ")
        text = "tensor" + text[len("array"):]
        if ", dtype=" in text:
            text = text[:text.rindex(", dtype=")] + ")"
        extras = []
        if self.data.dtype != get_default_dtype() and self.data.dtype.kind == "f":
            extras.append(f"dtype={self.data.dtype}")
        if self.device is not CPU:
            extras.append(f"device='{self.device}'")
        if self._node is not None:
            extras.append(f"grad_fn={type(self._node).__name__}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return text[:-1] + "".join(", " + extra for extra in extras) + ")"

    # -- values out --------------------------------------------------------------------------

    def item(self):
        """The single value of a one-element tensor, as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape "
                             f"{self.data.shape}")
        return self.data.item()

    def tolist(self):
        return to_numpy(self.data).tolist()

    def numpy(self):
        """The values as a NumPy array on the host (shared, not copied, on the CPU)."""
        return to_numpy(self.data)

    def asnumpy(self):
        """The values as a new NumPy array on the host (always a copy; MXNet's name)."""
        array = to_numpy(self.data)
        return array.copy() if array is self.data else array

    @property
    def context(self):
        """The Device this tensor lives on (MXNet's name for ``device``)."""
        return self.device

    def as_in_context(self, ctx):
        """This tensor on device ``ctx``: itself when it is already there (MXNet's name
        for ``to(device)``)."""
        return _ops.to_device(self, as_device(ctx))

    def copyto(self, other):
        """A copy of the values (outside autograd), MXNet's ``copyto``: on device
        ``other`` (a Device or ``"gpu:1"``), returned; or into the tensor ``other``,
        which must have this shape (values cast to its dtype), returning ``other``."""
        if isinstance(other, Tensor):
            if other.shape != self.shape:
                raise ValueError(f"copyto: the target has shape {other.shape}, the source "
                                 f"{self.shape}; they must be the same")
            other._check_writable("copyto")
            other.data[...] = to_device(self.data, other.device)
            return other
        target = as_device(other)
        copy = Tensor.__new__(Tensor)
        moved = to_device(self.data, target)
        copy.data = moved.copy() if moved is self.data else moved
        return copy

    def __array__(self, dtype=None, copy=None):
        array = to_numpy(self.data)
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def __dlpack__(self, *args, **kwargs):
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is "
                             f"ambiguous; use .any() or .all()")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors with one element can be used as an index")
        return int(self.data)

    # -- graph and devices ------------------------------------------------------------------

    def backward(self, grad=None, retain_graph=False):
        """Compute the gradient of this tensor with respect to every leaf that requires grad,
        accumulating it into the leaves' ``.grad``.

        Args:
            grad: the gradient of some final loss with respect to this tensor;
                may be left out when this tensor has a single element (then 1).
            retain_graph: keep the graph's saved arrays so backward can run
                through it again.
        """
        if _mode.recorder is not None:  # a graph being built or a step being captured
            return _mode.recorder.call(run_backward, (self, grad, retain_graph), {})
        run_backward(self, grad, retain_graph)

    def register_grad_ready_hook(self, hook):
        """Call ``hook(self)`` in every backward once this leaf's gradient is complete
        (``somanet.autograd.register_grad_ready_hook``); returns a handle with
        ``remove()``."""
        return _engine.register_grad_ready_hook(self, hook)

    def detach(self):
        """A tensor sharing this one's data, outside the graph (no gradient flows back)."""
        tensor = Tensor.__new__(Tensor)
        tensor.data = self.data
        return tensor

    def to(self, target):
        """This tensor on another device (``"cpu"``, ``"gpu:0"``, a Device), or cast
        to a dtype (``"float64"``). Returns self when nothing changes.

        Moving between devices is differentiable.
        """
        if is_device_spec(target):
            return _ops.to_device(self, as_device(target))
        return self.astype(target)

    def cpu(self):
        """This tensor on the CPU."""
        return self.to(CPU)

    def gpu(self, index=0):
        """This tensor on GPU ``index``."""
        return self.to(f"gpu:{index}")

    def astype(self, dtype):
        """This tensor cast to ``dtype`` (differentiable between float dtypes)."""
        return _ops.astype(self, dtype)

    def float(self):
        """Cast to float32."""
        return self.astype("float32")

    def double(self):
        """Cast to float64."""
        return self.astype("float64")

    def long(self):
        """Cast to int64."""
        return self.astype("int64")

    # -- operators ----------------------------------------------------------------------------

    def __add__(self, other):
        if type(other) is Tensor and other.data.dtype is self.data.dtype:
            return _Add.apply(self, other)  # the common case, without the operand checks
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        if type(other) is Tensor and other.data.dtype is self.data.dtype:
            return _Sub.apply(self, other)
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        if type(other) is Tensor and other.data.dtype is self.data.dtype:
            return _Mul.apply(self, other)
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, exponent):
        return _ops.pow(self, exponent)

    def __rpow__(self, base):
        return _ops.pow(base, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __eq__(self, other):
        return _ops.equal(self, other)

    def __ne__(self, other):
        return _ops.not_equal(self, other)

    def __lt__(self, other):
        return _ops.less(self, other)

    def __le__(self, other):
        return _ops.less_equal(self, other)

    def __gt__(self, other):
        return _ops.greater(self, other)

    def __ge__(self, other):
        return _ops.greater_equal(self, other)

    # In-place arithmetic writes into ``data``: for updates outside the graph, such as
    # ``w -= lr * w.grad`` under ``no_grad()``.

    def __iadd__(self, other):
        self.data += self._in_place_operand(other, "+=")
        return self

    def __isub__(self, other):
        self.data -= self._in_place_operand(other, "-=")
        return self

    def __imul__(self, other):
        self.data *= self._in_place_operand(other, "*=")
        return self

    def __itruediv__(self, other):
        self.data /= self._in_place_operand(other, "/=")
        return self

    def _in_place_operand(self, other, symbol):
        self._check_writable(symbol)
        other = _ops.binary_operands(self, other, symbol)[1]
        if other.dtype != self.data.dtype:
            raise TypeError(f"{symbol}: cannot write {other.dtype} values into a tensor of "
                            f"dtype {self.data.dtype} in place")
        return other.data

    def _check_writable(self, what):
        if (self._requires_grad and _mode.grad_enabled) or self._node is not None:
            raise ValueError(f"{what} on a tensor that requires grad would break its gradient;"
                             f" do it inside somanet.no_grad() (as an optimiser step does), or "
                             f"compute a new tensor instead")

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        """Assign into the data in place. Only outside the graph: a tensor that requires
        grad can be written under ``no_grad()`` (as initialisers and optimisers do)."""
        self._check_writable("item assignment")
        if isinstance(value, Tensor):
            value = value.data
        self.data[_ops.indexing.unwrap_index(index)] = value

    # -- maths as methods (see somanet.ops for the docs) --------------------------------------

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def clip(self, low=None, high=None):
        return _ops.clip(self, low, high)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def tanh(self):
        return _ops.tanh(self)

    def relu(self):
        return _ops.relu(self)

    def softmax(self, axis=-1):
        return _ops.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return _ops.log_softmax(self, axis)

    def sum(self, axis=None, keepdims=False):
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops.min(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _ops.var(self, axis, keepdims, ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return _ops.std(self, axis, keepdims, ddof)

    def logsumexp(self, axis=None, keepdims=False):
        return _ops.logsumexp(self, axis, keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _ops.argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _ops.argmin(self, axis, keepdims)

    def any(self, axis=None):
        return Tensor(self.data.any(axis=axis))

    def all(self, axis=None):
        return Tensor(self.data.all(axis=axis))

    def reshape(self, *shape):
        return _ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def view(self, *shape):
        return self.reshape(*shape)

    def transpose(self, *axes):
        return _ops.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def permute(self, *axes):
        return _ops.transpose(self, axes[0] if len(axes) == 1 else axes)

    @property
    def T(self):
        """The transpose (axes reversed)."""
        return _ops.transpose(self)

    def flatten(self, start_axis=0, end_axis=-1):
        return _ops.flatten(self, start_axis, end_axis)

    def squeeze(self, axis=None):
        return _ops.squeeze(self, axis)

    def unsqueeze(self, axis):
        return _ops.unsqueeze(self, axis)

    def broadcast_to(self, shape):
        return _ops.broadcast_to(self, shape)

    def expand(self, *shape):
        return _ops.broadcast_to(self, shape[0] if len(shape) == 1 else shape)

    def split(self, sections, axis=0):
        return _ops.split(self, sections, axis)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def dot(self, other):
        return _ops.dot(self, other)


def as_array(data, dtype=None, device=None):
    """``data`` as an array on ``device`` (default: where it is, else the CPU), by the
    dtype policy: floats become the default float dtype unless ``dtype`` is given.

    Always a new array, never a view of ``data`` (as ``torch.tensor`` copies).
    """
    if isinstance(data, Tensor):
        data = data.data
    source = device_of(data)
    fresh = source is None  # Python data is converted into a new array anyway
    if fresh:
        array = _from_nested(data) if isinstance(data, (list, tuple)) else CPU.xp.asarray(data)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} of dtype "
                            f"{array.dtype}; expected numbers, nested lists of numbers, or "
                            f"an array")
        source = CPU
    else:
        array = data
    target = as_device(device) if device is not None else source
    dtype = as_dtype(dtype) if dtype is not None else infer_dtype(array.dtype)
    if array.dtype != dtype:
        array = array.astype(dtype)
        fresh = True
    if source is not target:
        return to_device(array, target)
    if not fresh:
        array = array.copy()
    if type(array) is not target.array_type:  # a NumPy scalar or an ndarray subclass
        array = target.xp.asarray(array)
    return array


def _from_nested(data):
    """Nested lists/tuples (possibly holding tensors) as one host array."""
    items = [to_numpy(item.data) if isinstance(item, Tensor) else item for item in data]
    try:
        return CPU.xp.array(items)
    except ValueError as error:
        raise ValueError(f"cannot make a tensor from ragged nested lists: {error}") from None


def from_dlpack(obj):
    """A Tensor sharing memory with ``obj`` (a NumPy, CuPy, PyTorch or JAX array, or any
    object with ``__dlpack__``), without a copy."""
    tensor = Tensor.__new__(Tensor)
    tensor.data = _from_dlpack(obj)
    return tensor


def run_backward(tensor, grad=None, retain_graph=False):
    """What ``tensor.backward(grad, retain_graph)`` does (see there)."""
    if grad is None and tensor._node is not None and tensor.data.size == 1:  # a loss
        grads = [tensor.device.xp.ones_like(tensor.data)]
    else:
        grads = _engine.initial_grads([tensor], [grad])
    _engine.backward([tensor], grads, retain_graph)


# Imported last: ops and autograd build on the Tensor class defined above.
from . import ops as _ops  # noqa: E402
from .autograd import engine as _engine  # noqa: E402
from .ops.elementwise import Add as _Add, Mul as _Mul, Sub as _Sub  # noqa: E402
from .autograd.mode import mode as _mode  # noqa: E402
