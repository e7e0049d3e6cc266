"""Collectives on somanet objects: tensors, models, metrics, logs, flags.

Each is one or two calls of this process's communicator, and with one process
returns at once (copying at most a small value), so a training loop calls them
unconditionally.
"""
import hashlib
import json
from numbers import Real

import numpy

from .._checks import is_int
from ..backend import device_of, to_device, xp_of
from ..tensor import Tensor
from .communicator import check_op
from .process import communicator


def _new_tensor(array):
    tensor = Tensor.__new__(Tensor)
    tensor.data = array
    return tensor


def allreduce(value, op="sum", timeout=None):
    """Combine ``value`` over all ranks: a new value, the input is untouched.

    Args:
        value: a Tensor, an array, or a Python number (bools: use ``all_agree``).
        op: "sum", "mean" (floats), "max" or "min".
        timeout: seconds before a ``CollectiveTimeoutError`` (``None``: ``set_timeout``).

    Returns:
        The same kind as ``value``: a Tensor (outside the autograd graph) on the same
        device with the same dtype, an array, or a Python number.

        >>> import somanet as sn
        >>> float(allreduce(sn.tensor(2.0), op="mean"))   # one process: unchanged
        2.0
    """
    check_op(op, "allreduce")
    if isinstance(value, bool):
        raise TypeError("allreduce: got a bool; use all_agree(flag) to combine flags")
    comm = communicator()
    if isinstance(value, Tensor):
        array = value.data.copy()
        return _new_tensor(comm.allreduce_(array, op, timeout))
    if isinstance(value, (Real, numpy.generic)):
        integer = is_int(value) and op != "mean"
        array = numpy.array([value], dtype=numpy.int64 if integer else numpy.float64)
        return comm.allreduce_(array, op, timeout)[0].item()
    if device_of(value) is None:
        raise TypeError(f"allreduce takes a Tensor, an array or a number, got "
                        f"{type(value).__name__}")
    return comm.allreduce_(value.copy(), op, timeout)


def broadcast_object(value, root=0, timeout=None):
    """Rank ``root``'s ``value`` (anything JSON can hold) on every rank, e.g. a run
    folder's name chosen on rank 0. Other ranks' ``value`` is ignored."""
    return communicator().broadcast_object(value, root, timeout)


def all_agree(flag, rule="any", timeout=None):
    """One decision for all ranks from each rank's ``flag``.

    Args:
        flag: this rank's bool (e.g. "stop training": EarlyStopping, a NaN loss).
        rule: ``"any"``: True if any rank says True (any rank stops -> all stop);
            ``"all"``: True only if every rank says True; ``"main"``: rank 0's flag.

    Returns:
        The same bool on every rank.
    """
    if rule not in ("any", "all", "main"):
        raise ValueError(f"all_agree: rule must be 'any', 'all' or 'main', got {rule!r}")
    comm = communicator()
    flag = bool(flag)
    if comm.size == 1:
        return flag
    if rule == "main":
        return bool(comm.broadcast_object(flag, 0, timeout))
    array = numpy.array([int(flag)], dtype=numpy.int64)
    comm.allreduce_(array, "max" if rule == "any" else "min", timeout)
    return bool(array[0])


def _named_tensors(model, who):
    """``[(name, Tensor)]`` of a Module's state (parameters and persistent buffers), a
    dict of tensors, or a list of tensors; each tensor once."""
    if hasattr(model, "state_dict") and hasattr(model, "named_parameters"):
        items = list(model.state_dict(keep_vars=True).items())
    elif isinstance(model, dict):
        items = list(model.items())
    else:
        try:
            items = [(str(index), tensor) for index, tensor in enumerate(model)]
        except TypeError:
            raise TypeError(f"{who} takes a Module, a dict of tensors or a list of tensors, "
                            f"got {type(model).__name__}") from None
    seen, unique = set(), []
    for name, tensor in items:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{who}: {name!r} is a {type(tensor).__name__}, not a Tensor")
        if id(tensor) not in seen:
            seen.add(id(tensor))
            unique.append((name, tensor))
    return unique


def broadcast_parameters(model, root=0, timeout=None):
    """Overwrite every rank's parameters and buffers with rank ``root``'s, in place, so
    all ranks start from the same weights (call once, before training).

    Args:
        model: a Module (its ``state_dict``: parameters and persistent buffers such as
            BatchNorm's running statistics), a dict of tensors or a list of tensors.
        root: the rank whose values everyone gets.

    The tensors of one device and dtype travel in one packed buffer.
    """
    comm = communicator()
    tensors = _named_tensors(model, "broadcast_parameters")
    if comm.size == 1 or not tensors:
        return model
    groups = {}
    for _, tensor in tensors:
        groups.setdefault((device_of(tensor.data), tensor.data.dtype), []).append(tensor)
    for (device, dtype), group in groups.items():
        xp = xp_of(group[0].data)
        total = sum(tensor.data.size for tensor in group)
        buffer = to_device(numpy.empty(total, dtype=dtype), device)  # on the tensors' device
        slots, offset = [], 0
        for tensor in group:
            slots.append(buffer[offset:offset + tensor.data.size].reshape(tensor.data.shape))
            offset += tensor.data.size
        if comm.rank == root:
            for tensor, slot in zip(group, slots):
                xp.copyto(slot, tensor.data)
        comm.broadcast_(buffer, root, timeout)
        if comm.rank != root:
            for tensor, slot in zip(group, slots):
                xp.copyto(tensor.data, slot)
    return model


def _signature(model):
    return [[name, list(tensor.data.shape), str(tensor.data.dtype)]
            for name, tensor in _named_tensors(model, "check_same_model")]


def _describe(entry):
    name, shape, dtype = entry
    return f"{name!r} shape {tuple(shape)} {dtype}"


def check_same_model(model, timeout=None):
    """Raise unless every rank built the same model: the same parameter and buffer
    names, shapes and dtypes, in the same order.

    Costs one small all-gather of a digest; only on a mismatch are the full lists
    exchanged, to name the ranks and the first parameter that differs.

    Raises:
        ValueError: e.g. "rank 0 and rank 1 built different models: parameter 2 is
            '1.weight' shape (512, 784) float32 on rank 0 but '1.weight' shape
            (256, 784) float32 on rank 1 ...".
    """
    comm = communicator()
    if comm.size == 1:
        return
    signature = _signature(model)
    digest = hashlib.sha256(json.dumps(signature).encode("utf-8")).hexdigest()
    digests = comm.allgather_object(digest, timeout)
    if len(set(digests)) == 1:
        return
    signatures = comm.allgather_object(signature, timeout)
    reference = signatures[0]
    same = [rank for rank, digest in enumerate(digests) if digest == digests[0]]
    other = [rank for rank in range(comm.size) if rank not in same]
    first = other[0]
    theirs = signatures[first]
    index = next((i for i, (a, b) in enumerate(zip(reference, theirs)) if a != b),
                 min(len(reference), len(theirs)))
    if index < len(reference) and index < len(theirs):
        detail = (f"parameter {index} is {_describe(reference[index])} on rank 0 but "
                  f"{_describe(theirs[index])} on rank {first}")
    elif index < len(reference):
        detail = (f"rank 0 has {len(reference)} parameters and buffers, rank {first} "
                  f"{len(theirs)}: rank {first} has nothing at position {index}, where rank 0 "
                  f"has {_describe(reference[index])}")
    else:
        detail = (f"rank 0 has {len(reference)} parameters and buffers, rank {first} "
                  f"{len(theirs)}: rank 0 has nothing at position {index}, where rank "
                  f"{first} has {_describe(theirs[index])}")
    raise ValueError(
        f"somanet.distributed: rank 0 and rank {first} built different models: {detail}. "
        f"Ranks {same} have rank 0's model, ranks {other} another. Every rank must build "
        f"the same model (same layers, sizes, dtypes, in the same order, and a lazy layer "
        f"built by the same input shape): does the model depend on the rank or on data "
        f"only one rank has?")


def reduce_metrics(metrics, timeout=None):
    """Make every metric the metric over all ranks' data: sum each metric's
    ``get_state()`` (a short list of sums and counts) over the ranks and ``set_state``
    the totals, in one all-reduce. ``result()`` is then the global value, the same on
    every rank (not the mean of per-rank results).

    Args:
        metrics: a metric, or a list/tuple/dict of metrics (objects with ``get_state()``
            and ``set_state(values)``).

    Returns:
        ``metrics``.
    """
    items = list(metrics.values()) if isinstance(metrics, dict) else \
        list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    for metric in items:
        if not (hasattr(metric, "get_state") and hasattr(metric, "set_state")):
            raise TypeError(f"reduce_metrics: {type(metric).__name__} has no get_state() / "
                            f"set_state(values); a metric must expose its sums to be reduced "
                            f"across processes")
    comm = communicator()
    if comm.size == 1 or not items:
        return metrics
    states = [[float(value) for value in metric.get_state()] for metric in items]
    flat = numpy.array([value for state in states for value in state], dtype=numpy.float64)
    comm.allreduce_(flat, "sum", timeout)
    offset = 0
    for metric, state in zip(items, states):
        metric.set_state(flat[offset:offset + len(state)].tolist())
        offset += len(state)
    return metrics


def reduce_logs(logs, op="mean", timeout=None):
    """A copy of ``logs`` (e.g. ``{"loss": 0.31, "lr": 0.01}``) with every number
    combined over the ranks by ``op`` ("mean" by default: the mean per-rank loss is the
    global mean loss when ranks see equally many examples), in one all-reduce. Other
    values are copied as they are. Every rank must pass the same keys."""
    check_op(op, "reduce_logs")
    if logs is None:
        return None
    comm = communicator()
    if comm.size == 1:
        return dict(logs)
    keys = sorted(key for key, value in logs.items() if _is_number(value))
    values = numpy.array([_as_float(logs[key]) for key in keys], dtype=numpy.float64)
    comm.allreduce_(values, op, timeout)
    reduced = dict(logs)
    reduced.update(zip(keys, values.tolist()))
    return reduced


def _is_number(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, (Real, numpy.number)):
        return True
    return isinstance(value, Tensor) and value.size == 1


def _as_float(value):
    return value.item() if isinstance(value, Tensor) else float(value)
