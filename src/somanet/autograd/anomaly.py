"""``detect_anomaly``: find the first op that produced a NaN or an Inf.

Off by default, and then it costs one boolean test per op. Inside the
context every forward and backward output is checked, and the first
non-finite one raises ``FloatingPointError`` naming the op, its input shapes
and the range of its inputs.

    >>> import somanet as sn
    >>> x = sn.tensor([0.0, 1.0], requires_grad=True)
    >>> with sn.detect_anomaly():
    ...     y = sn.log(x)
    Traceback (most recent call last):
    ...
    FloatingPointError: Log produced -inf in its forward output ...
"""
from ..backend import device_of, isfinite_all
from .mode import mode


class detect_anomaly:
    """Context manager: check every op's outputs and gradients for NaN/Inf."""

    def __init__(self):
        self.previous = []

    def __enter__(self):
        self.previous.append(mode.detect_anomaly)
        mode.detect_anomaly = True
        return self

    def __exit__(self, *exc):
        mode.detect_anomaly = self.previous.pop()
        return False


def check_forward(cls, arrays, out):
    outputs = out if type(out) is tuple else (out,)
    for index, array in enumerate(outputs):
        if not isfinite_all(array):
            what = "its forward output" if len(outputs) == 1 else f"forward output {index}"
            raise FloatingPointError(f"{cls.__name__} produced {_bad_value(array)} in {what}; "
                                     f"{_describe(arrays)}")


def check_backward(node, grads):
    for index, array in enumerate(grads):
        if array is not None and not isfinite_all(array):
            raise FloatingPointError(
                f"{type(node).__name__} produced {_bad_value(array)} in the gradient of its "
                f"input {index} during backward; its gradient inputs had shapes "
                f"{[edge[2] if edge else None for edge in node.parents]}")


def _bad_value(array):
    xp = device_of(array).xp
    if bool(xp.isnan(array).any()):
        return "nan"
    return "-inf" if bool((array == -xp.inf).any()) else "inf"


def _describe(arrays):
    parts = []
    for array in arrays:
        if array.size and array.dtype.kind in "fiu":
            parts.append(f"shape {array.shape} in [{array.min()}, {array.max()}]")
        else:
            parts.append(f"shape {array.shape}")
    return "inputs: " + "; ".join(parts)
