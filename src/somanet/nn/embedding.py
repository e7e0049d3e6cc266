"""``Embedding``: a learnable table of vectors looked up by integer index."""
from .. import ops
from ..ops.embedding import check_padding_idx
from . import init as _init
from ._build import check_size, new_parameter
from .module import Module


class Embedding(Module):
    """Map each integer index to a learned vector: ``out[..., :] = weight[index]``.

    Args:
        num_embeddings: the table size (Keras's ``input_dim``); indices lie in
            ``[0, num_embeddings)``.
        embedding_dim: the vector size (Keras's ``output_dim``).
        embeddings_initializer: a name or a callable; default ``normal`` with
            std 1, as PyTorch (Keras draws uniform in [-0.05, 0.05]).
        padding_idx: optional row (negative counts from the end) that is initialised to
            zeros and gets no gradient, so it stays as set (PyTorch's; Keras's
            ``mask_zero`` masks index 0 downstream instead, which is not the same).

    Shape:
        indices (*) int -> (*, embedding_dim).

    Attributes:
        weight: (num_embeddings, embedding_dim).

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.Embedding(10, 4)(sn.tensor([[1, 2, 3]])).shape
        (1, 3, 4)
    """

    integer_input = True  # its input is indices: a model passes integers to it as they are

    def __init__(self, num_embeddings, embedding_dim, embeddings_initializer=None,
                 padding_idx=None):
        super().__init__()
        self.num_embeddings = check_size(self, "num_embeddings", num_embeddings)
        self.embedding_dim = check_size(self, "embedding_dim", embedding_dim)
        self.padding_idx = check_padding_idx(self, padding_idx, self.num_embeddings)
        if embeddings_initializer is None:
            embeddings_initializer = _unit_normal
        self.weight = new_parameter(_init.create(embeddings_initializer,
                                             (self.num_embeddings, self.embedding_dim)))
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices):
        return ops.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None
                       else "")


def _unit_normal(shape, dtype=None, device=None):
    return _init.normal(shape, 0.0, 1.0, dtype=dtype, device=device)
