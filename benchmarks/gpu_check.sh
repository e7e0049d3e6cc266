#!/usr/bin/env bash
# The GPU check, in one run of a few minutes, on a machine with a CUDA GPU where CuPy,
# PyTorch, numba and pytest are already installed (nothing is downloaded; somanet runs
# from this checkout's src/). Logs go to $OUT (or /tmp/gpu_check):
#   info.log      CuPy, CUDA, the GPU, `somanet info`
#   marked.log    pytest -m gpu: the tests written for a GPU (fit, DLPack, NCCL, nd, ...)
#   device.log    the strict-device tests (op registry forward and gradients, layers,
#                 optimisers, losses and metrics, fit, checkpoints, models) on gpu:0
#   bench.log     benchmarks/gpu.py: eager steps against PyTorch CUDA, batch 256
#   bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
export PYTHONPATH="$PWD/src:$PWD" PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
status=0

$python - <<'PY' 2>&1 | tee "$out/info.log" || status=1
import cupy, numpy, torch
print("cupy", cupy.__version__, "numpy", numpy.__version__, "torch", torch.__version__,
      "cuda runtime", cupy.cuda.runtime.runtimeGetVersion())
import somanet.cli
somanet.cli.main(["info"])
PY
timeout 150 $python -m pytest -q -p no:cacheprovider -m gpu -rs 2>&1 |
    tee "$out/marked.log" || status=1
SOMANET_TEST_DEVICE=gpu:0 timeout 300 $python -m pytest -q -p no:cacheprovider \
    --maxfail=20 tests/ops/test_registry_strict.py tests/nn/test_layers_strict.py \
    tests/optim/test_optim_strict.py tests/train/test_strict.py \
    tests/models/test_models_strict.py tests/io/test_checkpoint.py tests/backend/test_random.py \
    tests/test_nd.py 2>&1 | tee "$out/device.log" || status=1
timeout 150 $python benchmarks/gpu.py --device gpu:0 --batch 256 2>&1 |
    tee "$out/bench.log" || status=1
exit $status
