"""Seed 002, "Building a DL Network Using MXNet": the NDArray walk-through, in somanet.

MXNet's NDArray is "essentially a NumPy array" that also has a device (MXNet
says "context"): the CPU or one of the GPUs. somanet's Tensor is the same
idea. The article's lines and their somanet spelling:

    nd.empty((4, 5))                      sn.empty((4, 5))       whatever was in memory
    nd.zeros((4, 5))                      sn.zeros((4, 5))
    x.shape, x.size                       x.shape, x.size        (2, 7) and 14
    y = x.asnumpy()                       y = x.numpy()
    z = nd.array(y)                       z = sn.tensor(y)
    nd.zeros(shape=(5, 5), ctx=mx.gpu(0)) sn.zeros((5, 5), device=sn.gpu(0))
    y = x.copyto(mx.gpu(1))               y = x.to(sn.gpu(1))    the 2nd GPU
    x.context                             x.device
    DataCtx = mx.cpu()                    data_device = sn.cpu()
    ModelCtx = mx.gpu(0)                  model_device = sn.gpu(0)

"The operations in an NDArray are just like the ones in NumPy": arithmetic,
indexing and slicing work the same way on a Tensor, on any device.

somanet never copies between devices silently: combining a CPU tensor with a
GPU tensor is an error that names both devices, and ``x.to(device)`` is the
one explicit copy (like ``copyto``). The same goes for a model: its
parameters live on ``model_device``, the data is moved there to meet them.

On a machine without a GPU (or without CuPy) the GPU steps are skipped, with
a note; ``sn.gpu_count()`` says how many GPUs somanet sees. This article
shows no figure, so the example saves none (``--out`` is accepted for
uniformity with the other examples).

    python examples/ndarray_tour.py
"""
import argparse

import numpy as np

import somanet as sn
from somanet import nn


def main(out=None, seed=0):
    """Walk through the NDArray section on the CPU, and on the GPU(s) when there are any.

    Returns:
        A dict of what the tour found: shapes, sizes, devices, the NumPy round trip, the
        GPU count and which GPU steps ran.
    """
    sn.manual_seed(seed)
    found = {}

    # "To create a new NDArray consisting of 4 rows and 5 columns": uninitialised memory,
    # "the output will differ every time you run it".
    x = sn.empty((4, 5))
    print("sn.empty((4, 5)):\n", x)
    found["empty_shape"] = x.shape
    # "If you want the NDArray to have just zeros instead"
    x = sn.zeros((4, 5))
    print("sn.zeros((4, 5)):\n", x)
    found["zeros_sum"] = x.sum().item()

    # ".shape, just like in NumPy" and ".size", the total number of elements
    x = sn.empty((2, 7))
    print("x = sn.empty((2, 7)); x.shape =", x.shape, " x.size =", x.size)
    found["shape"], found["size"] = x.shape, x.size

    # "Contents are also accessed in the same way, through indexing and slicing"
    x = sn.arange(14, dtype="float32").reshape(2, 7)
    print("x = sn.arange(14).reshape(2, 7):\n", x)
    print("x[1, 2:5] =", x[1, 2:5], " x * 2 + 1 =", (x * 2 + 1)[0, :3], "...")
    found["slice"] = x[1, 2:5].tolist()

    # "turn an NDArray into a more familiar data structure from the NumPy package"
    y = x.numpy()  # asnumpy(): on the CPU this shares the memory, no copy
    print("y = x.numpy():", type(y).__name__, y.dtype, y.shape)
    z = sn.tensor(y)  # "the reverse can be achieved using the array() function"
    print("z = sn.tensor(y):", type(z).__name__, z.dtype, z.shape)
    found["round_trip"] = bool(np.array_equal(z.numpy(), y)) and isinstance(y, np.ndarray)

    # A device per tensor ("context"): the CPU here.
    print("x.device =", x.device, " (MXNet: x.context)")
    found["device"] = str(x.device)
    found["cpu_is_a_singleton"] = sn.device("cpu") is sn.cpu() is x.device

    # The GPU steps, only where a GPU exists.
    count = sn.gpu_count()
    found["gpu_count"] = count
    found["gpu_steps"] = []
    print(f"\nsn.gpu_count() = {count}")
    if count == 0:
        print("no GPU (or no CuPy): skipping sn.zeros(..., device=sn.gpu(0)), x.to(sn.gpu(1)) "
              "and the model on the GPU")
    else:
        # "an empty array of zeros that you want to assign to the first GPU"
        a = sn.zeros((5, 5), device=sn.gpu(0))
        print("a = sn.zeros((5, 5), device=sn.gpu(0)); a.device =", a.device)
        found["gpu_steps"].append("zeros on gpu:0")
        # "copy the data of NDArray x to the 2nd GPU" (the first when there is only one)
        target = sn.gpu(1) if count > 1 else sn.gpu(0)
        on_gpu = x.to(target)
        print(f"x.to({target}) -> device {on_gpu.device}; back with .to(sn.cpu()): equal =",
              np.array_equal(on_gpu.to(sn.cpu()).numpy(), x.numpy()))
        found["gpu_steps"].append(f"copy to {target}")
        # Devices never mix silently: the error names both sides.
        try:
            x + on_gpu
        except (ValueError, TypeError, RuntimeError) as error:
            print("x (cpu) + x on the GPU ->", type(error).__name__, ":", error)
            found["gpu_steps"].append("mixing devices is an error")

    # "define the context of both the data and the models, using a separate variable for each"
    data_device = sn.cpu()  # DataCtx = mx.cpu()
    model_device = sn.gpu(0) if count else sn.cpu()  # ModelCtx = mx.gpu(0)
    model = nn.Sequential(nn.Dense(5, 3, activation="relu"), nn.Dense(3, 1)).to(model_device)
    data = sn.randn(4, 5, device=data_device)
    prediction = model(data.to(model_device))  # move the data to the model, explicitly
    print(f"\ndata on {data.device}, model on {model[0].weight.device} -> prediction on "
          f"{prediction.device}, shape {prediction.shape}")
    found["prediction_device"] = str(prediction.device)
    if count:
        found["gpu_steps"].append("model on gpu:0")
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 002's MXNet NDArray walk-through.")
    parser.add_argument("--out", default=None, help="unused: this section shows no figure")
    main(out=parser.parse_args().out)
