"""``Parameter``: a tensor a Module learns."""
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad and that a ``Module`` registers when it is assigned
    as an attribute (``self.weight = Parameter(...)``).

    Args:
        data: a Tensor or array-like; it is taken as is (a Tensor's array is
            shared, not copied), so an initialiser's result becomes the parameter.
        requires_grad: ``False`` for a parameter that is saved with the model
            but not trained.

        >>> import somanet as sn
        >>> w = sn.nn.Parameter(sn.zeros(2, 3))
        >>> w.requires_grad, w.shape
        (True, (2, 3))
    """

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            self.data = data.data
        else:
            super().__init__(data)
        if self.data.dtype.kind != "f":
            raise TypeError(f"a Parameter must hold floats, got dtype {self.data.dtype}")
        self.requires_grad = requires_grad

    def __repr__(self):
        text = super().__repr__()[len("tensor("):].replace("\n" + " " * 7, "\n" + " " * 10)
        return "Parameter(" + text
