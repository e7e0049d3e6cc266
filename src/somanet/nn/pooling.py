"""Pooling layers over NCHW images: ``MaxPool2D``, ``AvgPool2D``, ``GlobalAvgPool2D``.

Pooling has no parameters: each layer stores its settings and calls the op of
the same name in ``somanet.ops``. ``stride`` defaults to the kernel size
(non-overlapping windows), as in Keras and PyTorch.
"""
from .. import ops
from ._build import check_tuple, shape_of
from .module import Module


class _Pool2D(Module):

    def __init__(self, kernel_size=2, stride=None, padding=0, *, pool_size=None, strides=None):
        super().__init__()
        self.kernel_size = check_tuple(self, "kernel_size",
                                       kernel_size if pool_size is None else pool_size, 2)
        stride = stride if strides is None else strides
        self.stride = self.kernel_size if stride is None else check_tuple(self, "stride",
                                                                          stride, 2)
        self.padding = check_tuple(self, "padding", padding, 2, minimum=0)

    def forward(self, x):
        if getattr(x, "ndim", None) != 4:
            raise ValueError(f"expected input of shape (N, C, H, W), got shape {shape_of(x)}")
        return self._pool(x, self.kernel_size, stride=self.stride, padding=self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2D(_Pool2D):
    """The largest value of each ``kernel_size`` window (Keras's ``pool_size``).

    Args:
        kernel_size: an int or a pair (default 2).
        stride: an int or a pair; default the kernel size (Keras's ``strides``).
        padding: an int or a pair of implicit -inf padding.

    Shape:
        (N, C, H, W) -> (N, C, H_out, W_out), ``H_out = floor((H + 2 p - k) / s) + 1``.

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.MaxPool2D(2)(sn.zeros(1, 3, 28, 28)).shape
        (1, 3, 14, 14)
    """

    _pool = staticmethod(lambda x, kernel, **settings: ops.max_pool2d(x, kernel, **settings))


class AvgPool2D(_Pool2D):
    """The mean of each ``kernel_size`` window; arguments and shapes as ``MaxPool2D``
    (padding counts as zeros in the mean)."""

    _pool = staticmethod(lambda x, kernel, **settings: ops.avg_pool2d(x, kernel, **settings))


class GlobalAvgPool2D(Module):
    """The mean over all of H and W: (N, C, H, W) -> (N, C), the usual head of a CNN
    before its classifier."""

    def forward(self, x):
        if getattr(x, "ndim", None) != 4:
            raise ValueError(f"expected input of shape (N, C, H, W), got shape {shape_of(x)}")
        return ops.global_avg_pool2d(x)
