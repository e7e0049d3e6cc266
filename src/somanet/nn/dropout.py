"""``Dropout``: inverted dropout in training, the identity in eval mode."""
from .. import ops
from .._checks import check_fraction
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by
    ``1 / (1 - p)`` (inverted dropout, so evaluation needs no rescaling); in eval
    mode (``model.eval()``) return the input unchanged. Srivastava et al. (2014) use
    p = 0.5 for hidden units; the Keras MNIST quickstart uses 0.2.

    Args:
        p: the drop probability, in [0, 1) (Keras's ``rate``).

    Shape:
        any -> the same.
    """

    def __init__(self, p=0.5, *, rate=None):
        super().__init__()
        p = p if rate is None else rate
        self.p = check_fraction(self, "p", p, what="in [0, 1)")

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return ops.dropout(x, self.p, True)

    def extra_repr(self):
        return f"p={self.p}"
