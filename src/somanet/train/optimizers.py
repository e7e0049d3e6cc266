"""Optimisers by the names Keras users type, with Keras's default learning rates.

``compile(optimizer=...)`` takes a name, an ``Optimizer`` made without parameters
(``sn.optim.SGD(lr=0.1, momentum=0.9)``, as in Keras), an ``Optimizer`` already made
for the model's parameters, an ``Optimizer`` class (``sn.optim.SGD``) or any factory
``params -> Optimizer`` (``functools.partial(sn.optim.SGD, lr=0.1, momentum=0.9)``).
A name or a class is made into an optimiser, and an optimiser without parameters is
bound to them, once the model's parameters exist (a ``Dense(128)`` has none before
its first input).

    >>> import somanet as sn
    >>> from somanet import nn
    >>> model = nn.Linear(3, 1)
    >>> opt = get("adam", model.parameters())
    >>> type(opt).__name__, opt.param_groups[0]["lr"]
    ('Adam', 0.001)
"""
from .. import optim
from .._checks import lookup

# name -> (class, default learning rate). Keras's defaults where Keras has the optimiser
# (SGD 0.01, Adam/AdamW/RMSprop/Adagrad 0.001); PyTorch's for Rprop; Manhattan's own.
OPTIMIZERS = {
    "sgd": (optim.SGD, 0.01),
    "adam": (optim.Adam, 0.001),
    "adamw": (optim.AdamW, 0.001),
    "rmsprop": (optim.RMSprop, 0.001),
    "adagrad": (optim.Adagrad, 0.001),
    "rprop": (optim.Rprop, 0.01),
    "manhattan": (optim.Manhattan, 0.01),
}


def names():
    """The optimiser names ``get`` accepts."""
    return list(OPTIMIZERS)


def check(identifier):
    """Raise now (at compile time) if ``identifier`` can never make an optimiser."""
    if isinstance(identifier, str):
        _lookup(identifier)
    elif not (isinstance(identifier, optim.Optimizer) or callable(identifier)):
        raise TypeError(f"compile: optimizer must be a name ({', '.join(OPTIMIZERS)}), an "
                        f"Optimizer, an Optimizer class or a function params -> Optimizer; "
                        f"got {type(identifier).__name__}")


def _lookup(name):
    return lookup(None, "optimizer", name, OPTIMIZERS,
                  hint="; or pass an Optimizer such as sn.optim.SGD(model.parameters(), "
                       "lr=0.1, momentum=0.9)")


def get(identifier, params, learning_rate=None):
    """An optimiser for ``params`` from ``identifier`` (see the module docstring).

    Args:
        identifier: a name, an Optimizer, an Optimizer class or a factory.
        params: the model's parameters (a list).
        learning_rate: overrides the default (or the given optimiser's) learning rate.
    """
    params = list(params)
    if isinstance(identifier, optim.Optimizer):
        optimizer = identifier
        if not optimizer.built:  # made without parameters, Keras style: bind it now
            optimizer.build(params)
        if learning_rate is not None:
            for group in optimizer.param_groups:
                group["lr"] = float(learning_rate)
        return optimizer
    if isinstance(identifier, str):
        cls, default_lr = _lookup(identifier)
        return cls(params, lr=default_lr if learning_rate is None else learning_rate)
    check(identifier)
    if learning_rate is None:
        optimizer = identifier(params)
    else:
        optimizer = identifier(params, lr=learning_rate)
    if not isinstance(optimizer, optim.Optimizer):
        raise TypeError(f"compile: the optimizer factory {identifier!r} returned a "
                        f"{type(optimizer).__name__}, not an Optimizer")
    return optimizer
