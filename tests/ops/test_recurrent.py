"""The fused recurrent ops: forward against plain loop-by-loop NumPy references, forward and
backward against PyTorch's RNN/LSTM/GRU with copied weights, edge cases, and the errors.

The finite-difference gradient checks of every input live in the registry
(``cases_recurrent.py``, swept by ``test_registry.py``).
"""
import numpy as np
import pytest

import somanet as sn
from somanet.ops.recurrent import LSTMSequence

from .cases_recurrent import gru_reference, lstm_reference, rnn_reference

T, B, IN, H = 6, 4, 5, 7
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _inputs(kind, rng, dtype=np.float32, bias=True, steps=T, scale=0.5):
    """x, the state(s), the weights and the bias(es) of a ``kind`` op, as NumPy arrays."""
    g = GATES[kind]
    arrays = [rng.standard_normal((steps, B, IN)), rng.standard_normal((B, H))]
    if kind == "lstm":
        arrays.append(rng.standard_normal((B, H)))
    arrays += [rng.uniform(-scale, scale, (IN, g * H)), rng.uniform(-scale, scale, (H, g * H))]
    if bias:
        arrays += [rng.uniform(-scale, scale, g * H)] * (2 if kind == "gru" else 1)
    return [a.astype(dtype) for a in arrays]


OPS = {"rnn": (sn.rnn_sequence, rnn_reference), "lstm": (sn.lstm_sequence, lstm_reference),
       "gru": (sn.gru_sequence, gru_reference)}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_matches_the_loop_reference(kind, reverse, bias):
    rng = np.random.default_rng(0)
    arrays = _inputs(kind, rng, bias=bias)
    op, reference = OPS[kind]
    got = op(*[sn.tensor(a) for a in arrays], reverse=reverse)
    want = reference(*arrays, reverse=reverse)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-4, atol=1e-5)


def test_rnn_relu_matches_the_loop_reference():
    arrays = _inputs("rnn", np.random.default_rng(1))
    got = sn.rnn_sequence(*[sn.tensor(a) for a in arrays], nonlinearity="relu")
    want = rnn_reference(*arrays, nonlinearity="relu")
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-4, atol=1e-5)


def test_the_whole_sequence_is_one_graph_node():
    arrays = _inputs("lstm", np.random.default_rng(2))
    tensors = [sn.tensor(a, requires_grad=True) for a in arrays]
    out, h_n, c_n = sn.lstm_sequence(*tensors)
    assert isinstance(out.grad_fn, LSTMSequence)
    assert out.grad_fn is h_n.grad_fn is c_n.grad_fn


# -- against PyTorch -------------------------------------------------------------------------

def _torch_module(kind, bias, reverse):
    torch = pytest.importorskip("torch")
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    torch.manual_seed(0)
    return cls(IN, H, bias=bias, bidirectional=reverse).double()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bias,reverse", [(True, False), (False, False), (True, True)])
def test_forward_and_backward_match_torch(kind, bias, reverse):
    """Weights copied from torch (transposed: torch keeps (G*H, in)); LSTM and RNN take
    torch's b_ih + b_hh as their one bias. Every gradient is compared, in float64."""
    torch = pytest.importorskip("torch")
    module = _torch_module(kind, bias, reverse)
    suffix = "_l0_reverse" if reverse else "_l0"
    directions = 2 if reverse else 1
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((T, B, IN)), requires_grad=True)
    h0 = torch.tensor(rng.standard_normal((directions, B, H)), requires_grad=True)
    c0 = torch.tensor(rng.standard_normal((directions, B, H)), requires_grad=True)
    out, state = module(x, (h0, c0) if kind == "lstm" else h0)
    h_n, c_n = state if kind == "lstm" else (state, None)
    out = out[..., H:] if reverse else out  # the reverse direction's half
    weights = torch.tensor(rng.standard_normal((T, B, H)))
    loss = (out * weights).sum() + (h_n[-1] ** 2).sum()
    if kind == "lstm":
        loss = loss + (c_n[-1] ** 3).sum()
    loss.backward()

    def param(name):
        return getattr(module, name + suffix)

    def ours(value):
        return sn.tensor(value.detach().numpy().copy(), dtype="float64", requires_grad=True)

    inputs = [ours(x), ours(h0[-1])] + ([ours(c0[-1])] if kind == "lstm" else [])
    inputs += [ours(param("weight_ih").T), ours(param("weight_hh").T)]
    if bias and kind == "gru":
        inputs += [ours(param("bias_ih")), ours(param("bias_hh"))]
    elif bias:
        inputs += [ours(param("bias_ih") + param("bias_hh"))]
    results = OPS[kind][0](*inputs, reverse=reverse)
    ours_loss = (results[0] * sn.tensor(weights.numpy(), dtype="float64")).sum()
    ours_loss = ours_loss + (results[1] ** 2).sum()
    if kind == "lstm":
        ours_loss = ours_loss + (results[2] ** 3).sum()
    ours_loss.backward()

    np.testing.assert_allclose(results[0].numpy(), out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(results[1].numpy(), h_n[-1].detach().numpy(), atol=1e-12)
    expected = [x.grad, h0.grad[-1]] + ([c0.grad[-1]] if kind == "lstm" else [])
    expected += [param("weight_ih").grad.T, param("weight_hh").grad.T]
    if bias and kind == "gru":
        expected += [param("bias_ih").grad, param("bias_hh").grad]
    elif bias:
        # b_ih and b_hh get the same gradient in torch; it is ours for the one bias.
        np.testing.assert_allclose(param("bias_ih").grad.numpy(), param("bias_hh").grad.numpy())
        expected += [param("bias_ih").grad]
    for index, (tensor, want) in enumerate(zip(inputs, expected)):
        np.testing.assert_allclose(tensor.grad.numpy(), want.numpy(), atol=1e-10,
                                   err_msg=f"{kind}: gradient of input {index}")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_float32_forward_matches_torch(kind):
    torch = pytest.importorskip("torch")
    module = _torch_module(kind, True, False).float()
    x = torch.randn(T, B, IN)
    with torch.no_grad():
        out, _ = module(x)
    weights = [sn.tensor(module.weight_ih_l0.detach().numpy().T.copy()),
               sn.tensor(module.weight_hh_l0.detach().numpy().T.copy())]
    if kind == "lstm":
        bias = [sn.tensor((module.bias_ih_l0 + module.bias_hh_l0).detach().numpy())]
        got = sn.lstm_sequence(sn.tensor(x.numpy()), sn.zeros(B, H), sn.zeros(B, H),
                               *weights, *bias)
    else:
        bias = [sn.tensor(module.bias_ih_l0.detach().numpy()),
                sn.tensor(module.bias_hh_l0.detach().numpy())]
        got = sn.gru_sequence(sn.tensor(x.numpy()), sn.zeros(B, H), *weights, *bias)
    assert got[0].dtype == np.float32
    np.testing.assert_allclose(got[0].numpy(), out.numpy(), rtol=1e-5, atol=2e-6)


# -- gradients in float32, partial needs, edge cases ----------------------------------------

@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_float32_gradients_stay_float32_and_agree_with_float64(kind):
    arrays = _inputs(kind, np.random.default_rng(4))
    grads = {}
    for dtype in ("float32", "float64"):
        tensors = [sn.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
        outputs = OPS[kind][0](*tensors)
        (outputs[0].sum() + outputs[1].sum()).backward()
        grads[dtype] = [t.grad for t in tensors]
    for g32, g64 in zip(grads["float32"], grads["float64"]):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32.numpy(), g64.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_only_the_inputs_that_need_grad_get_one(kind):
    arrays = _inputs(kind, np.random.default_rng(5))
    tensors = [sn.tensor(a) for a in arrays]
    weight_hh = len(arrays) - (3 if kind == "gru" else 2)
    tensors[weight_hh].requires_grad = True
    outputs = OPS[kind][0](*tensors)
    outputs[1].sum().backward()
    assert tensors[weight_hh].grad.shape == tensors[weight_hh].shape
    assert all(t.grad is None for i, t in enumerate(tensors) if i != weight_hh)


def test_only_the_last_state_used_gives_the_same_grads_as_zero_output_grads():
    arrays = _inputs("lstm", np.random.default_rng(6))
    first = [sn.tensor(a, requires_grad=True) for a in arrays]
    sn.lstm_sequence(*first)[1].sum().backward()
    second = [sn.tensor(a, requires_grad=True) for a in arrays]
    out, h_n, c_n = sn.lstm_sequence(*second)
    ((out * 0).sum() + h_n.sum() + (c_n * 0).sum()).backward()
    for a, b in zip(first, second):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_saturated_gates_stay_finite(kind):
    arrays = _inputs(kind, np.random.default_rng(7), scale=50.0)
    arrays[0] *= 100
    tensors = [sn.tensor(a, requires_grad=True) for a in arrays]
    outputs = OPS[kind][0](*tensors)
    (outputs[0].sum() + outputs[1].sum()).backward()
    for value in list(outputs) + [t.grad for t in tensors]:
        assert np.isfinite(value.numpy()).all()
    # An LSTM's h = o tanh(c) stays in [-1, 1]; a GRU's h mixes n in [-1, 1] with h0.
    bound = {"rnn": np.inf, "lstm": 1.0, "gru": max(1.0, np.abs(arrays[1]).max())}[kind]
    assert np.abs(outputs[0].numpy()).max() <= bound


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_an_empty_sequence_returns_the_initial_state(kind):
    arrays = _inputs(kind, np.random.default_rng(8), steps=0)
    tensors = [sn.tensor(a, requires_grad=True) for a in arrays]
    outputs = OPS[kind][0](*tensors)
    assert outputs[0].shape == (0, B, H)
    np.testing.assert_array_equal(outputs[1].numpy(), arrays[1])
    outputs[1].sum().backward()
    np.testing.assert_array_equal(tensors[1].grad.numpy(), np.ones((B, H)))
    assert not tensors[-1].grad.numpy().any()


def test_a_non_contiguous_input_works():
    arrays = _inputs("gru", np.random.default_rng(9))
    batch_major = np.ascontiguousarray(arrays[0].swapaxes(0, 1))
    x = sn.tensor(batch_major, requires_grad=True)
    out, _ = sn.gru_sequence(sn.swapaxes(x, 0, 1), *[sn.tensor(a) for a in arrays[1:]])
    np.testing.assert_allclose(out.numpy(), gru_reference(*arrays)[0], rtol=1e-4, atol=1e-5)
    out.sum().backward()
    assert x.grad.shape == batch_major.shape


def test_lstm_without_numba_gives_the_same_values_and_gradients(monkeypatch):
    """The plain array path of the per-step kernels (what runs without numba, or on a GPU)."""
    from somanet.backend import kernels_recurrent
    arrays = _inputs("lstm", np.random.default_rng(11), dtype=np.float64)
    results = []
    for kernels in (kernels_recurrent._kernels, lambda: None):  # numba's, then none
        monkeypatch.setattr(kernels_recurrent, "_kernels", kernels)
        tensors = [sn.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
        out, h_n, c_n = sn.lstm_sequence(*tensors)
        (out.sum() + (h_n * c_n).sum()).backward()
        results.append([out.numpy(), h_n.numpy()] + [t.grad.numpy() for t in tensors])
    np.testing.assert_allclose(results[0][0], lstm_reference(*arrays)[0], rtol=1e-12)
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(12)  # still without numba: a finite-difference check
    shapes = [(3, 2, 2), (2, 3), (2, 3), (2, 12), (3, 12), (12,)]
    small = [sn.tensor(rng.uniform(-0.8, 0.8, shape), dtype="float64", requires_grad=True)
             for shape in shapes]
    assert sn.gradcheck(sn.lstm_sequence, small)


def test_no_graph_under_no_grad():
    arrays = _inputs("rnn", np.random.default_rng(10))
    with sn.no_grad():
        out, h_n = sn.rnn_sequence(*[sn.tensor(a, requires_grad=True) for a in arrays])
    assert out.grad_fn is None and not h_n.requires_grad


# -- errors -----------------------------------------------------------------------------------

def _lstm_args(**changes):
    args = dict(x=sn.ones(3, 2, 5), h0=sn.zeros(2, 4), c0=sn.zeros(2, 4),
                weight_ih=sn.ones(5, 16), weight_hh=sn.ones(4, 16), bias=sn.zeros(16))
    args.update(changes)
    return args


@pytest.mark.parametrize("changes,error,pattern", [
    (dict(x=sn.ones(2, 5)), ValueError, r"lstm_sequence: x must be 3-D.*got shape \(2, 5\)"),
    (dict(x=sn.ones(3, 2, 5, dtype="int64")), TypeError, "x must hold floats, got dtype int64"),
    (dict(x=np.ones((3, 2, 5))), TypeError, "x must be a Tensor, got ndarray"),
    (dict(weight_hh=sn.ones(4, 12)), ValueError,
     r"weight_hh must have shape \(H, 4\*H\) \(blocks ifgo\), got \(4, 12\)"),
    (dict(weight_ih=sn.ones(6, 16)), ValueError,
     r"weight_ih must have shape \(features, 4\*H\) = \(5, 16\).*got \(6, 16\)"),
    (dict(h0=sn.zeros(3, 4)), ValueError, r"h0 must have shape \(B, H\) = \(2, 4\).*got \(3, 4\)"),
    (dict(c0=sn.zeros(1, 2, 4)), ValueError, r"c0 must have shape \(B, H\) = \(2, 4\)"),
    (dict(bias=sn.zeros(4)), ValueError, r"bias must have shape \(16,\), got \(4,\)"),
    (dict(bias=[0.0] * 16), TypeError, "bias must be a Tensor or None, got list"),
])
def test_lstm_errors_name_the_op_and_the_shapes(changes, error, pattern):
    with pytest.raises(error, match=pattern):
        sn.lstm_sequence(**_lstm_args(**changes))


def test_rnn_and_gru_errors():
    x, h0 = sn.ones(3, 2, 5), sn.zeros(2, 4)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        sn.rnn_sequence(x, h0, sn.ones(5, 4), sn.ones(4, 4), nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"rnn_sequence: weight_hh must have shape \(H, 1\*H\)"):
        sn.rnn_sequence(x, h0, sn.ones(5, 4), sn.ones(4, 8))
    with pytest.raises(ValueError, match="gru_sequence: give both bias_ih and bias_hh, or "
                                         "neither; got only bias_ih"):
        sn.gru_sequence(x, h0, sn.ones(5, 12), sn.ones(4, 12), bias_ih=sn.zeros(12))
    with pytest.raises(ValueError, match=r"gru_sequence: bias_hh must have shape \(12,\)"):
        sn.gru_sequence(x, h0, sn.ones(5, 12), sn.ones(4, 12), sn.zeros(12), sn.zeros(3))
    with pytest.raises(TypeError, match="GRUSequence: inputs have dtypes float32 and float64"):
        sn.gru_sequence(x, h0, sn.ones(5, 12, dtype="float64"), sn.ones(4, 12))
