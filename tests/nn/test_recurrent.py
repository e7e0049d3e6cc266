"""RNN, LSTM and GRU layers: construction (Keras and PyTorch spellings, lazy input size),
parameters and initialisation, shapes with batch_first / several layers / both directions,
initial states, a NumPy reference and PyTorch with copied weights, and the errors."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn
from tests.ops.cases_recurrent import gru_reference, lstm_reference, rnn_reference

LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _final(kind, state):
    """h_n (and c_n) of a layer's returned state, as a list."""
    return list(state) if kind == "lstm" else [state]


# -- construction --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_the_input_size_is_learned_on_the_first_call(kind):
    layer = LAYERS[kind](8)
    assert not layer.is_built and layer.weight_ih_l0 is None and layer.num_parameters() == 0
    out, state = layer(sn.ones(5, 3, 4))
    assert layer.is_built and layer.input_size == 4
    assert layer.weight_ih_l0.shape == (4, GATES[kind] * 8)
    assert out.shape == (5, 3, 8)
    assert all(s.shape == (1, 3, 8) for s in _final(kind, state))


@pytest.mark.parametrize("args,kwargs", [((4, 8), {}), ((8,), {"input_size": 4}),
                                         ((), {"input_size": 4, "hidden_size": 8}),
                                         ((), {"units": 8, "input_size": 4})])
def test_sizes_in_pytorch_and_keras_spellings(args, kwargs):
    layer = nn.LSTM(*args, **kwargs)
    assert (layer.input_size, layer.hidden_size) == (4, 8)
    assert layer.weight_ih_l0.shape == (4, 32) and layer.weight_hh_l0.shape == (8, 32)


def test_pytorch_positional_num_layers():
    layer = nn.GRU(4, 8, 3)
    assert layer.num_layers == 3 and layer.weight_ih_l2.shape == (8, 24)


@pytest.mark.parametrize("kind,bias,names", [
    ("lstm", True, ["weight_ih_l0", "weight_hh_l0", "bias_l0"]),
    ("rnn", False, ["weight_ih_l0", "weight_hh_l0"]),
    ("gru", True, ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]),
])
def test_parameter_names_and_shapes(kind, bias, names):
    layer = LAYERS[kind](3, 5, num_layers=2, bias=bias, bidirectional=True)
    expected = []
    for k in range(2):
        for suffix in ("", "_reverse"):
            expected += [name.replace("_l0", f"_l{k}") + suffix for name in names]
    assert list(layer.state_dict()) == expected
    g = GATES[kind] * 5
    assert layer.weight_ih_l0.shape == (3, g)
    assert layer.weight_ih_l1_reverse.shape == (10, g)  # reads both directions of layer 0
    assert layer.weight_hh_l1.shape == (5, g)
    if bias:
        assert getattr(layer, names[-1] + "_reverse").shape == (g,)


def test_initialisation_is_keras_and_reproducible():
    sn.manual_seed(3)
    layer = nn.LSTM(6, 4)
    w_hh = layer.weight_hh_l0.numpy()
    np.testing.assert_allclose(w_hh @ w_hh.T, np.eye(4), atol=1e-5)  # orthogonal rows
    limit = np.sqrt(6 / (6 + 16))  # Glorot uniform over (in, 4H)
    assert np.abs(layer.weight_ih_l0.numpy()).max() <= limit
    np.testing.assert_array_equal(layer.bias_l0.numpy(), [0] * 4 + [1] * 4 + [0] * 8)
    sn.manual_seed(3)
    again = nn.LSTM(6, 4)
    np.testing.assert_array_equal(again.weight_ih_l0.numpy(), layer.weight_ih_l0.numpy())
    assert not nn.LSTM(6, 4, unit_forget_bias=False).bias_l0.numpy().any()
    assert not nn.GRU(6, 4).bias_ih_l0.numpy().any()


def test_repr():
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True)"
    assert repr(nn.RNN(4, nonlinearity="relu", bias=False)) == \
        "RNN(None, 4, bias=False, nonlinearity='relu')"


@pytest.mark.parametrize("call,error,pattern", [
    (lambda: nn.LSTM(), TypeError, r"LSTM needs the hidden size: LSTM\(128\)"),
    (lambda: nn.GRU(3, 4, input_size=3), TypeError, "GRU: input_size given twice"),
    (lambda: nn.LSTM(0), ValueError, "hidden_size must be a positive int, got 0"),
    (lambda: nn.LSTM(4, num_layers=0), ValueError, "num_layers must be a positive int"),
    (lambda: nn.LSTM(4, dropout=1.0), ValueError, r"dropout must be a probability in \[0, 1\)"),
    (lambda: nn.RNN(4, nonlinearity="sigmoid"), ValueError,
     "RNN: nonlinearity must be 'tanh' or 'relu'"),
    (lambda: nn.LSTM(4, units=4, hidden_size=4), TypeError, "units= or hidden_size"),
])
def test_construction_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# -- forward ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_batch_first_multi_layer_bidirectional_shapes(kind):
    layer = LAYERS[kind](6, num_layers=3, batch_first=True, bidirectional=True)
    out, state = layer(sn.ones(2, 5, 4))
    assert out.shape == (2, 5, 12)
    assert all(s.shape == (6, 2, 6) for s in _final(kind, state))


def _numpy_stack(kind, layer, x, initial):
    """The layer's maths with the loop-by-loop references, layer by layer and direction by
    direction; ``initial`` lists the (L*D, B, H) initial states as arrays."""
    reference = {"rnn": rnn_reference, "lstm": lstm_reference, "gru": gru_reference}[kind]
    finals = [[] for _ in initial]
    for k in range(layer.num_layers):
        outputs = []
        for d in range(layer.num_directions):
            params = [p.numpy() for p in layer.layer_parameters(k, d)]
            states = [s[k * layer.num_directions + d] for s in initial]
            out, *last = reference(x, *states, *params, reverse=bool(d))
            outputs.append(out)
            for found, value in zip(finals, last):
                found.append(value)
        x = np.concatenate(outputs, axis=2)
    return x, [np.stack(found) for found in finals]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_a_stack_matches_the_loop_reference(kind):
    sn.manual_seed(0)
    layer = LAYERS[kind](5, 6, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    initial = [rng.standard_normal((4, 3, 6)).astype(np.float32)
               for _ in range(2 if kind == "lstm" else 1)]
    given = tuple(sn.tensor(s) for s in initial)
    out, state = layer(sn.tensor(x), given if kind == "lstm" else given[0])
    want_out, want_states = _numpy_stack(kind, layer, x, initial)
    np.testing.assert_allclose(out.numpy(), want_out, rtol=1e-4, atol=1e-5)
    for got, want in zip(_final(kind, state), want_states):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-5)


def test_batch_first_is_the_transposed_computation():
    sn.manual_seed(1)
    time_major = nn.GRU(3, 4, num_layers=2)
    batch_first = nn.GRU(3, 4, num_layers=2, batch_first=True)
    batch_first.load_state_dict(time_major.state_dict())
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(np.float32)
    out, h_n = time_major(sn.tensor(x))
    out_bf, h_n_bf = batch_first(sn.tensor(x.swapaxes(0, 1)))
    np.testing.assert_allclose(out_bf.numpy(), out.numpy().swapaxes(0, 1), rtol=1e-6)
    np.testing.assert_allclose(h_n_bf.numpy(), h_n.numpy(), rtol=1e-6)


def test_gradients_reach_the_input_the_initial_states_and_every_parameter():
    layer = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = sn.randn(2, 5, 3, requires_grad=True)
    h0 = sn.randn(4, 2, 4, requires_grad=True)
    c0 = sn.randn(4, 2, 4, requires_grad=True)
    out, (h_n, c_n) = layer(x, (h0, c0))
    (out.sum() + h_n.sum() + c_n.sum()).backward()
    for tensor in [x, h0, c0, *layer.parameters()]:
        assert tensor.grad is not None and tensor.grad.shape == tensor.shape
        assert np.isfinite(tensor.grad.numpy()).all()


def test_a_partial_lstm_state_means_zeros_for_the_missing_part():
    layer = nn.LSTM(3, 4)
    x = sn.randn(5, 2, 3)
    h0 = sn.randn(1, 2, 4)
    with_none = layer(x, (h0, None))[0]
    with_zeros = layer(x, (h0, sn.zeros(1, 2, 4)))[0]
    np.testing.assert_array_equal(with_none.numpy(), with_zeros.numpy())


def test_last_hidden_state_into_a_dense_layer_trains():
    """A tiny sequence task (is the sum of the sequence positive?) learns with plain SGD."""
    sn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 1)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.float32).reshape(-1, 1)
    lstm, head = nn.LSTM(8, batch_first=True), nn.Dense(1)
    inputs, targets = sn.tensor(x), sn.tensor(y)
    losses = []
    for _ in range(40):
        _, (h_n, _) = lstm(inputs)
        logits = head(h_n[-1])
        loss = sn.binary_cross_entropy_with_logits(logits, targets)
        for p in list(lstm.parameters()) + list(head.parameters()):
            p.grad = None
        loss.backward()
        for p in list(lstm.parameters()) + list(head.parameters()):
            p.data -= 0.5 * p.grad.data
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_dropout_between_layers_only_in_training():
    sn.manual_seed(2)
    layer = nn.GRU(3, 8, num_layers=2, dropout=0.5)
    x = sn.randn(4, 2, 3)
    layer.eval()
    first, second = layer(x)[0], layer(x)[0]
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    layer.train()
    assert not np.allclose(layer(x)[0].numpy(), first.numpy())


def test_load_state_dict_builds_a_lazy_layer_and_float64_works():
    source = nn.LSTM(3, 4, num_layers=2)
    lazy = nn.LSTM(4, num_layers=2)
    lazy.load_state_dict(source.state_dict())
    assert lazy.is_built and lazy.input_size == 3
    x = sn.randn(5, 2, 3)
    np.testing.assert_array_equal(lazy(x)[0].numpy(), source(x)[0].numpy())
    source.double()
    assert source(x.astype("float64"))[0].dtype == np.float64


# -- against PyTorch -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_a_stack_matches_torch_forward_and_backward(kind):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](
        3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    ours = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    for name, value in theirs.named_parameters():
        value = value.detach().numpy()
        if name.startswith("weight"):
            getattr(ours, name).data[...] = value.T
        elif kind == "gru":
            getattr(ours, name).data[...] = value
        elif name.startswith("bias_ih"):  # one bias: b_ih + b_hh
            other = getattr(theirs, name.replace("bias_ih", "bias_hh")).detach().numpy()
            getattr(ours, name.replace("bias_ih", "bias")).data[...] = value + other
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((2, 5, 3))
    states_np = [rng.standard_normal((4, 2, 4)) for _ in range(2 if kind == "lstm" else 1)]
    x_t = torch.tensor(x_np, requires_grad=True)
    states_t = [torch.tensor(s, requires_grad=True) for s in states_np]
    out_t, state_t = theirs(x_t, tuple(states_t) if kind == "lstm" else states_t[0])
    x = sn.tensor(x_np, dtype="float64", requires_grad=True)
    states = [sn.tensor(s, dtype="float64", requires_grad=True) for s in states_np]
    out, state = ours(x, tuple(states) if kind == "lstm" else states[0])
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=1e-12)
    for got, want in zip(_final(kind, state), _final(kind, state_t)):
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), atol=1e-12)

    weights = rng.standard_normal(out.shape)
    loss_t = (out_t * torch.tensor(weights)).sum() + sum((s ** 2).sum()
                                                         for s in _final(kind, state_t))
    loss_t.backward()
    loss = (out * sn.tensor(weights, dtype="float64")).sum()
    for s in _final(kind, state):
        loss = loss + (s * s).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), atol=1e-10)
    for got, want in zip(states, states_t):
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), atol=1e-10)
    for name, value in theirs.named_parameters():
        if name.startswith("weight"):
            np.testing.assert_allclose(getattr(ours, name).grad.numpy(),
                                       value.grad.numpy().T, atol=1e-10, err_msg=name)
        elif kind == "gru" or name.startswith("bias_ih"):
            mine = getattr(ours, name if kind == "gru" else name.replace("bias_ih", "bias"))
            np.testing.assert_allclose(mine.grad.numpy(), value.grad.numpy(), atol=1e-10,
                                       err_msg=name)


# -- errors ----------------------------------------------------------------------------------

def test_input_errors_name_the_layer_and_the_shapes():
    layer = nn.LSTM(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"LSTM: expected a 3-D input \(B, T, features\) "
                                         r"\(batch_first=True\), got shape \(5, 3\)"):
        layer(sn.ones(5, 3))
    with pytest.raises(ValueError, match=r"LSTM: expected inputs with 3 features, "
                                         r"\(B, T, features\), got shape \(2, 5, 4\)"):
        layer(sn.ones(2, 5, 4))
    with pytest.raises(TypeError, match="LSTM: expected a Tensor input, got ndarray"):
        layer(np.ones((2, 5, 3)))
    with pytest.raises(TypeError, match="LSTM: .*must hold floats, got dtype int64"):
        layer(sn.ones(2, 5, 3, dtype="int64"))


def test_state_errors_name_the_expected_shape():
    gru = nn.GRU(3, 4, num_layers=2)
    x = sn.ones(5, 2, 3)
    with pytest.raises(ValueError, match=r"GRU: the initial state h0 must have shape "
                                         r"\(num_layers \* num_directions, B, hidden_size\) = "
                                         r"\(2, 2, 4\), got \(1, 2, 4\)"):
        gru(x, sn.zeros(1, 2, 4))
    with pytest.raises(TypeError, match="GRU: the initial state h0 must be a Tensor, got tuple"):
        gru(x, (sn.zeros(2, 2, 4),))
    with pytest.raises(TypeError, match="GRU: the initial state h0 has dtype float64"):
        gru(x, sn.zeros(2, 2, 4, dtype="float64"))
    lstm = nn.LSTM(3, 4)
    with pytest.raises(TypeError, match=r"LSTM: the initial state of an LSTM is a pair "
                                        r"\(h0, c0\), got Tensor"):
        lstm(x, sn.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"LSTM: the initial state c0 must have shape .*"
                                         r"\(1, 2, 4\), got \(1, 3, 4\)"):
        lstm(x, (sn.zeros(1, 2, 4), sn.zeros(1, 3, 4)))


def test_errors_inside_a_model_carry_its_path():
    model = nn.Sequential(nn.Dense(3), nn.GRU(4))
    with pytest.raises(ValueError, match=r"Sequential\[1\] \(GRU\): expected a 3-D input"):
        model(sn.ones(2, 5))
