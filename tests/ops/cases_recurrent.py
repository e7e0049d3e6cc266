"""Registry entries for the fused recurrent ops (RNN, LSTM, GRU over a sequence), with
plain loop-by-loop NumPy references (one step at a time, the textbook formulas).

Sizes are tiny (T=3 or 4 steps, B=2, in=3, H=2 or 3) so the element-by-element
finite-difference check of every input (x, h0, c0, all weights and biases) stays fast.
"""
import numpy as np

import somanet as sn
from somanet.ops import recurrent as Rec

from .registry import OpCase, const, x


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _time_order(x, reverse):
    return range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])


def _real(mask, t):
    """(B, 1) booleans: which sequences have a real step t (all, without a mask)."""
    return True if mask is None else np.asarray(mask, bool)[t][:, None]


def rnn_reference(x, h0, w_ih, w_hh, b=None, nonlinearity="tanh", reverse=False, mask=None):
    """h_t = act(x_t W_ih + h_{t-1} W_hh + b), one step at a time, in float64; a masked
    step keeps h and outputs zeros."""
    x, h = np.asarray(x, np.float64), np.asarray(h0, np.float64)
    out = np.zeros(x.shape[:2] + (h.shape[1],))
    for t in _time_order(x, reverse):
        pre = x[t] @ w_ih + h @ w_hh + (0 if b is None else b)
        real = _real(mask, t)
        h = np.where(real, np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0), h)
        out[t] = np.where(real, h, 0)
    return out, h


def lstm_reference(x, h0, c0, w_ih, w_hh, b=None, reverse=False, mask=None):
    """The LSTM, gates i, f, g, o in column blocks, one step at a time, in float64; a
    masked step keeps h and c and outputs zeros."""
    x, h, c = np.asarray(x, np.float64), np.asarray(h0, np.float64), np.asarray(c0, np.float64)
    hidden = h.shape[1]
    out = np.zeros(x.shape[:2] + (hidden,))
    for t in _time_order(x, reverse):
        pre = x[t] @ w_ih + h @ w_hh + (0 if b is None else b)
        i = _sigmoid(pre[:, :hidden])
        f = _sigmoid(pre[:, hidden:2 * hidden])
        g = np.tanh(pre[:, 2 * hidden:3 * hidden])
        o = _sigmoid(pre[:, 3 * hidden:])
        real = _real(mask, t)
        c = np.where(real, f * c + i * g, c)
        h = np.where(real, o * np.tanh(c), h)
        out[t] = np.where(real, h, 0)
    return out, h, c


def gru_reference(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, mask=None):
    """PyTorch's GRU, gates r, z, n in column blocks, one step at a time, in float64; a
    masked step keeps h and outputs zeros."""
    x, h = np.asarray(x, np.float64), np.asarray(h0, np.float64)
    hidden = h.shape[1]
    out = np.zeros(x.shape[:2] + (hidden,))
    for t in _time_order(x, reverse):
        a = x[t] @ w_ih + (0 if b_ih is None else b_ih)
        u = h @ w_hh + (0 if b_hh is None else b_hh)
        r = _sigmoid(a[:, :hidden] + u[:, :hidden])
        z = _sigmoid(a[:, hidden:2 * hidden] + u[:, hidden:2 * hidden])
        n = np.tanh(a[:, 2 * hidden:] + r * u[:, 2 * hidden:])
        real = _real(mask, t)
        h = np.where(real, (1 - z) * n + z * h, h)
        out[t] = np.where(real, h, 0)
    return out, h


def w(*shape):
    """A weight: small values, so the gates are not saturated."""
    return x(shape, low=-0.8, high=0.8)


T, B, IN, H = 3, 2, 3, 2

# Padded sequences: the first has 3 real steps, the second 2 (right-padded); a hole in the
# middle (the third mask) is allowed too. T=4, B=3.
MASKS = [np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]], bool),
         np.array([[1, 1, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0]], bool)]


def _masked_cases():
    """rnn/lstm/gru with a mask, both directions, every input gradient-checked."""
    cases = []
    for mask_index, mask in enumerate(MASKS):
        for reverse in (False, True):
            tail = f"masked{mask_index}{'_reverse' if reverse else ''}"
            cases += [
                OpCase(f"rnn_sequence_{tail}",
                       lambda *a, r=reverse: sn.rnn_sequence(*a[:-1], reverse=r, mask=a[-1]),
                       lambda *a, r=reverse: rnn_reference(*a[:-1], reverse=r, mask=a[-1]),
                       [[x((4, 3, IN)), x((3, 3)), w(IN, 3), w(3, 3), w(3), const(mask)]]),
                OpCase(f"lstm_sequence_{tail}",
                       lambda *a, r=reverse: sn.lstm_sequence(*a[:-1], reverse=r, mask=a[-1]),
                       lambda *a, r=reverse: lstm_reference(*a[:-1], reverse=r, mask=a[-1]),
                       [[x((4, 3, IN)), x((3, H)), x((3, H)), w(IN, 4 * H), w(H, 4 * H),
                         w(4 * H), const(mask)]]),
                OpCase(f"gru_sequence_{tail}",
                       lambda *a, r=reverse: sn.gru_sequence(*a[:-1], reverse=r, mask=a[-1]),
                       lambda *a, r=reverse: gru_reference(*a[:-1], reverse=r, mask=a[-1]),
                       [[x((4, 3, IN)), x((3, H)), w(IN, 3 * H), w(H, 3 * H), w(3 * H),
                         w(3 * H), const(mask)]]),
            ]
    return cases

CASES = [
    OpCase("rnn_sequence", sn.rnn_sequence, rnn_reference,
           [[x((T, B, IN)), x((B, 3)), w(IN, 3), w(3, 3), w(3)],
            [x((4, B, IN)), x((B, 3)), w(IN, 3), w(3, 3)],
            [x((1, 1, IN)), x((1, 2)), w(IN, 2), w(2, 2), w(2)]],
           covers=[Rec.RNNSequence]),
    OpCase("rnn_sequence_relu",
           lambda *a: sn.rnn_sequence(*a, nonlinearity="relu"),
           lambda *a: rnn_reference(*a, nonlinearity="relu"),
           [[x((T, B, IN), avoid=(0,)), x((B, 3), low=0.1), w(IN, 3), w(3, 3), w(3)]]),
    OpCase("rnn_sequence_reverse",
           lambda *a: sn.rnn_sequence(*a, reverse=True),
           lambda *a: rnn_reference(*a, reverse=True),
           [[x((T, B, IN)), x((B, 3)), w(IN, 3), w(3, 3), w(3)]]),
    OpCase("lstm_sequence", sn.lstm_sequence, lstm_reference,
           [[x((T, B, IN)), x((B, H)), x((B, H)), w(IN, 4 * H), w(H, 4 * H), w(4 * H)],
            [x((4, B, IN)), x((B, H)), x((B, H)), w(IN, 4 * H), w(H, 4 * H)]],
           covers=[Rec.LSTMSequence]),
    OpCase("lstm_sequence_reverse",
           lambda *a: sn.lstm_sequence(*a, reverse=True),
           lambda *a: lstm_reference(*a, reverse=True),
           [[x((T, B, IN)), x((B, H)), x((B, H)), w(IN, 4 * H), w(H, 4 * H), w(4 * H)]]),
    # Only the last hidden state is used: the output sequence and c_n get no gradient.
    OpCase("lstm_sequence_last_hidden",
           lambda *a: sn.lstm_sequence(*a)[1],
           lambda *a: lstm_reference(*a)[1],
           [[x((4, B, IN)), x((B, H)), x((B, H)), w(IN, 4 * H), w(H, 4 * H), w(4 * H)]]),
    OpCase("gru_sequence", sn.gru_sequence, gru_reference,
           [[x((T, B, IN)), x((B, H)), w(IN, 3 * H), w(H, 3 * H), w(3 * H), w(3 * H)],
            [x((4, B, IN)), x((B, H)), w(IN, 3 * H), w(H, 3 * H)]],
           covers=[Rec.GRUSequence]),
    OpCase("gru_sequence_reverse",
           lambda *a: sn.gru_sequence(*a, reverse=True),
           lambda *a: gru_reference(*a, reverse=True),
           [[x((T, B, IN)), x((B, H)), w(IN, 3 * H), w(H, 3 * H), w(3 * H), w(3 * H)]]),
    OpCase("gru_sequence_last_hidden",
           lambda *a: sn.gru_sequence(*a)[1],
           lambda *a: gru_reference(*a)[1],
           [[x((4, B, IN)), x((B, H)), w(IN, 3 * H), w(H, 3 * H), w(3 * H), w(3 * H)]]),
]
CASES += _masked_cases()
