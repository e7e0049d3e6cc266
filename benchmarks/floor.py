"""The machine's floor for the layer benchmarks: each layer's arithmetic (its FLOPs),
and the GEMM rate the same process reaches, so a layer's GFLOP/s reads against what the
BLAS of each framework can do on this machine.

    python benchmarks/floor.py [--threads 2]

prints the GEMM rates alone; ``conv.py`` and ``lstm.py`` print them before their
tables and a GFLOP/s column per framework.
"""
import time

# The rate is the best of a few products near the layers' sizes: a 1024 square and
# two thin shapes like a convolution's per-sample and batch-wide GEMMs.
GEMM_SHAPES = ((1024, 1024, 1024), (64, 576, 4096), (4096, 576, 64))


def conv_flops(x_shape, weight_shape, out_hw, input_grad):
    """The multiply-adds of a convolution, times 2: forward ``2 N C_out Ho Wo C/g kh kw``;
    forward+backward adds the weight gradient (as many) and, when ``input_grad``, the
    input gradient (as many again). Returns ``(forward, fwd_bwd)``."""
    n, (c_out, c_group, kh, kw), (ho, wo) = x_shape[0], weight_shape, out_hw
    forward = 2 * n * c_out * ho * wo * c_group * kh * kw
    return forward, forward * (3 if input_grad else 2)


def lstm_flops(steps, batch, features, hidden, input_grad=False):
    """The matrix products of an LSTM, times 2 (the gates' elementwise work left out):
    forward ``T * 2B * 4H * (F + H)``; backward the recurrent gradient ``dh @ W_hh^T``,
    dW_hh and dW_ih (and dx with ``input_grad``). Returns ``(forward, fwd_bwd)``."""
    per_row = 2 * batch * 4 * hidden * steps
    forward = per_row * (features + hidden)
    backward = per_row * (2 * hidden + features + (features if input_grad else 0))
    return forward, forward + backward


def _rate(matmul, make, m, k, n, seconds=0.2):
    a, b = make((m, k)), make((k, n))
    matmul(a, b)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        matmul(a, b)
        runs += 1
    return 2 * m * k * n * runs / (time.perf_counter() - start) / 1e9


def gemm_rates():
    """{framework: best float32 GEMM GFLOP/s} over GEMM_SHAPES, NumPy's BLAS (what
    somanet calls) and PyTorch's when installed."""
    import numpy
    rng = numpy.random.default_rng(0)
    rates = {"numpy": max(_rate(numpy.matmul, lambda s: rng.standard_normal(s, numpy.float32),
                                *shape) for shape in GEMM_SHAPES)}
    try:
        import torch
    except ImportError:
        return rates
    rates["torch"] = max(_rate(torch.matmul, lambda s: torch.randn(s), *shape)
                         for shape in GEMM_SHAPES)
    return rates


def describe(rates):
    return "GEMM floor (float32, best of " + ", ".join(
        "x".join(map(str, shape)) for shape in GEMM_SHAPES) + "): " + ", ".join(
        f"{name} {rate:.0f} GFLOP/s" for name, rate in rates.items())


if __name__ == "__main__":
    import argparse
    import os
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    threads = str(parser.parse_args().threads)
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = threads
    try:
        import torch
        torch.set_num_threads(int(threads))
    except ImportError:
        pass
    print(describe(gemm_rates()))
