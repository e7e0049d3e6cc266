"""Model weights as safetensors files: no pickle, so a file from a stranger cannot run code,
and PyTorch, JAX and the Hugging Face tools read the same files.

    >>> import os, tempfile, somanet as sn
    >>> from somanet import nn
    >>> model = nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save_weights(model, path)
    >>> load_weights(nn.Linear(3, 2), path)
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
"""
import os

import numpy
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as _safetensors_bytes

from ..backend import to_numpy
from ..tensor import Tensor
from .atomic import atomic_write_bytes

_PRODUCER = "somanet"


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
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{who}: {name!r} has dtype {array.dtype}; only bool, int and "
                            f"float arrays can be saved")
        arrays[name] = numpy.ascontiguousarray(array)
    return arrays


def safetensors_bytes(arrays, metadata=None):
    """The bytes of a safetensors file holding ``arrays`` (and str -> str ``metadata``)."""
    meta = {"format": "np", "producer": _PRODUCER}
    meta.update(metadata or {})
    return _safetensors_bytes(arrays, metadata=meta)


def save_weights(model, path, metadata=None):
    """Save a model's ``state_dict()`` (or a dict of tensors) to a safetensors file,
    atomically: an interrupted save leaves any previous file intact.

    Args:
        model: a ``Module``, or a dict of name -> Tensor / array.
        path: the file to write (``.safetensors`` by convention).
        metadata: optional ``{str: str}`` stored in the file's header.
    """
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in metadata.items()):
        raise TypeError("save_weights: metadata must map strings to strings")
    atomic_write_bytes(path, safetensors_bytes(state_arrays(model), metadata))


def read_weights(path, who="read_weights"):
    """Every tensor in the safetensors file ``path``, as ``{name: NumPy array}``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is truncated, or not a safetensors file, naming it.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{who}: {path} is a folder, not a safetensors file (a "
                                f"checkpoint folder is read by load_checkpoint)")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: no file {path}")
    try:
        with safe_open(path, framework="np") as handle:
            return {name: handle.get_tensor(name) for name in handle.keys()}
    except SafetensorError as error:
        raise ValueError(f"{who}: {path} is not a readable safetensors file ({error}); it may "
                         f"be truncated by an interrupted copy, or be another format") from None
    except (TypeError, ValueError) as error:  # a dtype NumPy lacks, e.g. bfloat16
        raise ValueError(f"{who}: {path} holds a tensor NumPy cannot represent: "
                         f"{error}") from None


def read_metadata(path):
    """The ``{str: str}`` metadata in a safetensors file's header."""
    try:
        with safe_open(os.fspath(path), framework="np") as handle:
            return dict(handle.metadata() or {})
    except SafetensorError as error:
        raise ValueError(f"read_metadata: {path} is not a readable safetensors file "
                         f"({error})") from None


def load_weights(model, path, strict=True):
    """Load a safetensors file into ``model`` (``model.load_state_dict``), in place.

    The whole file is read and checked against the model first: a truncated
    file, another format, or missing, unexpected or mis-shaped tensors raise an
    error naming the file and the problem, and the model is left unchanged.

    Args:
        model: the Module to fill (lazy layers take their shapes from the file).
        path: a file written by ``save_weights`` (or any safetensors file).
        strict: missing and unexpected names are errors (shape mismatches always are).

    Returns:
        ``(missing_keys, unexpected_keys)`` as ``Module.load_state_dict`` gives them.
    """
    if not (hasattr(model, "load_state_dict") and callable(model.load_state_dict)):
        raise TypeError(f"load_weights expects a Module, got {type(model).__name__}")
    arrays = read_weights(path, who="load_weights")
    try:
        return model.load_state_dict(arrays, strict=strict)
    except ValueError as error:
        raise ValueError(f"load_weights: {os.fspath(path)} does not fit the model: "
                         f"{error}") from None
