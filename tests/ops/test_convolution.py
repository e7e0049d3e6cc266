"""Convolution and pooling: plain loop-by-loop NumPy references (also used by the
registry entries in ``cases_convolution.py``), PyTorch comparisons, and the error paths."""
import math

import numpy as np
import pytest

import somanet as sn
from somanet.ops import convolution as conv_module


# -- loop-by-loop references -----------------------------------------------------------------
# Written from the definitions, one output element at a time, in float64; nothing
# here shares code with somanet.ops.convolution / pooling.

def _pairs(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _reference_padding(padding, size_hw, kernel_hw, stride, dilation):
    """(top, bottom, left, right) for an int, pair, 'valid' or 'same' (TensorFlow's rule)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        sides = []
        for size, k, s, d in zip(size_hw, kernel_hw, stride, dilation):
            out = -(-size // s)
            total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    ph, pw = _pairs(padding)
    return (ph, ph, pw, pw)


def reference_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] x_pad[n, c0 + c, i*s + p*d, j*s + q*d],
    c0 the first input channel of o's group."""
    stride, dilation = _pairs(stride), _pairs(dilation)
    n_batch, channels, h, w = x.shape
    c_out, c_group, kh, kw = weight.shape
    top, bottom, left, right = _reference_padding(padding, (h, w), (kh, kw), stride, dilation)
    padded = np.zeros((n_batch, channels, h + top + bottom, w + left + right))
    padded[:, :, top:top + h, left:left + w] = x
    ho = (h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n_batch, c_out, ho, wo))
    out_per_group = c_out // groups
    for n in range(n_batch):
        for o in range(c_out):
            first = (o // out_per_group) * c_group
            for i in range(ho):
                for j in range(wo):
                    total = 0.0 if bias is None else float(bias[o])
                    for c in range(c_group):
                        for p in range(kh):
                            for q in range(kw):
                                total += weight[o, c, p, q] * padded[
                                    n, first + c, i * stride[0] + p * dilation[0],
                                    j * stride[1] + q * dilation[1]]
                    out[n, o, i, j] = total
    return out.astype(x.dtype)


def reference_conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, i] = b[o] + sum_{c,q} w[o, c, q] x_pad[n, g*C/g + c, i*s + q*d]."""
    n_batch, channels, length = x.shape
    c_out, c_group, k = weight.shape
    left, right = _reference_padding(padding, (1, length), (1, k), (1, stride),
                                     (1, dilation))[2:]
    padded = np.zeros((n_batch, channels, length + left + right))
    padded[:, :, left:left + length] = x
    lo = (length + left + right - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((n_batch, c_out, lo))
    for n in range(n_batch):
        for o in range(c_out):
            first = (o // (c_out // groups)) * c_group
            for i in range(lo):
                total = 0.0 if bias is None else float(bias[o])
                for c in range(c_group):
                    for q in range(k):
                        total += weight[o, c, q] * padded[n, first + c, i * stride + q * dilation]
                out[n, o, i] = total
    return out.astype(x.dtype)


def reference_conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                               groups=1, dilation=1):
    """Every input element scatters ``x[n, c, i, j] * w[c, o, p, q]`` to output
    ``(i*s + p*d - pad, j*s + q*d - pad)``; what falls outside the output is dropped."""
    stride, padding = _pairs(stride), _pairs(padding)
    extra, dilation = _pairs(output_padding), _pairs(dilation)
    n_batch, c_in, h, w = x.shape
    _, c_group, kh, kw = weight.shape
    ho = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + extra[0] + 1
    wo = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + extra[1] + 1
    out = np.zeros((n_batch, c_group * groups, ho, wo))
    in_per_group = c_in // groups
    for n in range(n_batch):
        for c in range(c_in):
            first = (c // in_per_group) * c_group
            for i in range(h):
                for j in range(w):
                    for o in range(c_group):
                        for p in range(kh):
                            for q in range(kw):
                                r = i * stride[0] + p * dilation[0] - padding[0]
                                s = j * stride[1] + q * dilation[1] - padding[1]
                                if 0 <= r < ho and 0 <= s < wo:
                                    out[n, first + o, r, s] += x[n, c, i, j] * weight[c, o, p, q]
    if bias is not None:
        out += np.asarray(bias, np.float64).reshape(-1, 1, 1)
    return out.astype(x.dtype)


def _reference_pool(x, kernel_size, stride, padding, dilation, ceil_mode, reduce, fill,
                    count_include_pad=True):
    """Loop over the windows; each is gathered element by element (-inf/0 outside the
    input), and ``reduce(values, counted)`` gets the values and how many count."""
    kh, kw = _pairs(kernel_size)
    sh, sw = _pairs(kernel_size if stride is None else stride)
    ph, pw = _pairs(padding)
    dh, dw = _pairs(dilation)
    n_batch, channels, h, w = x.shape

    def size(length, k, s, p, d):
        span = length + 2 * p - d * (k - 1) - 1
        count = (math.ceil(span / s) if ceil_mode else span // s) + 1
        return count - 1 if ceil_mode and (count - 1) * s >= length + p else count

    ho, wo = size(h, kh, sh, ph, dh), size(w, kw, sw, pw, dw)
    out = np.zeros((n_batch, channels, ho, wo))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(ho):
                for j in range(wo):
                    values, counted = [], 0
                    for p in range(kh):
                        for q in range(kw):
                            r, t = i * sh + p * dh - ph, j * sw + q * dw - pw
                            inside = 0 <= r < h and 0 <= t < w
                            values.append(x[n, c, r, t] if inside else fill)
                            padded = -ph <= r < h + ph and -pw <= t < w + pw
                            counted += inside or (count_include_pad and padded)
                    out[n, c, i, j] = reduce(np.array(values), counted)
    return out.astype(x.dtype)


def reference_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _reference_pool(x, kernel_size, stride, padding, dilation, ceil_mode,
                           lambda values, counted: values.max(), -np.inf)


def reference_avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                         count_include_pad=True):
    return _reference_pool(x, kernel_size, stride, padding, 1, ceil_mode,
                           lambda values, counted: values.sum() / counted, 0.0,
                           count_include_pad)


def reference_global_avg_pool2d(x):
    n_batch, channels = x.shape[:2]
    out = np.zeros((n_batch, channels))
    for n in range(n_batch):
        for c in range(channels):
            out[n, c] = x[n, c].sum() / x[n, c].size
    return out.astype(x.dtype)


# -- forward against the references ----------------------------------------------------------

RNG = np.random.default_rng(0)


def _data(*shape):
    return RNG.uniform(-2, 2, shape).astype(np.float32)


@pytest.mark.parametrize("kwargs", [
    dict(), dict(stride=2, padding=1), dict(stride=(2, 1), padding=(0, 2)),
    dict(padding="same"), dict(padding="same", stride=2), dict(padding="same", dilation=2),
    dict(padding="valid"), dict(dilation=(2, 1), padding=1), dict(groups=2),
    dict(groups=2, stride=2, padding=(1, 2), dilation=(1, 2)),
], ids=str)
def test_conv2d_matches_loop_reference(kwargs):
    x, w, b = _data(2, 4, 7, 8), _data(6, 4 // kwargs.get("groups", 1), 3, 2), _data(6)
    got = sn.conv2d(sn.tensor(x), sn.tensor(w), sn.tensor(b), **kwargs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), reference_conv2d(x, w, b, **kwargs), atol=1e-4)


def test_same_padding_keeps_the_size_and_pads_odd_totals_at_the_end():
    x = sn.tensor(_data(1, 1, 6, 6))
    for kernel in (1, 2, 3, 4, 5):
        w = sn.tensor(_data(1, 1, kernel, kernel))
        assert sn.conv2d(x, w, padding="same").shape == (1, 1, 6, 6)
    for stride, size in ((2, 3), (3, 2), (4, 2)):
        w = sn.tensor(_data(1, 1, 3, 3))
        assert sn.conv2d(x, w, padding="same", stride=stride).shape == (1, 1, size, size)
    # A 2x2 kernel of ones: total padding 1, put after the input (bottom/right), so the
    # last output row/column sees only the last input row/column.
    ones = sn.tensor(np.ones((1, 1, 2, 2), np.float32))
    plane = sn.arange(16.0).reshape(1, 1, 4, 4)
    out = sn.conv2d(plane, ones, padding="same").numpy()[0, 0]
    assert out[0, 0] == 0 + 1 + 4 + 5 and out[3, 3] == 15


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1), dict(padding="same"),
                                    dict(dilation=2, groups=2), dict(padding="valid")], ids=str)
def test_conv1d_matches_loop_reference(kwargs):
    x, w, b = _data(2, 4, 11), _data(6, 4 // kwargs.get("groups", 1), 3), _data(6)
    got = sn.conv1d(sn.tensor(x), sn.tensor(w), sn.tensor(b), **kwargs)
    np.testing.assert_allclose(got.numpy(), reference_conv1d(x, w, b, **kwargs), atol=1e-4)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1, output_padding=1),
                                    dict(stride=(2, 3), output_padding=(1, 2), dilation=2),
                                    dict(groups=2, stride=2, padding=(0, 1))], ids=str)
def test_conv_transpose2d_matches_loop_reference(kwargs):
    groups = kwargs.get("groups", 1)
    x, w, b = _data(2, 4, 3, 4), _data(4, 3, 3, 2), _data(3 * groups)
    got = sn.conv_transpose2d(sn.tensor(x), sn.tensor(w), sn.tensor(b), **kwargs)
    want = reference_conv_transpose2d(x, w, b, **kwargs)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-4)


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for the same stride and padding."""
    x, w = _data(2, 3, 9, 8), _data(5, 3, 3, 3)
    for stride, padding, dilation in ((1, 0, 1), (2, 1, 1), ((2, 3), (1, 0), (1, 2))):
        y_shape = sn.conv2d(sn.tensor(x), sn.tensor(w), stride=stride, padding=padding,
                            dilation=dilation).shape
        y = _data(*y_shape)
        forward = sn.conv2d(sn.tensor(x), sn.tensor(w), stride=stride, padding=padding,
                            dilation=dilation).numpy()
        sizes = [(h - 1) * s - 2 * p + d * 2 + 1 for h, s, p, d in
                 zip(y_shape[2:], _pairs(stride), _pairs(padding), _pairs(dilation))]
        extra = tuple(full - got for full, got in zip((9, 8), sizes))
        back = sn.conv_transpose2d(sn.tensor(y), sn.tensor(w), stride=stride, padding=padding,
                                   output_padding=extra, dilation=dilation).numpy()
        np.testing.assert_allclose((forward * y).sum(), (x * back).sum(), rtol=1e-4)


@pytest.mark.parametrize("args", [(2,), (3, 2), (3, 1, 1), ((3, 2), (2, 1), (1, 0)), (2, 3),
                                  (3, 3, 1)], ids=str)
@pytest.mark.parametrize("op", ["max", "avg"])
def test_pooling_matches_loop_reference(op, args):
    x = _data(2, 3, 7, 9)
    ours = sn.max_pool2d if op == "max" else sn.avg_pool2d
    reference = reference_max_pool2d if op == "max" else reference_avg_pool2d
    got = ours(sn.tensor(x), *args)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), reference(x, *args), atol=1e-6)


def test_global_avg_pool2d_matches_loop_reference():
    x = _data(2, 3, 5, 4)
    got = sn.global_avg_pool2d(sn.tensor(x))
    np.testing.assert_allclose(got.numpy(), reference_global_avg_pool2d(x), atol=1e-6)


# -- gradients: cases the registry's random inputs do not reach -------------------------------

def test_max_pool_sends_a_tied_gradient_to_the_first_maximum_only():
    # After ReLU whole windows are 0: the gradient must go to one element, not all four.
    x = sn.tensor(np.zeros((1, 1, 4, 4), np.float32), requires_grad=True)
    sn.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4), np.float32)
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)
    x.grad = None
    sn.max_pool2d(x, 3, 1).sum().backward()  # overlapping: the top-left of each window
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 1, 0, 0], [1, 1, 0, 0],
                                                         [0, 0, 0, 0], [0, 0, 0, 0]])


def _layout(monkeypatch, merged):
    """Force the batch-merged (one GEMM over the batch) or per-sample im2col layout."""
    rows, positions = (0, 10 ** 9) if merged else (10 ** 9, 0)
    monkeypatch.setattr(conv_module, "MERGE_MIN_ROWS", rows)
    monkeypatch.setattr(conv_module, "MERGE_MAX_POSITIONS", positions)


LAYOUTS = pytest.mark.parametrize("merged", [False, True], ids=["per_sample", "merged"])


@LAYOUTS
def test_large_columns_are_made_a_few_samples_at_a_time(monkeypatch, merged):
    """Large im2col buffers are not kept: forward and backward make them a sample or a
    few at a time, and the input gradient's columns always are."""
    _layout(monkeypatch, merged)
    monkeypatch.setattr(conv_module, "KEEP_COLUMNS_BYTES", 0)
    monkeypatch.setattr(conv_module, "CHUNK_ELEMENTS", 1)  # one sample per batch
    x, w, b = _data(3, 4, 5, 6), _data(4, 2, 3, 3), _data(4)
    got = sn.conv2d(sn.tensor(x), sn.tensor(w), sn.tensor(b), stride=2, padding=1, groups=2)
    want = reference_conv2d(x, w, b, stride=2, padding=1, groups=2)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-4)
    inputs = [sn.tensor(a, dtype="float64", requires_grad=True) for a in (x, w, b)]
    assert sn.gradcheck(lambda *t: sn.conv2d(*t, stride=2, padding=1, groups=2), inputs)
    inputs = [sn.tensor(a, dtype="float64", requires_grad=True)
              for a in (_data(3, 4, 3, 2), _data(4, 2, 3, 3), _data(4))]
    assert sn.gradcheck(lambda *t: sn.conv_transpose2d(*t, stride=2, groups=2), inputs)


def test_the_layout_is_merged_for_many_rows_and_few_positions():
    """The size rule (``merges_batch``), and a default-path layer that takes each side."""
    assert not conv_module.merges_batch(6 * 5 * 5, 10 * 10)  # LeNet's second layer
    assert not conv_module.merges_batch(1 * 5 * 5, 28 * 28)  # its first
    assert not conv_module.merges_batch(32 * 3 * 3, 16 * 16)  # many outputs
    assert conv_module.merges_batch(32 * 3 * 3, 8 * 8)
    for shape, padding, merged in (((2, 32, 6, 6), 1, True), ((2, 32, 13, 13), 0, False)):
        side = shape[2] + 2 * padding - 2
        assert conv_module.merges_batch(32 * 3 * 3, side * side) is merged
        x, w, b = _data(*shape), _data(3, 32, 3, 3) / 8, _data(3)
        got = sn.conv2d(sn.tensor(x), sn.tensor(w), sn.tensor(b), padding=padding)
        want = reference_conv2d(x, w, b, padding=padding)
        np.testing.assert_allclose(got.numpy(), want, atol=1e-4)


@LAYOUTS
@pytest.mark.parametrize("kwargs", [dict(stride=2, padding=(1, 0)), dict(dilation=2, groups=2)],
                         ids=str)
def test_gradients_without_the_numba_kernels(monkeypatch, kwargs, merged):
    """The plain-array im2col/col2im (used on GPUs and without numba) through autograd."""
    from somanet.backend import kernels_conv
    monkeypatch.setattr(kernels_conv, "_kernels", lambda: None)
    _layout(monkeypatch, merged)
    groups = kwargs.get("groups", 1)
    x = sn.tensor(_data(2, 4, 6, 5), dtype="float64", requires_grad=True)
    w = sn.tensor(_data(4, 4 // groups, 3, 2), dtype="float64", requires_grad=True)
    assert sn.gradcheck(lambda *t: sn.conv2d(*t, **kwargs), [x, w])
    y = sn.tensor(_data(2, 4, 3, 4), dtype="float64", requires_grad=True)
    w_t = sn.tensor(_data(4, 4 // groups, 3, 2), dtype="float64", requires_grad=True)
    assert sn.gradcheck(lambda *t: sn.conv_transpose2d(*t, **kwargs), [y, w_t])


def test_conv2d_accepts_non_contiguous_inputs():
    x = _data(2, 3, 6, 5)
    view = sn.tensor(x.transpose(0, 1, 3, 2).copy()).transpose((0, 1, 3, 2))
    w = _data(2, 3, 3, 3)
    got = sn.conv2d(view, sn.tensor(w), padding=1)
    np.testing.assert_allclose(got.numpy(), reference_conv2d(x, w, padding=1), atol=1e-4)


def test_only_the_needed_gradients_are_computed():
    x = sn.tensor(_data(1, 2, 5, 5))  # data: no gradient wanted
    w = sn.tensor(_data(3, 2, 3, 3), requires_grad=True)
    sn.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)


@pytest.mark.parametrize("wanted", [(True, True), (True, False), (False, True)],
                         ids=["weight-and-bias", "weight", "bias"])
def test_the_direct_path_gives_each_wanted_parameter_gradient(wanted):
    # 1 input channel, 3x3: the direct kernels, whose weight gradient also sums the bias's
    x, w, b = _data(3, 1, 7, 6), _data(4, 1, 3, 3), _data(4)
    seed = _data(3, 4, 7, 6)
    params = [sn.tensor(w, requires_grad=wanted[0]), sn.tensor(b, requires_grad=wanted[1])]
    sn.conv2d(sn.tensor(x), *params, padding=1).backward(sn.tensor(seed))
    cols = np.stack([np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))[:, 0, p:p + 7, q:q + 6]
                     for p in range(3) for q in range(3)], axis=1)  # (N, 9, 7, 6)
    want_w = np.einsum("nokl,nrkl->or", seed, cols).reshape(w.shape)
    for param, want, is_wanted in zip(params, (want_w, seed.sum(axis=(0, 2, 3))), wanted):
        if is_wanted:
            np.testing.assert_allclose(param.grad.numpy(), want, rtol=1e-4, atol=1e-4)
        else:
            assert param.grad is None


# -- against PyTorch -------------------------------------------------------------------------

def _torch_grads(fn, arrays):
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    seed = np.random.default_rng(1).standard_normal(tuple(out.shape))
    out.backward(torch.tensor(seed))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors], seed


def _our_grads(fn, arrays, seed):
    tensors = [sn.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(sn.tensor(seed, dtype="float64"))
    return out.numpy(), [t.grad.numpy() for t in tensors]


TORCH_CASES = [
    ("conv2d", dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
     [(2, 4, 7, 8), (6, 2, 3, 3), (6,)]),
    ("conv1d", dict(stride=2, padding=1, dilation=2), [(2, 3, 12), (4, 3, 3), (4,)]),
    ("conv_transpose2d", dict(stride=2, padding=1, output_padding=1, groups=2),
     [(2, 4, 4, 5), (4, 3, 3, 3), (6,)]),
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1), [(2, 3, 7, 8)]),
    ("avg_pool2d", dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0)), [(2, 3, 7, 8)]),
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, dilation=2), [(2, 3, 9, 8)]),
    ("max_pool2d", dict(kernel_size=(2, 3), stride=2, dilation=(2, 1), ceil_mode=True),
     [(2, 3, 8, 9)]),
    ("max_pool2d", dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), [(1, 2, 5, 5)]),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), [(2, 3, 8, 7)]),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False), [(2, 3, 8, 7)]),
    ("avg_pool2d", dict(kernel_size=(3, 2), padding=1, count_include_pad=False),
     [(2, 3, 7, 8)]),
]


@pytest.mark.parametrize("name,kwargs,shapes", TORCH_CASES,
                         ids=[f"{c[0]}-{'-'.join(c[1])}" for c in TORCH_CASES])
def test_forward_and_gradients_match_torch(name, kwargs, shapes):
    torch = pytest.importorskip("torch")
    arrays = [RNG.standard_normal(shape) for shape in shapes]
    want, want_grads, seed = _torch_grads(
        lambda *t: getattr(torch.nn.functional, name)(*t, **kwargs), arrays)
    got, got_grads = _our_grads(lambda *t: getattr(sn, name)(*t, **kwargs), arrays, seed)
    np.testing.assert_allclose(got, want, atol=1e-10)
    for ours, theirs in zip(got_grads, want_grads):
        np.testing.assert_allclose(ours, theirs, atol=1e-10)


MERGED_CASES = [
    ("conv2d", dict(), [(3, 4, 6, 7), (6, 4, 3, 3), (6,)]),
    ("conv2d", dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
     [(2, 4, 7, 8), (6, 2, 3, 3), (6,)]),
    ("conv2d", dict(padding="same", groups=3), [(2, 3, 5, 4), (6, 1, 3, 3), (6,)]),
    ("conv1d", dict(stride=2, padding=1, dilation=2), [(2, 3, 12), (4, 3, 3), (4,)]),
    ("conv_transpose2d", dict(stride=2, padding=1, output_padding=1, groups=2),
     [(2, 4, 4, 5), (4, 3, 3, 3), (6,)]),
    ("conv_transpose2d", dict(dilation=(2, 1)), [(3, 2, 3, 4), (2, 3, 2, 3), (3,)]),
]


@pytest.mark.parametrize("name,kwargs,shapes", MERGED_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in MERGED_CASES])
def test_the_merged_layout_matches_torch_and_gradchecks(monkeypatch, name, kwargs, shapes):
    """The registry's cases are small and run per sample: the merged layout here, on the
    same variety of strides, paddings, dilations and groups."""
    _layout(monkeypatch, True)
    arrays = [RNG.standard_normal(shape) for shape in shapes]
    fn = lambda *t: getattr(sn, name)(*t, **kwargs)  # noqa: E731
    tensors = [sn.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    assert sn.gradcheck(fn, tensors)
    torch = pytest.importorskip("torch")
    want, want_grads, seed = _torch_grads(
        lambda *t: getattr(torch.nn.functional, name)(*t, **kwargs), arrays)
    got, got_grads = _our_grads(fn, arrays, seed)
    np.testing.assert_allclose(got, want, atol=1e-10)
    for ours, theirs in zip(got_grads, want_grads):
        np.testing.assert_allclose(ours, theirs, atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_matches_torch_for_stride_one():
    torch = pytest.importorskip("torch")
    x, w = RNG.standard_normal((1, 2, 7, 6)), RNG.standard_normal((3, 2, 4, 3))
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding="same",
                                      dilation=(1, 2)).numpy()
    got = sn.conv2d(sn.tensor(x, dtype="float64"), sn.tensor(w, dtype="float64"),
                    padding="same", dilation=(1, 2)).numpy()
    # PyTorch puts the odd extra row at the bottom too.
    np.testing.assert_allclose(got, want, atol=1e-10)


# -- error paths -----------------------------------------------------------------------------

def _t(*shape):
    return sn.tensor(np.zeros(shape, np.float32))


@pytest.mark.parametrize("call,error,match", [
    (lambda: sn.conv2d(_t(3, 8, 8), _t(4, 3, 3, 3)), ValueError,
     r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"),
    (lambda: sn.conv2d(_t(1, 3, 8, 8), _t(4, 3, 3)), ValueError,
     r"conv2d: expected a 4-D weight, got shape \(4, 3, 3\)"),
    (lambda: sn.conv1d(_t(2, 3, 8, 8), _t(4, 3, 3)), ValueError,
     r"conv1d: expected a 3-D input \(N, C, L\), got shape \(2, 3, 8, 8\)"),
    (lambda: sn.conv2d(_t(2, 3, 8, 8), _t(4, 5, 3, 3)), ValueError,
     r"conv2d: input of shape \(2, 3, 8, 8\) has 3 channels, but weight of shape "
     r"\(4, 5, 3, 3\) with groups=1 expects 5 input channels"),
    (lambda: sn.conv1d(_t(2, 3, 8), _t(4, 2, 3), groups=2), ValueError,
     r"conv1d: input of shape \(2, 3, 8\) has 3 channels, but weight of shape \(4, 2, 3\) "
     r"with groups=2 expects 4 input channels"),
    (lambda: sn.conv_transpose2d(_t(2, 3, 8, 8), _t(4, 2, 3, 3)), ValueError,
     r"conv_transpose2d: input of shape \(2, 3, 8, 8\) has 3 channels, but weight of shape "
     r"\(4, 2, 3, 3\) expects 4 input channels"),
    (lambda: sn.conv2d(_t(1, 3, 4, 4), _t(2, 3, 5, 5)), ValueError,
     r"conv2d: the kernel \(size \(5, 5\).*larger than the padded input \(\(4, 4\)\).*"
     r"\(1, 3, 4, 4\).*\(2, 3, 5, 5\)"),
    (lambda: sn.conv2d(_t(1, 3, 6, 6), _t(2, 3, 3, 3), dilation=3), ValueError,
     r"conv2d: the kernel .*\(7, 7\) with dilation\) is larger than the padded input"),
    (lambda: sn.conv1d(_t(1, 3, 4), _t(2, 3, 5), padding=0), ValueError,
     r"conv1d: the kernel \(size 5, 5 with dilation\) is larger than the padded input \(4\)"),
    (lambda: sn.conv2d(_t(1, 4, 6, 6), _t(3, 2, 3, 3), groups=2), ValueError,
     r"conv2d: groups=2 does not divide the 3 output channels"),
    (lambda: sn.conv2d(_t(1, 6, 6, 6), _t(4, 2, 3, 3), groups=4), ValueError,
     r"conv2d: input of shape \(1, 6, 6, 6\) has 6 channels, but .* expects 8"),
    (lambda: sn.conv_transpose2d(_t(1, 3, 6, 6), _t(3, 2, 3, 3), groups=2), ValueError,
     r"conv_transpose2d: groups=2 does not divide the 3 input channels"),
    (lambda: sn.conv2d(_t(1, 3, 6, 6), _t(2, 3, 3, 3), groups=0), ValueError,
     r"conv2d: groups must be a positive int, got 0"),
    (lambda: sn.conv2d(_t(1, 3, 6, 6), _t(2, 3, 3, 3), padding="full"), ValueError,
     r"conv2d: padding must be an int, a pair of ints, 'same' or 'valid', got 'full'"),
    (lambda: sn.conv1d(_t(1, 3, 6), _t(2, 3, 3), padding="SAME"), ValueError,
     r"conv1d: padding must be .*'same' or 'valid', got 'SAME'"),
    (lambda: sn.conv_transpose2d(_t(1, 3, 6, 6), _t(3, 2, 3, 3), padding="same"), ValueError,
     r"conv_transpose2d: padding must be an int or a pair of ints, got 'same'"),
    (lambda: sn.conv2d(_t(1, 3, 6, 6), _t(2, 3, 3, 3), padding=-1), ValueError,
     r"conv2d: padding must be at least 0, got -1"),
    (lambda: sn.conv2d(_t(1, 3, 6, 6), _t(2, 3, 3, 3), stride=(1, 0)), ValueError,
     r"conv2d: stride must be at least 1, got \(1, 0\)"),
    (lambda: sn.conv2d(_t(1, 3, 6, 6), _t(2, 3, 3, 3), stride=(1, 2, 3)), TypeError,
     r"conv2d: stride must be an int or a pair of ints, got \(1, 2, 3\)"),
    (lambda: sn.conv1d(_t(1, 3, 6), _t(2, 3, 3), stride=(2, 2)), TypeError,
     r"conv1d: stride must be an int >= 1, got tuple \(2, 2\)"),
    (lambda: sn.conv2d(_t(1, 3, 6, 6), _t(2, 3, 3, 3), _t(3)), ValueError,
     r"conv2d: bias of shape \(3,\) does not fit weight of shape \(2, 3, 3, 3\): expected "
     r"\(2,\)"),
    (lambda: sn.conv2d(sn.tensor(np.zeros((1, 3, 6, 6), np.int64)),
                       sn.tensor(np.zeros((2, 3, 3, 3), np.int64))), TypeError,
     r"conv2d: the input must be a float tensor, got dtype int64"),
    (lambda: sn.conv_transpose2d(_t(1, 3, 6, 6), _t(3, 2, 3, 3), stride=2, output_padding=2),
     ValueError, r"conv_transpose2d: output_padding 2 must be smaller than the stride \(2, 2\)"),
    (lambda: sn.conv_transpose2d(_t(1, 3, 2, 2), _t(3, 2, 3, 3), padding=3), ValueError,
     r"conv_transpose2d: padding 3 crops the whole output"),
    (lambda: sn.max_pool2d(_t(3, 8, 8), 2), ValueError,
     r"max_pool2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"),
    (lambda: sn.avg_pool2d(_t(1, 1, 8, 8), 2, padding=2), ValueError,
     r"avg_pool2d: padding \(2, 2\) must be smaller than the kernel size \(2, 2\), as ONNX's "
     r"pooling allows \(PyTorch allows at most half the kernel size\)"),
    (lambda: sn.max_pool2d(_t(1, 1, 8, 8), (3, 2), padding=(1, 2), dilation=3), ValueError,
     r"max_pool2d: padding \(1, 2\) must be smaller than the kernel size \(3, 2\)"),
    (lambda: sn.max_pool2d(_t(1, 1, 8, 8), 2, dilation=0), ValueError,
     r"max_pool2d: dilation must be at least 1, got 0"),
    (lambda: sn.max_pool2d(_t(1, 1, 8, 8), 2, ceil_mode=1), TypeError,
     r"max_pool2d: ceil_mode must be True or False, got int 1"),
    (lambda: sn.avg_pool2d(_t(1, 1, 8, 8), 2, count_include_pad="no"), TypeError,
     r"avg_pool2d: count_include_pad must be True or False, got str 'no'"),
    (lambda: sn.max_pool2d(_t(1, 1, 4, 8), 3, dilation=2), ValueError,
     r"max_pool2d: dilated kernel size \(5, 5\) is larger than the padded input \(4, 8\)"),
    (lambda: sn.max_pool2d(_t(1, 1, 3, 8), 4), ValueError,
     r"max_pool2d: kernel size \(4, 4\) is larger than the padded input \(3, 8\) for input "
     r"shape \(1, 1, 3, 8\)"),
    (lambda: sn.max_pool2d(_t(1, 1, 8, 8), 0), ValueError,
     r"max_pool2d: kernel_size must be at least 1, got 0"),
    (lambda: sn.avg_pool2d(_t(1, 1, 8, 8), 2, stride="2"), TypeError,
     r"avg_pool2d: stride must be an int or a pair of ints, got '2'"),
    (lambda: sn.global_avg_pool2d(_t(2, 3)), ValueError,
     r"global_avg_pool2d: expected a 4-D input \(N, C, H, W\), got shape \(2, 3\)"),
], ids=lambda v: "" if callable(v) or isinstance(v, type) else v[:40])
def test_errors_name_the_op_and_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_an_empty_batch_gives_empty_outputs_and_zero_parameter_gradients():
    for fn, x_shape, w_shape in ((sn.conv2d, (0, 3, 5, 5), (2, 3, 3, 3)),
                                 (sn.conv1d, (0, 3, 5), (2, 3, 3)),
                                 (sn.conv_transpose2d, (0, 3, 5, 5), (3, 2, 3, 3))):
        x = sn.zeros(x_shape, requires_grad=True)
        w, b = sn.ones(w_shape, requires_grad=True), sn.ones((2,), requires_grad=True)
        y = fn(x, w, b)
        assert y.shape[:2] == (0, 2)
        y.sum().backward()
        assert x.grad.shape == x_shape and not w.grad.numpy().any() and not b.grad.numpy().any()
    for fn in (sn.max_pool2d, sn.avg_pool2d):
        assert fn(sn.zeros((0, 2, 4, 4)), 2).shape == (0, 2, 2, 2)


BLOCKED_CASES = [  # output width 10: the one tile width the backend tests compile too
    (dict(), [(2, 6, 9, 14), (16, 6, 5, 5), (16,)]),  # LeNet conv2 (batch 2, fewer rows)
    (dict(padding=(2, 1), dilation=(2, 1), groups=2), [(2, 8, 9, 10), (6, 4, 3, 3), (6,)]),
    (dict(padding="same"), [(1, 5, 8, 10), (10, 5, 3, 3), None]),
]


@pytest.mark.parametrize("kwargs,shapes", BLOCKED_CASES, ids=[str(c[0]) for c in BLOCKED_CASES])
def test_the_blocked_kernels_give_the_im2col_results(monkeypatch, kwargs, shapes):
    """float32 stride-1 layers with more rows than DIRECT_MAX_ROWS run forward and weight
    gradient on backend.kernels_blocked (paddings, dilations, groups included): the same
    output and gradients as im2col's path (float64-gradchecked in this file) and torch."""
    pytest.importorskip("numba")
    monkeypatch.setattr(conv_module, "BLOCKED_MAX_ROWS", 10 ** 6)
    monkeypatch.setattr(conv_module, "DIRECT_MAX_ROWS", 0)
    original = conv_module.runs_blocked
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in shapes if s is not None]
    seed = np.random.default_rng(1).standard_normal((shapes[0][0], shapes[1][0], 1, 1))

    def run(blocked):
        taken = []
        monkeypatch.setattr(conv_module, "runs_blocked",
                            lambda *a: taken.append(original(*a) and blocked) or taken[-1])
        tensors = [sn.tensor(a, requires_grad=True) for a in arrays]
        out = sn.conv2d(tensors[0], tensors[1], tensors[2] if len(tensors) > 2 else None,
                        **kwargs)
        out.backward(sn.tensor(np.broadcast_to(seed, out.shape).astype(np.float32)))
        assert taken == [blocked]
        return [out.numpy()] + [t.grad.numpy() for t in tensors]

    blocked = run(True)
    for got, want in zip(blocked, run(False)):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = torch.nn.functional.conv2d(tensors[0], tensors[1],
                                     tensors[2] if len(tensors) > 2 else None, **kwargs)
    out.backward(torch.tensor(np.broadcast_to(seed, out.shape).astype(np.float32)))
    for got, want in zip(blocked, [out.detach().numpy()] + [t.grad.numpy() for t in tensors]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
