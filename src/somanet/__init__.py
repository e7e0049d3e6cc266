"""somanet: a deep learning framework on NumPy (CPU) and CuPy (GPU).

    >>> import somanet as sn
    >>> x = sn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])

The layers, bottom up: ``backend`` (devices, dtypes, RNG),
``tensor`` / ``autograd`` / ``ops``, then the model layer and above.
"""
from ._version import __version__

# backend first: it sets how OpenBLAS's threads wait before NumPy loads (blas_threads).
from . import backend  # noqa: F401
# tensor first: ops and autograd import the Tensor class from it.
from .tensor import Tensor, from_dlpack
from .backend import (Device, bool_, cpu, device, float16, float32, float64, get_default_dtype,
                      get_rng_state, gpu, gpu_count, gpu_memory, int8, int16, int32, int64,
                      manual_seed, set_default_dtype, set_rng_state, uint8)
from .autograd import (Function, GradcheckError, GraphGrowthWarning, detect_anomaly,
                       enable_grad, grad, gradcheck, is_grad_enabled, no_grad, set_grad_enabled)
from .ops import *  # noqa: F401,F403  (the functional API: sn.exp, sn.matmul, sn.zeros...)
from . import ops
from . import nd  # MXNet's NDArray names: nd.zeros((4, 5), ctx=nd.gpu(0)), x.asnumpy()...
from . import nn  # layer 2: Module, layers, initialisers, loss classes
from .nn import (GRU, LSTM, RNN, AvgPool2D, BatchNorm1D, BatchNorm2D, Conv1D, Conv2D,
                 ConvTranspose2D, Dense, Dropout, ELU, Embedding, Flatten, GELU, GlobalAvgPool2D,
                 Identity, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2D, Module,
                 ModuleDict, ModuleList, Parameter, ReLU, Reshape, Sequential, Sigmoid, Softmax,
                 Softplus, Step, Tanh)
from . import optim  # layer 2: optimisers, gradient clipping, learning-rate schedules
from . import data, io  # layer 3: datasets and loaders; safetensors weights and checkpoints
from .data import datasets  # somanet.datasets: mnist_small(), mnist(path), xor(), load_csv()...
__import__("sys").modules[__name__ + ".datasets"] = datasets  # `from somanet.datasets import x`
from . import graph  # layer 3: trace / @function, TensorFlow-style graphs and sessions
from . import onnx  # layer 3: ONNX export, load and backend (the onnx package on first use)
from . import distributed  # layer 4: data parallelism over MPI (mpi4py only under mpiexec)
from . import viz  # layer 5: plots (matplotlib imported lazily, only when drawing)
from . import train  # layer 5: Model, Sequential, Input, compile/fit/evaluate/predict, callbacks
from .train import Input, Model, Sequential, load_model, lr_find  # Sequential: train's (nn.Sequential + fit)
from .nn import register_layer  # makes a user's layer rebuildable by load_model
from . import models  # layer 5: the model zoo (quickstart, mlp, lenet, lstm_classifier...)
