"""Model weights as safetensors files: no pickle, so a file from a stranger cannot run code,
and PyTorch, JAX and the Hugging Face tools read the same files.

    >>> import os, tempfile, somanet as sn
    >>> from somanet import nn
    >>> model = nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save_weights(path, model)
    >>> load_weights(path, nn.Linear(3, 2))
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])

Every function of ``somanet.io`` takes the file or folder first, then what is saved
into it or loaded from it (as ``numpy.save(file, array)``, and ``save_checkpoint(path,
model, optimizer, ...)``); the other order is a TypeError saying which is which.

Weights from PyTorch: somanet names parameters as PyTorch does, but keeps a
``Linear``'s weight and the recurrent layers' matrices in the ``(in, out)`` layout
(Keras's). ``load_weights(path, model, layout="torch")`` reads a safetensors file
saved from the equivalent PyTorch model's ``state_dict()`` and converts it, layer by
layer (``somanet.io.layouts``); ``save_weights(path, model, layout="torch")`` writes
one PyTorch loads. A file somanet did not write must say which layout it has
(``layout="torch"`` or ``layout="somanet"``): a square weight loads either way, so
guessing could load it transposed without a word.

The file format (https://huggingface.co/docs/safetensors) is an 8-byte little-endian
header length, a JSON header (each tensor's dtype, shape and byte range, and a
``__metadata__`` dict of strings), then the tensors' bytes. somanet reads and writes it
itself, so that:

- a file is byte-reproducible: the same weights give the same bytes (the metadata keys
  and the tensors in a fixed order), so two seeded runs give files with one checksum;
- every tensor's CRC-32 goes into the metadata (``"checksums"``) and is verified when
  it is read: a bit flipped on disk is an error naming the tensor;
- the header is checked before any data is read (byte ranges inside the file, sizes that
  match the shapes, and, when loading into a model, the names and shapes the model
  has), and the data is then read one tensor at a time: a small file cannot make the
  loader allocate more than the model it fills.
"""
import json
import math
import os
import zlib
from collections import namedtuple

import numpy

from ..backend import to_numpy
from ..tensor import Tensor
from . import layouts
from .atomic import atomic_write_bytes

_PRODUCER = "somanet"
CHECKSUMS = "checksums"  # the metadata key holding {tensor name: "crc32:<8 hex digits>"}
_MAX_HEADER = 100_000_000  # the safetensors library's own limit

# safetensors dtype names <-> NumPy (little-endian, as the format stores them).
_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2", "F16": "<f2",
           "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8"}
_NAMES = {numpy.dtype(code).newbyteorder("="): name for name, code in _DTYPES.items()}
_ITEM_SIZES = {"BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}  # valid in the format, not in NumPy

TensorInfo = namedtuple("TensorInfo", ["dtype", "shape", "begin", "end"])
TensorInfo.__doc__ = """One tensor of a safetensors header: its safetensors ``dtype`` name
(``"F32"``), ``shape`` (a tuple) and byte range ``[begin, end)`` in the data."""


def state_arrays(source, who="save_weights"):
    """``{name: host NumPy array}`` from a Module (its ``state_dict()``) or from a dict of
    Tensors / arrays."""
    if hasattr(source, "state_dict") and callable(source.state_dict):
        state = source.state_dict()
    elif hasattr(source, "items"):
        state = source
    else:
        raise TypeError(f"{who} expects a Module or a dict of name -> tensor, got "
                        f"{type(source).__name__}")
    arrays = {}
    for name, value in state.items():
        if not isinstance(name, str):
            raise TypeError(f"{who}: tensor names must be strings, got {name!r}")
        array = to_numpy(value.data if isinstance(value, Tensor) else value)
        array = numpy.asarray(array)
        if array.dtype.kind not in "biuf" or array.dtype.newbyteorder("=") not in _NAMES:
            raise TypeError(f"{who}: {name!r} has dtype {array.dtype}; only bool, int and "
                            f"float arrays can be saved")
        arrays[name] = numpy.ascontiguousarray(array)
    return arrays


def checksum(array):
    """``"crc32:<8 hex digits>"`` of an array's little-endian bytes."""
    return f"crc32:{zlib.crc32(_bytes_of(_little_endian(array))) & 0xFFFFFFFF:08x}"


def _bytes_of(array):
    """A contiguous array's bytes, as a uint8 view (no copy)."""
    return array.reshape(-1).view(numpy.uint8)


def _little_endian(array):
    array = numpy.ascontiguousarray(array)
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and
                                        numpy.little_endian is False):
        array = array.astype(array.dtype.newbyteorder("<"))
    return array


def safetensors_bytes(arrays, metadata=None):
    """The bytes of a safetensors file holding ``arrays`` (and str -> str ``metadata``),
    with each tensor's checksum in the metadata. The same arrays and metadata always
    give the same bytes."""
    meta = {"format": "np", "producer": _PRODUCER}
    meta.update(metadata or {})
    arrays = {name: _little_endian(array) for name, array in arrays.items()}
    meta[CHECKSUMS] = json.dumps({name: checksum(arrays[name]) for name in sorted(arrays)},
                                 separators=(",", ":"))
    # Widest items first, then by name (the safetensors library's order): every tensor
    # starts at a multiple of its item size, as zero-copy readers want.
    order = sorted(arrays, key=lambda name: (-arrays[name].dtype.itemsize, name))
    header = {"__metadata__": {key: meta[key] for key in sorted(meta)}}
    offset = 0
    for name in order:
        array = arrays[name]
        size = array.nbytes
        header[name] = {"dtype": _NAMES[array.dtype.newbyteorder("=")],
                        "shape": list(array.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    parts = [len(text).to_bytes(8, "little"), text]
    parts.extend(_bytes_of(arrays[name]) for name in order)
    return b"".join(parts)


def check_order(who, path, obj, what="model"):
    """Raise a TypeError saying which argument is which when ``who(path, obj)`` was called
    the other way round (``who(model, path)``), or with no path at all."""
    if isinstance(path, (str, bytes, os.PathLike)):
        return
    if isinstance(obj, (str, bytes, os.PathLike)):
        raise TypeError(f"{who} takes the path first, then the {what}: {who}(path, {what}); "
                        f"got a {type(path).__name__} first and the path {obj!r} second")
    raise TypeError(f"{who}: the first argument is the path (a str or os.PathLike), got "
                    f"{type(path).__name__}")


def save_weights(path, model, metadata=None, layout="somanet"):
    """Save a model's ``state_dict()`` (or a dict of tensors) to a safetensors file,
    atomically: an interrupted save leaves any previous file intact.

    Args:
        path: the file to write (``.safetensors`` by convention).
        model: a ``Module``, or a dict of name -> Tensor / array.
        metadata: optional ``{str: str}`` stored in the file's header (beside
            ``format``, ``producer``, ``layout`` and ``checksums``, which somanet writes).
        layout: ``"somanet"`` (the default) or ``"torch"``: the tensors as PyTorch's
            equivalent model names and lays them out, for ``torch_model.load_state_dict(
            safetensors.torch.load_file(path))``.
    """
    check_order("save_weights", path, model)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in metadata.items()):
        raise TypeError("save_weights: metadata must map strings to strings")
    layout = _check_layout("save_weights", layout, allow_none=False)
    arrays = state_arrays(model)
    if layout == "torch":
        if isinstance(model, dict) or not hasattr(model, "named_modules"):
            raise TypeError("save_weights: layout='torch' needs the Module (its layers say "
                            "which tensors to convert), not a dict")
        arrays = layouts.to_torch(model, arrays)
    metadata = dict(metadata or {})
    metadata[LAYOUT] = layout
    atomic_write_bytes(path, safetensors_bytes(arrays, metadata))


class Header:
    """The checked header of a safetensors file.

    Attributes:
        path: the file.
        tensors: ``{name: TensorInfo}`` in the header's order.
        metadata: the ``{str: str}`` metadata.
        checksums: ``{name: "crc32:..."}`` (empty for files written by other tools).
        data_start: the file offset of the data.
    """

    def __init__(self, path, tensors, metadata, checksums, data_start):
        self.path, self.tensors, self.metadata = path, tensors, metadata
        self.checksums, self.data_start = checksums, data_start


def _not_readable(who, path, why):
    return ValueError(f"{who}: {path} is not a readable safetensors file ({why}); it may be "
                      f"truncated by an interrupted copy, or be another format")


def _check_path(path, who):
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{who}: {path} is a folder, not a safetensors file (a "
                                f"checkpoint folder is read by load_checkpoint)")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: no file {path}")
    return path


def read_header(path, who="read_header"):
    """Read and check the header of the safetensors file ``path``, reading no tensor data.

    Every tensor's byte range must lie inside the file and match its dtype and shape, and
    the ranges must tile the data exactly (as the format requires).

    Returns:
        A ``Header``.

    Raises:
        FileNotFoundError, IsADirectoryError: no such file, or a folder.
        ValueError: naming the file and what is wrong with it.
    """
    path = _check_path(path, who)
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        start = handle.read(8)
        if len(start) < 8:
            raise _not_readable(who, path, f"{size} bytes, shorter than the 8-byte header "
                                           f"length")
        length = int.from_bytes(start, "little")
        if length > min(size - 8, _MAX_HEADER):
            raise _not_readable(who, path, f"the header length {length} does not fit in "
                                           f"the file of {size} bytes")
        raw = handle.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _not_readable(who, path, f"the header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise _not_readable(who, path, "the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(key, str) and isinstance(value, str)
                                                 for key, value in metadata.items()):
        raise _not_readable(who, path, "__metadata__ is not a map of strings to strings")
    data_size = size - 8 - length
    tensors, ranges = {}, []
    for name, entry in header.items():
        info = _tensor_info(entry)
        if info is None:
            raise _not_readable(who, path, f"the entry of tensor {name!r} is malformed: "
                                           f"{json.dumps(entry)[:200]}")
        count = math.prod(info.shape)
        item = _ITEM_SIZES.get(info.dtype) or numpy.dtype(_DTYPES[info.dtype]).itemsize
        if info.end - info.begin != count * item:
            raise _not_readable(who, path, f"tensor {name!r} of shape {info.shape} "
                                           f"({info.dtype}) needs {count * item} bytes but its "
                                           f"range [{info.begin}, {info.end}) has "
                                           f"{info.end - info.begin}")
        if info.end > data_size:
            raise _not_readable(who, path, f"tensor {name!r} ends at byte {info.end} of the "
                                           f"data but the file holds {data_size} bytes of "
                                           f"data")
        tensors[name] = info
        ranges.append((info.begin, info.end, name))
    position = 0
    for begin, end, name in sorted(ranges):
        if begin != position:
            raise _not_readable(who, path, f"tensor {name!r} starts at byte {begin} of the "
                                           f"data, expected {position} (ranges overlap or "
                                           f"leave gaps)")
        position = end
    if position != data_size:
        raise _not_readable(who, path, f"the tensors take {position} bytes but the file "
                                       f"holds {data_size} bytes of data")
    checksums = {}
    if CHECKSUMS in metadata:
        try:
            checksums = json.loads(metadata[CHECKSUMS])
        except ValueError:
            checksums = None
        if not isinstance(checksums, dict) or not all(isinstance(value, str)
                                                      for value in checksums.values()):
            raise _not_readable(who, path, f"its {CHECKSUMS!r} metadata is damaged")
    return Header(path, tensors, metadata, checksums, 8 + length)


def _tensor_info(entry):
    """A ``TensorInfo`` from a header entry, or ``None`` when it is malformed."""
    if not isinstance(entry, dict):
        return None
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in _DTYPES and dtype not in _ITEM_SIZES:
        return None
    if not isinstance(shape, list) or not all(_count(value) for value in shape):
        return None
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_count(value)
                                                                     for value in offsets):
        return None
    if offsets[0] > offsets[1]:
        return None
    return TensorInfo(dtype, tuple(shape), offsets[0], offsets[1])


def _count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def numpy_dtype(header, name, who):
    """The NumPy dtype of tensor ``name`` (a ValueError for one NumPy cannot represent)."""
    info = header.tensors[name]
    if info.dtype not in _DTYPES:
        raise ValueError(f"{who}: {header.path} holds a tensor NumPy cannot represent: "
                         f"{name!r} is {info.dtype}")
    return numpy.dtype(_DTYPES[info.dtype])


def _read_tensor(handle, header, name, who):
    info = header.tensors[name]
    dtype = numpy_dtype(header, name, who)
    array = numpy.empty(info.shape, dtype=dtype)
    handle.seek(header.data_start + info.begin)
    got = handle.readinto(_bytes_of(array)) if array.size else 0
    if got != info.end - info.begin:
        raise _not_readable(who, header.path, f"tensor {name!r} is cut short: {got} of "
                                              f"{info.end - info.begin} bytes")
    expected = header.checksums.get(name)
    if expected is not None and checksum(array) != expected:
        raise ValueError(f"{who}: {header.path}: tensor {name!r} is damaged (its checksum is "
                         f"{checksum(array)}, the file says {expected}); the file was changed "
                         f"or corrupted on disk, restore it from a copy")
    if dtype.byteorder == "<" and not numpy.little_endian:
        array = array.astype(dtype.newbyteorder("="))
    return array


def read_tensors(header, names, who="read_weights", allow_nonfinite=True):
    """``{name: NumPy array}`` of ``names`` (in that order) from a checked ``header``,
    read one tensor at a time, each checksum verified.

    Args:
        allow_nonfinite: ``False`` makes a NaN or Inf in a float tensor an error naming it.
    """
    for name in names:
        numpy_dtype(header, name, who)  # every dtype checked before any data is read
    arrays = {}
    with open(header.path, "rb") as handle:
        for name in names:
            array = _read_tensor(handle, header, name, who)
            if not allow_nonfinite and array.dtype.kind == "f":
                _check_finite(array, name, header.path, who)
            arrays[name] = array
    return arrays


def _check_finite(array, name, path, who):
    finite = numpy.isfinite(array)
    if finite.all():
        return
    nans = int(numpy.isnan(array).sum())
    infs = int(array.size - finite.sum()) - nans
    raise ValueError(f"{who}: {path}: tensor {name!r} holds {nans} NaN and {infs} infinite "
                     f"value(s): the run it came from had diverged; pass "
                     f"allow_nonfinite=True to load it anyway")


def read_weights(path, who="read_weights"):
    """Every tensor in the safetensors file ``path``, as ``{name: NumPy array}``; the header
    is checked first, then the tensors are read one by one and their checksums verified.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is truncated, damaged or not a safetensors file, naming it.
    """
    header = read_header(path, who)
    return read_tensors(header, list(header.tensors), who)


def read_metadata(path):
    """The ``{str: str}`` metadata in a safetensors file's header."""
    return dict(read_header(path, who="read_metadata").metadata)


LAYOUT = "layout"  # the metadata key somanet writes: "somanet" or "torch"
LAYOUTS = ("somanet", "torch")


def _check_layout(who, layout, allow_none=True):
    if (layout is None and allow_none) or layout in LAYOUTS:
        return layout
    raise ValueError(f"{who}: layout must be {' or '.join(repr(name) for name in LAYOUTS)}"
                     f"{' (or None: the file says)' if allow_none else ''}, got {layout!r}")


def file_layout(header, model, layout, who):
    """The layout to read ``header``'s file in: ``layout`` when given, else what the file
    says. A file somanet did not write (no ``layout`` in its metadata) that holds a
    tensor whose layout differs between somanet and PyTorch must be told.

    Raises:
        ValueError: the file's own layout and ``layout`` disagree, or it says none and
            ``layout`` is ``None`` (naming the file and a tensor concerned).
    """
    says = header.metadata.get(LAYOUT)
    if says is None and header.metadata.get("producer") == _PRODUCER:
        says = "somanet"  # written before files said their layout
    if says is not None and says not in LAYOUTS:
        raise _not_readable(who, header.path, f"its metadata gives the unknown layout {says!r}")
    if layout is None:
        if says is not None:
            return says
        concerned = layouts.layout_dependent(model, header.tensors)
        if not concerned:
            return "somanet"
        raise ValueError(f"{who}: {header.path} was not written by somanet, and its layout "
                         f"matters for {concerned[0]!r}: somanet keeps Linear and recurrent "
                         f"matrices as (in, out), PyTorch as (out, in). Say which it is: "
                         f"layout='torch' for a state_dict saved from PyTorch, "
                         f"layout='somanet' for somanet's own layout")
    if says is not None and says != layout:
        raise ValueError(f"{who}: {header.path} says its tensors are in {says!r} layout, "
                         f"but layout={layout!r} was asked for; drop layout= (the file "
                         f"says) or give layout={says!r}")
    return layout


def read_model_weights(model, path, strict=True, who="load_weights", allow_nonfinite=False,
                       layout="somanet"):
    """The tensors of ``path`` that ``model`` takes, checked against the model from the
    header before any data is read.

    Names and shapes are compared with ``model.state_dict()``: a tensor of another
    shape, and (with ``strict``, when the model is built) a missing or unexpected
    name, is an error before anything is allocated. Without ``strict``, tensors the
    model has no place for are not read.

    Returns:
        ``(arrays, skipped)``: ``{name: array}`` to give ``model.load_state_dict``, and
        the names left unread.
    """
    header = read_header(path, who)
    layout = file_layout(header, model, layout, who)
    state = model.state_dict()
    plan = layouts.from_torch_plan(model, header.tensors) if layout == "torch" else \
        {name: ((name,), "same") for name in header.tensors}
    shapes = layouts.planned_shapes(plan, header.tensors, who, header.path)
    built = bool(getattr(model, "is_built", True))
    problems, wrong = [], []
    for name, shape in shapes.items():
        if name in state and tuple(state[name].shape) != shape:
            flipped = len(shape) == 2 and tuple(state[name].shape) == shape[::-1]
            wrong.append(f"'{name}' has shape {shape} in the file but "
                         f"{tuple(state[name].shape)} in the model"
                         + (" (transposed: a PyTorch state_dict? pass layout='torch')"
                            if flipped and layout == "somanet" else ""))
    unexpected = [name for name in shapes if name not in state] if built else []
    missing = [name for name in state if name not in shapes]
    if strict and missing:
        problems.append(f"missing keys: {missing}")
    if strict and unexpected:
        problems.append(f"unexpected keys: {unexpected}")
    if wrong:
        problems.append("shape mismatch: " + "; ".join(wrong))
    if problems:
        raise ValueError(f"{who}: {header.path} does not fit the model "
                         f"({type(model).__name__}): " + "; ".join(problems))
    targets = [name for name in shapes if name not in unexpected]
    sources = [source for name in targets for source in plan[name][0]]
    arrays = read_tensors(header, sources, who, allow_nonfinite=allow_nonfinite)
    return {name: layouts.combine(plan[name], arrays) for name in targets}, unexpected


def load_weights(path, model, strict=True, allow_nonfinite=False, layout=None):
    """Load a safetensors file into ``model`` (``model.load_state_dict``), in place.

    The header is checked against the model before any data is read (names and shapes),
    then the tensors are read one by one, each checksum verified: a truncated or
    damaged file, another format, or missing, unexpected or mis-shaped tensors raise an
    error naming the file and the problem, and the model is left unchanged.

    Args:
        path: a file written by ``save_weights`` (or any safetensors file).
        model: the Module to fill (lazy layers take their shapes from the file).
        strict: missing and unexpected names are errors (shape mismatches always are).
        allow_nonfinite: load NaN or infinite weights (by default an error naming the
            tensor: such weights come from a run that diverged).
        layout: how the file lays out its tensors: ``"somanet"``, ``"torch"`` (a
            ``state_dict`` saved from the equivalent PyTorch model, converted layer by
            layer: see ``somanet.io.layouts``), or ``None`` (the default): what the file
            says. A file somanet did not write says nothing; then ``layout`` must be
            given if any of its tensors is laid out differently by the two (a Linear's
            weight, a recurrent layer's matrices).

    Loading PyTorch weights::

        # in PyTorch: safetensors.torch.save_file(torch_model.state_dict(), "w.safetensors")
        model = sn.nn.Sequential(sn.nn.Linear(4, 8), sn.nn.ReLU(), sn.nn.Linear(8, 2))
        sn.io.load_weights("w.safetensors", model, layout="torch")

    Returns:
        ``(missing_keys, unexpected_keys)`` as ``Module.load_state_dict`` gives them.
    """
    check_order("load_weights", path, model)
    if not (hasattr(model, "load_state_dict") and callable(model.load_state_dict)):
        raise TypeError(f"load_weights expects a Module, got {type(model).__name__}")
    layout = _check_layout("load_weights", layout)
    arrays, skipped = read_model_weights(model, path, strict=strict, who="load_weights",
                                         allow_nonfinite=allow_nonfinite, layout=layout)
    try:
        result = model.load_state_dict(arrays, strict=strict)
    except ValueError as error:
        raise ValueError(f"load_weights: {os.fspath(path)} does not fit the model: "
                         f"{error}") from None
    if skipped:
        result = type(result)(result.missing_keys, list(result.unexpected_keys) + skipped)
    return result
