"""NCCL collectives on CuPy arrays: the GPU piece of ``somanet.distributed``.

When gradients live on GPUs, copying them to the host for MPI would cost two
PCIe transfers per step; NCCL all-reduces them GPU to GPU (NVLink, PCIe peer
copies, InfiniBand). ``somanet.distributed`` still starts the processes with MPI
and hands every rank the NCCL unique id that rank 0 made (``unique_id()``,
broadcast over MPI); this module only wraps ``cupy.cuda.nccl``. It is the one
place above CuPy that names it for communication, so ``distributed/`` stays free
of CuPy (only ``backend`` names numpy or cupy).

Every operation is enqueued on the current CUDA stream and returns a ``Pending``
whose ``done`` property tells, without blocking, whether it has finished, so the
caller can wait with a timeout (a dead peer would otherwise hang the stream).

    >>> available() in (True, False)
    True
"""
# NCCL's names for the dtypes and reductions it supports.
_DTYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
           "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8",
           "int8": "NCCL_INT8"}
_OPS = {"sum": "NCCL_SUM", "max": "NCCL_MAX", "min": "NCCL_MIN"}


def _nccl():
    """``cupy.cuda.nccl``, or a RuntimeError saying how to get it."""
    try:
        from cupy.cuda import nccl
    except ImportError as error:
        raise RuntimeError("GPU all-reduce needs CuPy with NCCL: pip install "
                           "'somanet[gpu]' (a cupy-cudaXXx wheel) and the NCCL library "
                           f"({error})") from None
    if not getattr(nccl, "available", False):
        raise RuntimeError("this CuPy was built without NCCL, so GPU arrays cannot be "
                           "all-reduced GPU to GPU; install a CuPy wheel with NCCL support")
    return nccl


def available():
    """True when CuPy and its NCCL bindings can be imported."""
    try:
        _nccl()
    except RuntimeError:
        return False
    return True


def supports(array):
    """True when NCCL can reduce ``array`` in place (a C-contiguous array of a dtype it
    knows); anything else goes through host memory."""
    return str(array.dtype) in _DTYPES and bool(array.flags.c_contiguous)


def unique_id():
    """A fresh NCCL unique id as a list of 128 ints (JSON-able, for an MPI broadcast)."""
    return [int(value) for value in _nccl().get_unique_id()]


class Pending:
    """An operation enqueued on a CUDA stream; ``done`` is True once it has finished."""

    def __init__(self, event):
        self._event = event

    @property
    def done(self):
        return bool(self._event.done)


class NcclCommunicator:
    """One rank's NCCL communicator on one GPU.

    Every rank must construct it at the same time (it is a collective), each with
    its own GPU, the same ``size`` and the same ``unique_id``.

    Args:
        device: the somanet GPU Device this rank computes on.
        rank, size: this rank and the number of ranks.
        unique_id: rank 0's ``unique_id()``, received by every rank.
    """

    def __init__(self, device, rank, size, unique_id):
        nccl = _nccl()
        if len(unique_id) != 128:
            raise ValueError(f"NcclCommunicator: the unique id must hold 128 values, got "
                             f"{len(unique_id)}")
        self.device, self.rank, self.size = device, rank, size
        self._nccl = nccl
        with device:
            self._comm = nccl.NcclCommunicator(size, tuple(unique_id), rank)

    def _codes(self, array, op=None):
        name = str(array.dtype)
        if name not in _DTYPES:
            raise TypeError(f"NCCL cannot reduce dtype {name}; supported: {sorted(_DTYPES)}")
        if not array.flags.c_contiguous:
            raise ValueError("NCCL collectives need a C-contiguous array")
        if array.device.id != self.device.index:
            raise ValueError(f"the array is on gpu:{array.device.id}, this NCCL communicator "
                             f"on {self.device}")
        dtype = getattr(self._nccl, _DTYPES[name])
        return dtype, None if op is None else getattr(self._nccl, _OPS[op])

    def _enqueued(self):
        import cupy
        event = cupy.cuda.Event(block=False, disable_timing=True, interprocess=False)
        event.record(cupy.cuda.get_current_stream())
        return Pending(event)

    def allreduce_(self, array, op="sum"):
        """Reduce ``array`` over all ranks, in place, with ``op`` ("sum", "max", "min")."""
        if op not in _OPS:
            raise ValueError(f"NCCL all-reduce op must be one of {sorted(_OPS)}, got {op!r}")
        dtype, code = self._codes(array, op)
        import cupy
        with self.device:
            stream = cupy.cuda.get_current_stream()
            self._comm.allReduce(array.data.ptr, array.data.ptr, array.size, dtype, code,
                                 stream.ptr)
            return self._enqueued()

    def broadcast_(self, array, root=0):
        """Overwrite ``array`` on every rank with rank ``root``'s values, in place."""
        dtype, _ = self._codes(array)
        import cupy
        with self.device:
            stream = cupy.cuda.get_current_stream()
            self._comm.bcast(array.data.ptr, array.size, dtype, root, stream.ptr)
            return self._enqueued()

    def abort(self):
        """Tear the communicator down without waiting for peers (after a failure)."""
        try:
            self._comm.abort()
        except Exception:  # an old NCCL without ncclCommAbort: nothing more to do
            pass
