"""Layers that merge a list of tensors into one (Keras's merge layers): ``Add``,
``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``, ``Concatenate``.

Each takes a list: ``nn.Add()([a, b])``. In the functional API the ops of the same
name build them when given placeholders (``sn.concatenate([a, b])``, ``sn.add(a, b)``,
``sn.maximum(a, b)``, ``sn.minimum(a, b)``), as Keras's ``keras.layers.concatenate``;
on Tensors those stay the ops.

    >>> import somanet as sn
    >>> from somanet import nn
    >>> a, b = sn.ones(2, 3), sn.full((2, 3), 2.0)
    >>> nn.Add()([a, b]).tolist()[0], nn.Concatenate()([a, b]).shape
    ([3.0, 3.0, 3.0], (2, 6))
"""
from .. import ops
from .module import Module


class _Merge(Module):
    """The shared check: a list of at least two tensors (of one shape, unless the layer
    joins them)."""

    same_shape = True
    at_least = 2

    def forward(self, tensors):
        name = type(self).__name__
        if not isinstance(tensors, (list, tuple)) or len(tensors) < self.at_least:
            count = f"{len(tensors)} tensor(s)" if isinstance(tensors, (list, tuple)) else \
                f"a {type(tensors).__name__}"
            raise TypeError(f"{name} takes a list of at least {self.at_least} tensors, "
                            f"{name}()([a, b]); got {count}")
        tensors = list(tensors)
        if self.same_shape and len({tuple(t.shape) for t in tensors}) > 1:
            raise ValueError(f"{name}: all tensors must have one shape, got "
                             f"{[tuple(t.shape) for t in tensors]}")
        return self.merge(tensors)


class Add(_Merge):
    """Sum a list of tensors of one shape, element by element (a residual connection).

    Shape: [(N, *d), (N, *d), ...] -> (N, *d).
    """

    def merge(self, tensors):
        total = tensors[0]
        for tensor in tensors[1:]:
            total = total + tensor
        return total


class Subtract(_Merge):
    """``a - b`` for a list of exactly two tensors of one shape.

    Shape: [(N, *d), (N, *d)] -> (N, *d).
    """

    def merge(self, tensors):
        if len(tensors) != 2:
            raise TypeError(f"Subtract takes exactly two tensors, got {len(tensors)}")
        return tensors[0] - tensors[1]


class Multiply(_Merge):
    """The element-wise product of a list of tensors of one shape (a gate).

    Shape: [(N, *d), (N, *d), ...] -> (N, *d).
    """

    def merge(self, tensors):
        product = tensors[0]
        for tensor in tensors[1:]:
            product = product * tensor
        return product


class Average(_Merge):
    """The element-wise mean of a list of tensors of one shape (an ensemble).

    Shape: [(N, *d), (N, *d), ...] -> (N, *d).
    """

    def merge(self, tensors):
        return Add.merge(self, tensors) * (1.0 / len(tensors))


class Maximum(_Merge):
    """The element-wise maximum of a list of tensors of one shape.

    Shape: [(N, *d), (N, *d), ...] -> (N, *d).
    """

    def merge(self, tensors):
        result = tensors[0]
        for tensor in tensors[1:]:
            result = ops.maximum(result, tensor)
        return result


class Minimum(_Merge):
    """The element-wise minimum of a list of tensors of one shape.

    Shape: [(N, *d), (N, *d), ...] -> (N, *d).
    """

    def merge(self, tensors):
        result = tensors[0]
        for tensor in tensors[1:]:
            result = ops.minimum(result, tensor)
        return result


class Concatenate(_Merge):
    """Join a list of tensors along ``axis`` (default the last, the feature axis).

    Args:
        axis: the axis to join along; the others must agree.

    Shape: [(N, a), (N, b)] -> (N, a + b).
    """

    same_shape = False

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = int(axis)

    def merge(self, tensors):
        return ops.concatenate(tensors, axis=self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


# The ops that build a merge layer when called on functional-API placeholders.
FUNCTIONAL_FORMS = {"add": Add, "maximum": Maximum, "minimum": Minimum,
                    "concatenate": Concatenate}
