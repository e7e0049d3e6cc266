"""Pooling layers over NCHW images: ``MaxPool2D``, ``AvgPool2D``, ``GlobalAvgPool2D``.

Pooling has no parameters: each layer stores its settings and calls the op of
the same name in ``somanet.ops``. ``stride`` defaults to the kernel size
(non-overlapping windows), as in Keras and PyTorch.
"""
from .. import ops
from .._checks import check_flag
from ._build import check_tuple, shape_of
from .module import Module


class _Pool2D(Module):

    def __init__(self, kernel_size=2, stride=None, padding=0, ceil_mode=False, *,
                 pool_size=None, strides=None):
        super().__init__()
        self.kernel_size = check_tuple(self, "kernel_size",
                                       kernel_size if pool_size is None else pool_size, 2)
        stride = stride if strides is None else strides
        self.stride = self.kernel_size if stride is None else check_tuple(self, "stride",
                                                                          stride, 2)
        self.padding = check_tuple(self, "padding", padding, 2, minimum=0)
        self.ceil_mode = check_flag(self, "ceil_mode", ceil_mode)

    def forward(self, x):
        if getattr(x, "ndim", None) != 4:
            raise ValueError(f"expected input of shape (N, C, H, W), got shape {shape_of(x)}")
        return self._pool(x)

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool2D(_Pool2D):
    """The largest value of each ``kernel_size`` window (Keras's ``pool_size``).

    Args:
        kernel_size: an int or a pair (default 2).
        stride: an int or a pair; default the kernel size (Keras's ``strides``).
        padding: an int or a pair of implicit -inf padding, smaller than the kernel
            (ONNX's rule; PyTorch's is at most half the kernel).
        dilation: an int or a pair: the spacing of the window's elements (PyTorch's).
        ceil_mode: round the output size up, keeping a last partial window.

    Shape:
        (N, C, H, W) -> (N, C, H_out, W_out),
        ``H_out = floor((H + 2 p - d (k - 1) - 1) / s) + 1`` (ceil with ``ceil_mode``).

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.MaxPool2D(2)(sn.zeros(1, 3, 28, 28)).shape
        (1, 3, 14, 14)
    """

    def __init__(self, kernel_size=2, stride=None, padding=0, dilation=1, ceil_mode=False, *,
                 pool_size=None, strides=None):
        super().__init__(kernel_size, stride, padding, ceil_mode, pool_size=pool_size,
                         strides=strides)
        self.dilation = check_tuple(self, "dilation", dilation, 2)

    def _pool(self, x):
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                              self.ceil_mode)

    def extra_repr(self):
        text = super().extra_repr()
        return text + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")


class AvgPool2D(_Pool2D):
    """The mean of each ``kernel_size`` window; arguments and shapes as ``MaxPool2D``
    (no dilation), and:

    Args:
        count_include_pad: count the padding zeros in the mean's divisor (PyTorch's
            default ``True``); ``False`` divides by the number of input elements.
    """

    def __init__(self, kernel_size=2, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, *, pool_size=None, strides=None):
        super().__init__(kernel_size, stride, padding, ceil_mode, pool_size=pool_size,
                         strides=strides)
        self.count_include_pad = check_flag(self, "count_include_pad", count_include_pad)

    def _pool(self, x):
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad)

    def extra_repr(self):
        text = super().extra_repr()
        return text + ("" if self.count_include_pad else ", count_include_pad=False")


class GlobalAvgPool2D(Module):
    """The mean over all of H and W: (N, C, H, W) -> (N, C), the usual head of a CNN
    before its classifier."""

    def forward(self, x):
        if getattr(x, "ndim", None) != 4:
            raise ValueError(f"expected input of shape (N, C, H, W), got shape {shape_of(x)}")
        return ops.global_avg_pool2d(x)
