"""Checkpoints: everything needed to resume a training run, mid-epoch included.

A checkpoint is a folder::

    run/checkpoint/
        checkpoint.json             epoch, step, history, extra, RNG state, the
                                    optimiser's hyper-parameters and the loader's
                                    position; names the two files below
        model-<id>.safetensors      the model's weights (readable by load_weights)
        state-<id>.safetensors      the optimiser's state arrays ("optimizer/..."),
                                    the loader's epoch order ("loader/order") and
                                    any other arrays saved with it ("extra/...")

Saving is atomic as a whole: the weight files get fresh names, and only when
they are complete is ``checkpoint.json`` replaced (write to a temporary file,
then rename) to point at them; files of the previous save are deleted after
that. A crash at any moment leaves the previous checkpoint loadable; what a killed
save leaves behind (temporary files, weights no index names) is removed by the next
save, or by ``clean_checkpoint_folder`` when a run resumes.

Loading reads and checks everything before changing anything: a truncated or
damaged file (each tensor's checksum is verified), another format, an index entry
of the wrong type, a file name that leads out of the folder, or weights that do not
fit the model raise an error naming the file and the problem, with the model,
optimiser and loader unchanged. The weights' header is compared with the model
before any data is read.

    >>> import os, tempfile, somanet as sn
    >>> from somanet import nn
    >>> model = nn.Linear(3, 2)
    >>> folder = os.path.join(tempfile.mkdtemp(), "ckpt")
    >>> save_checkpoint(folder, model, epoch=3, history={"loss": [0.9, 0.5]})
    >>> info = load_checkpoint(folder, nn.Linear(3, 2))
    >>> info["epoch"], info["history"]["loss"]
    (3, [0.9, 0.5])
"""
import json
import math
import os
import re
import secrets
import time

import numpy

from .._version import __version__ as _somanet_version
from ..backend import (get_device_rng_states, get_rng_state, set_device_rng_states,
                       set_rng_state, to_numpy)
from ..tensor import Tensor
from .atomic import atomic_write_bytes, atomic_write_text, remove_orphans
from .weights import check_order, read_header, read_model_weights, read_tensors, \
    safetensors_bytes, state_arrays

FORMAT = "somanet-checkpoint"
VERSION = 1
INDEX = "checkpoint.json"
_OPTIMIZER_PREFIX = "optimizer/"
_LOADER_ORDER = "loader/order"
_EXTRA_PREFIX = "extra/"
_RNG_PREFIX = "rng/"  # + a device's name: its generator's state (GPUs: an array)
# The files a save writes: a name in the index must be one of these (never a path).
_FILE_NAME = re.compile(r"^(model|state)-[A-Za-z0-9_-]{1,64}\.safetensors$")


def _jsonable(value, where):
    """``value`` with NumPy scalars, 1-element Tensors and tuples made plain JSON."""
    if isinstance(value, Tensor):
        if value.size != 1:
            raise TypeError(f"save_checkpoint: {where} is a tensor of shape {value.shape}; "
                            f"only numbers, strings, lists and dicts go into the JSON part")
        return value.item()
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, numpy.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"save_checkpoint: {where} has a non-string key {key!r}; JSON "
                                f"object keys must be strings")
            out[key] = _jsonable(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save_checkpoint: {where} is a {type(value).__name__}, which JSON cannot "
                    f"hold; give numbers, strings, lists or dicts")


def _check_count(value, name):
    if value is None:
        return None
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"save_checkpoint: {name} must be a non-negative int or None, "
                         f"got {value!r}")
    return int(value)


def save_checkpoint(path, model, optimizer=None, loader=None, epoch=None, step=None,
                    history=None, extra=None, rng=True, arrays=None):
    """Save a training run's state into the folder ``path`` (created if needed), atomically.

    Args:
        path: the checkpoint folder; a previous checkpoint there is replaced.
        model: the Module whose weights to save.
        optimizer: its optimiser (hyper-parameters to JSON, state arrays to safetensors).
        loader: the training ``DataLoader``: its epoch, position and the epoch's
            order, so ``load_checkpoint`` resumes at the next batch.
        epoch, step: counters of the run (non-negative ints or ``None``).
        history: the metrics so far, e.g. ``{"loss": [...], "accuracy": [...]}``.
        extra: any other JSON-able data (e.g. a tabular encoder's ``state_dict()``).
        rng: also save the global RNG state (``somanet.get_rng_state()``, and each GPU
            generator's, ``backend.get_device_rng_states()``), so dropout masks and
            shuffles continue exactly.
        arrays: other arrays to keep, ``{name: array}`` (``load_checkpoint(...,
            arrays=True)`` returns them as ``info["arrays"]``).
    """
    check_order("save_checkpoint", path, model)
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise FileExistsError(f"save_checkpoint: {path} is a file; a checkpoint is a folder")
    epoch, step = _check_count(epoch, "epoch"), _check_count(step, "step")
    model_arrays = state_arrays(model, who="save_checkpoint")
    index = {
        "format": FORMAT, "version": VERSION, "somanet_version": _somanet_version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "epoch": epoch, "step": step,
        "history": _jsonable(history if history is not None else {}, "history"),
        "extra": _jsonable(extra if extra is not None else {}, "extra"),
        "rng": get_rng_state() if rng else None,
        "optimizer": None, "loader": None,
    }
    state = {}
    if optimizer is not None:
        saved = optimizer.state_dict()
        optimizer_arrays = saved.get("arrays", {}) if isinstance(saved, dict) else None
        if not isinstance(optimizer_arrays, dict):
            raise TypeError(f"save_checkpoint: {type(optimizer).__name__}.state_dict() must be "
                            f"a dict whose 'arrays' entry maps names to arrays")
        index["optimizer"] = _jsonable({key: value for key, value in saved.items()
                                        if key != "arrays"}, "optimizer.state_dict()")
        index["optimizer"]["array_names"] = list(optimizer_arrays)
        state.update(state_arrays({_OPTIMIZER_PREFIX + name: value
                                   for name, value in optimizer_arrays.items()},
                                  who="save_checkpoint"))
    if loader is not None:
        saved = dict(loader.state_dict())
        order = saved.pop("order", None)
        index["loader"] = _jsonable(saved, "loader.state_dict()")
        index["loader"]["has_order"] = order is not None
        if order is not None:
            state[_LOADER_ORDER] = numpy.ascontiguousarray(to_numpy(order), dtype=numpy.int64)
    if arrays:
        index["arrays"] = list(arrays)
        state.update(state_arrays({_EXTRA_PREFIX + name: value for name, value in arrays.items()},
                                  who="save_checkpoint"))
    if rng:
        devices = get_device_rng_states()
        index["rng"]["devices"] = list(devices)
        state.update({_RNG_PREFIX + name: value for name, value in devices.items()})
    json.dumps(index)  # anything JSON cannot hold fails here, before a file is written

    os.makedirs(path, exist_ok=True)
    remove_orphans(path, _is_checkpoint_file)  # a killed save's temporary files
    token = f"{step if step is not None else epoch if epoch is not None else 0}-" \
            f"{secrets.token_hex(4)}"  # os.urandom: the training RNG stays untouched
    index["model"] = f"model-{token}.safetensors"
    atomic_write_bytes(os.path.join(path, index["model"]), safetensors_bytes(model_arrays))
    index["state"] = None
    if state:
        index["state"] = f"state-{token}.safetensors"
        atomic_write_bytes(os.path.join(path, index["state"]), safetensors_bytes(state))
    atomic_write_text(os.path.join(path, INDEX), json.dumps(index, indent=1))
    _remove_unreferenced(path, {index["model"], index["state"]})


def _is_checkpoint_file(name):
    return name == INDEX or _FILE_NAME.match(name) is not None


def _remove_unreferenced(folder, keep):
    """Remove the weight files of ``folder`` that are not in ``keep``: the previous save's,
    or those of a save killed before its index was written."""
    for name in os.listdir(folder):
        if _FILE_NAME.match(name) and name not in keep:
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass


def clean_checkpoint_folder(path):
    """Remove what interrupted saves left in the checkpoint folder ``path``: temporary
    files, and weight files its ``checkpoint.json`` does not name. Nothing else is
    touched; without a readable index only the temporary files go. Call it where no save
    to the folder is in progress (e.g. when a run resumes)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return
    remove_orphans(path, _is_checkpoint_file)
    try:
        _, index = _read_index(path)
    except (OSError, ValueError):
        return
    _remove_unreferenced(path, {index["model"], index["state"]})


def is_checkpoint(path):
    """Whether the folder ``path`` holds a finished checkpoint (its ``checkpoint.json``:
    the last file a save writes)."""
    return os.path.isfile(os.path.join(os.fspath(path), INDEX))


def _read_index(path):
    path = os.fspath(path)
    if os.path.isfile(path) and os.path.basename(path) == INDEX:
        path = os.path.dirname(path) or "."
    if not os.path.isdir(path):
        if os.path.exists(path):
            raise ValueError(f"load_checkpoint: {path} is a file; a checkpoint is a folder "
                             f"written by save_checkpoint (a weights file is read by "
                             f"load_weights)")
        raise FileNotFoundError(f"load_checkpoint: no checkpoint folder {path}")
    index_path = os.path.join(path, INDEX)
    if not os.path.isfile(index_path):
        raise FileNotFoundError(f"load_checkpoint: {path} has no {INDEX}; it is not a somanet "
                                f"checkpoint folder (or its first save never finished)")
    try:
        with open(index_path, encoding="utf-8") as handle:
            index = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"load_checkpoint: {index_path} is not valid JSON ({error}); the "
                         f"file is damaged") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise ValueError(f"load_checkpoint: {index_path} is not a somanet checkpoint index "
                         f"(no \"format\": \"{FORMAT}\")")
    if index.get("version") != VERSION:
        raise ValueError(f"load_checkpoint: {index_path} has format version "
                         f"{index.get('version')}; this somanet reads version {VERSION}")
    for key in ("model", "state", "optimizer", "loader", "rng", "epoch", "step", "history",
                "extra"):
        if key not in index:
            raise ValueError(f"load_checkpoint: {index_path} lacks the entry {key!r}; the file "
                             f"is damaged")
    _check_index(index, index_path)
    return path, index


def _check_index(index, index_path):
    """Raise ValueError unless every entry of the index has the type a save writes."""
    def damaged(key, expected):
        return ValueError(f"load_checkpoint: {index_path}: the entry {key!r} is "
                          f"{json.dumps(index.get(key))[:80]}, expected {expected}; the file "
                          f"is damaged")

    for key in ("epoch", "step"):
        value = index[key]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 0):
            raise damaged(key, "a non-negative int or null")
    for key in ("history", "extra"):
        if not isinstance(index[key], dict):
            raise damaged(key, "an object")
    if not all(isinstance(values, list) for values in index["history"].values()):
        raise damaged("history", "an object of lists (one value per epoch)")
    for key in ("optimizer", "loader", "rng"):
        if index[key] is not None and not isinstance(index[key], dict):
            raise damaged(key, "an object or null")
    for key, role in (("model", "model"), ("state", "state")):
        name = index[key]
        if name is None and key == "state":
            continue
        match = _FILE_NAME.match(name) if isinstance(name, str) else None
        if match is None or match.group(1) != role:
            raise damaged(key, f"the name of a file in the checkpoint folder "
                               f"({role}-<id>.safetensors)")
    names = index["optimizer"].get("array_names", []) if index["optimizer"] else []
    extra_names = index.get("arrays", [])
    rng_names = (index["rng"] or {}).get("devices", [])
    for key, value in (("optimizer.array_names", names), ("arrays", extra_names),
                       ("rng.devices", rng_names)):
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            raise damaged(key, "a list of names")
    if (names or extra_names or rng_names or (index["loader"] or {}).get("has_order")) \
            and index["state"] is None:
        raise damaged("state", "the state file that holds the optimizer's, loader's and "
                               "GPU generators' arrays")


def _restore_optimizer_state(index, state, state_path):
    saved = dict(index["optimizer"])
    names = saved.pop("array_names", [])
    arrays = {}
    for name in names:
        key = _OPTIMIZER_PREFIX + name
        if key not in state:
            raise ValueError(f"load_checkpoint: {state_path} lacks the optimizer array "
                             f"{name!r}; the checkpoint is damaged")
        arrays[name] = state[key]
    saved["arrays"] = arrays
    return saved


def _restore_loader_state(index, state, state_path):
    saved = dict(index["loader"])
    has_order = saved.pop("has_order", False)
    if has_order:
        if _LOADER_ORDER not in state:
            raise ValueError(f"load_checkpoint: {state_path} lacks the loader's order; the "
                             f"checkpoint is damaged")
        saved["order"] = state[_LOADER_ORDER]
    else:
        saved["order"] = None
    return saved


def _check_rng_state(saved, folder):
    """Raise unless ``saved`` is a state ``set_rng_state`` accepts (checked on a scratch
    generator, so the global one is untouched)."""
    try:
        cpu = saved["cpu"]
        if cpu["bit_generator"] not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
            raise ValueError(f"unknown bit generator {cpu['bit_generator']!r}")
        scratch = getattr(numpy.random, cpu["bit_generator"])()
        scratch.state = cpu
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"load_checkpoint: {folder}/{INDEX} has a damaged RNG state "
                         f"({type(error).__name__}: {error})") from None


def _snapshot(component):
    """A deep copy of a component's state, to roll back to if a later step fails."""
    saved = component.state_dict()
    if isinstance(saved, dict) and "arrays" in saved:  # an optimizer
        return {**saved, "arrays": {k: v.copy() for k, v in saved["arrays"].items()}}
    return {key: (value.data.copy() if isinstance(value, Tensor) else value)
            for key, value in saved.items()}


def load_checkpoint(path, model=None, optimizer=None, loader=None, restore_rng=True,
                    strict=True, arrays=False, allow_nonfinite=False):
    """Restore what ``save_checkpoint`` saved, and return the run's metadata.

    Every file is read and checked first (the weights' header against the model before
    their data; each tensor's checksum); the model, optimiser and loader are then
    assigned together, and if any of them refuses its state the ones already assigned
    are rolled back, so on an error nothing has changed.

    Args:
        path: the checkpoint folder (or its ``checkpoint.json``).
        model: the Module to load the weights into (``None``: read metadata only).
        optimizer: the optimiser to restore (the checkpoint must hold its state).
        loader: the DataLoader to restore; the next ``iter(loader)`` continues at
            the batch after the last one handed out before saving.
        restore_rng: also restore the global RNG state saved with the checkpoint.
        strict: passed to ``model.load_state_dict``: missing/unexpected weights are errors.
        arrays: also read the arrays saved with ``save_checkpoint(..., arrays=...)``.
        allow_nonfinite: accept NaN or infinite weights (by default an error naming the
            tensor).

    Returns:
        A dict with ``epoch``, ``step``, ``history``, ``extra``, ``created`` and
        ``somanet_version`` (plus ``loader_position``, the loader's saved position, and
        with ``arrays=True``, ``arrays``).
    """
    check_order("load_checkpoint", path, model)
    folder, index = _read_index(path)
    model_path = os.path.join(folder, index["model"])
    state_path = None if index["state"] is None else os.path.join(folder, index["state"])
    weights = None
    if model is not None:
        weights, _ = read_model_weights(model, model_path, strict=strict, who="load_checkpoint",
                                        allow_nonfinite=allow_nonfinite)
    with_rng = restore_rng and index["rng"] is not None
    state = {}
    if state_path is not None and (optimizer is not None or loader is not None or arrays or
                                   (with_rng and index["rng"].get("devices"))):
        state = _read_state(index, state_path, optimizer is not None, loader, arrays,
                            with_rng)
    optimizer_state = loader_state = None
    if optimizer is not None:
        if index["optimizer"] is None:
            raise ValueError(f"load_checkpoint: {folder} holds no optimizer state (it was saved "
                             f"without optimizer=); load it without the optimizer")
        optimizer_state = _restore_optimizer_state(index, state, state_path)
    if loader is not None:
        if index["loader"] is None:
            raise ValueError(f"load_checkpoint: {folder} holds no data loader state (it was "
                             f"saved without loader=); load it without the loader")
        loader_state = _restore_loader_state(index, state, state_path)
        try:
            loader._check_state(loader_state)
        except (ValueError, TypeError) as error:
            raise ValueError(f"load_checkpoint: {folder}: {error}") from None
    if with_rng:
        _check_rng_state(index["rng"], folder)

    undo = []  # (component, snapshot) of what has been assigned, for the rollback
    try:
        if weights is not None:
            snapshot = _snapshot(model)
            try:
                model.load_state_dict(weights, strict=strict)
            except ValueError as error:
                raise ValueError(f"load_checkpoint: {model_path} does not fit the model: "
                                 f"{error}") from None
            undo.append((model, snapshot))
        if optimizer_state is not None:
            snapshot = _snapshot(optimizer)
            try:
                optimizer.load_state_dict(optimizer_state)
            except (ValueError, TypeError) as error:
                raise ValueError(f"load_checkpoint: the optimizer state in {folder} does not "
                                 f"fit {type(optimizer).__name__}: {error}") from None
            undo.append((optimizer, snapshot))
        if loader_state is not None:
            loader.load_state_dict(loader_state)
    except BaseException:
        for component, snapshot in reversed(undo):
            if component is model:
                component.load_state_dict(snapshot, strict=False)
            else:
                component.load_state_dict(snapshot)
        raise
    if with_rng:
        set_rng_state(index["rng"])
        set_device_rng_states({name: state[_RNG_PREFIX + name]
                               for name in index["rng"].get("devices", [])})
    loader_position = None if index["loader"] is None else index["loader"].get("position")
    info = {"epoch": index["epoch"], "step": index["step"], "history": index["history"],
            "extra": index["extra"], "created": index.get("created"),
            "somanet_version": index.get("somanet_version"), "loader_position": loader_position}
    if arrays:
        info["arrays"] = {name: state[_EXTRA_PREFIX + name] for name in index.get("arrays", [])}
    return info


def _read_state(index, state_path, with_optimizer, loader, with_arrays, with_rng):
    """The arrays of the state file that this load needs, its header checked first: the
    names the index lists, and the loader's order no longer than the loader's data."""
    header = read_header(state_path, who="load_checkpoint")
    wanted = []
    if with_optimizer and index["optimizer"] is not None:
        wanted += [_OPTIMIZER_PREFIX + name for name in index["optimizer"].get("array_names", [])]
    if loader is not None and (index["loader"] or {}).get("has_order"):
        wanted.append(_LOADER_ORDER)
        info = header.tensors.get(_LOADER_ORDER)
        try:
            limit = max(len(loader.dataset), len(loader.sampler))
        except TypeError:  # a dataset without a length
            limit = math.inf
        if info is not None and (len(info.shape) != 1 or info.shape[0] > limit):
            raise ValueError(f"load_checkpoint: {state_path}: the loader's order has shape "
                             f"{info.shape}, but this loader has {limit} examples; was the "
                             f"dataset changed?")
    if with_arrays:
        wanted += [_EXTRA_PREFIX + name for name in index.get("arrays", [])]
    if with_rng:
        wanted += [_RNG_PREFIX + name for name in index["rng"].get("devices", [])]
    missing = [name for name in wanted if name not in header.tensors]
    if missing:
        raise ValueError(f"load_checkpoint: {state_path} lacks {missing}; the checkpoint is "
                         f"damaged")
    return read_tensors(header, wanted, who="load_checkpoint")
