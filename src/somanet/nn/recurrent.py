"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU``, stacked and optionally bidirectional.

Each layer is usable both ways: Keras's ``LSTM(64, return_sequences=False,
return_state=False)`` on (batch, time, features), a plain tensor out so it fits in
``Sequential``; and PyTorch's ``LSTM(input_size, hidden_size, num_layers=,
bidirectional=, batch_first=)`` returning ``(output, (h_n, c_n))``. Which one a
layer is follows from how it is built (see ``LSTM``); the computation, the
parameters and their names are the same. ``RepeatVector`` and ``TimeDistributed``
complete Keras's sequence shapes (one-to-many, many-to-many).

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
from ..backend import to_numpy
from ..tensor import Tensor
from . import init as _init
from ._build import check_input_shape, check_size, device_and_dtype, shape_of
from .module import Module
from .parameter import Parameter


class _Recurrent(Module):
    """What RNN, LSTM and GRU share: sizes, parameters, the stack of layers and directions,
    the two calling conventions (Keras's and PyTorch's) and the layout checks."""

    kind = None  # "rnn", "lstm" or "gru"

    def __init__(self, size=None, hidden_size=None, num_layers=1, bias=True, batch_first=None,
                 dropout=0.0, bidirectional=False, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", *,
                 input_size=None, units=None, return_sequences=None, return_state=None,
                 input_shape=None, use_bias=None):
        super().__init__()
        name = type(self).__name__
        # PyTorch's spelling (two sizes, or its keywords) picks PyTorch's conventions; one
        # size (Keras's units) or a Keras keyword picks Keras's. See _FORMS_DOC.
        pytorch_spelling = ((size is not None and hidden_size is not None)
                            or input_size is not None or hidden_size is not None
                            or batch_first is not None)
        keras = return_sequences is not None or return_state is not None or not pytorch_spelling
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
        if input_shape is not None:  # Keras: (timesteps, features), timesteps may be None
            shape = tuple(input_shape)
            if len(shape) != 2:
                raise ValueError(f"{name}: input_shape is (timesteps, features) of one "
                                 f"sample, got {input_shape!r}")
            if input_size is not None and input_size != shape[-1]:
                raise ValueError(f"{name}: input_shape={input_shape!r} has {shape[-1]} "
                                 f"features, but input_size={input_size}")
            input_size = shape[-1]
        self.input_shape = check_input_shape(self, input_shape, 2, what="(timesteps, features)")
        self.hidden_size = check_size(self, "hidden_size", hidden_size)
        self.input_size = check_size(self, "input_size", input_size, allow_none=True)
        self.num_layers = check_size(self, "num_layers", num_layers)
        self.dropout = check_fraction(self, "dropout", dropout, what="a probability in [0, 1)")
        self.use_bias = bool(bias if use_bias is None else use_bias)
        self.keras = keras
        self.batch_first = keras if batch_first is None else bool(batch_first)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
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

    # -- the layout -------------------------------------------------------------------------

    @property
    def layout(self):
        """The input's axes as this layer reads them: ``"(batch, time, features)"`` or
        ``"(time, batch, features)"``, and why (the convention or ``batch_first``)."""
        axes = "(batch, time, features)" if self.batch_first else "(time, batch, features)"
        if self.keras:
            why = "Keras's layout" if self.batch_first else "batch_first=False"
        else:
            why = "batch_first=True" if self.batch_first else \
                "PyTorch's default; batch_first=True for (batch, time, features)"
        return f"{axes} ({why})"

    def _check_input(self, x):
        """A 3-D float input, or an error that says what the layer reads and, for a 2-D
        input, that its layout is ambiguous."""
        if not isinstance(x, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(x).__name__}")
        if x.ndim == 2 and x.dtype.kind in "iub":
            raise ValueError(f"got integer ids of shape {x.shape}; a recurrent layer reads "
                             f"float features {self.layout}: put an Embedding(vocabulary, "
                             f"dim) before it, or one-hot the ids")
        if x.ndim == 2:
            first, second = x.shape
            one_sequence = (1, first, second) if self.batch_first else (first, 1, second)
            single_steps = (first, 1, second) if self.batch_first else (1, first, second)
            raise ValueError(
                f"got a 2-D input of shape {x.shape}, which is ambiguous: one sequence of "
                f"{first} steps (time, features), or {first} sequences of one step (batch, "
                f"features)? This layer reads 3-D {self.layout}; add the missing axis: "
                f"x.reshape{one_sequence} for one sequence, x.reshape{single_steps} for "
                f"one-step sequences")
        if x.ndim != 3:
            raise ValueError(f"expected a 3-D input {self.layout}, got shape {shape_of(x)}")

    def _check_features(self, x):
        if x.shape[2] == self.input_size:
            return
        message = (f"expected inputs with {self.input_size} features (the last axis of "
                   f"{self.layout}), got shape {x.shape} with {x.shape[2]}")
        others = [axis for axis in (0, 1) if x.shape[axis] == self.input_size]
        if others:
            message += (f"; axis {others[0]} has {self.input_size}: if those are the features, "
                        f"move them last (x.swapaxes({others[0]}, 2))")
        raise ValueError(message)

    def _sizes(self, x):
        """(batch, steps) of ``x`` in this layer's layout."""
        return (x.shape[0], x.shape[1]) if self.batch_first else (x.shape[1], x.shape[0])

    def _layout_hint(self, found, batch, steps):
        """A hint for a batch size ``found`` that matches the time axis instead."""
        if found != batch and found == steps:
            return (f"; the input's time axis has {steps}: is it in the other layout? This "
                    f"layer reads {self.layout}")
        return ""

    def _step_mask(self, x, lengths, mask):
        """The real steps as a boolean (T, B) Tensor (time-major, as the ops take it), from
        ``lengths`` (B,) or ``mask`` (in the input's layout); ``None`` for neither."""
        if lengths is None and mask is None:
            return None
        if lengths is not None and mask is not None:
            raise TypeError("give lengths= or mask=, not both")
        batch, steps = self._sizes(x)
        xp = x.device.xp
        if lengths is not None:
            values = xp.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
            if values.dtype.kind not in "iu" or values.ndim != 1:
                raise TypeError(f"lengths must be one int per sequence, shape ({batch},), got "
                                f"{values.dtype} of shape {values.shape}")
            if values.shape != (batch,):
                raise ValueError(f"lengths must have one entry per sequence, ({batch},), got "
                                 f"{values.shape}" + self._layout_hint(values.shape[0], batch,
                                                                        steps))
            if values.size and (int(values.min()) < 0 or int(values.max()) > steps):
                raise ValueError(f"lengths must lie in [0, {steps}] (the input has {steps} "
                                 f"steps), got {to_numpy(values).tolist()}")
            return Tensor(xp.arange(steps)[:, None] < values[None, :])
        values = xp.asarray(mask.data if isinstance(mask, Tensor) else mask)
        expected = (batch, steps) if self.batch_first else (steps, batch)
        if values.shape != expected:
            hint = ""
            if values.shape == expected[::-1] and batch != steps:
                hint = f"; that is the other layout: this layer reads {self.layout}"
            names = "(batch, time)" if self.batch_first else "(time, batch)"
            raise ValueError(f"mask must have shape {names} = {expected} for an input of "
                             f"shape {x.shape}, got {values.shape}{hint}")
        if values.dtype.kind != "b":
            if values.dtype.kind not in "iuf" or bool(((values != 0) & (values != 1)).any()):
                raise ValueError(f"mask must hold booleans (True, or 1, at real steps), got "
                                 f"dtype {values.dtype}")
            values = values != 0
        if self.batch_first:
            values = xp.ascontiguousarray(values.T)
        return Tensor(values)

    # -- forward ----------------------------------------------------------------------------

    def forward(self, x, state=None, *, initial_state=None, lengths=None, mask=None):
        self._check_input(x)
        if not self._built():
            self.build(x)
        self._check_features(x)
        batch, steps = self._sizes(x)
        step_mask = self._step_mask(x, lengths, mask)
        if initial_state is not None:
            if state is not None:
                raise TypeError("give the initial state once: state (PyTorch's layout) or "
                                "initial_state= (Keras's list), not both")
            state = self._from_keras_state(initial_state)
        if self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        initial = self._initial_states(state, batch, steps, x)
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
                                   bool(direction), step_mask)
                outputs.append(result[0])
                for found, final in zip(finals, result[1:]):
                    found.append(final)
            x = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=2)
        if self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        if not self.keras:
            finals = [ops.stack(found) for found in finals]
            return x, (finals[0] if len(finals) == 1 else tuple(finals))
        last = (self.num_layers - 1) * self.num_directions
        directions = [[found[last + d] for found in finals] for d in range(self.num_directions)]
        if self.return_sequences:
            output = x
        elif self.num_directions == 1:
            output = directions[0][0]
        else:  # Keras's Bidirectional: both directions' last states, forward first
            output = ops.concatenate([states[0] for states in directions], axis=1)
        if not self.return_state:
            return output
        return (output,) + tuple(s for states in directions for s in states)

    def _state_names(self):
        return ("h0", "c0") if self.kind == "lstm" else ("h0",)

    def _from_keras_state(self, initial_state):
        """Keras's ``initial_state`` (a list of (B, H) tensors: h[, c] per direction) as the
        PyTorch layout's state (each (num_directions, B, H))."""
        names = self._state_names()
        states = [initial_state] if isinstance(initial_state, Tensor) else list(initial_state)
        wanted = len(names) * self.num_directions
        what = ", ".join(name[0] for name in names)
        if self.num_layers != 1:
            raise TypeError(f"initial_state= (Keras's (batch, units) states) is for one layer; "
                            f"with num_layers={self.num_layers} give state=("
                            f"{', '.join(names)}), each (num_layers * num_directions, B, H)")
        if len(states) != wanted or not all(isinstance(s, Tensor) and s.ndim == 2
                                            for s in states):
            found = [tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
                     for s in states]
            raise ValueError(f"initial_state must be {wanted} tensors of shape (batch, "
                             f"{self.hidden_size}): {what}"
                             f"{' for each direction (forward first)' if self.bidirectional else ''}"
                             f", got {found}")
        stacked = [ops.stack(states[k::len(names)]) for k in range(len(names))]
        return stacked[0] if len(stacked) == 1 else tuple(stacked)

    def _initial_states(self, state, batch, steps, x):
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
                hint = self._layout_hint(value.shape[1], batch, steps) if value.ndim == 3 \
                    else ""
                raise ValueError(f"the initial state {name} must have shape (num_layers * "
                                 f"num_directions, B, hidden_size) = {expected}, got "
                                 f"{value.shape}{hint}")
            if value.dtype != x.dtype:
                raise TypeError(f"the initial state {name} has dtype {value.dtype}, but the "
                                f"input has {x.dtype}")
        return states

    def extra_repr(self):
        if self.keras:
            text = f"{self.hidden_size}"
            if self.input_size is not None:
                text += f", input_size={self.input_size}"
        else:
            text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.use_bias:
            text += ", bias=False"
        if self.batch_first != self.keras:
            text += f", batch_first={self.batch_first}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        if self.return_sequences:
            text += ", return_sequences=True"
        if self.return_state:
            text += ", return_state=True"
        return text


_SHARED_DOC = """
    Two spellings, one layer; how it is built decides what a call returns and how
    the input is read:

    - Keras's form, ``{name}(64)`` (or ``units=64``, or any constructor given
      ``return_sequences`` / ``return_state``): the input is (batch, time, features);
      a call returns the last output (B, D*H), or every step's (B, T, D*H) with
      ``return_sequences=True``; ``return_state=True`` returns the tuple
      ``(output, {keras_state_names})``, each state (B, H).
    - PyTorch's form, ``{name}(input_size, hidden_size)`` (or the keywords
      ``input_size=``, ``hidden_size=``, ``batch_first=``): the input is
      (time, batch, features) unless ``batch_first=True``; a call returns
      ``(output, {torch_return})``, the output every step's.

    ``batch_first`` sets the layout in either form. A Keras-form layer fits in
    ``Sequential`` (``Sequential([nn.{name}(64), nn.Dense(10)])``). The input size is
    taken from the first input unless given (``input_size`` or Keras's
    ``input_shape=(timesteps, features)``). An input that does not fit is an error
    that names the layout the layer reads; a 2-D input is refused as ambiguous
    (one sequence, or a batch of one-step sequences?).

    Args:
        size: the hidden size when given alone; the input size when
            ``hidden_size`` is also given (PyTorch's order).
        hidden_size: the number of units H of each layer.
        num_layers: how many layers are stacked; layer k+1 reads layer k's output.
        bias: learn biases (Keras's ``use_bias``).
        batch_first: the input (and output sequence) is (B, T, features) rather than
            (T, B, features). Default: True in the Keras form, False in PyTorch's.
            States keep (num_layers * num_directions, B, H) in PyTorch's form.
        dropout: the probability of dropping each output of every layer but the
            last, in training (as PyTorch).
        bidirectional: add a layer running from the last step to the first; the
            output concatenates both directions' features (forward first), as
            Keras's ``Bidirectional(..., merge_mode="concat")``.
        kernel_initializer: for ``weight_ih``; default Glorot uniform (Keras).
        recurrent_initializer: for ``weight_hh``; default orthogonal (Keras).
        bias_initializer: for the biases; default zeros.
        return_sequences: (Keras form) return every step's output, not only the last.
        return_state: (Keras form) also return the final states of the last layer,
            each (B, H): {keras_state_list} (Keras's ``Bidirectional`` order).
        input_size, units, input_shape, use_bias: the keyword spellings (PyTorch's
            and Keras's).{extra}

    Call: ``layer(x, state=None, *, initial_state=None, lengths=None, mask=None)``.
        state: the initial states in PyTorch's layout{state_text}, each
            (num_layers * D, B, H); zeros when omitted.
        initial_state: the same in Keras's form, a list of (B, H) tensors
            ({keras_state_list}); one layer only.
        lengths: (B,) ints, the real length of each right-padded sequence; or
        mask: booleans in the input's layout ((B, T) or (T, B)), True at real steps
            (Keras's mask). At padded steps the state is carried and the output is zero,
            so padded sequences give the same outputs and final states as unpadded ones
            (the reverse direction starts at each sequence's last real step).

    Shape (D = 2 if bidirectional else 1):
        x: (B, T, in) in the Keras form, (T, B, in) in PyTorch's (``batch_first``
        swaps them); the output sequence: the same layout with D*H features, every
        step's hidden state of the last layer; PyTorch's h_n{c_shape}:
        (num_layers * D, B, H), the last state of every layer and direction, layer by
        layer (forward direction first).
"""


class RNN(_Recurrent):
    """Elman RNN layers: ``h_t = act(x_t @ weight_ih + h_{t-1} @ weight_hh + bias)``,
    act = tanh (default) or relu.

    Parameters (per layer k; ``_reverse`` for the backward direction):
    ``weight_ih_l{k}`` (in, H), ``weight_hh_l{k}`` (H, H), ``bias_l{k}`` (H,).
    {shared}
        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.RNN(16)(sn.ones(4, 10, 3)).shape          # Keras: (batch, time, features)
        (4, 16)
        >>> rnn = nn.RNN(3, 16, num_layers=2, batch_first=True)     # PyTorch
        >>> out, h_n = rnn(sn.ones(4, 10, 3))
        >>> out.shape, h_n.shape
        ((4, 10, 16), (2, 4, 16))
    """

    kind = "rnn"

    def __init__(self, size=None, hidden_size=None, num_layers=1, nonlinearity="tanh",
                 bias=True, batch_first=None, dropout=0.0, bidirectional=False, **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, **kwargs)

    def _run(self, x, states, params, reverse, mask):
        return ops.rnn_sequence(x, states[0], *params, nonlinearity=self.nonlinearity,
                                reverse=reverse, mask=mask)

    def extra_repr(self):
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + ", nonlinearity='relu'"


class LSTM(_Recurrent):
    """Long short-term memory layers, gates i, f, g, o (PyTorch's order)::

        i, f, g, o = split(x_t @ weight_ih + h_{t-1} @ weight_hh + bias)  # H columns each
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    Hochreiter & Schmidhuber (1997), with the forget gate of Gers, Schmidhuber &
    Cummins (2000). A PyTorch-form call with ``state = (h0, c0)`` returns
    ``(output, (h_n, c_n))``; a missing state (or a ``None`` in the pair) is zeros.

    Parameters (per layer k; ``_reverse`` for the backward direction):
    ``weight_ih_l{k}`` (in, 4H), ``weight_hh_l{k}`` (H, 4H), ``bias_l{k}`` (4H,),
    column blocks i, f, g, o. One bias: PyTorch's ``bias_ih + bias_hh``.
    {shared}

        >>> import somanet as sn
        >>> from somanet import nn
        >>> model = nn.Sequential(nn.LSTM(32), nn.Dense(10))   # Keras: many-to-one
        >>> model(sn.ones(64, 28, 28)).shape                  # (batch, time, features)
        (64, 10)
        >>> seq, h, c = nn.LSTM(32, return_sequences=True, return_state=True)(
        ...     sn.ones(64, 28, 28))
        >>> seq.shape, h.shape, c.shape
        ((64, 28, 32), (64, 32), (64, 32))
        >>> lstm = nn.LSTM(28, 128)                 # PyTorch: in 28, hidden 128, (T, B, F)
        >>> out, (h_n, c_n) = lstm(sn.ones(28, 64, 28))
        >>> out.shape, h_n.shape, c_n.shape
        ((28, 64, 128), (1, 64, 128), (1, 64, 128))
    """

    kind = "lstm"

    def __init__(self, size=None, hidden_size=None, num_layers=1, bias=True, batch_first=None,
                 dropout=0.0, bidirectional=False, unit_forget_bias=True, **kwargs):
        self.unit_forget_bias = bool(unit_forget_bias)
        super().__init__(size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, **kwargs)

    def _forget_bias(self):
        return self.unit_forget_bias

    def _run(self, x, states, params, reverse, mask):
        return ops.lstm_sequence(x, states[0], states[1], *params, reverse=reverse, mask=mask)


class GRU(_Recurrent):
    """Gated recurrent unit layers, gates r, z, n, PyTorch's formulation (the reset gate
    is applied after the recurrent product, Keras's ``reset_after=True``)::

        a = x_t @ weight_ih + bias_ih,  u = h_{t-1} @ weight_hh + bias_hh  # blocks r, z, n
        r = sigmoid(a_r + u_r),  z = sigmoid(a_z + u_z)
        n = tanh(a_n + r * u_n)
        h_t = (1 - z) * n + z * h_{t-1}

    Cho et al. (2014). A PyTorch-form call ``gru(x, h0=None)`` returns ``(output, h_n)``.

    Parameters (per layer k; ``_reverse`` for the backward direction):
    ``weight_ih_l{k}`` (in, 3H), ``weight_hh_l{k}`` (H, 3H), ``bias_ih_l{k}`` and
    ``bias_hh_l{k}`` (3H,), column blocks r, z, n. Two biases, as PyTorch, because
    ``bias_hh``'s n block sits inside ``r * u_n``.
    {shared}
        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.GRU(32, bidirectional=True)(sn.ones(2, 7, 5)).shape    # Keras
        (2, 64)
        >>> gru = nn.GRU(5, 32, bidirectional=True)                   # PyTorch, (T, B, F)
        >>> out, h_n = gru(sn.ones(7, 2, 5))
        >>> out.shape, h_n.shape
        ((7, 2, 64), (2, 2, 32))
    """

    kind = "gru"

    def _run(self, x, states, params, reverse, mask):
        return ops.gru_sequence(x, states[0], *params, reverse=reverse, mask=mask)


_LSTM_ARGS = """
        unit_forget_bias: start the forget-gate bias at 1 (added to the bias
            initialiser's values), as Keras does by default."""

for _cls in (RNN, LSTM, GRU):
    _lstm = _cls is LSTM
    _doc = _cls.__doc__.replace("{shared}", _SHARED_DOC.format(
        name=_cls.__name__, c_shape=", c_n" if _lstm else "",
        extra=_LSTM_ARGS if _lstm else "",
        keras_state_names="h, c" if _lstm else "h",
        keras_state_list="h, c per direction" if _lstm else "h per direction",
        torch_return="(h_n, c_n)" if _lstm else "h_n",
        state_text=", a pair (h0, c0)" if _lstm else " (h0)"))
    _cls.__doc__ = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ ]+\n", "\n", _doc))


# -- the sequence shapes' helpers (Keras's) -------------------------------------------------

class RepeatVector(Module):
    """Repeat each input vector ``n`` times along a new time axis (Keras's
    ``RepeatVector``): the one-to-many shape feeds one vector to every step of a
    recurrent layer.

    Args:
        n: how many steps.

    Shape:
        (B, features) -> (B, n, features).

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.RepeatVector(28)(sn.ones(5, 10)).shape
        (5, 28, 10)
    """

    def __init__(self, n):
        super().__init__()
        self.n = check_size(self, "n", n)

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim != 2:
            raise ValueError(f"expected a 2-D input (batch, features), got shape "
                             f"{shape_of(x)}")
        batch, features = x.shape
        return ops.broadcast_to(ops.reshape(x, (batch, 1, features)),
                                (batch, self.n, features))

    def extra_repr(self):
        return str(self.n)


class TimeDistributed(Module):
    """Apply ``layer`` to every time step on its own (Keras's ``TimeDistributed``): the
    many-to-many shape's per-step output layer.

    The batch and time axes are merged, ``layer`` runs once on (B*T, ...), and the
    result is split back. (A ``Dense`` already acts on the last axis of any input,
    so ``TimeDistributed(Dense(n))`` and ``Dense(n)`` are the same; other layers,
    e.g. a ``Conv2D`` per video frame, need the wrapper.)

    Args:
        layer: the Module applied at each step.

    Shape:
        (B, T, *in) -> (B, T, *out), where ``layer`` maps (N, *in) -> (N, *out).

        >>> import somanet as sn
        >>> from somanet import nn
        >>> nn.TimeDistributed(nn.Dense(3))(sn.ones(4, 7, 16)).shape
        (4, 7, 3)
    """

    def __init__(self, layer):
        super().__init__()
        if not isinstance(layer, Module):
            raise TypeError(f"TimeDistributed wraps a Module, got {type(layer).__name__}")
        self.layer = layer

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim < 3:
            raise ValueError(f"expected an input (batch, time, ...) with at least 3 axes, got "
                             f"shape {shape_of(x)}")
        batch, steps = x.shape[0], x.shape[1]
        out = self.layer(ops.reshape(x, (batch * steps,) + tuple(x.shape[2:])))
        if not isinstance(out, Tensor) or out.ndim < 1 or out.shape[0] != batch * steps:
            raise ValueError(f"the wrapped {type(self.layer).__name__} must return one row per "
                             f"(batch, time) step, ({batch * steps}, ...), got "
                             f"{shape_of(out)}")
        return ops.reshape(out, (batch, steps) + tuple(out.shape[1:]))
