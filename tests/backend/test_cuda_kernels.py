"""The CUDA kernels (each kernel module's ``_build_cuda``) agree with the plain array
versions. Without a GPU they run through ``cuda_emulator`` (their C bodies compiled on
the CPU, one loop iteration a thread): the entry points take their GPU branch on NumPy
arrays, so the launches' arguments, index arithmetic and bounds are checked on every
machine with a C++ compiler. With a GPU (``-m gpu``) the same cases run on CuPy."""
import numpy as np
import pytest

from somanet.backend import kernels_conv, kernels_direct, kernels_optim, kernels_pool, \
    kernels_recurrent
from somanet.ops.pooling import _divisor

from . import cuda_emulator
from .test_kernels_conv import GEOMETRIES as CONV_GEOMETRIES
from .test_kernels_direct import CASES as DIRECT_CASES, _operands as _direct_operands
from .test_kernels_pool import GEOMETRIES as POOL_GEOMETRIES, IDS as POOL_IDS, \
    _geometry as _pool_geometry, _inputs as _pool_inputs
from .test_kernels_recurrent import _run_backward, _run_forward, _step

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Emulated:
    """The kernel modules' CUDA kernels run on NumPy arrays through the emulator, on the
    terms ``cuda_compiled`` sets (float32/float64 arrays of one dtype, C-contiguous where
    asked)."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def __call__(self, module):
        kernels = module._build_cuda(cuda_emulator.EmulatedCupy())

        def cuda_compiled(_, *arrays, contiguous=True):
            dtype = arrays[0].dtype
            if dtype not in _FLOATS or any(
                    a.dtype != dtype or contiguous and not a.flags.c_contiguous
                    for a in arrays):
                return None
            return kernels

        self.monkeypatch.setattr(module, "compiled", lambda *args, **options: None)
        self.monkeypatch.setattr(module, "cuda_compiled", cuda_compiled)
        return module

    @staticmethod
    def asarray(array):
        return array

    asnumpy = asarray


class OnGpu:
    """The kernel modules as they are, on CuPy arrays."""

    def __init__(self):
        import cupy
        self.asarray, self.asnumpy = cupy.asarray, cupy.asnumpy

    def __call__(self, module):
        return module


@pytest.fixture(params=["emulator", pytest.param("cupy", marks=pytest.mark.gpu)])
def on(request, monkeypatch):
    """``on(module)``: the module, its entry points taking their CUDA branch for arrays
    from ``on.asarray`` (results back with ``on.asnumpy``)."""
    if request.param == "emulator":
        if not cuda_emulator.available():
            pytest.skip("the CUDA emulator needs g++")
        return Emulated(monkeypatch)
    import somanet as sn
    if sn.gpu_count() == 0:
        pytest.skip("no GPU")
    return OnGpu()


def _in_place(function, on):
    """``function`` on ``on``'s arrays, its results written back into the NumPy arguments."""
    def run(*args, **options):
        moved = [on.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        moved_options = {k: on.asarray(v) if isinstance(v, np.ndarray) else v
                         for k, v in options.items()}
        result = function(*moved, **moved_options)
        for arg, copy in zip(args + tuple(options.values()),
                             moved + list(moved_options.values())):
            if isinstance(arg, np.ndarray):
                arg[...] = on.asnumpy(copy)
        return result
    return run


@pytest.mark.parametrize("merged", [False, True], ids=["per_sample", "merged"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation", CONV_GEOMETRIES)
def test_im2col_and_col2im(on, shape, kernel, stride, padding, dilation, dtype, merged):
    K = on(kernels_conv)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    want = K.im2col_xp(x, kernel, stride, padding, dilation, merged)
    got = K.im2col(on.asarray(x), kernel, stride, padding, dilation, merged)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_array_equal(on.asnumpy(got), want)
    wide = on.asarray(np.repeat(x, 2, axis=3))[..., ::2]  # not contiguous: copied first
    np.testing.assert_array_equal(
        on.asnumpy(K.im2col(wide, kernel, stride, padding, dilation, merged)), want)

    cols = rng.standard_normal(want.shape).astype(dtype)
    want_x = K.col2im_xp(cols, shape, kernel, stride, padding, dilation, merged=merged)
    got_x = K.col2im(on.asarray(cols), shape, kernel, stride, padding, dilation,
                     merged=merged)
    assert got_x.dtype == dtype and got_x.shape == shape
    np.testing.assert_allclose(on.asnumpy(got_x), want_x, rtol=1e-5, atol=1e-5)
    out = on.asarray(np.full(shape, np.nan, dtype))
    assert K.col2im(on.asarray(cols), shape, kernel, stride, padding, dilation, out,
                    merged) is out
    np.testing.assert_allclose(on.asnumpy(out), want_x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,c_out,kernel,dilation,groups", DIRECT_CASES)
def test_direct_convolution_runs_on_the_cuda_im2col(on, monkeypatch, shape, c_out, kernel,
                                                    dilation, groups, dtype):
    """Off the CPU the direct kernels are im2col (col2im) and batched matmuls."""
    D = kernels_direct
    xp, w, b, out_hw, grad = _direct_operands(shape, c_out, kernel, dilation, groups, dtype)
    want = (D.direct_forward_xp(xp, w, b, dilation, out_hw, groups),
            D.direct_input_gradient_xp(grad, w, dilation, shape[2:], groups),
            D.direct_weight_gradient_xp(xp, grad, kernel, dilation, groups))
    on(kernels_conv)
    monkeypatch.setattr(D, "compiled", lambda *args, **options: None)
    xp, w, b, grad = (on.asarray(a) for a in (xp, w, b, grad))
    got = (D.direct_forward(xp, w, b, dilation, out_hw, groups),
           D.direct_input_gradient(grad, w, dilation, shape[2:], groups),
           D.direct_weight_gradient(xp, grad, kernel, dilation, groups))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for g, expected in zip(got, want):
        assert g.dtype == dtype and g.shape == expected.shape
        np.testing.assert_allclose(on.asnumpy(g), expected, **tol)


@pytest.mark.parametrize("kind", ["random", "tied", "nan"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode", POOL_GEOMETRIES,
                         ids=POOL_IDS)
def test_max_pool(on, shape, kernel, stride, padding, dilation, ceil_mode, dtype, kind):
    K = on(kernels_pool)
    rng = np.random.default_rng(0)
    x = _pool_inputs(shape, dtype, "random" if kind == "nan" else kind, rng)
    if kind == "nan":  # NaN windows, -inf elements tied with the padding
        x[rng.random(shape) < 0.1] = np.nan
        x[rng.random(shape) < 0.1] = -np.inf
    out_hw, pads = _pool_geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    want, want_index = K.max_pool_xp(x, kernel, stride, pads, dilation, out_hw)
    got, index = K.max_pool(on.asarray(x), kernel, stride, pads, dilation, out_hw)
    assert got.dtype == dtype and index.dtype == want_index.dtype
    np.testing.assert_array_equal(on.asnumpy(got), want)
    np.testing.assert_array_equal(on.asnumpy(index), want_index)

    grad = rng.standard_normal(got.shape).astype(dtype)
    want_dx = K.max_pool_backward_xp(grad, want_index, shape[2:], kernel, stride, pads,
                                     dilation)
    got_dx = K.max_pool_backward(on.asarray(grad), index, shape[2:], kernel, stride, pads,
                                 dilation)
    assert got_dx.dtype == dtype and got_dx.shape == shape
    np.testing.assert_allclose(on.asnumpy(got_dx), want_dx, rtol=1e-6, atol=1e-6)


def test_max_pool_with_an_int32_index(on):
    K = on(kernels_pool)
    x = np.random.default_rng(3).standard_normal((2, 2, 20, 19)).astype(np.float32)
    args = ((17, 17), (1, 2), ((0, 0), (0, 0)), (1, 1))
    want, want_index = K.max_pool_xp(x, *args, (4, 2))
    got, index = K.max_pool(on.asarray(x), *args, (4, 2))
    assert index.dtype == np.int32
    np.testing.assert_array_equal(on.asnumpy(got), want)
    np.testing.assert_array_equal(on.asnumpy(index), want_index)
    grad = np.ones(got.shape, np.float32)
    np.testing.assert_array_equal(
        on.asnumpy(K.max_pool_backward(on.asarray(grad), index, (20, 19), *args)),
        K.max_pool_backward_xp(grad, want_index, (20, 19), *args))


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,ceil_mode",
                         [g for g in POOL_GEOMETRIES if g[4] == (1, 1)],
                         ids=[i for i, g in zip(POOL_IDS, POOL_GEOMETRIES) if g[4] == (1, 1)])
def test_avg_pool(on, shape, kernel, stride, padding, dilation, ceil_mode, dtype,
                  count_include_pad):
    K = on(kernels_pool)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    out_hw, pads = _pool_geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    divisor = _divisor(np, out_hw, shape[2:], kernel, stride, padding, count_include_pad,
                       dtype)
    on_divisor = divisor if isinstance(divisor, int) else on.asarray(divisor)
    want = K.avg_pool_xp(x, kernel, stride, pads, out_hw, divisor)
    got = K.avg_pool(on.asarray(x), kernel, stride, pads, out_hw, on_divisor)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(on.asnumpy(got), want, rtol=1e-6, atol=1e-6)

    grad = rng.standard_normal(got.shape).astype(dtype)
    want_dx = K.avg_pool_backward_xp(grad, shape[2:], kernel, stride, pads, divisor)
    got_dx = K.avg_pool_backward(on.asarray(grad), shape[2:], kernel, stride, pads,
                                 on_divisor)
    assert got_dx.dtype == dtype and got_dx.shape == shape
    np.testing.assert_allclose(on.asnumpy(got_dx), want_dx, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_step(on, dtype):
    K = on(kernels_recurrent)
    forward, backward = (_in_place(f, on) for f in (K.lstm_step_forward,
                                                    K.lstm_cell_backward))
    step = _step(np.random.default_rng(0), dtype)
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12)
    for got, want in zip(_run_forward(forward, step, dtype),
                         _run_forward(K.lstm_step_forward_xp, step, dtype)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tolerance)
    for got, want in zip(_run_backward(backward, step),
                         _run_backward(K.lstm_cell_backward_xp, step)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tolerance)
    # a non-contiguous operand takes the array version, with the same result
    wide = np.repeat(step["grad_out"], 2, axis=1)[:, ::2]
    for got, want in zip(_run_backward(backward, step, wide),
                         _run_backward(K.lstm_cell_backward_xp, step)):
        np.testing.assert_allclose(got, want, **tolerance)


@pytest.mark.parametrize("l2, decay", [(0.01, 1.0), (0.0, 0.999)], ids=["l2", "decay"])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam(on, dtype, amsgrad, l2, decay):
    """Adam with L2 in the gradient, or AdamW's decay (never both: the fused update
    decays after the gradient, the array version before)."""
    K = on(kernels_optim)
    rng = np.random.default_rng(0)
    param, grad, exp_avg = (rng.standard_normal((3, 50)).astype(dtype) for _ in range(3))
    exp_avg_sq = np.abs(rng.standard_normal((3, 50))).astype(dtype)
    fused = [param.copy(), exp_avg.copy(), exp_avg_sq.copy(), exp_avg_sq.copy()]
    plain = [a.copy() for a in fused]
    adam = _in_place(K.adam, on)
    for step in (1, 2, 3):
        extra = dict(max_exp_avg_sq=fused[3]) if amsgrad else {}
        assert adam(fused[0], grad, fused[1], fused[2], step, 0.01, 0.9, 0.999, 1e-8, l2=l2,
                    decay=decay, **extra)
        K.adam_xp(plain[0], grad, plain[1], plain[2], step, 0.01, 0.9, 0.999, 1e-8, l2=l2,
                  decay=decay, max_exp_avg_sq=plain[3] if amsgrad else None)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for got, want in zip(fused, plain):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_momentum(on, dtype, nesterov):
    K = on(kernels_optim)
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(40).astype(dtype) for _ in range(3)]
    fused, plain = [a.copy() for a in arrays], [a.copy() for a in arrays]
    assert _in_place(K.sgd, on)(*fused, 0.1, 0.9, 0.01, nesterov, dampening=0.1)
    K.sgd_xp(*plain, 0.1, 0.9, 0.01, nesterov, dampening=0.1)
    tolerance = 1e-6 if dtype == np.float32 else 1e-13
    for got, want in zip(fused, plain):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_moments_below_the_smallest_normal_number_are_stored_as_zero(on, dtype):
    """As the CPU loops: moments under ``finfo.tiny`` become 0, the others are kept."""
    K = on(kernels_optim)
    tiny = np.finfo(dtype).tiny
    grad = np.array([0, 0, 1e-3, 0], dtype)
    state = [np.ones(4, dtype), np.array([tiny * 1.05, -tiny * 1.05, 0.1, tiny * 4], dtype),
             np.array([tiny * 1.0005, tiny * 4, 0.1, tiny * 4], dtype)]
    for amsgrad in (False, True):
        gpu, cpu = [a.copy() for a in state], [a.copy() for a in state]
        if amsgrad:
            gpu.append(state[2].copy())
            cpu.append(state[2].copy())
        maximum = dict(max_exp_avg_sq=gpu[3]) if amsgrad else {}
        assert _in_place(K.adam, on)(gpu[0], grad, gpu[1], gpu[2], 5, 0.01, 0.9, 0.999, 1e-8,
                                     **maximum)
        maximum = dict(max_exp_avg_sq=cpu[3]) if amsgrad else {}
        assert kernels_optim.adam(cpu[0], grad, cpu[1], cpu[2], 5, 0.01, 0.9, 0.999, 1e-8,
                                  **maximum)
        assert (gpu[1][:2] == 0).all() and gpu[2][0] == 0 and gpu[1][3] != 0
        for got, want in zip(gpu, cpu):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    buffer = np.array([tiny * 1.05, 0.5], dtype)
    assert _in_place(K.sgd, on)(np.ones(2, dtype), np.zeros(2, dtype), buffer, 0.1, 0.9, 0.0,
                                False)
    assert buffer[0] == 0 and buffer[1] == dtype(0.45)

def _network_gradients(arrays):
    """A small CNN and an LSTM through the ops, forward and backward: the loss and every
    gradient, as NumPy arrays."""
    from somanet import ops
    from somanet.tensor import Tensor
    x, w1, w2, w3, seq, h0, c0, w_ih, w_hh, bias = (Tensor(a, requires_grad=True)
                                                    for a in arrays)
    y = ops.relu(ops.conv2d(x, w1, padding=1))  # 27 rows, stride 1: the direct kernels
    y = ops.max_pool2d(y, 2)
    y = ops.conv2d(y, w2, stride=2, padding=1)  # im2col
    y = ops.conv2d(y, w3, padding=2, dilation=2)  # merged columns: 288 rows, 3x3 outputs
    y = ops.avg_pool2d(y, 3, stride=1, padding=1, count_include_pad=False)
    y = ops.max_pool2d(y, 2, stride=1, ceil_mode=True)
    out, h, c = ops.lstm_sequence(seq, h0, c0, w_ih, w_hh, bias)
    loss = (y * y).sum() + (out * out).sum() + h.sum() + (c * c).sum()
    loss.backward()
    return [loss.numpy()] + [t.grad.numpy() for t in (x, w1, w2, w3, seq, h0, c0, w_ih, w_hh,
                                                      bias)]


def test_a_network_trains_the_same_on_the_cuda_kernels(monkeypatch):
    """The ops' calls into every kernel module, through their CUDA branches (emulated)."""
    if not cuda_emulator.available():
        pytest.skip("the CUDA emulator needs g++")
    rng = np.random.default_rng(0)
    shapes = [(4, 3, 12, 12), (6, 3, 3, 3), (32, 6, 3, 3), (16, 32, 3, 3), (5, 3, 4), (3, 6),
              (3, 6), (4, 24), (6, 24), (24,)]
    arrays = [(rng.standard_normal(shape) * 0.3).astype(np.float32) for shape in shapes]
    want = _network_gradients(arrays)
    emulated = Emulated(monkeypatch)
    for module in (kernels_conv, kernels_pool, kernels_recurrent):
        emulated(module)
    monkeypatch.setattr(kernels_direct, "compiled", lambda *args, **options: None)
    got = _network_gradients(arrays)
    for g, expected in zip(got, want):
        np.testing.assert_allclose(g, expected, rtol=2e-4, atol=2e-5)


def _nvrtc():
    try:
        cuda_emulator.nvrtc_compile('extern "C" __global__ void k() {}')
    except Exception as error:  # no CuPy, or no NVRTC library
        pytest.skip(f"NVRTC is not usable here: {error}")


@pytest.mark.parametrize("module", [kernels_conv, kernels_optim, kernels_pool,
                                    kernels_recurrent], ids=lambda m: m.__name__)
def test_the_cuda_kernels_compile_with_nvrtc(module):
    """Every kernel, as CuPy would generate it, for each dtype it is launched with
    (no GPU needed: NVRTC compiles on the host)."""
    _nvrtc()
    for kernel in module._build_cuda(cuda_emulator.EmulatedCupy()):
        kinds = {kind for _, kind, _, _ in kernel.params}
        ndims = [None if kind in cuda_emulator._C_TYPES else 4
                 for _, kind, _, _ in kernel.params]
        for dtype in _FLOATS:
            for index in ((np.uint8, np.int32) if "I" in kinds else (None,)):
                types = {"T": dtype, **({"I": index} if index else {})}
                cuda_emulator.nvrtc_compile(kernel.cuda_source(types, ndims),
                                            kernel.name + ".cu")


def test_the_emulator_refuses_what_cupy_would_not_run():
    """Its own error paths: a kernel that does not compile, mismatched dtypes, and the
    missing output (CuPy would allocate it; the emulator needs it given)."""
    if not cuda_emulator.available():
        pytest.skip("the CUDA emulator needs g++")
    kernel = cuda_emulator.ElementwiseKernel("T x, T a", "T y", "y = a * x;", "scale")
    x = np.arange(4, dtype=np.float32)
    y = np.empty_like(x)
    kernel(x, 2.0, y)
    np.testing.assert_array_equal(y, 2 * x)
    with pytest.raises(TypeError, match="x is float32, but T is float64|T is"):
        kernel(x, 2.0, np.empty(4))
    with pytest.raises(TypeError, match="needs every output"):
        kernel(x, 2.0)
    with pytest.raises(RuntimeError, match="does not compile"):
        cuda_emulator.ElementwiseKernel("T x", "T y", "y = undefined_name;", "broken")(x, y)
