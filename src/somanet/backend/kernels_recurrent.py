"""The per-step gate arithmetic of the fused LSTM: a numba kernel on the CPU when numba is
installed, a CUDA kernel on GPUs (CuPy), plain ``xp`` code otherwise.

Both implementations have one contract, checked against each other in
``tests/backend/test_kernels_recurrent.py``. Arrays are one time step of a batch,
gate blocks i, f, g, o of H columns each (``act`` and ``grad`` are (B, 4H), the
rest (B, H)):

- ``lstm_step_forward(act, recurrent, c_prev, c, tanh_c, h, scale, shift)``: ``act``
  holds the step's scaled input pre-activations and ``recurrent`` the scaled recurrent
  product ``h_{t-1} (W_hh * scale)``; in place ``act`` becomes the gate activations
  ``tanh(act + recurrent) * scale + shift`` (sigmoid(i), sigmoid(f), tanh(g),
  sigmoid(o): ``sigmoid(x) = (tanh(x / 2) + 1) / 2``), and ``c = f * c_prev + i * g``,
  ``tanh_c = tanh(c)``, ``h = o * tanh_c`` are written.
- ``lstm_cell_backward(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad)``:
  one step of back-propagation through time, up to the recurrent product.
  ``grad_h`` becomes ``dh = grad_h + grad_out``; with
  ``dc = grad_c + dh * o * (1 - tanh_c^2)``, ``grad`` is set to the gradient of
  the four pre-activations, ``(dc g i(1-i), dc c_prev f(1-f), dc i (1-g^2),
  dh tanh_c o(1-o))``, and ``grad_c`` becomes ``dc * f`` (the gradient for c_prev).

Why numba here: NumPy pays per call and per contiguous run, and these are a
dozen small operations a step, most on (B, H) column blocks of a (B, 4H) array
(one run per row). In float32 the forward's tanh is ``kernels_special``'s rational
approximation, which LLVM vectorises: 20 us for a (64, 512) step against 140 us for
NumPy's float32 tanh here. float64 keeps the C library's tanh. The kernels compile on
first use (cached on disk afterwards). On a GPU one thread does one (row, column) of
the four gate blocks (``_build_cuda``).
"""
import numpy

from .arrays import xp_of
from .cuda import cuda_compiled, lazy_cuda_kernels
from .jit import compiled, lazy_kernels
from .kernels_special import scalar_tanh32

# no "nnan"/"ninf": NaN must stay NaN through the tanh's clamp
_FASTMATH = {"contract", "arcp", "nsz", "reassoc"}


def _build(numba):
    """Compile the kernels (on first use; numba caches them on disk). NumPy's error model
    (a division by zero gives inf, not an exception) lets LLVM vectorise the loops."""
    tanh32 = scalar_tanh32(numba)

    def make_forward(tanh):
        @numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
        def forward_kernel(act, recurrent, c_prev, c, tanh_c, h, scale, shift):
            batch, hidden = c.shape
            for b in range(batch):
                a, r, cp = act[b], recurrent[b], c_prev[b]
                for j in range(4 * hidden):
                    a[j] = tanh(a[j] + r[j]) * scale[j] + shift[j]
                for j in range(hidden):
                    cell = a[hidden + j] * cp[j] + a[j] * a[2 * hidden + j]
                    c[b, j] = cell
                    tc = tanh(cell)
                    tanh_c[b, j] = tc
                    h[b, j] = a[3 * hidden + j] * tc
        return forward_kernel

    @numba.njit(inline="always")
    def tanh64(x):
        return numpy.tanh(x)

    forward32, forward64 = make_forward(tanh32), make_forward(tanh64)

    # One loop per written array: a single loop reading seven arrays and writing three
    # needs more run-time overlap checks than LLVM makes before it vectorises a loop, and
    # stayed scalar (29 -> 18 us for a (64, 128) step).
    @numba.njit(cache=True, nogil=True, fastmath=True)
    def backward_kernel(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad, one):
        batch, hidden = grad_h.shape
        for b in range(batch):
            a, tcb, cp, go = act[b], tanh_c[b], c_prev[b], grad_out[b]
            gh, gc, gr = grad_h[b], grad_c[b], grad[b]
            for j in range(hidden):  # dh
                gh[j] += go[j]
            for j in range(hidden):  # dc
                tc = tcb[j]
                gc[j] += gh[j] * a[3 * hidden + j] * (one - tc * tc)
            for j in range(hidden):  # the i and g gates
                i, g = a[j], a[2 * hidden + j]
                gr[j] = gc[j] * g * i * (one - i)
                gr[2 * hidden + j] = gc[j] * i * (one - g * g)
            for j in range(hidden):  # the o gate
                o = a[3 * hidden + j]
                gr[3 * hidden + j] = gh[j] * tcb[j] * o * (one - o)
            for j in range(hidden):  # the f gate, and dc_{t-1} = dc f
                f = a[hidden + j]
                gr[hidden + j] = gc[j] * cp[j] * f * (one - f)
                gc[j] *= f

    return {numpy.dtype(numpy.float32): forward32, numpy.dtype(numpy.float64): forward64,
            "backward": backward_kernel}


def _build_cuda(cupy):
    """The CUDA kernels (CuPy compiles them on first launch): one thread an element of the
    (B, H) arrays, reading and writing its column of the four gate blocks of ``act`` /
    ``grad`` (raw (B, 4H) arrays)."""
    forward = cupy.ElementwiseKernel(
        "raw T act, raw T recurrent, T c_prev, raw T scale, raw T shift, int32 hidden",
        "T c, T tanh_c, T h",
        """
        const int column = i % hidden;
        const ptrdiff_t at = (i / hidden) * 4 * hidden + column;
        T gate[4];
        for (int k = 0; k < 4; ++k) {
            const ptrdiff_t a = at + k * hidden;
            gate[k] = tanh(act[a] + recurrent[a]) * scale[k * hidden + column]
                + shift[k * hidden + column];
            act[a] = gate[k];
        }
        c = gate[1] * c_prev + gate[0] * gate[2];
        tanh_c = tanh(c);
        h = gate[3] * tanh_c;
        """, "somanet_lstm_step_forward")
    backward = cupy.ElementwiseKernel(
        "raw T act, T tanh_c, T c_prev, T grad_out, int32 hidden",
        "T grad_h, T grad_c, raw T grad",
        """
        const ptrdiff_t at = (i / hidden) * 4 * hidden + i % hidden;
        const T in = act[at], forget = act[at + hidden];
        const T g = act[at + 2 * hidden], o = act[at + 3 * hidden];
        const T dh = grad_h + grad_out;
        const T dc = grad_c + dh * o * (1 - tanh_c * tanh_c);
        grad_h = dh;
        grad[at] = dc * g * in * (1 - in);
        grad[at + hidden] = dc * c_prev * forget * (1 - forget);
        grad[at + 2 * hidden] = dc * in * (1 - g * g);
        grad[at + 3 * hidden] = dh * tanh_c * o * (1 - o);
        grad_c = dc * forget;
        """, "somanet_lstm_cell_backward")
    return forward, backward


_kernels = lazy_kernels(_build)
_cuda_kernels = lazy_cuda_kernels(_build_cuda)


def _contiguous(array):
    return array if array.flags.c_contiguous else numpy.ascontiguousarray(array)


def lstm_step_forward(act, recurrent, c_prev, c, tanh_c, h, scale, shift):
    """One LSTM step after the recurrent product: the gates, c, tanh(c) and h (module
    docstring)."""
    kernels = compiled(_kernels, act, recurrent, c_prev, c, tanh_c, h, scale, shift,
                       contiguous=False)
    cuda = kernels is None and cuda_compiled(_cuda_kernels, act, recurrent, c_prev, c,
                                             tanh_c, h, scale, shift)
    if cuda:
        cuda[0](act, recurrent, c_prev, scale, shift, c.shape[1], c, tanh_c, h)
        return
    if kernels is None:
        return lstm_step_forward_xp(act, recurrent, c_prev, c, tanh_c, h, scale, shift)
    kernels[act.dtype](act, recurrent, c_prev, c, tanh_c, h, scale, shift)


def lstm_cell_backward(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad):
    """One BPTT step of the LSTM's gate arithmetic (module docstring)."""
    kernels = compiled(_kernels, act, contiguous=False)
    cuda = kernels is None and cuda_compiled(_cuda_kernels, act, tanh_c, c_prev, grad_out,
                                             grad_h, grad_c, grad)
    if cuda:
        cuda[1](act, tanh_c, c_prev, grad_out, grad_h.shape[1], grad_h, grad_c, grad)
        return
    if kernels is None:
        return lstm_cell_backward_xp(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad)
    kernels["backward"](act, _contiguous(tanh_c), _contiguous(c_prev), _contiguous(grad_out),
                        grad_h, grad_c, grad, act.dtype.type(1))


# -- the plain xp versions (any device) ------------------------------------------------------

def _blocks(hidden):
    return tuple(slice(k * hidden, (k + 1) * hidden) for k in range(4))


def lstm_step_forward_xp(act, recurrent, c_prev, c, tanh_c, h, scale, shift):
    xp = xp_of(act)
    i, f, g, o = _blocks(c.shape[1])
    act += recurrent
    xp.tanh(act, out=act)
    act *= scale
    act += shift
    c[...] = act[:, f] * c_prev
    c += act[:, i] * act[:, g]
    xp.tanh(c, out=tanh_c)
    xp.multiply(act[:, o], tanh_c, out=h)


def lstm_cell_backward_xp(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad):
    xp = xp_of(act)
    hidden = grad_h.shape[1]
    i, f, g, o = _blocks(hidden)
    grad_h += grad_out
    through_h = tanh_c * tanh_c  # dc += dh o (1 - tanh(c)^2)
    xp.subtract(1, through_h, out=through_h)
    through_h *= act[:, o]
    through_h *= grad_h
    grad_c += through_h
    xp.multiply(grad_c, act[:, g], out=grad[:, i])
    xp.multiply(grad_c, c_prev, out=grad[:, f])
    xp.multiply(grad_c, act[:, i], out=grad[:, g])
    xp.multiply(grad_h, tanh_c, out=grad[:, o])
    # The slope of every activation s is (1 - s)(s + offset), offset 1 on the g block:
    # s (1 - s) for the sigmoids, (1 - g)(1 + g) = 1 - g^2 for the tanh.
    offset = xp.zeros(4 * hidden, dtype=act.dtype)
    offset[g] = 1
    grad *= 1 - act
    grad *= act + offset
    grad_c *= act[:, f]
