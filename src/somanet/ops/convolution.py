"""Convolutions: ``conv2d``, ``conv1d`` and ``conv_transpose2d`` (PyTorch layouts, NCHW).

A 2-D convolution (a cross-correlation, as in every framework) computes

    out[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*s + p*d, j*s + q*d]

over the zero-padded input. It runs as a GEMM over an *im2col* buffer: the
padded input is viewed (``as_strided``, no copy) as every window at once,
``(N, C, kh, kw, Ho, Wo)``, copied once into ``cols`` of shape
``(N, C*kh*kw, Ho*Wo)``, and multiplied by the weight as a ``(C_out, C*kh*kw)``
matrix, one GEMM per sample, giving ``(N, C_out, Ho*Wo)``: NCHW with no transpose.

The backward is two more GEMMs. The weight gradient is ``grad @ cols^T``
summed over the batch. The input gradient is the transposed GEMM
``w^T @ grad`` (gradient columns), added back into the windows they came from
(*col2im*): one strided ``+=`` per kernel offset (kh*kw of them), never a
Python loop over pixels. col2im runs with the batch as the last axis
(``(C, H, W, N)``) so that each ``+=`` moves long contiguous runs.

The transposed convolution is the same three kernels in another order: its
forward is the input gradient of a convolution, its input gradient is a
convolution, and the weight gradient swaps the roles of input and gradient.
Measured on the LeNet shapes (``benchmarks/conv.py``): per-sample batched
GEMMs beat one big GEMM and ``einsum``/``tensordot`` (which copy) by 1.5-30x;
batch-last col2im beats NCHW col2im by 2-3x.
"""
from ..autograd.function import Function
from ..backend import xp_of
from .shape import reshape

# im2col buffers up to this size are kept from forward for the weight gradient;
# larger ones (many channels, where the GEMMs dominate anyway) are rebuilt in
# backward from the saved input, so memory stays proportional to the activations.
KEEP_COLUMNS_BYTES = 32 * 2 ** 20


class Geometry:
    """Where a convolution's windows sit: stride, padding and dilation, per axis.

    ``padding`` is ``(top, bottom, left, right)`` (asymmetric for ``"same"``).
    """

    __slots__ = ("stride", "padding", "dilation")

    def __init__(self, stride, padding, dilation):
        self.stride = stride
        self.padding = padding
        self.dilation = dilation

    def output_size(self, in_hw, kernel_hw):
        """(Ho, Wo) of a convolution over an ``in_hw`` input with a ``kernel_hw`` kernel."""
        sizes = []
        for axis in (0, 1):
            padded = in_hw[axis] + self.padding[2 * axis] + self.padding[2 * axis + 1]
            span = self.dilation[axis] * (kernel_hw[axis] - 1) + 1
            sizes.append((padded - span) // self.stride[axis] + 1)
        return tuple(sizes)

    def __repr__(self):
        return f"Geometry(stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation})"


# -- the three kernels every convolution here is made of -------------------------------------

def unfold(x, kernel_hw, geometry):
    """im2col: every window of the padded ``x`` as a column.

    Shape: x (N, C, H, W) -> cols (N, C*kh*kw, Ho*Wo), C-major then kernel row, column.
    """
    xp = xp_of(x)
    n, c, h, w = x.shape
    kh, kw = kernel_hw
    top, bottom, left, right = geometry.padding
    if top or bottom or left or right:
        padded = xp.zeros((n, c, h + top + bottom, w + left + right), x.dtype)
        padded[:, :, top:top + h, left:left + w] = x
    else:
        padded = x
    ho, wo = geometry.output_size((h, w), kernel_hw)
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    s = padded.strides
    windows = xp.lib.stride_tricks.as_strided(
        padded, (n, c, kh, kw, ho, wo), (s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw))
    return xp.ascontiguousarray(windows).reshape(n, c * kh * kw, ho * wo)


def columns_times_weight(cols, weight, groups):
    """The forward GEMM: ``weight (C_out, C/g, kh, kw)`` times ``cols (N, C*kh*kw, L)``.

    One small GEMM per sample and group beats one large one on CNN shapes.

    Shape: -> (N, C_out, L).
    """
    n, rows, length = cols.shape
    c_out = weight.shape[0]
    w = weight.reshape(groups, c_out // groups, rows // groups)
    return (w @ cols.reshape(n, groups, rows // groups, length)).reshape(n, c_out, length)


def weight_gradient(cols, grad, weight_shape, groups):
    """dL/dw = sum over the batch of ``grad (C_out, L) @ cols^T (L, C*kh*kw)``, per group.

    Shape: cols (N, C*kh*kw, L), grad (N, C_out, L) -> weight_shape.
    """
    n, rows, length = cols.shape
    c_out = grad.shape[1]
    cols = cols.reshape(n, groups, rows // groups, length)
    grad = grad.reshape(n, groups, c_out // groups, length)
    # (cols @ grad^T) then a transpose of the small result is faster than grad @ cols^T
    # (the large operand is read row-wise).
    per_sample = cols @ grad.swapaxes(-1, -2)  # (N, g, C/g*kh*kw, C_out/g)
    return per_sample.sum(axis=0).swapaxes(-1, -2).reshape(weight_shape)


def input_gradient(grad, weight, in_hw, geometry, groups):
    """dL/dx of a convolution: gradient columns ``w^T @ grad``, folded back (col2im).

    Shape: grad (N, C_out, Ho, Wo), weight (C_out, C/g, kh, kw) -> (N, C, H, W)
    with ``(H, W) = in_hw``.
    """
    xp = xp_of(grad)
    n, c_out, ho, wo = grad.shape
    _, c_per_group, kh, kw = weight.shape
    channels = c_per_group * groups
    # Batch last: each col2im += below then moves runs of wo*n contiguous values.
    grad_t = xp.ascontiguousarray(grad.transpose(1, 2, 3, 0))
    grad_t = grad_t.reshape(groups, c_out // groups, ho * wo * n)
    w_t = weight.reshape(groups, c_out // groups, c_per_group * kh * kw).swapaxes(-1, -2)
    grad_cols = (w_t @ grad_t).reshape(channels, kh, kw, ho, wo, n)

    h, w = in_hw
    top, bottom, left, right = geometry.padding
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    folded = xp.zeros((channels, h + top + bottom, w + left + right, n), grad.dtype)
    for p in range(kh):
        rows = slice(p * dh, p * dh + sh * (ho - 1) + 1, sh)
        for q in range(kw):
            folded[:, rows, q * dw:q * dw + sw * (wo - 1) + 1:sw] += grad_cols[:, p, q]
    return xp.ascontiguousarray(folded[:, top:top + h, left:left + w].transpose(3, 0, 1, 2))


def _bias_gradient(grad):
    n, c = grad.shape[:2]
    return grad.reshape(n, c, -1).sum(axis=2).sum(axis=0)


# -- the ops ---------------------------------------------------------------------------------

class Conv2d(Function):
    """2-D convolution (cross-correlation) with stride, padding, dilation and groups.

    dL/dw = sum_n grad_n @ cols_n^T;  dL/dx = col2im(w^T @ grad);  dL/db = sum of grad.
    """

    def forward(ctx, x, weight, bias=None, geometry=None, groups=1):
        kernel_hw = weight.shape[2:]
        cols = unfold(x, kernel_hw, geometry)
        ho, wo = geometry.output_size(x.shape[2:], kernel_hw)
        out = columns_times_weight(cols, weight, groups).reshape(x.shape[0], -1, ho, wo)
        if bias is not None:
            out += bias.reshape(-1, 1, 1)
        ctx.geometry, ctx.groups, ctx.in_hw = geometry, groups, x.shape[2:]
        ctx.save_for_backward(cols if cols.nbytes <= KEEP_COLUMNS_BYTES else x, weight)
        return out

    def backward(ctx, grad):
        cols_or_x, weight = ctx.saved
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            grad_x = input_gradient(grad, weight, ctx.in_hw, ctx.geometry, ctx.groups)
        if needs[1]:
            cols = cols_or_x
            if cols.ndim == 4:  # the input was saved instead of its (large) columns
                cols = unfold(cols_or_x, weight.shape[2:], ctx.geometry)
            n, c_out = grad.shape[:2]
            grad_weight = weight_gradient(cols, grad.reshape(n, c_out, -1), weight.shape,
                                          ctx.groups)
        if len(needs) > 2 and needs[2]:
            grad_bias = _bias_gradient(grad)
        return (grad_x, grad_weight) + ((grad_bias,) if len(needs) > 2 else ())


class ConvTranspose2d(Function):
    """Transposed 2-D convolution: the input gradient of ``conv2d``, used as a layer.

    Its forward is conv2d's col2im, its input gradient is conv2d's forward on
    ``grad``, and its weight gradient is conv2d's with input and gradient swapped.
    """

    def forward(ctx, x, weight, bias=None, geometry=None, groups=1, out_hw=None):
        out = input_gradient(x, weight, out_hw, geometry, groups)
        if bias is not None:
            out += bias.reshape(-1, 1, 1)
        ctx.geometry, ctx.groups = geometry, groups
        ctx.save_for_backward(x, weight)
        return out

    def backward(ctx, grad):
        x, weight = ctx.saved
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if needs[0] or needs[1]:
            cols = unfold(grad, weight.shape[2:], ctx.geometry)  # (N, C_out*kh*kw, H*W)
            n, c_in = x.shape[:2]
            if needs[0]:
                grad_x = columns_times_weight(cols, weight, ctx.groups).reshape(x.shape)
            if needs[1]:
                grad_weight = weight_gradient(cols, x.reshape(n, c_in, -1), weight.shape,
                                              ctx.groups)
        if len(needs) > 2 and needs[2]:
            grad_bias = _bias_gradient(grad)
        return (grad_x, grad_weight) + ((grad_bias,) if len(needs) > 2 else ())


# -- argument checking -----------------------------------------------------------------------

def int_pair(value, what, name, minimum=0):
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = None
    if pair is None or len(pair) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{name}: {what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name}: {what} must be at least {minimum}, got {value!r}")
    return pair


def _same_padding(size, kernel, stride, dilation):
    """(before, after) that make the output ceil(size / stride) long, the extra
    one after when the total is odd (as Keras and TensorFlow do)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _conv_padding(padding, in_hw, kernel_hw, stride, dilation, name):
    """``padding`` (int, pair, "same", "valid") as (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            return _same_padding(in_hw[0], kernel_hw[0], stride[0], dilation[0]) + \
                _same_padding(in_hw[1], kernel_hw[1], stride[1], dilation[1])
        raise ValueError(f"{name}: padding must be an int, a pair of ints, 'same' or 'valid', "
                         f"got {padding!r}")
    ph, pw = int_pair(padding, "padding", name, 0)
    return (ph, ph, pw, pw)


def _check_tensors(x, weight, bias, groups, name, spatial, layout):
    """The checks every convolution shares: ranks, float dtypes, groups, bias."""
    rank = spatial + 2
    if x.ndim != rank:
        raise ValueError(f"{name}: expected a {rank}-D input {layout}, got shape "
                         f"{tuple(x.shape)}")
    if weight.ndim != rank:
        raise ValueError(f"{name}: expected a {rank}-D weight, got shape {tuple(weight.shape)}")
    for role, tensor in (("input", x), ("weight", weight)):
        if tensor.dtype.kind != "f":
            raise TypeError(f"{name}: the {role} must be a float tensor, got dtype "
                            f"{tensor.dtype}; cast it with .astype('float32')")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    if bias is not None and bias.ndim != 1:
        raise ValueError(f"{name}: bias must be 1-D, got shape {tuple(bias.shape)}")


def _check_groups(channels, what, groups, name, x, weight):
    if channels % groups:
        raise ValueError(f"{name}: groups={groups} does not divide the {channels} {what} "
                         f"(input shape {tuple(x.shape)}, weight shape {tuple(weight.shape)})")


def _conv_nd(x, weight, bias, stride, padding, dilation, groups, name, spatial, layout):
    """Check the arguments of conv1d/conv2d and apply Conv2d to 4-D views."""
    _check_tensors(x, weight, bias, groups, name, spatial, layout)
    c_out, c_per_group = weight.shape[:2]
    channels = x.shape[1]
    if channels != c_per_group * groups:
        raise ValueError(
            f"{name}: input of shape {tuple(x.shape)} has {channels} channels, but weight of "
            f"shape {tuple(weight.shape)} with groups={groups} expects {c_per_group * groups} "
            f"input channels (weight.shape[1] * groups)")
    _check_groups(channels, "input channels", groups, name, x, weight)
    _check_groups(c_out, "output channels (weight.shape[0])", groups, name, x, weight)
    if bias is not None and bias.shape[0] != c_out:
        raise ValueError(f"{name}: bias of shape {tuple(bias.shape)} does not fit weight of "
                         f"shape {tuple(weight.shape)}: expected ({c_out},)")
    if spatial == 1:  # a length-1 height, so the 2-D code does the work
        x4 = reshape(x, x.shape[:2] + (1,) + x.shape[2:])
        w4 = reshape(weight, weight.shape[:2] + (1,) + weight.shape[2:])
    else:
        x4, w4 = x, weight
    stride = int_pair(stride, "stride", name, 1)
    dilation = int_pair(dilation, "dilation", name, 1)
    in_hw, kernel_hw = x4.shape[2:], w4.shape[2:]
    geometry = Geometry(stride, _conv_padding(padding, in_hw, kernel_hw, stride, dilation, name),
                        dilation)
    top, bottom, left, right = geometry.padding
    padded = (in_hw[0] + top + bottom, in_hw[1] + left + right)
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel_hw))
    if span[0] > padded[0] or span[1] > padded[1]:
        shown = lambda pair: pair[1] if spatial == 1 else pair  # noqa: E731
        raise ValueError(
            f"{name}: the kernel (size {shown(kernel_hw)}, {shown(span)} with dilation) is "
            f"larger than the padded input ({shown(padded)}) for input shape "
            f"{tuple(x.shape)} and weight shape {tuple(weight.shape)}; pad more or use a "
            f"smaller kernel")
    inputs = (x4, w4) if bias is None else (x4, w4, bias)
    out = Conv2d.apply(*inputs, geometry=geometry, groups=groups)
    if spatial == 1:
        out = reshape(out, out.shape[:2] + out.shape[3:])
    return out


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), as PyTorch's ``conv2d``.

    ``out[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] * x_pad[n, c0 + c, i*s + p*d, j*s + q*d]``
    where ``c0`` is the first input channel of output channel ``o``'s group.

    Args:
        x: input Tensor.
        weight: filters, one ``(C_in/groups, kh, kw)`` block per output channel.
        bias: one value per output channel, or None.
        stride, dilation: an int or a pair (rows, columns).
        padding: an int or a pair of zero-padding widths, ``"valid"`` (none), or
            ``"same"``: output size ``ceil(input / stride)``, the input size for
            stride 1; when the total padding is odd the extra row/column goes at
            the bottom/right, as in Keras and TensorFlow.
        groups: split input and output channels into this many independent groups.

    Shape:
        x (N, C_in, H, W), weight (C_out, C_in/groups, kh, kw), bias (C_out,) ->
        (N, C_out, Ho, Wo) with ``Ho = (H + pad_top + pad_bottom - d*(kh-1) - 1) // s + 1``.

    Example:
        >>> import somanet as sn
        >>> x = sn.ones((1, 1, 4, 4))
        >>> sn.conv2d(x, sn.ones((2, 1, 3, 3)), padding="same").shape
        (1, 2, 4, 4)
    """
    return _conv_nd(x, weight, bias, stride, padding, dilation, groups, "conv2d", 2,
                    "(N, C, H, W)")


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) over the last axis, as PyTorch's ``conv1d``.

    Runs as ``conv2d`` on a height-1 view. ``stride``, ``padding`` and ``dilation``
    are ints (``padding`` also ``"same"`` or ``"valid"``); see ``conv2d``.

    Shape:
        x (N, C_in, L), weight (C_out, C_in/groups, k), bias (C_out,) -> (N, C_out, Lo)
        with ``Lo = (L + 2*padding - d*(k-1) - 1) // stride + 1``.

    Example:
        >>> import somanet as sn
        >>> sn.conv1d(sn.ones((2, 3, 10)), sn.ones((4, 3, 5))).shape
        (2, 4, 6)
    """
    for what, value, minimum in (("stride", stride, 1), ("dilation", dilation, 1),
                                 ("padding", padding, 0)):
        if what == "padding" and isinstance(value, str):
            continue  # checked with the 2-D code
        if isinstance(value, bool) or not isinstance(value, int):
            allowed = "an int, 'same' or 'valid'" if what == "padding" else "an int"
            raise TypeError(f"conv1d: {what} must be {allowed}, got {value!r}")
        if value < minimum:
            raise ValueError(f"conv1d: {what} must be at least {minimum}, got {value}")
    padding = padding if isinstance(padding, str) else (0, padding)
    return _conv_nd(x, weight, bias, (1, stride), padding, (1, dilation), groups, "conv1d", 1,
                    "(N, C, L)")


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution, as PyTorch's ``conv_transpose2d`` (the gradient of
    ``conv2d`` with respect to its input; upsamples in generators and decoders).

    Args:
        x: input Tensor.
        weight: ``(C_in, C_out/groups, kh, kw)``, PyTorch's layout.
        bias: one value per output channel, or None.
        stride, padding, dilation: an int or a pair, those of the convolution this
            transposes (``padding`` removes rows/columns from the output's borders).
        output_padding: extra rows/columns at the bottom/right of the output, to
            pick among the input sizes a strided convolution maps to one size;
            smaller than ``stride``.
        groups: independent channel groups.

    Shape:
        x (N, C_in, H, W) -> (N, C_out, Ho, Wo) with
        ``Ho = (H - 1)*s - 2*padding + d*(kh - 1) + output_padding + 1``.

    Example:
        >>> import somanet as sn
        >>> x = sn.ones((1, 4, 5, 5))
        >>> sn.conv_transpose2d(x, sn.ones((4, 2, 3, 3)), stride=2, padding=1,
        ...                     output_padding=1).shape
        (1, 2, 10, 10)
    """
    name = "conv_transpose2d"
    _check_tensors(x, weight, bias, groups, name, 2, "(N, C, H, W)")
    c_in, c_out_per_group = weight.shape[:2]
    if x.shape[1] != c_in:
        raise ValueError(f"{name}: input of shape {tuple(x.shape)} has {x.shape[1]} channels, "
                         f"but weight of shape {tuple(weight.shape)} expects {c_in} input "
                         f"channels (weight.shape[0])")
    _check_groups(c_in, "input channels", groups, name, x, weight)
    c_out = c_out_per_group * groups
    if bias is not None and bias.shape[0] != c_out:
        raise ValueError(f"{name}: bias of shape {tuple(bias.shape)} does not fit weight of "
                         f"shape {tuple(weight.shape)} with groups={groups}: expected "
                         f"({c_out},)")
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or a pair of ints, got {padding!r}")
    stride = int_pair(stride, "stride", name, 1)
    dilation = int_pair(dilation, "dilation", name, 1)
    ph, pw = int_pair(padding, "padding", name, 0)
    extra = int_pair(output_padding, "output_padding", name, 0)
    if extra[0] >= stride[0] or extra[1] >= stride[1]:
        raise ValueError(f"{name}: output_padding {output_padding!r} must be smaller than "
                         f"the stride {stride}")
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + e + 1 for size, s, p, d, k, e in
                   zip(x.shape[2:], stride, (ph, pw), dilation, weight.shape[2:], extra))
    if min(out_hw) < 1:
        raise ValueError(f"{name}: padding {padding!r} crops the whole output (size {out_hw}) "
                         f"for input shape {tuple(x.shape)} and weight shape "
                         f"{tuple(weight.shape)}; use less padding")
    geometry = Geometry(stride, (ph, ph, pw, pw), dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*inputs, geometry=geometry, groups=groups, out_hw=out_hw)
