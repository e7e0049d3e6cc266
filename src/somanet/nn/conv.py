"""Convolution layers: ``Conv1D``, ``Conv2D``, ``ConvTranspose2D`` (NCL / NCHW inputs).

Each takes its sizes in either order users know:

- Keras: ``Conv2D(filters, kernel_size)``, e.g. ``Conv2D(6, 5)``: 6 output
  channels, a 5x5 kernel, the input channels taken from the first input;
- PyTorch: ``Conv2D(in_channels, out_channels, kernel_size)``, e.g.
  ``Conv2D(1, 6, 5)``: parameters made at once.

So two positional numbers mean (out, kernel) and three mean (in, out,
kernel); everything else (``stride``/``strides``, ``padding``...) is a keyword.
Keywords work too: ``Conv2D(in_channels=1, out_channels=6, kernel_size=5)``,
``Conv2D(filters=6, kernel_size=5)``.

Weights: ``(out_channels, in_channels / groups, *kernel)`` for Conv1D/Conv2D;
``(in_channels, out_channels / groups, *kernel)`` for ConvTranspose2D (as
PyTorch). Kernels default to Glorot uniform and biases to zeros (Keras).
"""
import math

from .. import ops
from . import activation as _activation
from . import init as _init
from ._build import (check_input_shape, check_size, check_tuple, device_and_dtype, new_parameter,
                     shape_of)
from .module import Module


class _ConvNd(Module):
    """The shared machinery: argument parsing, lazy building, the input check."""

    dims = 2  # spatial axes
    transposed = False
    layout = "(N, C, H, W)"

    def __init__(self, *sizes, in_channels=None, out_channels=None, kernel_size=None, stride=1,
                 padding=0, dilation=1, groups=1, bias=True, activation=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", output_padding=0,
                 filters=None, strides=None, dilation_rate=None, use_bias=None,
                 input_shape=None):
        super().__init__()
        name = type(self).__name__
        if len(sizes) > 3:
            raise TypeError(f"{name} takes at most 3 positional sizes ((out, kernel) or "
                            f"(in, out, kernel)), got {len(sizes)}; pass stride=, padding=... "
                            f"as keywords")
        if len(sizes) == 3:
            in_channels, out_channels, kernel_size = _merge(
                sizes, (in_channels, out_channels, kernel_size), name)
        elif len(sizes) == 2:
            out_channels, kernel_size = _merge(sizes, (out_channels, kernel_size), name)
        elif len(sizes) == 1:
            (out_channels,) = _merge(sizes, (out_channels,), name)
        if filters is not None:
            out_channels = filters
        # Keras gives the shape of one sample: (C, H, W) here, channels first
        self.input_shape = check_input_shape(self, input_shape, self.dims + 1,
                                             what=f"one sample's ({self.layout[4:]}",
                                             open_axis=0)
        if self.input_shape is not None:
            if in_channels is not None and in_channels != self.input_shape[0]:
                raise ValueError(f"{name}: in_channels={in_channels}, but input_shape="
                                 f"{self.input_shape} has {self.input_shape[0]} channels")
            in_channels = self.input_shape[0]
        if out_channels is None or kernel_size is None:
            raise TypeError(f"{name} needs out_channels and kernel_size: {name}(filters, "
                            f"kernel_size) or {name}(in_channels, out_channels, kernel_size)")
        self.in_channels = check_size(self, "in_channels", in_channels, allow_none=True)
        self.out_channels = check_size(self, "out_channels", out_channels)
        self.kernel_size = check_tuple(self, "kernel_size", kernel_size, self.dims)
        self.stride = check_tuple(self, "stride", stride if strides is None else strides,
                                  self.dims)
        self.dilation = check_tuple(self, "dilation",
                                    dilation if dilation_rate is None else dilation_rate,
                                    self.dims)
        self.padding = _check_padding(self, padding, self.dims, self.transposed)
        self.output_padding = check_tuple(self, "output_padding", output_padding, self.dims,
                                          minimum=0)
        self.groups = check_size(self, "groups", groups)
        if self.out_channels % self.groups:
            raise ValueError(f"{name}: out_channels ({self.out_channels}) must be divisible "
                             f"by groups ({self.groups})")
        self.use_bias = bool(bias if use_bias is None else use_bias)
        self.activation = _activation.get(activation)
        self.kernel_initializer = _init.get(kernel_initializer)
        self.bias_initializer = _init.get(bias_initializer)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if self.in_channels is not None:
            self._create(None, None)

    def _weight_shape(self):
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def _create(self, device, dtype):
        if self.in_channels % self.groups:
            raise ValueError(f"in_channels ({self.in_channels}) must be divisible by groups "
                             f"({self.groups})")
        self.weight = new_parameter(_init.create(self.kernel_initializer, self._weight_shape(),
                                             dtype, device, **self._fans()))
        if self.use_bias:
            self.bias = new_parameter(_init.create(self.bias_initializer, (self.out_channels,),
                                               dtype, device))

    def _fans(self):
        receptive = math.prod(self.kernel_size)
        return {"fan_in": self.in_channels // self.groups * receptive,
                "fan_out": self.out_channels // self.groups * receptive}

    def _built(self):
        return self.weight is not None

    def _after_load(self):
        self.in_channels = (self.weight.shape[0] if self.transposed
                            else self.weight.shape[1] * self.groups)

    def _check_input(self, x):
        ndim = getattr(x, "ndim", None)
        if ndim != self.dims + 2 or (self.in_channels is not None
                                     and x.shape[1] != self.in_channels):
            expected = self.layout.replace("C", str(self.in_channels or "C"), 1)
            hint = ""
            if ndim == self.dims + 2 and x.shape[-1] == self.in_channels:
                order = (0, self.dims + 1) + tuple(range(1, self.dims + 1))
                hint = (f"; it looks channels-last: somanet is channels-first, "
                        f"use x.permute{order}")
            elif ndim == self.dims + 1:
                hint = "; for a single sample add the batch axis: x.unsqueeze(0)"
            raise ValueError(f"expected input of shape {expected}, got shape {shape_of(x)}"
                             + hint)

    def build(self, x):
        """Create the parameters for inputs like ``x`` (what the first call does)."""
        self._check_input(x)
        self.in_channels = int(x.shape[1])
        self._create(*device_and_dtype(x))
        return self.weight

    def forward(self, x):
        weight = self.weight
        if weight is None:
            weight = self.build(x)
        else:
            self._check_input(x)
        out = self._convolve(x, weight)
        activation = self.activation
        if activation is not None:
            out = activation(out)
        return out

    def extra_repr(self):
        parts = [f"{self.in_channels}, {self.out_channels}",
                 f"kernel_size={_show(self.kernel_size)}"]
        if any(s != 1 for s in self.stride):
            parts.append(f"stride={_show(self.stride)}")
        if self.padding not in (0, "valid") and self.padding != (0,) * self.dims:
            parts.append(f"padding={_show(self.padding)}")
        if any(p != 0 for p in self.output_padding) and self.transposed:
            parts.append(f"output_padding={_show(self.output_padding)}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={_show(self.dilation)}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if not self.use_bias:
            parts.append("bias=False")
        if self.activation is not None and not isinstance(self.activation, Module):
            parts.append(f"activation={_activation.name_of(self.activation)}")
        return ", ".join(parts)


class Conv2D(_ConvNd):
    """2-D convolution over NCHW images (cross-correlation, as every framework computes it):

    ``y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x[n, c, s*i + d*u - p, s*j + d*v - p]``

    Args:
        *sizes: ``(filters, kernel_size)`` (Keras; in_channels inferred on first call)
            or ``(in_channels, out_channels, kernel_size)`` (PyTorch).
        stride: an int or a pair (Keras's ``strides``).
        padding: an int, a pair, ``"same"`` (output as large as the input at stride
            1) or ``"valid"`` (no padding, the default).
        dilation: spacing between kernel taps (Keras's ``dilation_rate``).
        groups: split channels into groups convolved separately (``groups =
            in_channels`` is a depthwise convolution).
        bias / use_bias, activation, kernel_initializer, bias_initializer: as ``Dense``.

    Shape:
        x (N, C_in, H, W) -> (N, C_out, H_out, W_out), with
        ``H_out = floor((H + 2 p - d (k - 1) - 1) / s) + 1``.

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.Conv2D(6, 5)(sn.zeros(2, 1, 28, 28)).shape     # LeNet's first layer
        (2, 6, 24, 24)
    """

    def _convolve(self, x, weight):
        return ops.conv2d(x, weight, self.bias, stride=self.stride, padding=self.padding,
                          dilation=self.dilation, groups=self.groups)


class Conv1D(_ConvNd):
    """1-D convolution over (N, C, L) sequences; the arguments are those of ``Conv2D``
    with ints where Conv2D takes pairs.

    Shape:
        x (N, C_in, L) -> (N, C_out, L_out).
    """

    dims = 1
    layout = "(N, C, L)"

    def _convolve(self, x, weight):
        return ops.conv1d(x, weight, self.bias, stride=self.stride[0], padding=_first(
            self.padding), dilation=self.dilation[0], groups=self.groups)


class ConvTranspose2D(_ConvNd):
    """Transposed 2-D convolution (the gradient of Conv2D with respect to its input), which
    upsamples: for generators (GANs) and decoders.

    Args:
        *sizes, stride, dilation, groups, bias, activation, initialisers: as ``Conv2D``.
        padding: an int or a pair: removes that much from each side of the output.
        output_padding: added to one side of the output, to pick among the sizes
            that stride > 1 makes possible.

    Shape:
        x (N, C_in, H, W) -> (N, C_out, H_out, W_out), with
        ``H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1``.

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.ConvTranspose2D(8, 4, stride=2, padding=1)(sn.zeros(1, 16, 7, 7)).shape
        (1, 8, 14, 14)
    """

    transposed = True

    def _convolve(self, x, weight):
        return ops.conv_transpose2d(x, weight, self.bias, stride=self.stride,
                                    padding=self.padding, output_padding=self.output_padding,
                                    groups=self.groups, dilation=self.dilation)


def _merge(positional, keywords, name):
    """Positional sizes, refusing a keyword that names one of them again."""
    for given, keyword in zip(positional, keywords):
        if keyword is not None:
            raise TypeError(f"{name}: a size was given both positionally ({given}) and as a "
                            f"keyword ({keyword})")
    return positional


def _check_padding(owner, padding, dims, transposed):
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("same", "valid"):
            raise ValueError(f"{type(owner).__name__}: padding must be an int, {dims} ints, "
                             f"'same' or 'valid', got {padding!r}")
        if transposed and mode == "same":
            raise ValueError("ConvTranspose2D does not take padding='same'; give an int "
                             "and output_padding (padding=(k-1)//2, output_padding=stride-1 "
                             "gives stride * H)")
        return mode if mode == "same" else (0,) * dims
    return check_tuple(owner, "padding", padding, dims, minimum=0)


def _first(padding):
    return padding if isinstance(padding, str) else padding[0]


def _show(value):
    if isinstance(value, tuple) and len(set(value)) == 1:
        return value[0]
    return value
