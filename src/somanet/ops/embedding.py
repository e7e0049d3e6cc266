"""Embedding lookup: integer indices select rows of a weight table.

The forward is a gather (``weight[indices]``); the backward scatters the
gradient rows back into a zero table, adding where an index repeats.
"""
from .._checks import check_int
from ..autograd.function import Function
from ..backend import scatter_add, xp_of
from ..tensor import Tensor, as_array


class Embedding(Function):
    """``out[..., :] = weight[indices[...], :]``; ``dL/dweight[i] = sum of dL/dout
    over the positions where ``indices == i``, except row ``padding_idx`` (when given),
    whose gradient is 0."""

    integer_inputs = (0,)  # the indices

    def forward(ctx, indices, weight, padding_idx):
        ctx.save_for_backward(indices)
        ctx.table_shape, ctx.padding_idx = weight.shape, padding_idx
        return xp_of(weight).take(weight, indices, axis=0)

    def backward(ctx, grad):
        (indices,) = ctx.saved
        if not ctx.needs_input_grad[1]:
            return None, None
        table = xp_of(grad).zeros(ctx.table_shape, grad.dtype)
        scatter_add(table, indices, grad)
        if ctx.padding_idx is not None:
            table[ctx.padding_idx] = 0
        return None, table


def embedding(indices, weight, padding_idx=None):
    """Look up rows of ``weight``: ``embedding(indices, weight)[..., :] = weight[indices[...]]``.

    Args:
        indices: integer tensor (or array / list) of any shape, each value in
            ``[0, weight.shape[0])``.
        weight: the table, (num_embeddings, embedding_dim) float tensor.
        padding_idx: optional row (negative counts from the end, as PyTorch) that gets
            no gradient, so training leaves it as it is (the padding token's vector).

    Shape: indices (*), weight (V, D) -> (*, D).

    Raises:
        TypeError: ``indices`` is not integer, or ``weight`` not float.
        IndexError: an index is negative or >= the table size.
        ValueError: ``padding_idx`` outside ``[-num_embeddings, num_embeddings)``.

        >>> import somanet as sn
        >>> table = sn.tensor([[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]])
        >>> sn.embedding(sn.tensor([2, 0]), table)
        tensor([[2. , 2.5],
                [0. , 0.5]])
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"embedding: weight must be a Tensor, got {type(weight).__name__}")
    if weight.dtype.kind != "f" or weight.ndim < 1:
        raise TypeError(f"embedding: weight must be a float table of shape (num_embeddings, "
                        f"embedding_dim), got dtype {weight.dtype} and shape {weight.shape}")
    if not isinstance(indices, Tensor):
        indices = Tensor(as_array(indices, device=weight.device))
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype} "
                        f"(shape {indices.shape}); cast them with .astype('int64')")
    size = weight.shape[0]
    padding_idx = check_padding_idx("embedding", padding_idx, size)
    data = indices.data
    if data.size and bool(((data < 0) | (data >= size)).any()):
        low, high = int(data.min()), int(data.max())
        worst = high if high >= size else low
        raise IndexError(f"embedding: index {worst} is out of range for a table of {size} rows "
                         f"(weight shape {weight.shape}); indices must be in [0, {size - 1}], "
                         f"got min {low} and max {high}")
    return Embedding.apply(indices, weight, padding_idx=padding_idx)


def check_padding_idx(owner, padding_idx, size):
    """``padding_idx`` as a row in ``[0, size)`` (a negative one counts from the end), or
    ``None``."""
    if padding_idx is None:
        return None
    padding_idx = check_int(owner, "padding_idx", padding_idx, minimum=-size, maximum=size - 1,
                            what=f"an int in [{-size}, {size - 1}] (a row of the table of "
                                 f"{size}) or None")
    return padding_idx % size
