"""The per-step gate arithmetic of the fused LSTM: a numba kernel on the CPU when numba is
installed, plain ``xp`` code otherwise (and on GPUs).

Both implementations have one contract, checked against each other in
``tests/backend/test_kernels_recurrent.py``. Arrays are one time step of a batch,
gate blocks i, f, g, o of H columns each (``act`` and ``grad`` are (B, 4H), the
rest (B, H)):

- ``lstm_cell_forward(act, c_prev, c, scale, shift)``: ``act`` holds the tanh of
  the scaled pre-activations; in place it becomes ``act * scale + shift`` (the
  gate activations sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)), and ``c`` is set
  to ``f * c_prev + i * g``.
- ``lstm_cell_backward(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad)``:
  one step of back-propagation through time, up to the recurrent product.
  ``grad_h`` becomes ``dh = grad_h + grad_out``; with
  ``dc = grad_c + dh * o * (1 - tanh_c^2)``, ``grad`` is set to the gradient of
  the four pre-activations, ``(dc g i(1-i), dc c_prev f(1-f), dc i (1-g^2),
  dh tanh_c o(1-o))``, and ``grad_c`` becomes ``dc * f`` (the gradient for c_prev).

Why numba here: NumPy pays per call and per contiguous run, and these are a
dozen small operations a step, most on (B, H) column blocks of a (B, 4H) array
(one run per row). The tanh's stay NumPy calls: NumPy's are vectorised, numba's
call the scalar C library. The kernels compile on first use (cached on disk
afterwards).
"""
import numpy

from .arrays import xp_of
from .jit import compiled, lazy_kernels


def _build(numba):
    """Compile the kernels (on first use; numba caches them on disk)."""

    @numba.njit(cache=True, nogil=True, fastmath=True)
    def forward_kernel(act, c_prev, c, scale, shift):
        batch, hidden = c.shape
        for b in range(batch):
            a, cp, cb = act[b], c_prev[b], c[b]
            for j in range(4 * hidden):
                a[j] = a[j] * scale[j] + shift[j]
            for j in range(hidden):
                cb[j] = a[hidden + j] * cp[j] + a[j] * a[2 * hidden + j]

    @numba.njit(cache=True, nogil=True, fastmath=True)
    def backward_kernel(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad, one):
        batch, hidden = grad_h.shape
        for b in range(batch):
            a, tcb, cp, go = act[b], tanh_c[b], c_prev[b], grad_out[b]
            gh, gc, gr = grad_h[b], grad_c[b], grad[b]
            for j in range(hidden):
                i, f = a[j], a[hidden + j]
                g, o = a[2 * hidden + j], a[3 * hidden + j]
                tc = tcb[j]
                dh = gh[j] + go[j]
                dc = gc[j] + dh * o * (one - tc * tc)
                gh[j] = dh
                gr[j] = dc * g * i * (one - i)
                gr[hidden + j] = dc * cp[j] * f * (one - f)
                gr[2 * hidden + j] = dc * i * (one - g * g)
                gr[3 * hidden + j] = dh * tc * o * (one - o)
                gc[j] = dc * f

    return (forward_kernel, backward_kernel)


_kernels = lazy_kernels(_build)


def _contiguous(array):
    return array if array.flags.c_contiguous else numpy.ascontiguousarray(array)


def lstm_cell_forward(act, c_prev, c, scale, shift):
    """Gate activations from their tanh's, and the new cell state (module docstring)."""
    kernels = compiled(_kernels, act, contiguous=False)
    if kernels is None:
        return lstm_cell_forward_xp(act, c_prev, c, scale, shift)
    kernels[0](act, _contiguous(c_prev), c, scale, shift)


def lstm_cell_backward(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad):
    """One BPTT step of the LSTM's gate arithmetic (module docstring)."""
    kernels = compiled(_kernels, act, contiguous=False)
    if kernels is None:
        return lstm_cell_backward_xp(act, tanh_c, c_prev, grad_out, grad_h, grad_c, grad)
    kernels[1](act, _contiguous(tanh_c), _contiguous(c_prev), _contiguous(grad_out), grad_h,
               grad_c, grad, act.dtype.type(1))


# -- the plain xp versions (any device) ------------------------------------------------------

def _blocks(hidden):
    return tuple(slice(k * hidden, (k + 1) * hidden) for k in range(4))


def lstm_cell_forward_xp(act, c_prev, c, scale, shift):
    i, f, g, _ = _blocks(c.shape[1])
    act *= scale
    act += shift
    c[...] = act[:, f] * c_prev
    c += act[:, i] * act[:, g]


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
