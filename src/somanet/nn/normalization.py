"""Normalisation layers: ``BatchNorm1D``, ``BatchNorm2D``, ``LayerNorm``.

Batch normalisation standardises each channel with the batch's statistics in
training and with running averages of them in eval mode:
``y = (x - mean) / sqrt(var + eps) * weight + bias``. The running averages are
buffers: saved in ``state_dict()``, moved by ``to()``, not trained.
``momentum`` is PyTorch's (the weight of the new batch: ``running = (1 - m)
running + m batch``), which is 1 minus Keras's; ``momentum=None`` keeps the
cumulative average of every batch so far instead (PyTorch's), counting them in a
``num_batches_tracked`` buffer.
"""
from .. import ops
from .._checks import check_fraction, check_non_negative, is_int
from ..tensor import Tensor, as_array
from . import init as _init
from ._build import check_size, device_and_dtype, new_parameter, shape_of
from .module import Module


class _BatchNorm(Module):
    dims = ()  # the accepted input ranks
    layout = ""

    def __init__(self, num_features=None, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__()
        self.num_features = check_size(self, "num_features", num_features, allow_none=True)
        self.momentum = None if momentum is None else check_fraction(
            self, "momentum", momentum, inclusive=True,
            what="in [0, 1] (PyTorch's convention: the new batch's weight) or None (a "
                 "cumulative average)")
        self.eps = check_non_negative(self, "eps", eps, what=">= 0")
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        self.register_buffer("running_mean", None)
        self.register_buffer("running_var", None)
        if self.momentum is None and self.track_running_stats:
            self.register_buffer("num_batches_tracked", _buffer(as_array(0, dtype="int64")))
        if self.num_features is not None:
            self._create(None, None)

    def _create(self, device, dtype):
        shape = (self.num_features,)
        if self.affine:
            self.weight = new_parameter(_init.create("ones", shape, dtype, device))
            self.bias = new_parameter(_init.create("zeros", shape, dtype, device))
        if self.track_running_stats:
            self.running_mean = _buffer(_init.create("zeros", shape, dtype, device))
            self.running_var = _buffer(_init.create("ones", shape, dtype, device))
            if self.momentum is None:
                self.num_batches_tracked = _buffer(as_array(0, dtype="int64",
                                                            device=self.running_mean.device))

    def _built(self):
        return self.num_features is not None

    def _after_load(self):
        for tensor in (self.weight, self.running_mean):
            if tensor is not None:
                self.num_features = tensor.shape[0]

    def reset_running_stats(self):
        """Running mean back to 0, running variance back to 1 (and, with
        ``momentum=None``, the batch count back to 0)."""
        if self.running_mean is not None:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
        if self.momentum is None and self.track_running_stats:
            self.num_batches_tracked.data[...] = 0

    def forward(self, x):
        ndim = getattr(x, "ndim", None)
        if ndim not in self.dims or (self.num_features is not None
                                     and x.shape[1] != self.num_features):
            expected = " or ".join(self.layout.replace("C", str(self.num_features or "C"))
                                   .split("|"))
            raise ValueError(f"expected input of shape {expected}, got shape {shape_of(x)}")
        if self.num_features is None:
            self.num_features = int(x.shape[1])
            self._create(*device_and_dtype(x))
        use_batch = self.training or self.running_mean is None
        momentum = self.momentum
        if momentum is None and self.training and self.running_mean is not None:
            self.num_batches_tracked.data += 1  # a cumulative average: batch k weighs 1/k
            momentum = 1.0 / float(self.num_batches_tracked.data)
        return ops.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var,
                              training=use_batch, momentum=0.0 if momentum is None else momentum,
                              eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1D(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C.

    Args:
        num_features: C; inferred from the first input when left out (Keras).
        eps: added to the variance before the square root.
        momentum: the weight of each new batch in the running statistics, in [0, 1]
            (default 0.1); ``None``: their cumulative average, every batch weighing the
            same (PyTorch's ``momentum=None``; batch k enters with weight 1/k).
        affine: learn a per-channel scale (``weight``, init 1) and shift (``bias``, init 0).
        track_running_stats: keep running statistics for eval mode (else eval
            mode normalises with the batch's own statistics).

    Shape:
        (N, C) or (N, C, L) -> the same.
    """

    dims = (2, 3)
    layout = "(N, C)|(N, C, L)"


class BatchNorm2D(_BatchNorm):
    """Batch normalisation of NCHW images, per channel C (statistics over N, H and W).
    Arguments as ``BatchNorm1D``.

    Shape:
        (N, C, H, W) -> the same.

        >>> import somanet as sn
        >>> from somanet import nn
        >>> bn = nn.BatchNorm2D(3)
        >>> bn(sn.randn(8, 3, 4, 4)).shape, bn.running_mean.shape
        ((8, 3, 4, 4), (3,))
    """

    dims = (4,)
    layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalisation: each sample standardised over its trailing
    ``normalized_shape`` axes, then scaled and shifted per element. The same in
    training and eval.

    Args:
        normalized_shape: an int or a tuple: the trailing axes to normalise over.
            Left out, the last axis of the first input (Keras's default ``axis=-1``).
        eps: added to the variance before the square root.
        elementwise_affine: learn ``weight`` (init 1) and ``bias`` (init 0) of that shape.

    Shape:
        (*, *normalized_shape) -> the same.
    """

    def __init__(self, normalized_shape=None, eps=1e-5, elementwise_affine=True):
        super().__init__()
        if is_int(normalized_shape):
            normalized_shape = (normalized_shape,)
        if normalized_shape is not None:
            normalized_shape = tuple(check_size(self, "normalized_shape", size)
                                     for size in normalized_shape)
        self.normalized_shape = normalized_shape
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if normalized_shape is not None:
            self._create(None, None)

    def _create(self, device, dtype):
        if self.elementwise_affine:
            self.weight = new_parameter(_init.create("ones", self.normalized_shape, dtype, device))
            self.bias = new_parameter(_init.create("zeros", self.normalized_shape, dtype, device))

    def _built(self):
        return self.normalized_shape is not None

    def _after_load(self):
        self.normalized_shape = tuple(self.weight.shape)

    def forward(self, x):
        shape = self.normalized_shape
        if shape is None:
            if getattr(x, "ndim", 0) < 1:
                raise ValueError(f"expected input with at least one axis, got {shape_of(x)}")
            shape = self.normalized_shape = (int(x.shape[-1]),)
            self._create(*device_and_dtype(x))
        if tuple(x.shape[x.ndim - len(shape):]) != shape or x.ndim < len(shape):
            raise ValueError(f"expected input of shape (*, {', '.join(map(str, shape))}), got "
                             f"shape {shape_of(x)}")
        return ops.layer_norm(x, shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


def _buffer(array):
    tensor = Tensor.__new__(Tensor)
    tensor.data = array
    return tensor
