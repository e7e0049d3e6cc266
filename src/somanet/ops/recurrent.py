"""Recurrent ops: a whole sequence through one RNN, LSTM or GRU layer, as one Function.

Each op runs one layer in one direction over all time steps. Unrolling the
cell into per-step ops would record about a dozen graph nodes a step; one
fused Function records one node for the whole sequence and does the work in
few, large array operations:

- forward: the input projection of every step in ONE matrix product up front
  (``X (T*B, in) @ W_ih (in, G*H)``), then a loop over time with one
  ``(B, H) @ (H, G*H)`` product a step for the recurrent part (the G gates
  fused into one product), and the gate arithmetic done in place in
  preallocated buffers;
- backward: back-propagation through time in one reverse loop (one
  ``(B, G*H) @ (G*H, H)`` product a step), stacking the gradients of the
  gate pre-activations; ``dW_hh``, ``dW_ih``, the bias gradients and ``dx``
  are then each ONE matrix product (or sum) over all steps.

Layout (time-major; the layers in ``somanet.nn`` handle ``batch_first``):
x (T, B, in), states (B, H), ``weight_ih`` (in, G*H), ``weight_hh`` (H, G*H),
so ``gates = x_t @ weight_ih + h_{t-1} @ weight_hh + bias``, the ``(in, out)``
weight convention of ``linear``. The G blocks of H columns are the gates, in
PyTorch's order:

    RNN  (G=1)     h_t = act(x_t W_ih + h_{t-1} W_hh + b)          act = tanh or relu

    LSTM (G=4)     i, f, g, o = split(x_t W_ih + h_{t-1} W_hh + b)
                   i = sigmoid(i), f = sigmoid(f), g = tanh(g), o = sigmoid(o)
                   c_t = f * c_{t-1} + i * g
                   h_t = o * tanh(c_t)

    GRU  (G=3)     r, z, n columns; a = x_t W_ih + b_ih, u = h_{t-1} W_hh + b_hh
                   r = sigmoid(a_r + u_r), z = sigmoid(a_z + u_z)
                   n = tanh(a_n + r * u_n)                 (reset applied after W_hn)
                   h_t = (1 - z) * n + z * h_{t-1}

Masking (padded sequences): each op takes an optional boolean ``mask`` (T, B),
True where a step is real. At a masked step the state is carried unchanged
(``h_t = h_{t-1}``, and ``c_t = c_{t-1}`` for the LSTM) and the output is zero,
so a right-padded sequence ends with the state of its last real step, and the
reverse direction starts at its last real step: padded and unpadded sequences
give the same outputs and final states. The mask is the op's last input
(``masked=True`` says it is there); it gets no gradient.

RNN and LSTM take one bias of G*H (Keras' choice; PyTorch's ``b_ih + b_hh``
is the same thing in two pieces). GRU takes two, ``bias_ih`` and ``bias_hh``
of 3*H each, because ``b_hn`` sits inside ``r * (h W_hn + b_hn)``.

Speed notes. The sigmoids are computed as ``0.5 * tanh(0.5 * x) + 0.5`` (the
same function): the 0.5 is folded into a scaled copy of the weights once per
sequence, so each step applies ONE ``tanh`` to all G*H gate columns and one
multiply-add turns the sigmoid columns into ``sigmoid``. An input-side bias
rides along in the projection's product as an extra row of the weight (and
an extra column of ones in x), so it costs no pass over the (T, B, G*H)
gates. The LSTM's per-step gate arithmetic is ``backend.kernels_recurrent``
(a numba kernel on the CPU, NumPy calls elsewhere).
"""
from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels_recurrent import lstm_cell_backward, lstm_step_forward
from ..backend.kernels_special import tanh
from ..tensor import Tensor

# How many gate blocks each cell has, and the order they are laid out in.
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
GATE_ORDER = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def _sigmoid_affine(xp, kind, hidden, dtype):
    """``scale`` and ``shift`` over the G*H gate columns: the pre-activations are
    multiplied by ``scale`` before one tanh, and ``tanh * scale + shift`` then is
    the sigmoid on sigmoid columns (scale 0.5, shift 0.5) and tanh on tanh
    columns (scale 1, shift 0)."""
    scale = xp.full(GATES[kind] * hidden, 0.5, dtype=dtype)
    shift = xp.full(GATES[kind] * hidden, 0.5, dtype=dtype)
    tanh_columns = slice(2 * hidden, 3 * hidden)  # LSTM's g, GRU's n
    scale[tanh_columns] = 1
    shift[tanh_columns] = 0
    return scale, shift


def _flip(array):
    return array[::-1]


def _split_mask(rest, masked, reverse):
    """The biases and the mask among an op's trailing inputs: ``(biases, mask, carry)``,
    the mask (T, B) in processing order and ``carry`` (T, B, 1) True where a step is
    masked (its state carried), or ``None`` twice when there is no mask."""
    if not masked:
        return rest, None, None
    mask = rest[-1]
    if reverse:
        mask = _flip(mask)
    return rest[:-1], mask, ~mask[:, :, None]


def _masked_output(states, mask):
    """The output sequence h_1..h_T, zero at masked steps (a new array when masked)."""
    out = states[1:]
    return out if mask is None else out * mask[:, :, None]


def _input_rows(x, bias):
    """``x`` as (T*B, in) rows, with a column of ones appended when there is an input-side
    bias: the bias then rides along in the projection's product (a row of the weight),
    and its gradient in dW_ih's (a row of the result), with no pass of its own."""
    steps, batch, features = x.shape
    rows = x.reshape(steps * batch, features)
    if bias is None:
        return rows
    augmented = xp_of(x).empty((steps * batch, features + 1), dtype=x.dtype)
    augmented[:, :features] = rows
    augmented[:, features] = 1
    return augmented


def _input_projection(rows, weight_ih, bias, x_shape, scale=None):
    """``x @ weight_ih + bias`` for all T*B rows in one product, as (T, B, G*H),
    with its columns multiplied by ``scale`` when given."""
    weight = weight_ih if bias is None else xp_of(rows).concatenate([weight_ih, bias[None]])
    if scale is not None:
        weight = weight * scale
    return (rows @ weight).reshape(x_shape[0], x_shape[1], weight.shape[1])


def _weight_grads(ctx, first_weight, rows, weight_ih, grad_gates, hidden_before,
                  grad_hidden_gates=None):
    """dx, dW_ih, dW_hh and the bias gradient(s) from the stacked gate gradients,
    each one product over all steps.

    ``first_weight`` is the position of weight_ih among the op's inputs (the
    weights and biases follow it); ``rows`` are the inputs from ``_input_rows``;
    ``hidden_before`` (T, B, H) are h_0..h_{T-1}; ``grad_hidden_gates`` (GRU
    only) is the gradient of the hidden-side pre-activations where it differs
    from the input side's.
    """
    steps, batch, hidden = hidden_before.shape
    features, width = weight_ih.shape[0], grad_gates.shape[2]
    needs = ctx.needs_input_grad
    has_bias = ctx.num_biases > 0
    grad_rows = grad_gates.reshape(steps * batch, width)
    hidden_rows = grad_rows if grad_hidden_gates is None else \
        grad_hidden_gates.reshape(steps * batch, width)
    grad_x = grad_w_ih = grad_w_hh = grad_b = None
    if needs[0]:
        grad_x = (grad_rows @ weight_ih.T).reshape(steps, batch, features)
        if ctx.reverse:
            grad_x = _flip(grad_x)
    if needs[first_weight]:
        both = rows.T @ grad_rows  # dW_ih, and the bias's gradient as the last row
        grad_w_ih = both[:features]
        grad_b = both[features] if has_bias else None
    elif has_bias and needs[first_weight + 2]:
        grad_b = grad_rows.sum(axis=0)
    if needs[first_weight + 1]:
        grad_w_hh = hidden_before.reshape(steps * batch, hidden).T @ hidden_rows
    biases = ()
    if has_bias:
        biases = (grad_b if needs[first_weight + 2] else None,)
    if ctx.num_biases > 1:  # the GRU's hidden-side bias
        biases += (hidden_rows.sum(axis=0) if needs[first_weight + 3] else None,)
    return grad_x, grad_w_ih, grad_w_hh, biases


class RNNSequence(Function):
    """The Elman RNN over a sequence: ``h_t = act(x_t W_ih + h_{t-1} W_hh + b)``.

    Inputs x (T, B, in), h0 (B, H), weight_ih (in, H), weight_hh (H, H), bias (H,)
    (optional). Outputs the hidden sequence (T, B, H) and h_T (B, H).
    Backward: dpre_t = (dh_t + dout_t) * act'(h_t), dh_{t-1} = dpre_t W_hh^T.
    """

    def forward(ctx, x, h0, weight_ih, weight_hh, *rest, nonlinearity="tanh", reverse=False,
                masked=False):
        xp = xp_of(x)
        biases, mask, carry = _split_mask(rest, masked, reverse)
        bias = biases[0] if biases else None
        if reverse:
            x = _flip(x)
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        rows = _input_rows(x, bias)
        projected = _input_projection(rows, weight_ih, bias, x.shape)
        states = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        states[0] = h0
        for t in range(steps):
            h = states[t + 1]
            xp.matmul(states[t], weight_hh, out=h)
            h += projected[t]
            if nonlinearity == "tanh":
                tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
            if carry is not None:
                xp.copyto(h, states[t], where=carry[t])
        ctx.save_for_backward(rows, weight_ih, weight_hh, states, mask)
        ctx.nonlinearity, ctx.reverse, ctx.num_biases = nonlinearity, reverse, len(biases)
        out = _masked_output(states, mask)
        return (_flip(out) if reverse else out), states[steps].copy()

    def backward(ctx, grad_out, grad_h_n):
        rows, weight_ih, weight_hh, states, mask = ctx.saved
        xp = xp_of(states)
        if ctx.reverse:
            grad_out = _flip(grad_out)
        carry = None
        if mask is not None:
            grad_out = grad_out * mask[:, :, None]
            carry = ~mask[:, :, None]
        outputs = states[1:]
        if ctx.nonlinearity == "tanh":
            slope = outputs * outputs
            xp.subtract(1, slope, out=slope)
        else:
            slope = (outputs > 0).astype(outputs.dtype)
        weight_hh_t = xp.ascontiguousarray(weight_hh.T)  # a faster GEMM operand than .T
        grad_pre = xp.empty_like(outputs)
        grad_h = grad_h_n.copy()
        for t in range(states.shape[0] - 2, -1, -1):
            grad_h += grad_out[t]
            xp.multiply(grad_h, slope[t], out=grad_pre[t])
            if carry is not None:  # a masked step passes dh on unchanged
                xp.copyto(grad_pre[t], 0, where=carry[t])
                held = grad_h.copy()
            xp.matmul(grad_pre[t], weight_hh_t, out=grad_h)
            if carry is not None:
                xp.copyto(grad_h, held, where=carry[t])
        grad_x, grad_w_ih, grad_w_hh, biases = _weight_grads(ctx, 2, rows, weight_ih, grad_pre,
                                                             states[:-1])
        grad_h0 = grad_h if ctx.needs_input_grad[1] else None
        return (grad_x, grad_h0, grad_w_ih, grad_w_hh) + biases + _mask_grad(mask)


class LSTMSequence(Function):
    """The LSTM over a sequence, gates i, f, g, o (see the module docstring).

    Inputs x (T, B, in), h0 (B, H), c0 (B, H), weight_ih (in, 4H),
    weight_hh (H, 4H), bias (4H,) (optional). Outputs the hidden sequence
    (T, B, H), h_T and c_T (B, H).

    Saved for BPTT: the gate activations (T, B, 4H), the cell states
    c_0..c_T, tanh(c_t) and the hidden states h_0..h_T. Backward, a step:
    dc_t += dh_t * o * (1 - tanh(c_t)^2); d(i, f, g, o) = (dc_t g, dc_t c_{t-1},
    dc_t i, dh_t tanh(c_t)) times the activation slopes; dc_{t-1} = dc_t f;
    dh_{t-1} = dgates W_hh^T.
    """

    def forward(ctx, x, h0, c0, weight_ih, weight_hh, *rest, reverse=False, masked=False):
        xp = xp_of(x)
        biases, mask, carry = _split_mask(rest, masked, reverse)
        bias = biases[0] if biases else None
        if reverse:
            x = _flip(x)
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        scale, shift = _sigmoid_affine(xp, "lstm", hidden, x.dtype)
        # The gate buffer starts as the (scaled) input projection of every step.
        rows = _input_rows(x, bias)
        gates = _input_projection(rows, weight_ih, bias, x.shape, scale)
        scaled_weight_hh = weight_hh * scale
        states = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        cells = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        tanh_cells = xp.empty((steps, batch, hidden), dtype=x.dtype)
        recurrent = xp.empty((batch, 4 * hidden), dtype=x.dtype)
        states[0] = h0
        cells[0] = c0
        for t in range(steps):
            xp.matmul(states[t], scaled_weight_hh, out=recurrent)
            # gates[t] -> sigmoid(i), sigmoid(f), tanh(g), sigmoid(o);
            # c_t = f c_{t-1} + i g; h_t = o tanh(c_t)
            lstm_step_forward(gates[t], recurrent, cells[t], cells[t + 1], tanh_cells[t],
                              states[t + 1], scale, shift)
            if carry is not None:
                xp.copyto(states[t + 1], states[t], where=carry[t])
                xp.copyto(cells[t + 1], cells[t], where=carry[t])
        ctx.save_for_backward(rows, weight_ih, weight_hh, states, cells, gates, tanh_cells, mask)
        ctx.reverse, ctx.num_biases = reverse, len(biases)
        out = _masked_output(states, mask)
        return (_flip(out) if reverse else out), states[steps].copy(), cells[steps].copy()

    def backward(ctx, grad_out, grad_h_n, grad_c_n):
        rows, weight_ih, weight_hh, states, cells, gates, tanh_cells, mask = ctx.saved
        xp = xp_of(states)
        if ctx.reverse:
            grad_out = _flip(grad_out)
        carry = None
        if mask is not None:
            grad_out = grad_out * mask[:, :, None]
            carry = ~mask[:, :, None]
        steps = gates.shape[0]
        weight_hh_t = xp.ascontiguousarray(weight_hh.T)  # a faster GEMM operand than .T
        grad_gates = xp.empty_like(gates)
        grad_h = grad_h_n.copy()
        grad_c = grad_c_n.copy()
        for t in range(steps - 1, -1, -1):
            if carry is not None:
                held_c = grad_c.copy()
            # grad_h += dout_t; dc_t += dh o (1 - tanh(c_t)^2); the gate gradients;
            # grad_c -> dc_{t-1}
            lstm_cell_backward(gates[t], tanh_cells[t], cells[t], grad_out[t], grad_h, grad_c,
                               grad_gates[t])
            if carry is not None:  # a masked step passes dh and dc on unchanged
                xp.copyto(grad_gates[t], 0, where=carry[t])
                held_h = grad_h.copy()
            xp.matmul(grad_gates[t], weight_hh_t, out=grad_h)
            if carry is not None:
                xp.copyto(grad_h, held_h, where=carry[t])
                xp.copyto(grad_c, held_c, where=carry[t])
        grad_x, grad_w_ih, grad_w_hh, biases = _weight_grads(ctx, 3, rows, weight_ih, grad_gates,
                                                             states[:-1])
        needs = ctx.needs_input_grad
        return (grad_x, grad_h if needs[1] else None, grad_c if needs[2] else None,
                grad_w_ih, grad_w_hh) + biases + _mask_grad(mask)


class GRUSequence(Function):
    """The GRU over a sequence, gates r, z, n, PyTorch's formulation (the reset
    gate multiplies ``h W_hn + b_hn``; see the module docstring).

    Inputs x (T, B, in), h0 (B, H), weight_ih (in, 3H), weight_hh (H, 3H),
    bias_ih (3H,) and bias_hh (3H,) (optional, both or neither). Outputs the
    hidden sequence (T, B, H) and h_T (B, H).

    Saved for BPTT: the gate activations (T, B, 3H), u_n = h W_hn + b_hn
    (T, B, H) and the hidden states. Backward, a step:
    dn = dh (1 - z) (1 - n^2), dz = dh (h_{t-1} - n) z (1 - z), dr = dn u_n r (1 - r);
    the input side gets (dr, dz, dn), the hidden side (dr, dz, dn * r);
    dh_{t-1} = dh z + d(hidden side) W_hh^T.
    """

    def forward(ctx, x, h0, weight_ih, weight_hh, *rest, reverse=False, masked=False):
        xp = xp_of(x)
        biases, mask, carry = _split_mask(rest, masked, reverse)
        bias_ih, bias_hh = biases if biases else (None, None)
        if reverse:
            x = _flip(x)
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        scale, _ = _sigmoid_affine(xp, "gru", hidden, x.dtype)
        rz, r, z, n = (slice(0, 2 * hidden), slice(0, hidden), slice(hidden, 2 * hidden),
                       slice(2 * hidden, 3 * hidden))
        # r and z are sigmoids: their columns are pre-scaled by 0.5 (see the module
        # docstring); n's columns are not, so u_n = h W_hn + b_hn comes out exactly.
        rows = _input_rows(x, bias_ih)
        gates = _input_projection(rows, weight_ih, bias_ih, x.shape, scale)
        scaled_weight_hh = weight_hh * scale
        scaled_bias_hh = None if bias_hh is None else bias_hh * scale
        states = xp.empty((steps + 1, batch, hidden), dtype=x.dtype)
        hidden_n = xp.empty((steps, batch, hidden), dtype=x.dtype)
        recurrent = xp.empty((batch, 3 * hidden), dtype=x.dtype)
        reset_times_u = xp.empty((batch, hidden), dtype=x.dtype)
        states[0] = h0
        for t in range(steps):
            act, h_before = gates[t], states[t]
            gate_rz, gate_n = act[:, rz], act[:, n]
            xp.matmul(h_before, scaled_weight_hh, out=recurrent)
            if scaled_bias_hh is not None:
                recurrent += scaled_bias_hh
            gate_rz += recurrent[:, rz]
            xp.tanh(gate_rz, out=gate_rz)
            gate_rz *= 0.5
            gate_rz += 0.5  # sigmoid(r), sigmoid(z)
            hidden_n[t] = recurrent[:, n]
            xp.multiply(act[:, r], hidden_n[t], out=reset_times_u)
            gate_n += reset_times_u
            xp.tanh(gate_n, out=gate_n)
            h = states[t + 1]
            xp.subtract(h_before, gate_n, out=h)
            h *= act[:, z]
            h += gate_n  # n + z (h_{t-1} - n) = (1 - z) n + z h_{t-1}
            if carry is not None:
                xp.copyto(h, h_before, where=carry[t])
        ctx.save_for_backward(rows, weight_ih, weight_hh, states, gates, hidden_n, mask)
        ctx.reverse, ctx.num_biases = reverse, len(biases)
        out = _masked_output(states, mask)
        return (_flip(out) if reverse else out), states[steps].copy()

    def backward(ctx, grad_out, grad_h_n):
        rows, weight_ih, weight_hh, states, gates, hidden_n, mask = ctx.saved
        xp = xp_of(states)
        if ctx.reverse:
            grad_out = _flip(grad_out)
        carry = None
        if mask is not None:
            grad_out = grad_out * mask[:, :, None]
            carry = ~mask[:, :, None]
        steps, batch, hidden = hidden_n.shape
        r, z, n = (slice(k * hidden, (k + 1) * hidden) for k in range(3))
        weight_hh_t = xp.ascontiguousarray(weight_hh.T)
        grad_input_side = xp.empty_like(gates)
        grad_hidden_side = xp.empty_like(gates)
        grad_h = grad_h_n.copy()
        one_minus_z = xp.empty((batch, hidden), dtype=states.dtype)
        slope = xp.empty_like(one_minus_z)
        recurrent = xp.empty_like(one_minus_z)
        for t in range(steps - 1, -1, -1):
            act, grad_in, grad_u = gates[t], grad_input_side[t], grad_hidden_side[t]
            gate_r, gate_z, gate_n = act[:, r], act[:, z], act[:, n]
            grad_n, grad_z, grad_r = grad_in[:, n], grad_u[:, z], grad_u[:, r]
            grad_h += grad_out[t]
            if carry is not None:
                held = grad_h.copy()
            xp.subtract(1, gate_z, out=one_minus_z)
            xp.multiply(gate_n, gate_n, out=slope)
            xp.subtract(1, slope, out=slope)
            xp.multiply(grad_h, one_minus_z, out=grad_n)
            grad_n *= slope  # dn = dh (1 - z) (1 - n^2)
            xp.subtract(states[t], gate_n, out=grad_z)
            grad_z *= grad_h
            grad_z *= gate_z
            grad_z *= one_minus_z  # dz = dh (h_{t-1} - n) z (1 - z)
            xp.subtract(1, gate_r, out=grad_r)
            grad_r *= gate_r
            grad_r *= hidden_n[t]
            grad_r *= grad_n  # dr = dn u_n r (1 - r)
            xp.multiply(grad_n, gate_r, out=grad_u[:, n])
            if carry is not None:  # a masked step passes dh on unchanged
                xp.copyto(grad_in, 0, where=carry[t])
                xp.copyto(grad_u, 0, where=carry[t])
            xp.matmul(grad_u, weight_hh_t, out=recurrent)
            grad_h *= gate_z
            grad_h += recurrent
            if carry is not None:
                xp.copyto(grad_h, held, where=carry[t])
        grad_input_side[:, :, :2 * hidden] = grad_hidden_side[:, :, :2 * hidden]
        grad_x, grad_w_ih, grad_w_hh, biases = _weight_grads(
            ctx, 2, rows, weight_ih, grad_input_side, states[:-1], grad_hidden_side)
        grad_h0 = grad_h if ctx.needs_input_grad[1] else None
        return (grad_x, grad_h0, grad_w_ih, grad_w_hh) + biases + _mask_grad(mask)


def _mask_grad(mask):
    """The mask's gradient slot: none (it is not differentiable)."""
    return () if mask is None else (None,)


# -- the public functions ------------------------------------------------------------------


def rnn_sequence(x, h0, weight_ih, weight_hh, bias=None, nonlinearity="tanh", reverse=False,
                 mask=None):
    """An Elman RNN layer over a whole sequence, fused: ``h_t = act(x_t W_ih + h_{t-1} W_hh + b)``.

    Args:
        x: the inputs, time-major.
        h0: the initial hidden state.
        weight_ih, weight_hh: the input and recurrent weights, ``(in, out)`` layout.
        bias: optional, one bias (PyTorch's ``b_ih + b_hh``).
        nonlinearity: ``"tanh"`` or ``"relu"``.
        reverse: run from the last step to the first (the backward direction of a
            bidirectional layer); the output stays in time order.
        mask: optional booleans (T, B), True at real steps: a masked step keeps the
            state and outputs zeros (padded sequences; see the module docstring).

    Shape: x (T, B, in), h0 (B, H), weight_ih (in, H), weight_hh (H, H), bias (H,),
        mask (T, B) -> output (T, B, H), h_n (B, H).

    Returns:
        ``(output, h_n)``: every step's hidden state, and the last one.

        >>> import somanet as sn
        >>> out, h_n = sn.rnn_sequence(sn.ones(5, 2, 3), sn.zeros(2, 4), sn.ones(3, 4) * 0.1,
        ...                            sn.zeros(4, 4))
        >>> out.shape, h_n.shape
        ((5, 2, 4), (2, 4))
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_sequence: nonlinearity must be 'tanh' or 'relu', "
                         f"got {nonlinearity!r}")
    hidden = _check("rnn_sequence", "rnn", x, weight_ih, weight_hh, h0=h0)
    _check_bias("rnn_sequence", "bias", bias, hidden)
    biases = () if bias is None else (bias,)
    masks = _check_mask("rnn_sequence", mask, x)
    return RNNSequence.apply(x, h0, weight_ih, weight_hh, *biases, *masks,
                             nonlinearity=nonlinearity, reverse=bool(reverse),
                             **_masked(masks))


def lstm_sequence(x, h0, c0, weight_ih, weight_hh, bias=None, reverse=False, mask=None):
    """An LSTM layer over a whole sequence, fused (gates i, f, g, o):

        i, f, g, o = split(x_t W_ih + h_{t-1} W_hh + b)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    Args:
        x: the inputs, time-major.
        h0, c0: the initial hidden and cell states.
        weight_ih, weight_hh: ``(in, 4H)`` and ``(H, 4H)``, column blocks i, f, g, o.
        bias: optional, one bias of 4H (PyTorch's ``b_ih + b_hh``).
        reverse: run from the last step to the first; the output stays in time order.
        mask: optional booleans (T, B), True at real steps: a masked step keeps h and c
            and outputs zeros.

    Shape: x (T, B, in), h0 and c0 (B, H), weight_ih (in, 4H), weight_hh (H, 4H),
        bias (4H,), mask (T, B) -> output (T, B, H), h_n (B, H), c_n (B, H).

    Returns:
        ``(output, h_n, c_n)``.

        >>> import somanet as sn
        >>> out, h_n, c_n = sn.lstm_sequence(sn.ones(5, 2, 3), sn.zeros(2, 4), sn.zeros(2, 4),
        ...                                  sn.ones(3, 16) * 0.1, sn.zeros(4, 16))
        >>> out.shape, h_n.shape, c_n.shape
        ((5, 2, 4), (2, 4), (2, 4))
    """
    hidden = _check("lstm_sequence", "lstm", x, weight_ih, weight_hh, h0=h0, c0=c0)
    _check_bias("lstm_sequence", "bias", bias, 4 * hidden)
    biases = () if bias is None else (bias,)
    masks = _check_mask("lstm_sequence", mask, x)
    return LSTMSequence.apply(x, h0, c0, weight_ih, weight_hh, *biases, *masks,
                              reverse=bool(reverse), **_masked(masks))


def gru_sequence(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False,
                 mask=None):
    """A GRU layer over a whole sequence, fused (gates r, z, n, PyTorch's formulation):

        a = x_t W_ih + b_ih,  u = h_{t-1} W_hh + b_hh      (column blocks r, z, n)
        r = sigmoid(a_r + u_r),  z = sigmoid(a_z + u_z)
        n = tanh(a_n + r * u_n)
        h_t = (1 - z) * n + z * h_{t-1}

    Args:
        x: the inputs, time-major.
        h0: the initial hidden state.
        weight_ih, weight_hh: ``(in, 3H)`` and ``(H, 3H)``, column blocks r, z, n.
        bias_ih, bias_hh: optional (both or neither), 3H each; two biases because
            ``b_hn`` is inside the reset gate's product.
        reverse: run from the last step to the first; the output stays in time order.
        mask: optional booleans (T, B), True at real steps: a masked step keeps the
            state and outputs zeros.

    Shape: x (T, B, in), h0 (B, H), weight_ih (in, 3H), weight_hh (H, 3H),
        bias_ih and bias_hh (3H,), mask (T, B) -> output (T, B, H), h_n (B, H).

    Returns:
        ``(output, h_n)``.

        >>> import somanet as sn
        >>> out, h_n = sn.gru_sequence(sn.ones(5, 2, 3), sn.zeros(2, 4), sn.ones(3, 12) * 0.1,
        ...                            sn.zeros(4, 12))
        >>> out.shape, h_n.shape
        ((5, 2, 4), (2, 4))
    """
    hidden = _check("gru_sequence", "gru", x, weight_ih, weight_hh, h0=h0)
    if (bias_ih is None) != (bias_hh is None):
        raise ValueError("gru_sequence: give both bias_ih and bias_hh, or neither; got only "
                         f"{'bias_ih' if bias_hh is None else 'bias_hh'}")
    _check_bias("gru_sequence", "bias_ih", bias_ih, 3 * hidden)
    _check_bias("gru_sequence", "bias_hh", bias_hh, 3 * hidden)
    biases = () if bias_ih is None else (bias_ih, bias_hh)
    masks = _check_mask("gru_sequence", mask, x)
    return GRUSequence.apply(x, h0, weight_ih, weight_hh, *biases, *masks,
                             reverse=bool(reverse), **_masked(masks))


def _check(op, kind, x, weight_ih, weight_hh, **states):
    """Validate the shapes of a recurrent op's inputs; returns the hidden size H."""
    for name, value in (("x", x), ("weight_ih", weight_ih), ("weight_hh", weight_hh),
                        *states.items()):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: x must hold floats, got dtype {x.dtype}; cast it with "
                        f".astype('float32')")
    if x.ndim != 3:
        raise ValueError(f"{op}: x must be 3-D, time-major (T, B, features), got shape "
                         f"{x.shape}")
    gates = GATES[kind]
    blocks = "".join(GATE_ORDER[kind]) if gates > 1 else ""
    if weight_hh.ndim != 2 or weight_hh.shape[1] != gates * weight_hh.shape[0]:
        raise ValueError(f"{op}: weight_hh must have shape (H, {gates}*H)"
                         f"{' (blocks ' + blocks + ')' if blocks else ''}, got "
                         f"{weight_hh.shape}")
    hidden = weight_hh.shape[0]
    if weight_ih.shape != (x.shape[2], gates * hidden):
        raise ValueError(f"{op}: weight_ih must have shape (features, {gates}*H) = "
                         f"({x.shape[2]}, {gates * hidden}) for x of shape {x.shape} and "
                         f"weight_hh of shape {weight_hh.shape}, got {weight_ih.shape}")
    for name, state in states.items():
        if state.shape != (x.shape[1], hidden):
            raise ValueError(f"{op}: {name} must have shape (B, H) = ({x.shape[1]}, {hidden}) "
                             f"for x of shape {x.shape} and weight_hh of shape "
                             f"{weight_hh.shape}, got {state.shape}")
    return hidden


def _check_bias(op, name, bias, size):
    if bias is None:
        return
    if not isinstance(bias, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(bias).__name__}")
    if bias.shape != (size,):
        raise ValueError(f"{op}: {name} must have shape ({size},), got {bias.shape}")


def _check_mask(op, mask, x):
    """``mask`` as a one-tuple of a boolean (T, B) Tensor on x's device, or ``()``."""
    if mask is None:
        return ()
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: mask must be a Tensor of booleans (T, B) or None, got "
                        f"{type(mask).__name__}")
    if mask.shape != tuple(x.shape[:2]):
        raise ValueError(f"{op}: mask must have shape (T, B) = {tuple(x.shape[:2])} for x of "
                         f"shape {x.shape}, got {mask.shape}")
    if mask.dtype.kind != "b":
        raise TypeError(f"{op}: mask must hold booleans (True at real steps), got dtype "
                        f"{mask.dtype}")
    return (mask,)


def _masked(masks):
    """The op's ``masked`` parameter, given only when there is a mask (so unmasked calls
    record exactly the parameters they always did)."""
    return {"masked": True} if masks else {}
