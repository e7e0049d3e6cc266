"""Optimiser updates on raw arrays, in place: one fused pass over parameter, gradient and
state, compiled with numba on the CPU when numba is installed and with CuPy on GPUs,
plain ``xp`` code otherwise (and for non-contiguous arrays).

Both implementations have one contract, checked against each other in
``tests/backend/test_kernels_optim.py``; ``grad`` is read only (it may be shared):

- ``adam(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, l2, decay,
  scratch, max_exp_avg_sq)``: Adam's step with an L2 term ``l2 * w`` added to the
  gradient (Adam's weight decay) and the weights first multiplied by ``decay`` (AdamW's
  ``1 - lr * wd``); ``step`` counts from 1. With ``max_exp_avg_sq`` (AMSGrad), that
  array keeps the running maximum of ``exp_avg_sq`` and the step divides by its root
  instead (PyTorch's ``amsgrad=True``: the maximum of the uncorrected averages, then
  the bias correction).
- ``sgd(param, grad, momentum_buffer, lr, momentum, weight_decay, nesterov, scratch,
  dampening)``: ``momentum_buffer`` is ``None`` when ``momentum`` is 0; the buffer
  update is ``b = momentum b + (1 - dampening) g`` (the caller passes ``dampening=0``
  on the first step, where PyTorch starts the buffer at ``g``).

``scratch`` is two arrays shaped like ``param`` that the ``xp`` version may write
(allocated when ``None``). Each returns True when the fused kernel ran.

The compiled loops store a moment (``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``,
``momentum_buffer``) smaller in magnitude than the dtype's smallest normal number
(``numpy.finfo(dtype).tiny``, 1.2e-38 in float32) as zero, as TensorFlow and XLA
do by flushing subnormals: the average of a weight whose gradient stays zero (an
always-blank pixel's) decays into the subnormal range within a few hundred steps,
and arithmetic on subnormal numbers is 10-25 times slower on x86 CPUs (measured:
Adam over 200k weights, 7.1 ms a step instead of 0.29). What it changes in a weight
is below ``lr * tiny / eps``.

Why: the NumPy updates are ten or so memory-bound passes through temporaries;
one compiled loop reads each array once. Parameters of ``PARALLEL_MIN`` elements or
more are updated on all cores (``jit.parallel``), in fixed chunks of ``CHUNK``
elements: the same arithmetic element by element, so the result does not depend on
the number of threads (bitwise the one-thread loop's).
"""
import math

import numpy as np

from .arrays import xp_of
from .cuda import cuda_compiled, lazy_cuda_kernels
from .jit import compiled, lazy_kernels, parallel

# Measured on a 2-core VM (Adam, float32): one thread does 70k elements in 38 us, two
# threads in 46 us (entering a parallel region costs ~15 us); at 200k, 180 against 103 us.
PARALLEL_MIN = 1 << 17
CHUNK = 1 << 15


def _build(numba):
    """Compile the kernels (on first use; numba caches them on disk). NumPy's error model
    (a division by zero gives inf, not an exception) lets LLVM vectorise the loops; the
    fast-math flags allow fused multiply-adds but not assuming that no value is NaN or
    infinite (a NaN gradient must reach the weights, not be flushed as "tiny")."""
    fast = {"contract", "arcp", "afn", "reassoc", "nsz"}

    @numba.njit(cache=True, nogil=True, fastmath=fast, error_model="numpy")
    def adam_loop(p, g, m, v, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2,
                  inv_sqrt_correction2, eps, l2, decay, tiny):
        zero = tiny - tiny
        for i in range(p.size):
            grad = g[i] + l2 * p[i]
            mi = beta1 * m[i] + one_minus_beta1 * grad
            vi = beta2 * v[i] + one_minus_beta2 * grad * grad
            mi = zero if abs(mi) < tiny else mi  # NaN stays NaN
            vi = zero if vi < tiny else vi
            m[i] = mi
            v[i] = vi
            p[i] = p[i] * decay - step_size * mi / (np.sqrt(vi) * inv_sqrt_correction2 + eps)

    @numba.njit(cache=True, nogil=True, fastmath=fast, error_model="numpy")
    def amsgrad_loop(p, g, m, v, v_max, step_size, beta1, one_minus_beta1, beta2,
                     one_minus_beta2, inv_sqrt_correction2, eps, l2, decay, tiny):
        zero = tiny - tiny
        for i in range(p.size):
            grad = g[i] + l2 * p[i]
            mi = beta1 * m[i] + one_minus_beta1 * grad
            vi = beta2 * v[i] + one_minus_beta2 * grad * grad
            mi = zero if abs(mi) < tiny else mi  # NaN stays NaN
            vi = zero if vi < tiny else vi
            top = max(v_max[i], vi)
            m[i] = mi
            v[i] = vi
            v_max[i] = top
            p[i] = p[i] * decay - step_size * mi / (np.sqrt(top) * inv_sqrt_correction2 + eps)

    @numba.njit(cache=True, nogil=True, fastmath=fast, error_model="numpy")
    def sgd_momentum_loop(p, g, b, lr, momentum, weight_decay, nesterov, undamped, tiny):
        zero = tiny - tiny
        for i in range(p.size):
            grad = g[i] + weight_decay * p[i]
            bi = momentum * b[i] + undamped * grad
            bi = zero if abs(bi) < tiny else bi
            b[i] = bi
            if nesterov:
                p[i] -= lr * (grad + momentum * bi)
            else:
                p[i] -= lr * bi

    # Without fastmath (no fused multiply-add): bitwise the plain xp update.
    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def sgd_kernel(p, g, lr, weight_decay):
        for i in range(p.size):
            p[i] -= lr * (g[i] + weight_decay * p[i])

    # The entry points: small arrays in one loop, large ones in chunks on every core.
    prange, chunk, smallest = numba.prange, CHUNK, PARALLEL_MIN
    on_cores = dict(cache=True, nogil=True, parallel=parallel(numba))

    @numba.njit(**on_cores)
    def adam_kernel(p, g, m, v, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2,
                    inv_sqrt_correction2, eps, l2, decay, tiny):
        n = p.size
        if n < smallest:
            adam_loop(p, g, m, v, step_size, beta1, one_minus_beta1, beta2,
                      one_minus_beta2, inv_sqrt_correction2, eps, l2, decay, tiny)
            return
        for c in prange((n + chunk - 1) // chunk):
            a, b = c * chunk, min(c * chunk + chunk, n)
            adam_loop(p[a:b], g[a:b], m[a:b], v[a:b], step_size, beta1, one_minus_beta1,
                      beta2, one_minus_beta2, inv_sqrt_correction2, eps, l2, decay, tiny)

    @numba.njit(**on_cores)
    def amsgrad_kernel(p, g, m, v, v_max, step_size, beta1, one_minus_beta1, beta2,
                       one_minus_beta2, inv_sqrt_correction2, eps, l2, decay, tiny):
        n = p.size
        if n < smallest:
            amsgrad_loop(p, g, m, v, v_max, step_size, beta1, one_minus_beta1, beta2,
                         one_minus_beta2, inv_sqrt_correction2, eps, l2, decay, tiny)
            return
        for c in prange((n + chunk - 1) // chunk):
            a, b = c * chunk, min(c * chunk + chunk, n)
            amsgrad_loop(p[a:b], g[a:b], m[a:b], v[a:b], v_max[a:b], step_size, beta1,
                         one_minus_beta1, beta2, one_minus_beta2, inv_sqrt_correction2,
                         eps, l2, decay, tiny)

    @numba.njit(**on_cores)
    def sgd_momentum_kernel(p, g, b, lr, momentum, weight_decay, nesterov, undamped, tiny):
        n = p.size
        if n < smallest:
            sgd_momentum_loop(p, g, b, lr, momentum, weight_decay, nesterov, undamped, tiny)
            return
        for c in prange((n + chunk - 1) // chunk):
            lo, hi = c * chunk, min(c * chunk + chunk, n)
            sgd_momentum_loop(p[lo:hi], g[lo:hi], b[lo:hi], lr, momentum, weight_decay,
                              nesterov, undamped, tiny)

    return adam_kernel, sgd_momentum_kernel, amsgrad_kernel, sgd_kernel


def _build_cuda(cupy):
    """The same loops as CUDA elementwise kernels (one thread an element); the scalars
    arrive in the arrays' dtype, so float32 stays float32."""
    scalars = ("T step_size, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2, "
               "T inv_sqrt_correction2, T eps, T l2, T decay, T tiny")
    adam = cupy.ElementwiseKernel(
        "T g, " + scalars, "T p, T m, T v",
        """
        T grad = g + l2 * p;
        m = beta1 * m + one_minus_beta1 * grad;
        v = beta2 * v + one_minus_beta2 * grad * grad;
        m = fabs(m) < tiny ? (T)0 : m;  // NaN stays NaN
        v = v < tiny ? (T)0 : v;
        p = p * decay - step_size * m / (sqrt(v) * inv_sqrt_correction2 + eps);
        """, "somanet_adam")
    amsgrad = cupy.ElementwiseKernel(
        "T g, " + scalars, "T p, T m, T v, T v_max",
        """
        T grad = g + l2 * p;
        m = beta1 * m + one_minus_beta1 * grad;
        v = beta2 * v + one_minus_beta2 * grad * grad;
        m = fabs(m) < tiny ? (T)0 : m;  // NaN stays NaN
        v = v < tiny ? (T)0 : v;
        v_max = max(v_max, v);
        p = p * decay - step_size * m / (sqrt(v_max) * inv_sqrt_correction2 + eps);
        """, "somanet_amsgrad")
    sgd_momentum = cupy.ElementwiseKernel(
        "T g, T lr, T momentum, T weight_decay, bool nesterov, T undamped, T tiny",
        "T p, T b",
        """
        T grad = g + weight_decay * p;
        b = momentum * b + undamped * grad;
        b = fabs(b) < tiny ? (T)0 : b;
        p -= nesterov ? lr * (grad + momentum * b) : lr * b;
        """, "somanet_sgd_momentum")
    return adam, sgd_momentum, amsgrad


_kernels = lazy_kernels(_build)
_cuda_kernels = lazy_cuda_kernels(_build_cuda)


def numba_kernels():
    """The compiled CPU loops ``(adam, sgd_momentum, amsgrad, sgd)`` on flat arrays, for
    native code that calls them directly (``somanet.graph``'s native steps), or ``None``
    without numba. Their scalars: ``adam_constants`` / ``sgd_constants``; the plain
    ``sgd`` loop takes ``(lr, weight_decay)``."""
    return _kernels()


def adam_constants(dtype, step, lr, beta1, beta2, eps, l2=0.0, decay=1.0):
    """The scalars the Adam/AMSGrad loops take after their arrays, in ``dtype`` (float32
    scalars keep the loop in float32): the bias corrections of step ``step`` folded in,
    and last ``finfo(dtype).tiny`` (moments below it are stored as zero)."""
    number = dtype.type
    correction1 = 1 - beta1 ** step
    correction2 = 1 - beta2 ** step
    return (number(lr / correction1), number(beta1), number(1 - beta1), number(beta2),
            number(1 - beta2), number(1 / math.sqrt(correction2)), number(eps),
            number(l2), number(decay), np.finfo(dtype).tiny)


def sgd_constants(dtype, lr, momentum, weight_decay, nesterov, dampening=0.0):
    """The scalars the SGD-momentum loop takes after its arrays, in ``dtype``, the last
    ``finfo(dtype).tiny`` (a momentum below it is stored as zero)."""
    number = dtype.type
    return (number(lr), number(momentum), number(weight_decay), bool(nesterov),
            number(1 - dampening), np.finfo(dtype).tiny)


def adam(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, l2=0.0, decay=1.0,
         scratch=None, max_exp_avg_sq=None):
    """One Adam/AdamW (AMSGrad with ``max_exp_avg_sq``) step in place (see the module
    docstring): fused when the kernel applies, else ``adam_xp``. Returns True when the
    fused kernel ran."""
    arrays = (param, grad, exp_avg, exp_avg_sq) + (
        () if max_exp_avg_sq is None else (max_exp_avg_sq,))
    kernels = compiled(_kernels, *arrays)
    on_gpu = kernels is None
    if on_gpu:
        kernels = cuda_compiled(_cuda_kernels, *arrays)
    if kernels is None:
        adam_xp(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, l2, decay,
                scratch, max_exp_avg_sq)
        return False
    constants = adam_constants(param.dtype, step, lr, beta1, beta2, eps, l2, decay)
    if on_gpu:  # CuPy's kernels take the read-only gradient first, then the arrays written
        if max_exp_avg_sq is None:
            kernels[0](grad, *constants, param, exp_avg, exp_avg_sq)
        else:
            kernels[2](grad, *constants, param, exp_avg, exp_avg_sq, max_exp_avg_sq)
    elif max_exp_avg_sq is None:
        kernels[0](param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                   exp_avg_sq.reshape(-1), *constants)
    else:
        kernels[2](param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                   exp_avg_sq.reshape(-1), max_exp_avg_sq.reshape(-1), *constants)
    return True


def sgd(param, grad, momentum_buffer, lr, momentum, weight_decay, nesterov, scratch=None,
        dampening=0.0):
    """One SGD step in place (see the module docstring): fused when there is momentum and
    the kernel applies, else ``sgd_xp``. Returns True when the fused kernel ran."""
    kernels = on_gpu = None
    if momentum:
        kernels = compiled(_kernels, param, grad, momentum_buffer)
        on_gpu = kernels is None
        if on_gpu:
            kernels = cuda_compiled(_cuda_kernels, param, grad, momentum_buffer)
    if kernels is None:
        sgd_xp(param, grad, momentum_buffer, lr, momentum, weight_decay, nesterov, scratch,
               dampening)
        return False
    constants = sgd_constants(param.dtype, lr, momentum, weight_decay, nesterov, dampening)
    if on_gpu:
        kernels[1](grad, *constants, param, momentum_buffer)
    else:
        kernels[1](param.reshape(-1), grad.reshape(-1), momentum_buffer.reshape(-1),
                   *constants)
    return True


# -- the plain xp versions (any device) ------------------------------------------------------

def _scratch(param, scratch):
    if scratch is None:
        xp = xp_of(param)
        scratch = (xp.empty_like(param), xp.empty_like(param))
    return scratch


def adam_xp(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, l2=0.0, decay=1.0,
            scratch=None, max_exp_avg_sq=None):
    """``adam`` in array operations, through the two scratch arrays (no other temporaries)."""
    xp = xp_of(param)
    first, second = _scratch(param, scratch)
    if decay != 1.0:
        param *= decay
    if l2:
        xp.multiply(param, l2, out=first)
        first += grad  # g + wd w
        grad = first
    exp_avg *= beta1
    xp.multiply(grad, 1 - beta1, out=second)
    exp_avg += second  # m = b1 m + (1 - b1) g
    exp_avg_sq *= beta2
    xp.multiply(grad, grad, out=second)
    second *= 1 - beta2
    exp_avg_sq += second  # v = b2 v + (1 - b2) g^2
    correction1 = 1 - beta1 ** step
    correction2 = 1 - beta2 ** step
    if max_exp_avg_sq is not None:  # AMSGrad: the largest v so far
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        exp_avg_sq = max_exp_avg_sq
    xp.sqrt(exp_avg_sq, out=first)  # grad (if it was first) is no longer needed
    first /= math.sqrt(correction2)
    first += eps  # sqrt(v_hat) + eps
    xp.divide(exp_avg, first, out=first)
    first *= lr / correction1  # lr m_hat / (sqrt(v_hat) + eps)
    param -= first


def sgd_xp(param, grad, momentum_buffer, lr, momentum, weight_decay, nesterov, scratch=None,
           dampening=0.0):
    """``sgd`` in array operations, through the two scratch arrays."""
    xp = xp_of(param)
    first, second = _scratch(param, scratch)
    direction = grad
    if weight_decay:
        xp.multiply(param, weight_decay, out=first)
        first += grad  # g + wd w
        direction = first
    if momentum:
        buffer = momentum_buffer
        buffer *= momentum
        if dampening:  # b = m b + (1 - d) g
            xp.multiply(direction, 1 - dampening, out=second)
            buffer += second
        else:
            buffer += direction  # b = m b + g (b starts at 0, so b = g on the first step)
        if nesterov:
            xp.multiply(buffer, momentum, out=second)
            xp.add(direction, second, out=first)  # g + m b
            direction = first
        else:
            direction = buffer
    xp.multiply(direction, lr, out=first)
    param -= first
