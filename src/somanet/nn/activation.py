"""Activation layers, and activations by name (``Dense(128, activation="relu")``).

Three classic neuron types: the perceptron's step (threshold) unit, the
sigmoid ``1 / (1 + e^-x)`` that makes learning by gradient possible, and
ReLU ``max(0, x)``; modern networks add the others. Each layer wraps the op
of the same name in ``somanet.ops``.

    >>> import somanet as sn
    >>> from somanet import nn
    >>> nn.ReLU()(sn.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    >>> nn.activation.get("sigmoid") is sn.ops.sigmoid
    True
"""
from .. import ops
from .._checks import check_real, lookup
from .module import Module


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. Keras's ``activation=None``)."""

    def forward(self, x):
        return x


class Step(Module):
    """The perceptron's threshold unit: 1 where x > 0, else 0 (its gradient is zero,
    which is why gradient-trained networks use the sigmoid). Compare with a threshold
    T by giving the unit a bias of -T."""

    def forward(self, x):
        return ops.step(x)


class Sigmoid(Module):
    """sigma(x) = 1 / (1 + e^-x), squashing to (0, 1); sigma' = sigma (1 - sigma)."""

    def forward(self, x):
        return ops.sigmoid(x)


class Tanh(Module):
    """tanh(x), squashing to (-1, 1); tanh' = 1 - tanh^2."""

    def forward(self, x):
        return ops.tanh(x)


class ReLU(Module):
    """max(0, x), the rectified linear unit."""

    def forward(self, x):
        return ops.relu(x)


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope * x``.

    Args:
        negative_slope: the slope for negative inputs (PyTorch's default 0.01).
    """

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x where x > 0, else alpha (e^x - 1)."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x):
        return ops.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(Module):
    """Gaussian error linear unit, ``x Phi(x)``: exact (erf) by default, as PyTorch, Keras
    and ONNX.

    Args:
        approximate: ``"none"`` (exact) or ``"tanh"`` (the tanh approximation of GPT-2 and
            BERT); Keras's ``False`` / ``True`` are accepted too.
    """

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = ops.activation.gelu_form(approximate, self)

    def forward(self, x):
        return ops.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """``log(1 + e^{beta x}) / beta``, a smooth ReLU; ``x`` where ``beta x > threshold``.

    Args:
        beta: the sharpness, > 0 (default 1).
        threshold: where the output turns linear, in ``beta x`` (default 20, PyTorch's).
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = check_real(self, "beta", beta, minimum=0.0, min_open=True)
        self.threshold = check_real(self, "threshold", threshold, finite=False)

    def forward(self, x):
        return ops.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """softmax(x)_i = e^{x_i} / sum_j e^{x_j} along ``axis``: turns logits into
    probabilities (the Keras quickstart wraps its trained model with one)."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = int(axis)

    def forward(self, x):
        return ops.softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``axis``, computed stably (pair it with ``NLLLoss``)."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = int(axis)

    def forward(self, x):
        return ops.log_softmax(x, self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


# -- by name ----------------------------------------------------------------------------------

_FUNCTIONS = {
    "step": ops.step,
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "relu": ops.relu,
    "leaky_relu": ops.leaky_relu,
    "elu": ops.elu,
    "gelu": ops.gelu,
    "softplus": ops.softplus,
    "softmax": ops.softmax,
    "log_softmax": ops.log_softmax,
}

_LAYERS = {
    "step": Step, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU,
    "elu": ELU, "gelu": GELU, "softplus": Softplus, "softmax": Softmax,
    "log_softmax": LogSoftmax, "linear": Identity,
}


def known():
    """The activation names ``get`` accepts."""
    return sorted(_FUNCTIONS) + ["linear"]


def get(activation):
    """The activation function for ``activation``: a name (``"relu"``), a callable
    (returned as is), or ``None`` / ``"linear"`` (no activation: returns ``None``).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if activation is None or callable(activation):
        return activation
    if isinstance(activation, str):
        if activation.lower() in ("none", "identity"):
            return None
        table = {name: _FUNCTIONS.get(name) for name in known()}  # "linear": None
        return lookup(None, "activation", activation, table,
                      hint=" (or pass a callable, or None)")
    raise TypeError(f"an activation must be a name, a callable or None, got "
                    f"{type(activation).__name__}")


def layer(activation):
    """An activation layer by name (``layer("relu")`` is ``ReLU()``)."""
    if isinstance(activation, Module):
        return activation
    name = str(activation) if activation is not None else "linear"
    return lookup(None, "activation", name, {name: _LAYERS[name] for name in known()})()


def name_of(function):
    """The registry name of an activation function (for ``repr``), else its ``__name__``."""
    for name, known_function in _FUNCTIONS.items():
        if known_function is function:
            return name
    return getattr(function, "__name__", type(function).__name__)
