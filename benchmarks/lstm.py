"""LSTM speed, side by side with PyTorch (CPU, 2 threads) when it is installed.

    python benchmarks/lstm.py [--threads 2] [--repeat 30] [--warmup 5] [--rounds 5] [--steps 28]
                              [--batch 64]

The workload of the benchmarks issue (W4): the 28 rows of an MNIST image as a
sequence of 28 features, ``LSTM(28 -> 128)`` over 28 steps on a batch of 64.
``--threads`` sets both frameworks' thread count (OpenBLAS's for NumPy, through
its environment variable before NumPy loads; ``torch.set_num_threads`` for
PyTorch); 2 by default, as the benchmarks issue asks. Each case is timed
``--repeat`` times in ``--rounds`` blocks, the two frameworks taking turns block after
block, each block after a pause and ``--warmup`` untimed runs (``timing.milliseconds``);
the median is printed, with the ratio torch_time / somanet_time (above 1 means somanet
is faster):

  fwd_bwd   forward, then backward from the last hidden state (h_n.sum()), as a
            classifier on the last state does; the input needs no gradient
  fwd_seq   forward and backward from the whole output sequence (out.sum())
  forward   forward only, without a graph (inference)

GFLOP/s (the matrix products, ``floor.lstm_flops``) are printed beside the times, after
the GEMM rate each framework's BLAS reaches in the same process. Both frameworks start
from the same weights (somanet's are PyTorch's,
transposed, with one bias b_ih + b_hh); the outputs are compared before timing.
"""
import argparse
import os


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--batch", type=int, default=64)
    return parser.parse_args()


ARGS = _arguments() if __name__ == "__main__" else None
THREADS = str(ARGS.threads if ARGS else 2)
# BLAS reads its thread count when NumPy loads, so this comes first.
os.environ["OMP_NUM_THREADS"] = THREADS
os.environ["OPENBLAS_NUM_THREADS"] = THREADS

# somanet before NumPy: it sets how OpenBLAS's threads wait (backend/blas_threads.py)
import somanet as sn  # noqa: E402
import numpy as np  # noqa: E402
from somanet import nn  # noqa: E402
from floor import describe, gemm_rates, lstm_flops  # noqa: E402
from timing import milliseconds  # noqa: E402

FEATURES, HIDDEN = 28, 128


def somanet_cases(x, weights):
    lstm = nn.LSTM(FEATURES, HIDDEN)
    if weights is not None:
        for name, value in weights.items():
            getattr(lstm, name).data[...] = value
    inputs = sn.tensor(x)

    def fwd_bwd():
        _, (h_n, _) = lstm(inputs)
        h_n.sum().backward()

    def fwd_seq():
        out, _ = lstm(inputs)
        out.sum().backward()

    def forward():
        with sn.no_grad():
            return lstm(inputs)

    return lstm, {"fwd_bwd": fwd_bwd, "fwd_seq": fwd_seq, "forward": forward}


def torch_cases(x):
    import torch
    torch.set_num_threads(int(THREADS))
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(FEATURES, HIDDEN)
    inputs = torch.from_numpy(x)

    def fwd_bwd():
        _, (h_n, _) = lstm(inputs)
        h_n.sum().backward()

    def fwd_seq():
        out, _ = lstm(inputs)
        out.sum().backward()

    def forward():
        with torch.no_grad():
            return lstm(inputs)

    weights = {"weight_ih_l0": lstm.weight_ih_l0.detach().numpy().T,
               "weight_hh_l0": lstm.weight_hh_l0.detach().numpy().T,
               "bias_l0": (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()}
    return weights, {"fwd_bwd": fwd_bwd, "fwd_seq": fwd_seq, "forward": forward}


def main(args):
    x = np.random.default_rng(0).standard_normal((args.steps, args.batch, FEATURES),
                                                 dtype=np.float32)
    try:
        weights, theirs = torch_cases(x)
        import torch
        peer = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        weights, theirs, peer = None, {}, None
        print("PyTorch is not installed: pip install torch==2.13.0 to compare")
    lstm, ours = somanet_cases(x, weights)
    if theirs:
        mine, other = ours["forward"]()[0].numpy(), theirs["forward"]()[0].numpy()
        np.testing.assert_allclose(mine, other, rtol=1e-4, atol=1e-5)
    print(f"LSTM({FEATURES} -> {HIDDEN}), {args.steps} steps, batch {args.batch}, float32, "
          f"{THREADS} thread(s); median of {args.repeat}")
    print(describe(gemm_rates()))
    print(f"{'case':<9} {'somanet ms':>11} {'torch ms':>9} {'torch/somanet':>14} "
          f"{'GFLOP/s':>8} {'torch':>6}")
    forward_flops, backward_flops = lstm_flops(args.steps, args.batch, FEATURES, HIDDEN)
    for name, function in ours.items():
        flops = forward_flops if name == "forward" else backward_flops
        if name in theirs:
            mine, other = milliseconds([function, theirs[name]], args.repeat, args.warmup,
                                       args.rounds)
            print(f"{name:<9} {mine:>11.2f} {other:>9.2f} {other / mine:>14.2f} "
                  f"{flops / mine / 1e6:>8.1f} {flops / other / 1e6:>6.1f}")
        else:
            (mine,) = milliseconds([function], args.repeat, args.warmup, args.rounds)
            print(f"{name:<9} {mine:>11.2f} {'':>9} {'':>14} {flops / mine / 1e6:>8.1f}")
    print(f"somanet {sn.__version__}, numpy {np.__version__}" + (f", {peer}" if peer else ""))


if __name__ == "__main__":
    main(ARGS)
