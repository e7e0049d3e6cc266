"""Convolution and pooling speed, side by side with PyTorch (CPU, 2 threads) when installed.

    python benchmarks/conv.py [--repeat 50] [--warmup 5] [--rounds 5] [--batch 64]
                              [--threads 2] [CASE ...]

The LeNet workloads of the benchmarks issue, float32, batch 64:

  conv1      Conv2D(1 -> 6, 5x5, pad 2) on (64, 1, 28, 28); the input is data, so
             backward computes the weight and bias gradients only (LeNet's first layer)
  conv1+dx   the same with the input gradient too
  conv2      Conv2D(6 -> 16, 5x5) on (64, 6, 14, 14); input, weight and bias gradients
  conv3      Conv2D(32 -> 64, 3x3, pad 1) on (64, 32, 16, 16), a larger layer; all gradients
  conv4      Conv2D(64 -> 64, 3x3, pad 1) on (64, 64, 8, 8): many channels, small outputs
             (somanet's batch-merged im2col layout; the others run per sample)
  vgg        Conv2D(64 -> 64, 3x3, pad 1) on (64, 64, 32, 32): a VGG-style block's layer
  maxpool1   MaxPool2D(2) on (64, 6, 28, 28)
  maxpool2   MaxPool2D(2) on (64, 16, 10, 10)
  avgpool1   AvgPool2D(2) on (64, 6, 28, 28)
  avgpool2   AvgPool2D(2) on (64, 16, 10, 10)

Each case is forward then backward from a fixed output gradient (``fwd_bwd``),
and forward alone without a graph (``forward``). Cases are timed ``--repeat`` times
in all, in ``--rounds`` blocks, the two frameworks taking turns block after block
(the machine may be shared); each block starts with a pause and ``--warmup``
untimed runs (``timing.milliseconds``: not run after run, for the reason given there).
The median is printed with the ratio torch_time / somanet_time (above 1 means somanet
is faster). Both frameworks get the same data, and the outputs and gradients are
compared before timing.
``--threads`` sets both frameworks' threads (BLAS and PyTorch); 2 is the issue's
setting, 1 gives steadier numbers on a machine other jobs share. The convolutions'
GFLOP/s (``floor.conv_flops``) are printed beside the times, after the GEMM rate each
framework's BLAS reaches in the same process (``floor.gemm_rates``).
"""
import argparse
import os
import sys


def _threads():
    """--threads, read before NumPy loads (BLAS fixes its thread count then)."""
    for index, arg in enumerate(sys.argv):
        if arg == "--threads" and index + 1 < len(sys.argv):
            return sys.argv[index + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "2"


os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = _threads()

# somanet before NumPy: it sets how OpenBLAS's threads wait (backend/blas_threads.py)
import somanet as sn  # noqa: E402
import numpy as np  # noqa: E402
from floor import conv_flops, describe, gemm_rates  # noqa: E402
from timing import milliseconds  # noqa: E402


def workloads(batch):
    """name -> (input shape, weight shape or None, keyword arguments, input needs grad)."""
    return {
        "conv1": ((batch, 1, 28, 28), (6, 1, 5, 5), dict(padding=2), False),
        "conv1+dx": ((batch, 1, 28, 28), (6, 1, 5, 5), dict(padding=2), True),
        "conv2": ((batch, 6, 14, 14), (16, 6, 5, 5), dict(), True),
        "conv3": ((batch, 32, 16, 16), (64, 32, 3, 3), dict(padding=1), True),
        "conv4": ((batch, 64, 8, 8), (64, 64, 3, 3), dict(padding=1), True),
        "vgg": ((batch, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), True),
        "maxpool1": ((batch, 6, 28, 28), None, dict(kernel_size=2), True),
        "maxpool2": ((batch, 16, 10, 10), None, dict(kernel_size=2), True),
        "avgpool1": ((batch, 6, 28, 28), None, dict(kernel_size=2), True),
        "avgpool2": ((batch, 16, 10, 10), None, dict(kernel_size=2), True),
    }


def make_case(framework, data, weight, kwargs, input_grad, pool="max"):
    """(fwd_bwd, forward, gradients) closures for one framework on one workload
    (``pool``: "max" or "avg", for a pooling workload)."""
    if framework == "torch":
        import torch
        as_tensor, functional = torch.from_numpy, torch.nn.functional
        conv, no_grad = functional.conv2d, torch.no_grad
    else:
        as_tensor, functional, conv, no_grad = sn.tensor, sn, sn.conv2d, sn.no_grad
    pool = getattr(functional, f"{pool}_pool2d")
    x = as_tensor(data["x"])
    x.requires_grad = input_grad
    leaves = [x] if input_grad else []
    if weight is not None:
        w, b = as_tensor(data["w"]), as_tensor(data["b"])
        w.requires_grad = b.requires_grad = True
        leaves += [w, b]
        run = lambda: conv(x, w, b, **kwargs)  # noqa: E731
    else:
        run = lambda: pool(x, **kwargs)  # noqa: E731
    grad_out = {}

    def fwd_bwd():
        for leaf in leaves:
            leaf.grad = None
        out = run()
        if "g" not in grad_out:  # the same fixed output gradient for both frameworks
            seed = np.random.default_rng(1).standard_normal(tuple(out.shape), np.float32)
            grad_out["g"] = as_tensor(seed)
        out.backward(grad_out["g"])

    def forward():
        with no_grad():
            return run()

    def gradients():
        fwd_bwd()
        return [np.asarray(leaf.grad.numpy()) for leaf in leaves]

    return fwd_bwd, forward, gradients


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5,
                        help="blocks the runs are split into, the frameworks taking turns")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads")
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help=f"cases to run (default: all of {list(workloads(1))})")
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(args.threads)
        peer = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        peer = None
        print("PyTorch is not installed: pip install torch==2.13.0 to compare")
    rng = np.random.default_rng(0)
    print(f"float32, batch {args.batch}; median of {args.repeat} runs in {args.rounds} blocks, "
          f"each after a pause and at least {args.warmup} warm-up runs")
    print(describe(gemm_rates()))
    print(f"{'case':<10} {'pass':<8} {'somanet ms':>11} {'torch ms':>9} {'torch/somanet':>14} "
          f"{'GFLOP/s':>8} {'torch':>6}")
    cases = workloads(args.batch)
    unknown = [name for name in args.cases if name not in cases]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(cases)}")
    for name, (shape, weight, kwargs, input_grad) in cases.items():
        if args.cases and name not in args.cases:
            continue
        data = {"x": rng.standard_normal(shape, np.float32)}
        if weight is not None:
            data["w"] = rng.standard_normal(weight, np.float32) * 0.2
            data["b"] = rng.standard_normal(weight[:1], np.float32)
        pool = "avg" if name.startswith("avgpool") else "max"
        ours = make_case("somanet", data, weight, kwargs, input_grad, pool)
        theirs = make_case("torch", data, weight, kwargs, input_grad, pool) if peer else None
        if theirs:
            np.testing.assert_allclose(ours[1]().numpy(), theirs[1]().numpy(), rtol=1e-4,
                                       atol=1e-4)
            for mine, other in zip(ours[2](), theirs[2]()):
                # gradients are sums over the batch and positions (65,536 terms for vgg):
                # float32 round-off scales with the largest of them
                scale = max(1.0, float(np.abs(other).max()))
                np.testing.assert_allclose(mine, other, rtol=1e-3, atol=1e-5 * scale)
        forward_flops, fwd_bwd_flops = (None, None) if weight is None else conv_flops(
            shape, weight, ours[1]().shape[2:], input_grad)
        for label, index in (("fwd_bwd", 0), ("forward", 1)):
            flops = fwd_bwd_flops if index == 0 else forward_flops
            rate = (lambda ms: "" if flops is None else  # noqa: E731
                    f"{flops / ms / 1e6:>6.1f}")
            if theirs:
                mine, other = milliseconds([ours[index], theirs[index]], args.repeat,
                                           args.warmup, args.rounds)
                print(f"{name:<10} {label:<8} {mine:>11.3f} {other:>9.3f} {other / mine:>14.2f} "
                      f"{rate(mine):>8} {rate(other):>6}")
            else:
                (mine,) = milliseconds([ours[index]], args.repeat, args.warmup, args.rounds)
                print(f"{name:<10} {label:<8} {mine:>11.3f} {'':>9} {'':>14} {rate(mine):>8}")
    print(f"somanet {sn.__version__}, numpy {np.__version__}" + (f", {peer}" if peer else ""))


if __name__ == "__main__":
    main()
