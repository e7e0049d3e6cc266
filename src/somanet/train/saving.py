"""Whole models on disk: ``model.save(path)`` and ``somanet.load_model(path)``.

A saved model is one folder that describes itself, and no pickle::

    my_model/
        model.json            the architecture (each layer's class and arguments, the
                              layer graph of a functional model), the input shapes,
                              the compile settings, the optimiser's hyper-parameters
        model.safetensors     the weights (``somanet.io.load_weights`` reads it too)
        optimizer.safetensors the optimiser's state arrays (with include_optimizer)

    >>> import os, tempfile, somanet as sn
    >>> from somanet import nn
    >>> model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(4, activation="relu"), nn.Dense(2)])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> path = os.path.join(tempfile.mkdtemp(), "my_model")
    >>> model.save(path)
    >>> again = sn.load_model(path)
    >>> bool((again(sn.ones(1, 3)) == model(sn.ones(1, 3))).all()), again.compiled
    (True, True)

``load_model`` rebuilds Sequential, functional and zoo models and any layer or
model class registered with ``@somanet.register_layer`` (see
``somanet.nn.serialization``); a class it does not know is an error that names it.
The file's contents are data: no code from it is ever run.
"""
import json
import os
import warnings

from .. import optim
from .._version import __version__
from ..io import atomic_write_bytes, atomic_write_text, load_weights, save_weights
from ..io.weights import read_header, read_tensors, safetensors_bytes
from ..nn.serialization import Decoder, Encoder

FORMAT = "somanet-model"
VERSION = 1
CONFIG_FILE = "model.json"
WEIGHTS_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"


def save_model(path, model, include_optimizer=True):
    """Save ``model`` (architecture, weights, compile settings and, with
    ``include_optimizer``, the optimiser's state) into the folder ``path``.

    The folder is created if needed; a model saved there before is replaced (each file
    atomically, model.json last). A folder holding anything else is left alone (an
    error), so a typo cannot clobber other files.

    Raises:
        TypeError: a layer whose class is not registered, or whose arguments are not
            JSON (naming the layer and the argument); nothing is written then.
        FileExistsError: ``path`` is a file, or a folder of other things.
    """
    from .model import Model  # (model.py imports this module for Model.save)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(_order_message("save_model", path, model))
    path = os.fspath(path)
    _built(model)
    encoder = Encoder()
    architecture = encoder.module(model, type(model).__name__)
    config = {"format": FORMAT, "version": VERSION, "somanet_version": __version__,
              "model": architecture,
              "input_specs": _specs(model),
              "compile": None, "optimizer": None}
    arrays = None
    if isinstance(model, Model) and model.compiled:
        config["compile"] = _compile_config(model, encoder)
        if include_optimizer and model.optimizer is not None:
            config["optimizer"], arrays = _optimizer_config(model)
    _check_folder(path)
    os.makedirs(path, exist_ok=True)
    save_weights(os.path.join(path, WEIGHTS_FILE), model, metadata={"format": FORMAT})
    optimizer_path = os.path.join(path, OPTIMIZER_FILE)
    if arrays is not None:
        atomic_write_bytes(optimizer_path, safetensors_bytes(arrays))
    elif os.path.exists(optimizer_path):
        os.remove(optimizer_path)
    atomic_write_text(os.path.join(path, CONFIG_FILE), json.dumps(config, indent=1) + "\n")


def _built(model):
    """Build a lazy model whose input shape is known (as ``summary`` does), so that every
    weight is in the file; one that cannot be built yet is an error."""
    if getattr(model, "is_built", True):
        return
    specs = getattr(model, "input_specs", None)
    if specs and all(None not in shape for shape, _ in specs):
        model.build([(None,) + tuple(shape) for shape, _ in specs], [dtype for _, dtype in specs])
        return
    raise ValueError(f"save_model: {type(model).__name__} has layers not built yet (their "
                     f"sizes come from the first input); call it on a batch, fit it, or "
                     f"model.build(input_shape) first")


def _order_message(who, first, second):
    if isinstance(second, (str, os.PathLike)):
        return (f"{who} takes the folder first, then the model: {who}(path, model); got a "
                f"{type(first).__name__} first and the path {os.fspath(second)!r} second")
    return f"{who}: path must be a folder name (a str or os.PathLike), got {type(first).__name__}"


def _check_folder(path):
    if os.path.isfile(path):
        raise FileExistsError(f"save_model: {path} is a file; a saved model is a folder")
    if os.path.isdir(path):
        names = set(os.listdir(path)) - {CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE}
        names = {name for name in names if not name.endswith(".tmp")}
        if names and not os.path.isfile(os.path.join(path, CONFIG_FILE)):
            raise FileExistsError(f"save_model: {path} holds other files "
                                  f"({', '.join(sorted(names)[:3])}...); save into a new "
                                  f"or empty folder")


def _specs(model):
    specs = getattr(model, "input_specs", None)
    if not specs:
        return None
    return [[list(shape), None if dtype is None else str(dtype)] for shape, dtype in specs]


def _compile_config(model, encoder):
    """The compile settings as JSON, or ``None`` (with a warning) when a loss or metric
    is a plain function or object that cannot be rebuilt."""
    compiled = model._compiled
    try:
        loss = compiled.loss_identifier
        losses = [_encode_spec(item, encoder, "loss") for item in loss] \
            if isinstance(loss, list) else _encode_spec(loss, encoder, "loss")
        metrics = [_encode_spec(item, encoder, "metric") for item in compiled.metrics]
    except TypeError as error:
        warnings.warn(f"save_model: the compile settings are not saved ({error}); call "
                      f"compile again after load_model", UserWarning, stacklevel=4)
        return None
    optimizer = compiled.optimizer
    return {"loss": losses, "metrics": metrics, "loss_weights": compiled.loss_weights,
            "learning_rate": compiled.learning_rate, "jit": compiled.jit,
            "optimizer": optimizer if isinstance(optimizer, str) else None}


def _encode_spec(value, encoder, what):
    if isinstance(value, str):
        return value
    if isinstance(value, type) or callable(value) and not hasattr(value, "__dict__"):
        return encoder.value(value, f"the {what} {value!r:.40}")
    if not hasattr(value, "__dict__") or getattr(value, "__module__", None) is None \
            or isinstance(value, type(_encode_spec)):
        raise TypeError(f"the {what} {value!r:.40} is a function, which cannot be saved")
    return {"object": encoder.module(value, f"the {what} {type(value).__name__}")}


def _decode_spec(value, decoder):
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, list):
        return [_decode_spec(item, decoder) for item in value]
    if "object" in value:
        return decoder.module(value["object"])
    return decoder.value(value)


def _optimizer_config(model):
    """The optimiser's hyper-parameters (JSON) and state arrays, with its parameters
    numbered as ``model.parameters()`` lists them; ``(None, None)`` (and a warning) for
    an optimiser load_model could not rebuild."""
    optimizer = model.optimizer
    cls = type(optimizer)
    if getattr(optim, cls.__name__, None) is not cls:
        warnings.warn(f"save_model: the optimiser ({cls.__name__}) is not saved: only "
                      f"somanet.optim's optimisers are", UserWarning, stacklevel=4)
        return None, None
    index = {id(param): number for number, param in enumerate(model.parameters())}
    state = optimizer.state_dict()
    params = optimizer.parameters()
    if any(id(param) not in index for param in params):
        warnings.warn("save_model: the optimiser is not saved: it holds tensors that are not "
                      "the model's parameters", UserWarning, stacklevel=4)
        return None, None
    groups = []
    for group in state["param_groups"]:
        saved = dict(group)
        saved["params"] = [index[id(params[number])] for number in group["params"]]
        groups.append(saved)
    arrays = {name: _host(array) for name, array in state["arrays"].items()}
    return {"type": state["type"], "param_groups": groups, "steps": state["steps"]}, arrays


def _host(array):
    from ..backend import to_numpy
    return to_numpy(array)


def load_model(path, custom_objects=None, compile=True):
    """Rebuild the model saved by ``model.save(path)``: architecture, weights, and (when it
    was compiled, and ``compile``) its compile settings and optimiser state.

    Args:
        path: the folder ``model.save`` wrote.
        custom_objects: ``{name: class}`` for classes not registered with
            ``@somanet.register_layer`` (Keras's argument); nothing else is looked up.
        compile: compile the model as it was (default True).

    Raises:
        FileNotFoundError: no such folder, or not a saved model.
        ValueError: a damaged or foreign file, or a class not known here (naming it).
    """
    path = os.fspath(path)
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isdir(path):
        hint = " (a weights file: model.load_weights(path))" \
            if path.endswith(".safetensors") and os.path.isfile(path) else ""
        raise FileNotFoundError(f"load_model: {path} is not a folder saved by model.save"
                                f"{hint}")
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"load_model: {path} holds no {CONFIG_FILE}; it is not a "
                                f"model saved by model.save")
    try:
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"load_model: {config_path} is not valid JSON ({error}); the "
                         f"folder is damaged") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"load_model: {config_path} is not a somanet model description")
    if config.get("version") != VERSION:
        raise ValueError(f"load_model: {config_path} has format version "
                         f"{config.get('version')!r}; this somanet reads version {VERSION}")
    decoder = Decoder(custom_objects)
    try:
        model = decoder.module(config["model"])
    except (KeyError, TypeError, IndexError) as error:
        raise ValueError(f"load_model: {config_path} is damaged: {error!r}") from None
    specs = config.get("input_specs")
    if specs and hasattr(model, "_input_specs"):
        specs = [(tuple(shape), dtype if dtype is None else _dtype(dtype))
                 for shape, dtype in specs]
        if not model.is_built and all(None not in shape for shape, _ in specs):
            # lazy layers get their shapes from a dry run, as when the model was saved
            model.build([(None,) + shape for shape, _ in specs], [dtype for _, dtype in specs])
        model._input_specs = specs
    load_weights(os.path.join(path, WEIGHTS_FILE), model)
    settings = config.get("compile")
    if compile and settings is not None:
        _recompile(model, settings, config.get("optimizer"), path, decoder)
    if hasattr(model, "eval"):
        model.eval()
    return model


def _dtype(name):
    from ..backend import as_dtype
    return as_dtype(name)


def _recompile(model, settings, optimizer_config, path, decoder):
    optimizer = settings.get("optimizer") or "rmsprop"
    if optimizer_config is not None:
        optimizer = _rebuild_optimizer(model, optimizer_config,
                                       os.path.join(path, OPTIMIZER_FILE))
    model.compile(optimizer=optimizer, loss=_decode_spec(settings["loss"], decoder),
                  metrics=_decode_spec(settings.get("metrics") or [], decoder),
                  loss_weights=settings.get("loss_weights"),
                  learning_rate=None if optimizer_config is not None
                  else settings.get("learning_rate"),
                  jit=settings.get("jit", False))


def _rebuild_optimizer(model, saved, state_path):
    cls = getattr(optim, str(saved.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, optim.Optimizer)):
        raise ValueError(f"load_model: unknown optimiser {saved.get('type')!r}")
    params = list(model.parameters())
    groups = []
    for group in saved["param_groups"]:
        hyper = {key: value for key, value in group.items() if key != "params"}
        groups.append({"params": [params[number] for number in group["params"]], **hyper})
    optimizer = cls(groups)
    arrays = {}
    if os.path.exists(state_path):
        header = read_header(state_path, who="load_model")
        arrays = read_tensors(header, list(header.tensors), who="load_model")
    count = 0
    for group in saved["param_groups"]:
        group_params = group["params"]
        group["params"] = list(range(count, count + len(group_params)))
        count += len(group_params)
    optimizer.load_state_dict({"type": saved["type"], "param_groups": saved["param_groups"],
                               "steps": saved["steps"], "arrays": arrays})
    return optimizer
