"""Per-call overhead of the core, side by side with PyTorch (CPU) when it is installed.

    python benchmarks/overhead.py [--repeat 7]

Prints microseconds per call and the ratio torch_time / somanet_time (above 1 means
somanet is faster) for:
  add16        a + b on 16 float32 elements, forward only (no graph)
  add16_grad   a + b on 16 elements that require grad (records the graph)
  fwd_bwd16    (a * b + c).sum() forward and backward on 16 elements
  matmul256    256x256 @ 256x256 forward and backward
"""
import argparse
import os
import timeit

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

# somanet before NumPy: it sets how OpenBLAS's threads wait (backend/blas_threads.py)
import somanet as sn  # noqa: E402
import numpy as np  # noqa: E402


def somanet_cases():
    rng = np.random.default_rng(0)
    small = [rng.standard_normal(16).astype(np.float32) for _ in range(3)]
    big = [rng.standard_normal((256, 256)).astype(np.float32) for _ in range(2)]
    a, b = sn.tensor(small[0]), sn.tensor(small[1])
    ga, gb, gc = (sn.tensor(v, requires_grad=True) for v in small)
    ma, mb = (sn.tensor(v, requires_grad=True) for v in big)

    def fwd_bwd16():
        (ga * gb + gc).sum().backward()

    def matmul256():
        (ma @ mb).sum().backward()

    return {"add16": lambda: a + b, "add16_grad": lambda: ga + gb, "fwd_bwd16": fwd_bwd16,
            "matmul256": matmul256}


def torch_cases():
    import torch
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    small = [torch.from_numpy(rng.standard_normal(16).astype(np.float32)) for _ in range(3)]
    big = [torch.from_numpy(rng.standard_normal((256, 256)).astype(np.float32))
           for _ in range(2)]
    a, b = small[0], small[1]
    ga, gb, gc = (v.clone().requires_grad_() for v in small)
    ma, mb = (v.clone().requires_grad_() for v in big)

    def fwd_bwd16():
        (ga * gb + gc).sum().backward()

    def matmul256():
        (ma @ mb).sum().backward()

    return {"add16": lambda: a + b, "add16_grad": lambda: ga + gb, "fwd_bwd16": fwd_bwd16,
            "matmul256": matmul256}


def microseconds(function, repeat):
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    ours = somanet_cases()
    try:
        theirs = torch_cases()
        import torch
        peer = f"torch {torch.__version__}"
    except ImportError:
        theirs, peer = {}, None
        print("PyTorch is not installed: pip install torch==2.13.0 to compare")
    print(f"{'case':<12} {'somanet us':>11} {'torch us':>10} {'torch/somanet':>14}")
    for name, function in ours.items():
        mine = microseconds(function, args.repeat)
        if name in theirs:
            other = microseconds(theirs[name], args.repeat)
            print(f"{name:<12} {mine:>11.2f} {other:>10.2f} {other / mine:>14.2f}")
        else:
            print(f"{name:<12} {mine:>11.2f}")
    print(f"somanet {sn.__version__}, numpy {np.__version__}" + (f", {peer}" if peer else ""))


if __name__ == "__main__":
    main()
