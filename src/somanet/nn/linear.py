"""``Linear`` (alias ``Dense``): the fully connected layer, ``y = f(x W + b)``.

A unit computes ``h = sum_i w_i x_i + b`` followed by an activation;
a layer of such units is ``h = x W + b`` with ``W`` laid out one row per input
unit, ``(in_features, out_features)``, the layout of ``somanet.ops.linear`` and
of a Keras kernel.
"""
from .. import ops
from . import activation as _activation
from . import init as _init
from ._build import check_input_shape, check_size, device_and_dtype, new_parameter, shape_of
from .module import Module


class Linear(Module):
    """Fully connected layer: ``y = activation(x @ weight + bias)``.

    Two ways to build one:

    - ``Linear(128)`` / ``Dense(128)`` (Keras): 128 output units; the input size
      is taken from the first input (the parameters appear then, on the input's
      device).
    - ``Linear(784, 128)`` (PyTorch): in and out sizes given, parameters made now.

    Args:
        in_features: the input size; or, given alone, the output size (Keras's ``units``).
        out_features: the output size. A string or callable here is taken as the
            activation (Keras's ``Dense(128, "relu")``).
        activation: applied to the output: a name (``"relu"``, ``"sigmoid"``,
            ``"softmax"``, ``"step"``...; ``"linear"`` / ``None`` for none) or a callable.
        bias: learn an additive bias (Keras's ``use_bias``).
        kernel_initializer: for ``weight``: a name from ``nn.init`` or a callable
            ``(shape, dtype=, device=)``. Default Glorot uniform, as Keras.
        bias_initializer: for ``bias``; default zeros.
        units, use_bias, input_dim, input_shape: the Keras spellings.

    Shape:
        x (..., in_features) -> (..., out_features).

    Attributes:
        weight: ``(in_features, out_features)``; ``None`` until built.
        bias: ``(out_features,)``, or ``None`` with ``bias=False``.

        >>> import somanet as sn
        >>> from somanet import nn
        >>> layer = nn.Dense(3, activation="relu")
        >>> layer(sn.ones(2, 5)).shape, layer.weight.shape
        ((2, 3), (5, 3))
    """

    def __init__(self, in_features=None, out_features=None, activation=None, bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", *, units=None,
                 use_bias=None, input_dim=None, input_shape=None):
        super().__init__()
        if isinstance(out_features, str) or callable(out_features):
            activation, out_features = out_features, None
        if units is not None:
            if out_features is not None:
                raise TypeError("Linear: give units= or out_features, not both")
            out_features = units
        elif out_features is None:
            in_features, out_features = None, in_features
        if input_dim is not None:
            if input_shape is not None:
                raise TypeError("Linear: give input_dim= or input_shape=, not both")
            input_shape = (input_dim,)
        self.input_shape = check_input_shape(self, input_shape)
        if self.input_shape is not None:
            if in_features is not None and in_features != self.input_shape[-1]:
                raise ValueError(f"Linear: in_features={in_features}, but input_shape="
                                 f"{self.input_shape} has {self.input_shape[-1]} features")
            in_features = self.input_shape[-1]
        if out_features is None:
            raise TypeError("Linear needs the number of output units: Linear(128) or "
                            "Linear(in_features, out_features)")
        self.in_features = check_size(self, "in_features", in_features, allow_none=True)
        self.out_features = check_size(self, "out_features", out_features)
        self.use_bias = bool(bias if use_bias is None else use_bias)
        self.activation = _activation.get(activation)
        self.kernel_initializer = _init.get(kernel_initializer)
        self.bias_initializer = _init.get(bias_initializer)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if self.in_features is not None:
            self._create(None, None)

    def _create(self, device, dtype):
        shape = (self.in_features, self.out_features)
        self.weight = new_parameter(_init.create(self.kernel_initializer, shape, dtype, device))
        if self.use_bias:
            self.bias = new_parameter(_init.create(self.bias_initializer, (self.out_features,),
                                               dtype, device))

    def _built(self):
        return self.weight is not None

    def _after_load(self):
        self.in_features = self.weight.shape[0]

    def build(self, x):
        """Create the parameters for inputs like ``x`` (what the first call does)."""
        if getattr(x, "ndim", 0) < 1:
            raise ValueError(f"expected input of shape (..., in_features), got "
                             f"{shape_of(x)}")
        self.in_features = int(x.shape[-1])
        self._create(*device_and_dtype(x))
        return self.weight

    def forward(self, x):
        weight = self.weight
        if weight is None:
            weight = self.build(x)
        try:
            out = ops.linear(x, weight, self.bias)
        except ValueError:
            if getattr(x, "shape", ())[-1:] != (self.in_features,):
                raise ValueError(f"expected input of shape (..., {self.in_features}), got "
                                  f"shape {shape_of(x)}") from None
            raise
        activation = self.activation
        if activation is not None:
            out = activation(out)
        return out

    def extra_repr(self):
        text = (f"in_features={self.in_features}, out_features={self.out_features}"
                f"{'' if self.use_bias else ', bias=False'}")
        if self.activation is not None and not isinstance(self.activation, Module):
            text += f", activation={_activation.name_of(self.activation)}"
        return text


Dense = Linear
