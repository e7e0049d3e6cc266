"""Layer 1: the differentiable ops, a family a file.

Each op is a ``Function`` (forward and backward side by side) plus the
public function that calls it. Everything here works on Tensors of any
device; the arrays inside are computed with the device's ``xp``.
"""
from ._operands import binary_operands
from .activation import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus,
                         step, tanh)
from .comparison import equal, greater, greater_equal, less, less_equal, not_equal
from .conversion import astype, to_device
from .convolution import conv1d, conv2d, conv_transpose2d
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros,
                       zeros_like)
from .dropout import dropout
from .elementwise import (abs, add, clip, div, exp, log, maximum, minimum, mul, neg, pow, sqrt,
                          sub, where)
from .embedding import embedding
from .indexing import getitem
from .linalg import dot, linear, matmul, outer
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber,
                   kl_div, mae, mse, nll, smooth_l1, sse)
from .normalization import batch_norm, layer_norm
from .pooling import avg_pool2d, global_avg_pool2d, max_pool2d
from .recurrent import gru_sequence, lstm_sequence, rnn_sequence
from .reduction import argmax, argmin, logsumexp, max, mean, min, prod, std, sum, var
from .shape import (broadcast_to, concatenate, flatten, pad, permute, reshape, split, squeeze,
                    stack, swapaxes, transpose, unsqueeze)

# The functional API re-exported by ``somanet``: every public function above,
# not the family modules themselves.
__all__ = [name for name, value in dict(globals()).items()
           if not name.startswith("_") and callable(value) and name != "binary_operands"]
