"""The model a run trains: building it by name, compiling it for classification, the
device it runs on, and its test loss and accuracy."""
from .. import models
from ..backend import device as as_device, to_device
from ..train import losses, optimizers
from .errors import CommandError, one_line

TEXT_MODEL = "char-lstm"  # the model text datasets train


def build_model(name, data_kind, num_classes, n_features=None):
    """The model ``name`` for a dataset of ``data_kind`` (``"image"``, ``"tabular"`` or
    ``"text"``), as ``train`` builds it and ``evaluate`` / ``predict`` rebuild it from
    config.json. For text, ``num_classes`` is the vocabulary's size."""
    if data_kind == "text":
        if name != TEXT_MODEL:
            raise CommandError(f"--model {name} takes images; text datasets train --model "
                               f"{TEXT_MODEL}")
        return models.get(TEXT_MODEL, num_classes=num_classes)
    if name == TEXT_MODEL:
        raise CommandError(f"--model {TEXT_MODEL} learns from text: --dataset shakespeare "
                           f"(bundled) or text:FILE")
    if data_kind == "tabular":
        if name != "mlp":
            raise CommandError(f"--model {name} takes images; CSV data trains --model mlp")
        return models.mlp_tabular(n_features, num_classes)
    try:
        return models.get(name, num_classes=num_classes)
    except ValueError as error:
        raise CommandError(one_line(error)) from None


def check_optimizer(name):
    """The optimiser name, lower-cased, if ``compile`` knows it (Keras's names)."""
    key = name.strip().lower()
    if key not in optimizers.names():
        raise CommandError(f"unknown optimizer {name!r}; the known optimizers are "
                           f"{', '.join(sorted(optimizers.names()))}")
    return key


def compile_model(model, optimizer="adam", lr=None, jit=False):
    """Compile for classification: the models output logits, so the loss is sparse
    categorical cross-entropy on logits (Keras's ``from_logits=True``), with accuracy;
    ``jit``: compiled steps (``Model.compile(jit=True)``)."""
    try:
        model.compile(optimizer=optimizer, learning_rate=lr, jit=jit,
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    except ValueError as error:
        raise CommandError(one_line(error)) from None


def resolve_device(spec):
    """The ``Device`` that ``--device spec`` names (``cpu``, ``gpu``, ``gpu:N``)."""
    try:
        return as_device(spec)
    except (ValueError, RuntimeError, ImportError) as error:
        raise CommandError(f"--device {spec}: {one_line(error)}") from None


def on_device(array, target):
    """``array`` on the device ``target`` (the data goes where the model is)."""
    return array if target.type == "cpu" else to_device(array, target)


def loss_and_accuracy(model, x, y, batch_size):
    """``(loss, accuracy)`` from ``model.evaluate``."""
    result = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    if isinstance(result, dict):
        return float(result["loss"]), float(result["accuracy"])
    loss, accuracy = result[:2]
    return float(loss), float(accuracy)
