"""Models by name, for the command line and configuration files: ``models.get("lenet")``."""
from .._checks import lookup
from .mnist import lenet, lstm_classifier, mlp
from .text import char_lstm


def _char_lstm(num_classes, **kwargs):
    """``char_lstm`` by the registry's convention: its classes are the characters."""
    return char_lstm(num_classes, **kwargs)


_BUILDERS = {
    "mlp": mlp,
    "lenet": lenet,
    "lstm": lstm_classifier,
    "char-lstm": _char_lstm,
}


def names():
    """The registered model names, sorted."""
    return sorted(_BUILDERS)


def get(name, **kwargs):
    """Build the model registered as ``name``, passing ``kwargs`` to its builder.

    ========= =========================== ==================================
    name      builder                     model
    ========= =========================== ==================================
    ``mlp``   ``models.mlp``              the Keras quickstart MLP (101,770)
    ``lenet`` ``models.lenet``            LeNet-5 CNN (61,706)
    ``lstm``  ``models.lstm_classifier``  LSTM over image rows (81,674)
    ``char-   ``models.char_lstm``        character language model; give
    lstm``                                ``num_classes=len(vocabulary)``
    ========= =========================== ==================================

    Raises:
        ValueError: for an unknown name, listing the known ones.

        >>> from somanet import models
        >>> type(models.get("lenet")).__name__
        'Sequential'
    """
    builder = lookup(None, "model", name, {known: _BUILDERS[known] for known in names()})
    return builder(**kwargs)


def register(name, builder):
    """Add ``builder`` (a callable returning a model) under ``name``; returns ``builder``.

    Raises:
        ValueError: when ``name`` is taken.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"register: the name must be a non-empty string, got {name!r}")
    if not callable(builder):
        raise TypeError(f"register: the builder must be callable, got "
                        f"{type(builder).__name__}")
    key = name.lower()
    if key in _BUILDERS:
        raise ValueError(f"register: a model named {name!r} exists already")
    _BUILDERS[key] = builder
    return builder
