"""Layers that only rearrange: ``Flatten`` and ``Reshape`` (no parameters).

Both keep the batch axis, as Keras does: ``Flatten()`` turns (N, 28, 28) into
(N, 784) (the Keras MNIST quickstart model starts with one).
"""
import math

from .. import ops
from .._checks import is_int
from ._build import shape_of
from .module import Module


class Flatten(Module):
    """Flatten the axes ``start_axis`` .. ``end_axis`` into one (default: all but the batch).

    Args:
        start_axis: the first axis to merge (default 1, keeping the batch axis).
        end_axis: the last axis to merge (default -1).
        input_shape: accepted for Keras code (``Flatten(input_shape=(28, 28))``) and
            checked against the input: a sample of another shape is an error.

    Shape:
        (N, *dims) -> (N, prod(dims)).

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.Flatten()(sn.zeros(32, 28, 28)).shape
        (32, 784)
    """

    def __init__(self, start_axis=1, end_axis=-1, *, input_shape=None):
        super().__init__()
        self.start_axis = int(start_axis)
        self.end_axis = int(end_axis)
        self.input_shape = None if input_shape is None else tuple(input_shape)

    def forward(self, x):
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"expected input of shape (N, {', '.join(map(str, self.input_shape))}"
                             f"{',' if len(self.input_shape) == 1 else ''}), got shape "
                             f"{shape_of(x)}")
        return ops.flatten(x, self.start_axis, self.end_axis)

    def extra_repr(self):
        if (self.start_axis, self.end_axis) == (1, -1):
            return ""
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"


class Reshape(Module):
    """Reshape each sample to ``shape`` (the batch axis is kept; one size may be -1).

    Shape:
        (N, *dims) -> (N, *shape), where prod(shape) = prod(dims).

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.Reshape(1, 28, 28)(sn.zeros(2, 784)).shape
        (2, 1, 28, 28)
    """

    def __init__(self, *shape):
        super().__init__()
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not shape or sum(size == -1 for size in shape) > 1 or any(
                not is_int(size) or (size < 1 and size != -1) for size in shape):
            raise ValueError(f"Reshape takes the target shape of one sample (positive ints, "
                             f"one of them may be -1), got {shape}")
        self.shape = tuple(int(size) for size in shape)

    def forward(self, x):
        sample = math.prod(x.shape[1:])
        known = math.prod(size for size in self.shape if size != -1)
        if (sample % known if -1 in self.shape else sample != known):
            raise ValueError(f"cannot reshape input of shape {shape_of(x)} (samples of "
                             f"{sample} values) to (N, {', '.join(map(str, self.shape))})")
        return ops.reshape(x, (x.shape[0],) + self.shape)

    def extra_repr(self):
        return ", ".join(map(str, self.shape))
