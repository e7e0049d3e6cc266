"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU``, stacked and optionally bidirectional.

Each layer (and direction) of the stack is one fused op from
``somanet.ops.recurrent``: the input projection of all steps in one matrix
product, one ``(B, H) @ (H, G*H)`` product a step for the G gates together,
and back-propagation through time in one reverse loop.

Weights use somanet's ``(in, out)`` layout (as ``Linear`` and Keras), so the
gate pre-activations are ``x_t @ weight_ih + h_{t-1} @ weight_hh + bias``,
with the gates in blocks of ``hidden_size`` columns, in PyTorch's order:

===== ======= ================================= ============================
layer blocks  weight_ih / weight_hh              bias
===== ======= ================================= ============================
RNN   h       (in, H) / (H, H)                  ``bias_l{k}`` (H,)
LSTM  i f g o (in, 4H) / (H, 4H)                ``bias_l{k}`` (4H,)
GRU   r z n   (in, 3H) / (H, 3H)                ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H,)
===== ======= ================================= ============================

Parameters are named as PyTorch names them (``weight_ih_l0``, ``weight_hh_l0``,
``..._reverse`` for the backward direction), but transposed, and RNN/LSTM keep
one bias (PyTorch's ``bias_ih + bias_hh``). Loading PyTorch weights::

    ours.weight_ih_l0.data[...] = torch_lstm.weight_ih_l0.detach().numpy().T
    ours.weight_hh_l0.data[...] = torch_lstm.weight_hh_l0.detach().numpy().T
    ours.bias_l0.data[...] = (torch_lstm.bias_ih_l0 + torch_lstm.bias_hh_l0).detach().numpy()

Initialisation follows Keras: ``weight_ih`` Glorot uniform, ``weight_hh``
orthogonal, biases zero, and the LSTM forget-gate bias one
(``unit_forget_bias=True``, so the cell remembers by default at the start of
training; Jozefowicz et al. 2015).
"""
import re

from .. import ops
from .._checks import check_fraction
from ..ops.recurrent import GATES
from ..tensor import Tensor
from . import init as _init
from ._build import check_size, device_and_dtype, shape_of
from .module import Module
from .parameter import Parameter


class _Recurrent(Module):
    """What RNN, LSTM and GRU share: sizes, parameters, the stack of layers and directions."""

    kind = None  # "rnn", "lstm" or "gru"

    def __init__(self, size=None, hidden_size=None, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", *,
                 input_size=None, units=None):
        super().__init__()
        name = type(self).__name__
        if units is not None:
            if hidden_size is not None:
                raise TypeError(f"{name}: give units= or hidden_size, not both")
            hidden_size = units
        if hidden_size is None:  # Keras: LSTM(128); input_size from the first input
            hidden_size = size
        elif size is not None:  # PyTorch: LSTM(input_size, hidden_size)
            if input_size is not None:
                raise TypeError(f"{name}: input_size given twice ({size} and "
                                f"input_size={input_size})")
            input_size = size
        if hidden_size is None:
            raise TypeError(f"{name} needs the hidden size: {name}(128), or "
                            f"{name}(input_size, hidden_size)")
        self.hidden_size = check_size(self, "hidden_size", hidden_size)
        self.input_size = check_size(self, "input_size", input_size, allow_none=True)
        self.num_layers = check_size(self, "num_layers", num_layers)
        self.dropout = check_fraction(self, "dropout", dropout, what="a probability in [0, 1)")
        self.use_bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bidirectional = bool(bidirectional)
        self.kernel_initializer = _init.get(kernel_initializer)
        self.recurrent_initializer = _init.get(recurrent_initializer)
        self.bias_initializer = _init.get(bias_initializer)
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                for role in self._roles():
                    self.register_parameter(self._name(role, layer, direction), None)
        if self.input_size is not None:
            self._create(None, None)

    # -- parameters -------------------------------------------------------------------------

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    def _roles(self):
        biases = () if not self.use_bias else ("bias_ih", "bias_hh") if self.kind == "gru" \
            else ("bias",)
        return ("weight_ih", "weight_hh") + biases

    @staticmethod
    def _name(role, layer, direction):
        return f"{role}_l{layer}{'_reverse' if direction else ''}"

    def _create(self, device, dtype):
        gates = GATES[self.kind] * self.hidden_size
        for layer in range(self.num_layers):
            layer_in = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for direction in range(self.num_directions):
                shapes = {"weight_ih": (layer_in, gates), "weight_hh": (self.hidden_size, gates),
                          "bias": (gates,), "bias_ih": (gates,), "bias_hh": (gates,)}
                initializers = {"weight_ih": self.kernel_initializer,
                                "weight_hh": self.recurrent_initializer}
                for role in self._roles():
                    array = _init.create(initializers.get(role, self.bias_initializer),
                                         shapes[role], dtype, device)
                    if role == "bias" and self._forget_bias():
                        h = self.hidden_size
                        array[h:2 * h] += 1  # the f block of i, f, g, o
                    setattr(self, self._name(role, layer, direction), Parameter(array))

    def _forget_bias(self):
        return False

    def _built(self):
        return self.weight_ih_l0 is not None

    def _after_load(self):
        self.input_size = self.weight_ih_l0.shape[0]

    def build(self, x):
        """Create the parameters for inputs like ``x`` (what the first call does)."""
        self.input_size = int(x.shape[-1])
        self._create(*device_and_dtype(x))

    def layer_parameters(self, layer=0, direction=0):
        """The parameters of one layer and direction, in the fused op's argument order:
        ``(weight_ih, weight_hh[, biases])``."""
        return tuple(getattr(self, self._name(role, layer, direction))
                     for role in self._roles())

    # -- forward ----------------------------------------------------------------------------

    def forward(self, x, state=None):
        if not isinstance(x, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(x).__name__}")
        layout = "(B, T, features)" if self.batch_first else "(T, B, features)"
        if x.ndim != 3:
            raise ValueError(f"expected a 3-D input {layout}"
                             f"{' (batch_first=True)' if self.batch_first else ''}, got shape "
                             f"{shape_of(x)}")
        if not self._built():
            self.build(x)
        if x.shape[2] != self.input_size:
            raise ValueError(f"expected inputs with {self.input_size} features, {layout}, got "
                             f"shape {x.shape}")
        if self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        batch = x.shape[1]
        initial = self._initial_states(state, batch, x)
        finals = [[] for _ in initial]  # per state kind, one tensor per layer and direction
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout and self.training:
                x = ops.dropout(x, self.dropout)
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                states = [None if s is None else s[index] for s in initial]
                states = [ops.zeros(batch, self.hidden_size, dtype=x.dtype, device=x.device)
                          if s is None else s for s in states]
                result = self._run(x, states, self.layer_parameters(layer, direction),
                                   bool(direction))
                outputs.append(result[0])
                for found, final in zip(finals, result[1:]):
                    found.append(final)
            x = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=2)
        if self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        finals = [ops.stack(found) for found in finals]
        return x, (finals[0] if len(finals) == 1 else tuple(finals))

    def _state_names(self):
        return ("h0", "c0") if self.kind == "lstm" else ("h0",)

    def _initial_states(self, state, batch, x):
        """The initial state(s) as a list (one per state kind: h, and c for an LSTM), each a
        (num_layers * num_directions, B, H) tensor or ``None`` for zeros."""
        names = self._state_names()
        if state is None:
            return [None] * len(names)
        if len(names) == 2:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(f"the initial state of an LSTM is a pair (h0, c0), got "
                                f"{type(state).__name__}")
            states = list(state)
        else:
            states = [state]
        expected = (self.num_layers * self.num_directions, batch, self.hidden_size)
        for name, value in zip(names, states):
            if value is None:
                continue
            if not isinstance(value, Tensor):
                raise TypeError(f"the initial state {name} must be a Tensor, got "
                                f"{type(value).__name__}")
            if value.shape != expected:
                raise ValueError(f"the initial state {name} must have shape (num_layers * "
                                 f"num_directions, B, hidden_size) = {expected}, got "
                                 f"{value.shape}")
            if value.dtype != x.dtype:
                raise TypeError(f"the initial state {name} has dtype {value.dtype}, but the "
                                f"input has {x.dtype}")
        return states

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.use_bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


_SHARED_DOC = """
    Build it Keras's way, ``{name}(128)`` (the input size is taken from the first
    input, and the parameters appear then on its device), or PyTorch's way,
    ``{name}(input_size, hidden_size[, num_layers])``.

    Args:
        size: the hidden size when given alone; the input size when
            ``hidden_size`` is also given (PyTorch's order).
        hidden_size: the number of units H of each layer.
        num_layers: how many layers are stacked; layer k+1 reads layer k's output.
        bias: learn biases.
        batch_first: the input and output are (B, T, features) instead of
            (T, B, features). The states keep (num_layers * num_directions, B, H).
        dropout: the probability of dropping each output of every layer but the
            last, in training (as PyTorch).
        bidirectional: add a layer running from the last step to the first; the
            output concatenates both directions' features (forward first).
        kernel_initializer: for ``weight_ih``; default Glorot uniform (Keras).
        recurrent_initializer: for ``weight_hh``; default orthogonal (Keras).
        bias_initializer: for the biases; default zeros.
        input_size, units: the keyword spellings (PyTorch's and Keras's).{extra}

    Shape:
        x: (T, B, in) or, with ``batch_first``, (B, T, in);
        output: (T, B, D*H) or (B, T, D*H), every step's hidden state of the
        last layer (D = 2 if bidirectional else 1);
        h_n{c_shape}: (num_layers * D, B, H), the last state of every layer
        and direction, layer by layer (forward direction first).
"""


class RNN(_Recurrent):
    """Elman RNN layers: ``h_t = act(x_t @ weight_ih + h_{t-1} @ weight_hh + bias)``,
    act = tanh (default) or relu.

    ``forward(x, h0=None)`` returns ``(output, h_n)``; ``h0`` defaults to zeros.

    Parameters (per layer k; ``_reverse`` for the backward direction):
    ``weight_ih_l{k}`` (in, H), ``weight_hh_l{k}`` (H, H), ``bias_l{k}`` (H,).
    {shared}
        >>> import somanet as sn
        >>> from somanet import nn
        >>> rnn = nn.RNN(16, num_layers=2, batch_first=True)
        >>> out, h_n = rnn(sn.ones(4, 10, 3))
        >>> out.shape, h_n.shape
        ((4, 10, 16), (2, 4, 16))
    """

    kind = "rnn"

    def __init__(self, size=None, hidden_size=None, num_layers=1, nonlinearity="tanh",
                 bias=True, batch_first=False, dropout=0.0, bidirectional=False, **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, **kwargs)

    def _run(self, x, states, params, reverse):
        return ops.rnn_sequence(x, states[0], *params, nonlinearity=self.nonlinearity,
                                reverse=reverse)

    def extra_repr(self):
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + ", nonlinearity='relu'"


class LSTM(_Recurrent):
    """Long short-term memory layers, gates i, f, g, o (PyTorch's order)::

        i, f, g, o = split(x_t @ weight_ih + h_{t-1} @ weight_hh + bias)  # H columns each
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    ``forward(x, state=None)`` with ``state = (h0, c0)`` returns
    ``(output, (h_n, c_n))``; a missing state (or a ``None`` in the pair) is zeros.

    Parameters (per layer k; ``_reverse`` for the backward direction):
    ``weight_ih_l{k}`` (in, 4H), ``weight_hh_l{k}`` (H, 4H), ``bias_l{k}`` (4H,),
    column blocks i, f, g, o. One bias: PyTorch's ``bias_ih + bias_hh``.
    {shared}

        >>> import somanet as sn
        >>> from somanet import nn
        >>> lstm = nn.LSTM(28, 128)                 # PyTorch order: in 28, hidden 128
        >>> out, (h_n, c_n) = lstm(sn.ones(28, 64, 28))
        >>> out.shape, h_n.shape, c_n.shape
        ((28, 64, 128), (1, 64, 128), (1, 64, 128))
    """

    kind = "lstm"

    def __init__(self, size=None, hidden_size=None, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, unit_forget_bias=True, **kwargs):
        self.unit_forget_bias = bool(unit_forget_bias)
        super().__init__(size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, **kwargs)

    def _forget_bias(self):
        return self.unit_forget_bias

    def _run(self, x, states, params, reverse):
        return ops.lstm_sequence(x, states[0], states[1], *params, reverse=reverse)


class GRU(_Recurrent):
    """Gated recurrent unit layers, gates r, z, n, PyTorch's formulation (the reset gate
    is applied after the recurrent product, Keras's ``reset_after=True``)::

        a = x_t @ weight_ih + bias_ih,  u = h_{t-1} @ weight_hh + bias_hh  # blocks r, z, n
        r = sigmoid(a_r + u_r),  z = sigmoid(a_z + u_z)
        n = tanh(a_n + r * u_n)
        h_t = (1 - z) * n + z * h_{t-1}

    ``forward(x, h0=None)`` returns ``(output, h_n)``.

    Parameters (per layer k; ``_reverse`` for the backward direction):
    ``weight_ih_l{k}`` (in, 3H), ``weight_hh_l{k}`` (H, 3H), ``bias_ih_l{k}`` and
    ``bias_hh_l{k}`` (3H,), column blocks r, z, n. Two biases, as PyTorch, because
    ``bias_hh``'s n block sits inside ``r * u_n``.
    {shared}
        >>> import somanet as sn
        >>> from somanet import nn
        >>> gru = nn.GRU(32, bidirectional=True)
        >>> out, h_n = gru(sn.ones(7, 2, 5))
        >>> out.shape, h_n.shape
        ((7, 2, 64), (2, 2, 32))
    """

    kind = "gru"

    def _run(self, x, states, params, reverse):
        return ops.gru_sequence(x, states[0], *params, reverse=reverse)


_LSTM_ARGS = """
        unit_forget_bias: start the forget-gate bias at 1 (added to the bias
            initialiser's values), as Keras does by default."""

for _cls in (RNN, LSTM, GRU):
    _doc = _cls.__doc__.replace("{shared}", _SHARED_DOC.format(
        name=_cls.__name__, c_shape=", c_n" if _cls is LSTM else "",
        extra=_LSTM_ARGS if _cls is LSTM else ""))
    _cls.__doc__ = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ ]+\n", "\n", _doc))
