"""Layer 2: the model layer. ``Module`` and the layers built on it, initialisers
(``nn.init``) and loss classes.

    >>> import somanet as sn
    >>> from somanet import nn
    >>> model = nn.Sequential(nn.Dense(4, activation="sigmoid"), nn.Dense(1))
    >>> model(sn.ones(2, 3)).shape      # the Dense layers learn their input size here
    (2, 1)
    >>> model.num_parameters()
    21

Layers take Keras-style arguments where Keras has them (``Dense(128,
activation="relu")``, ``Conv2D(32, 3, padding="same")``, ``kernel_initializer=``)
and PyTorch's otherwise (``Linear(784, 128)``, ``Conv2D(1, 6, 5)``,
``state_dict()``, ``train()`` / ``eval()``). Images are NCHW.
"""
from . import init
from .parameter import Parameter
from .module import Module
from .serialization import register_layer
from .container import ModuleDict, ModuleList, ParameterList, Sequential
from . import activation
from .activation import (ELU, GELU, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax,
                         Softplus, Step, Tanh)
from .linear import Dense, Linear
from .conv import Conv1D, Conv2D, ConvTranspose2D
from .pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from .shape import Flatten, Reshape
from .dropout import Dropout
from .normalization import BatchNorm1D, BatchNorm2D, LayerNorm
from .embedding import Embedding
from .recurrent import GRU, LSTM, RNN, RepeatVector, TimeDistributed
from .attention import AdditiveAttention, Attention
from .merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MAELoss, MSELoss, NLLLoss, SmoothL1Loss, SSELoss)
