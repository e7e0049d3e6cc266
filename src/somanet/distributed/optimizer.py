"""``DistributedOptimizer``: average the gradients over the ranks, then the wrapped update.

Data parallelism wraps the optimiser, it does not fork the code (as ChainerMN and
Horovod do): each rank computes the gradient of its own batch, and
``step()`` replaces every gradient by the mean over the ``W`` ranks before the
wrapped optimiser's unchanged update::

    g  <-  (1 / W) * sum over ranks r of g_r

so with per-rank batches of ``B / W`` the update is the one a single process makes
with the batch of ``B`` (for a loss that is a mean over the batch).

The gradients travel in buckets: runs of parameters (of one device and dtype,
last layers first, about ``bucket_mb`` megabytes each) whose slices of one flat
buffer are reduced together. Each gradient is copied into its slice once, already
divided by ``W``; one extra number per parameter counts the ranks that produced a
gradient for it, so a parameter no rank touched keeps ``grad = None`` (and is
skipped by the update, as with one process), while one that some ranks touched
gets the mean with zeros for the others. After the reduction each parameter's
``.grad`` is a view of its slice.

Overlap (the default under MPI): from the second step on, every parameter carries a
grad-ready hook (``Tensor.register_grad_ready_hook``). When backward has finished a
parameter's gradient, the hook copies it into its slice, and when a bucket is
complete its all-reduce starts, non-blocking, while backward goes on through the
earlier layers; ``step()`` waits for the reductions just before the update. A
gradient changed after its hook ran (a second backward before the step, as when
accumulating; clipping) is noticed at the step, and that bucket is packed and
reduced again from the gradients as they are then. The sums are the same numbers
either way: with two ranks bitwise (a + b in any order), with more within float32
round-off of the blocking path (MPI may order a bucket's sum differently from the
whole buffer's).

Compression (``compression="fp16"``, as Horovod offers): each gradient, divided by
``W``, is rounded to float16 into a float16 copy of its bucket, the ranks sum those
(half the bytes on the wire; MPI adds float16 numbers rounding each sum to float16),
and the sum is widened back into the float32 buffer the ``.grad`` views point at.
The averaged gradient then carries float16's rounding: a relative error of up to
``2**-11`` per rank's term and per addition (measured on W2 in
``benchmarks/distributed.py``), values below about ``6e-5 * W`` lose digits
(float16's subnormals) and values above ``65504 * W`` become ``inf``; keep it for
networks whose gradients are of ordinary size, and mind mixed-precision loss scaling
(which needs the full range) before using both.
"""
import numpy

from .._checks import check_flag, check_real, lookup
from ..autograd import recordable
from ..backend import CPU, device_of, to_device, to_numpy, xp_of
from ..backend.kernels_half import float_to_half, half_to_float
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .process import communicator


# megabytes of gradients per bucket: on W2 (2.68 MB of gradients) 1 MB makes two buckets
# (its last two layers, then its first) and took the in-loop reduction from 5-8% of a
# step (one 4 MB bucket, no overlap) to 3-4% (benchmarks/distributed.py, 2026-12-02);
# 0.25 MB was no better here and pays more per-message latency on a real network
BUCKET_MB = 1.0
COMPRESSIONS = {"none": None, "fp16": numpy.float16}  # name -> the wire's dtype


class _Bucket:
    """A run of parameters reduced together: their gradients one after the other in a
    view of a flat buffer, then one presence count per parameter.

    Attributes:
        buffer: the flat buffer of all buckets of this device and dtype.
        view: this bucket's slice of it, where the averaged gradients end up.
        wire: the array its all-reduce sums in place: ``view`` itself, or (compressed)
            the same positions in a float16 buffer.
        numbers: each parameter's position in the optimiser (for messages).
    """

    def __init__(self, params, numbers, buffer, start, wire_buffer=None):
        self.params = params
        self.numbers = numbers
        self.buffer = buffer
        self.sizes = [param.data.size for param in params]
        self.offsets = [sum(self.sizes[:index]) for index in range(len(params))]
        self.length = sum(self.sizes)
        self.view = buffer[start:start + self.length + len(params)]
        self.wire = self.view if wire_buffer is None else \
            wire_buffer[start:start + self.length + len(params)]
        self.present = numpy.zeros(len(params), dtype=buffer.dtype)  # host-side counts
        self.packed = [None] * len(params)  # the gradient array packed for each, this step
        self.count = 0  # how many are packed
        self.pending = None  # its all-reduce, once started

    def slot(self, index):
        offset, size = self.offsets[index], self.sizes[index]
        return self.view[offset:offset + size].reshape(self.params[index].data.shape)

    def reset(self):
        self.packed = [None] * len(self.params)
        self.count = 0
        self.pending = None


def _buckets(params, megabytes, wire_dtype=None):
    """The parameters in buckets of about ``megabytes`` each, one flat buffer per device
    and dtype (and, when ``wire_dtype`` is given, a twin of that dtype that the
    all-reduces sum). Buckets are runs of parameters cut from the last (the order
    backward finishes them), listed in that order; within the buffer and each bucket,
    the parameters keep the optimiser's order."""
    groups = {}
    for number, param in enumerate(params):
        groups.setdefault((device_of(param.data), param.data.dtype), []).append(
            (number, param))
    limit = max(1, int(megabytes * 2 ** 20))
    buckets = []
    for (device, dtype), members in groups.items():
        runs, run, size = [], [], 0
        for number, param in reversed(members):
            run.insert(0, (number, param))
            size += param.data.nbytes
            if size >= limit:
                runs.append(run)
                run, size = [], 0
        if run:
            runs.append(run)
        total = sum(param.data.size for _, param in members) + len(members)
        # made on the host and moved, so it lands on the parameters' device even when
        # another GPU is the current one
        buffer = to_device(numpy.zeros(total, dtype=dtype), device)
        wire = None if wire_dtype is None or dtype.kind != "f" or dtype.itemsize <= 2 else \
            to_device(numpy.zeros(total, dtype=wire_dtype), device)
        start = total
        for run in runs:  # the last parameters at the end of the buffer
            start -= sum(param.data.size for _, param in run) + len(run)
            buckets.append(_Bucket([param for _, param in run], [n for n, _ in run], buffer,
                                   start, wire))
    return buckets


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
        overlap: reduce each bucket while backward still runs (see the module
            docstring); ``False``: everything at ``step()``, one bucket after another.
        bucket_mb: megabytes of gradients per bucket (default ``BUCKET_MB``).
        compression: ``None`` (the gradients travel as they are) or ``"fp16"``: as
            float16, half the bytes, with float16's rounding in the averaged gradients
            (see the module docstring).

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

    def __init__(self, optimizer, communicator=None, overlap=True,  # noqa: D107
                 bucket_mb=BUCKET_MB, compression=None):
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("DistributedOptimizer: the optimizer is already a "
                            "DistributedOptimizer; wrapping it twice would average twice")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"DistributedOptimizer wraps a somanet.optim optimizer (SGD, "
                            f"Adam...), got {type(optimizer).__name__}")
        self.__dict__["optimizer"] = optimizer
        self.__dict__["_communicator"] = communicator
        self.__dict__["overlap"] = check_flag("DistributedOptimizer", "overlap", overlap)
        self.__dict__["bucket_mb"] = check_real("DistributedOptimizer", "bucket_mb", bucket_mb,
                                                minimum=0.0, min_open=True)
        wire = None if compression is None else lookup(
            "DistributedOptimizer", "compression", compression, COMPRESSIONS,
            hint=" (or None)")
        self.__dict__["compression"] = None if wire is None else "fp16"
        self.__dict__["_wire_dtype"] = wire
        self.__dict__["_buckets"] = None
        self.__dict__["_slots"] = {}  # id(param) -> (bucket, index)
        self.__dict__["_hooks"] = []
        self.__dict__["_syncing"] = True  # False inside no_sync(): hooks leave gradients be
        self.__dict__["_next"] = 0  # the next bucket to start: every rank starts them in order
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
        self._forget_buckets()

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
        self._forget_buckets()  # the packing changes

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
        gradients); the next ``step()`` then only updates. A no-op with one process.

        Buckets already reducing (overlap) are waited for; the others, and any whose
        gradients changed since their hooks ran, are packed and reduced here."""
        comm = self.communicator
        self.__dict__["_reduced"] = True
        if comm.size == 1:
            return
        buckets = self._buckets
        if buckets is None:
            buckets = self._make_buckets()
        scale = None
        for bucket in buckets:
            changed = any(packed is not None and (param.grad is None or
                                                  param.grad.data is not packed)
                          for param, packed in zip(bucket.params, bucket.packed))
            if changed or bucket.pending is None:
                if bucket.pending is not None:
                    bucket.pending.wait()  # its buffer is MPI's until then
                scale = scale or bucket.view.dtype.type(1.0 / comm.size)
                for index in range(len(bucket.params)):
                    self._pack(bucket, index, scale)
                self._start(bucket)
        for bucket in buckets:
            bucket.pending.wait()
            self._unpack(bucket)
            bucket.reset()
        self.__dict__["_next"] = 0

    def no_sync(self):
        """A context in which backward leaves the gradients alone (no bucket starts
        reducing): for the backward passes that accumulate into a later step's
        gradients, so only the last one overlaps its reductions."""
        return _NoSync(self)

    def _forget_buckets(self):
        for handle in self._hooks:
            handle.remove()
        self.__dict__["_hooks"] = []
        self.__dict__["_slots"] = {}
        self.__dict__["_buckets"] = None

    def _make_buckets(self):
        self._forget_buckets()
        buckets = _buckets(self.optimizer.parameters(), self.bucket_mb, self._wire_dtype)
        self.__dict__["_buckets"] = buckets
        for bucket in buckets:
            for index, param in enumerate(bucket.params):
                self._slots[id(param)] = (bucket, index)
                if self.overlap and param.requires_grad and param.is_leaf:
                    self._hooks.append(param.register_grad_ready_hook(self._gradient_ready))
        return buckets

    def _gradient_ready(self, param):
        """A grad-ready hook: pack the parameter's gradient; start its bucket's all-reduce
        once the bucket is complete; help the reductions in flight along."""
        if not self._syncing or self._reduced:
            return
        bucket, index = self._slots[id(param)]
        if bucket.packed[index] is not None or bucket.pending is not None:
            return  # a second backward before the step: reduce_gradients packs again
        comm = self.communicator
        self._pack(bucket, index, bucket.view.dtype.type(1.0 / comm.size))
        buckets = self._buckets
        # Buckets start in their fixed order (MPI matches collectives by the order they are
        # called in), each as soon as it and those before it are complete.
        while self._next < len(buckets) and \
                buckets[self._next].count == len(buckets[self._next].params):
            self._start(buckets[self._next])
            self.__dict__["_next"] += 1
        for other in buckets:
            if other.pending is not None:
                other.pending.test()

    def _pack(self, bucket, index, scale):
        """Copy one gradient, divided by the number of ranks, into its slot (so the sum
        over ranks is the mean), and note whether there was one."""
        param = bucket.params[index]
        slot = bucket.slot(index)
        if param.grad is None:
            slot.fill(0)
            bucket.present[index] = 0
            bucket.packed[index] = None
        else:
            grad = param.grad.data
            if grad.shape != param.data.shape or grad.dtype != param.data.dtype:
                raise ValueError(f"DistributedOptimizer: parameter {bucket.numbers[index]} has "
                                 f"shape {param.data.shape}, dtype {param.data.dtype} but "
                                 f"its grad has shape {grad.shape}, dtype {grad.dtype}")
            xp_of(slot).multiply(grad, scale, out=slot)
            bucket.present[index] = 1
            bucket.packed[index] = grad
        bucket.count += 1

    def _start(self, bucket):
        if bucket.wire is not bucket.view:  # compressed: the gradients rounded to float16
            float_to_half(bucket.view[:bucket.length], bucket.wire[:bucket.length])
        bucket.wire[bucket.length:] = bucket.present  # one copy (host to device on a GPU)
        bucket.pending = self.communicator.start_allreduce_(bucket.wire, "sum")

    def _unpack(self, bucket):
        """Point each parameter's ``.grad`` at its slice of the reduced buffer (widened
        from the wire's float16 first, when compressed)."""
        if bucket.wire is not bucket.view:
            half_to_float(bucket.wire, bucket.view)
        counts = bucket.view[bucket.length:]
        if device_of(counts) is not CPU:
            counts = to_numpy(counts)  # one small copy: which parameters got a gradient
        for index, (param, count) in enumerate(zip(bucket.params, counts.tolist())):
            if count == 0:
                continue  # no rank computed a gradient for it: leave grad None
            view = bucket.slot(index)
            if param.grad is None:
                grad = Tensor.__new__(Tensor)
                grad.data = view
                param.grad = grad
            else:
                param.grad.data = view


class _NoSync:
    def __init__(self, optimizer):
        self.optimizer = optimizer

    def __enter__(self):
        self.saved = self.optimizer._syncing
        self.optimizer.__dict__["_syncing"] = False
        return self.optimizer

    def __exit__(self, *exc):
        self.optimizer.__dict__["_syncing"] = self.saved
        return False
