"""``DistributedOptimizer``: average the gradients over the ranks, then the wrapped update.

Data parallelism wraps the optimiser, it does not fork the code (as ChainerMN and
Horovod do): each rank computes the gradient of its own batch, and
``step()`` replaces every gradient by the mean over the ``W`` ranks before the
wrapped optimiser's unchanged update::

    g  <-  (1 / W) * sum over ranks r of g_r

so with per-rank batches of ``B / W`` the update is the one a single process makes
with the batch of ``B`` (for a loss that is a mean over the batch).

The gradients travel in one packed buffer per device and dtype (a model in
float32 on one device: one buffer), allocated on the first step and reused:
gradients are copied in already divided by ``W`` (one pass over the data), one
all-reduce sums the buffer in place, and each parameter's ``.grad`` becomes a view
of its slice. One extra number per parameter
in the buffer counts the ranks that produced a gradient for it, so a parameter no
rank touched keeps ``grad = None`` (and is skipped by the update, as with one
process), while one that some ranks touched gets the mean with zeros for the others.
"""
import numpy

from ..autograd import recordable
from ..backend import CPU, device_of, to_device, to_numpy, xp_of
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .process import communicator


class _Bucket:
    """The parameters of one device and dtype, and their flat gradient buffer: the
    gradients one after the other, then one presence count per parameter."""

    def __init__(self, params):
        self.params = params
        self.sizes = [param.data.size for param in params]
        self.offsets = [sum(self.sizes[:index]) for index in range(len(params))]
        self.length = sum(self.sizes)
        array = params[0].data
        # made on the host and moved, so it lands on the parameters' device even when
        # another GPU is the current one
        self.buffer = to_device(numpy.zeros(self.length + len(params), dtype=array.dtype),
                                device_of(array))
        self.present = numpy.zeros(len(params), dtype=array.dtype)  # host-side counts


class DistributedOptimizer(Optimizer):
    """Wrap an optimiser so that ``step()`` first averages the gradients over all ranks.

    Everything else (``param_groups``, ``state``, ``zero_grad``, ``state_dict``,
    ``load_state_dict``, ``add_param_group``, any other attribute) is the wrapped
    optimiser's, so learning-rate schedules, gradient clipping and checkpoints work
    unchanged, and a checkpoint saved from the wrapper loads into a plain optimiser.
    With one process, ``step()`` is the wrapped optimiser's step and nothing else.

    Args:
        optimizer: the ``somanet.optim`` optimiser to wrap.
        communicator: the ranks to average over (default: this process's job).

    To clip the averaged gradients (so every rank clips the same values), reduce first::

        optimizer.reduce_gradients()
        somanet.optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()                      # does not reduce a second time

    Example (the same script runs alone or under ``mpiexec -n 4``)::

        optimizer = DistributedOptimizer(sn.optim.SGD(model.parameters(), lr=0.1))
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    """

    def __init__(self, optimizer, communicator=None):  # noqa: D107 (no Optimizer.__init__)
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("DistributedOptimizer: the optimizer is already a "
                            "DistributedOptimizer; wrapping it twice would average twice")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"DistributedOptimizer wraps a somanet.optim optimizer (SGD, "
                            f"Adam...), got {type(optimizer).__name__}")
        self.__dict__["optimizer"] = optimizer
        self.__dict__["_communicator"] = communicator
        self.__dict__["_buckets"] = None
        self.__dict__["_reduced"] = False

    # -- forwarding to the wrapped optimiser ------------------------------------------------

    def __getattr__(self, name):  # only called for attributes not found on the wrapper
        optimizer = self.__dict__.get("optimizer")
        if optimizer is None:  # half-built (copy, unpickling): nothing to forward to
            raise AttributeError(name)
        return getattr(optimizer, name)

    def __setattr__(self, name, value):
        if name in type(self).__dict__ or name in self.__dict__:
            object.__setattr__(self, name, value)
        else:
            setattr(self.optimizer, name, value)

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @param_groups.setter
    def param_groups(self, value):
        self.optimizer.param_groups = value
        self.__dict__["_buckets"] = None

    @property
    def state(self):
        return self.optimizer.state

    @state.setter
    def state(self, value):
        self.optimizer.state = value

    @property
    def defaults(self):
        return self.optimizer.defaults

    @property
    def communicator(self):
        comm = self.__dict__["_communicator"]
        return communicator() if comm is None else comm

    def add_param_group(self, group):
        self.optimizer.add_param_group(group)
        self.__dict__["_buckets"] = None  # the packing changes

    def parameters(self):
        return self.optimizer.parameters()

    def zero_grad(self, set_to_none=True):
        self.__dict__["_reduced"] = False  # new gradients follow: the next step reduces them
        self.optimizer.zero_grad(set_to_none)

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.optimizer.load_state_dict(state_dict)

    def __repr__(self):
        return f"DistributedOptimizer({self.optimizer!r})"

    # -- the step ---------------------------------------------------------------------------

    @recordable
    def step(self, closure=None):
        """Average the gradients over all ranks (unless ``reduce_gradients`` already did
        for this step), then run the wrapped optimiser's ``step``.

        Args:
            closure: optional; recomputes the loss (zero grads, forward, backward) and
                returns it. It runs here, before the gradients are averaged.
        """
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        if not self._reduced:
            self.reduce_gradients()
        self.__dict__["_reduced"] = False
        self.optimizer.step()
        return loss

    def reduce_gradients(self):
        """Replace every parameter's gradient by its mean over the ranks, now (so code
        between this and ``step()``, such as gradient clipping, sees the averaged
        gradients); the next ``step()`` then only updates. A no-op with one process."""
        comm = self.communicator
        self.__dict__["_reduced"] = True
        if comm.size == 1:
            return
        buckets = self._buckets
        if buckets is None:
            buckets = self.__dict__["_buckets"] = self._make_buckets()
        for bucket in buckets:
            self._pack(bucket, comm.size)
            comm.allreduce_(bucket.buffer, "sum")
            self._unpack(bucket)

    def _make_buckets(self):
        groups = {}
        for param in self.optimizer.parameters():
            key = (device_of(param.data), param.data.dtype)
            groups.setdefault(key, []).append(param)
        return [_Bucket(params) for params in groups.values()]

    def _pack(self, bucket, size):
        """Copy each gradient, divided by the number of ranks, into the buffer (one pass:
        the sum over ranks is then the mean), and the presence counts after them."""
        buffer, xp, present = bucket.buffer, xp_of(bucket.buffer), bucket.present
        scale = buffer.dtype.type(1.0 / size)
        for index, (param, offset, size) in enumerate(zip(bucket.params, bucket.offsets,
                                                          bucket.sizes)):
            slot = buffer[offset:offset + size].reshape(param.data.shape)
            if param.grad is None:
                slot.fill(0)
                present[index] = 0
            else:
                grad = param.grad.data
                if grad.shape != param.data.shape or grad.dtype != param.data.dtype:
                    raise ValueError(f"DistributedOptimizer: parameter {index} has shape "
                                     f"{param.data.shape}, dtype {param.data.dtype} but its "
                                     f"grad has shape {grad.shape}, dtype {grad.dtype}")
                xp.multiply(grad, scale, out=slot)
                present[index] = 1
        buffer[bucket.length:] = present  # one copy (host to device on a GPU)

    def _unpack(self, bucket):
        """Point each parameter's ``.grad`` at its slice of the reduced buffer."""
        buffer = bucket.buffer
        counts = buffer[bucket.length:]
        if device_of(buffer) is not CPU:
            counts = to_numpy(counts)  # one small copy: which parameters got a gradient
        for param, offset, count in zip(bucket.params, bucket.offsets, counts.tolist()):
            if count == 0:
                continue  # no rank computed a gradient for it: leave grad None
            view = buffer[offset:offset + param.data.size].reshape(param.data.shape)
            if param.grad is None:
                grad = Tensor.__new__(Tensor)
                grad.data = view
                param.grad = grad
            else:
                param.grad.data = view
