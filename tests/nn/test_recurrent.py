"""RNN, LSTM and GRU layers: construction (Keras and PyTorch spellings, lazy input size),
the two calling conventions (Keras's return_sequences / return_state in Sequential,
PyTorch's (output, state)), parameters and initialisation, shapes with batch_first /
several layers / both directions, initial states, padded sequences (lengths, mask), a
NumPy reference and PyTorch with copied weights, RepeatVector / TimeDistributed, and the
errors (the layout each form reads, the ambiguous 2-D input)."""
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
    layer = LAYERS[kind](hidden_size=8)
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
    assert repr(nn.RNN(hidden_size=4, nonlinearity="relu", bias=False)) == \
        "RNN(None, 4, bias=False, nonlinearity='relu')"
    assert repr(nn.RNN(4, nonlinearity="relu", bias=False)) == \
        "RNN(4, bias=False, nonlinearity='relu')"
    assert repr(nn.LSTM(16, return_sequences=True, return_state=True)) == \
        "LSTM(16, return_sequences=True, return_state=True)"
    assert repr(nn.GRU(8, input_shape=(None, 3))) == "GRU(8, input_size=3)"
    assert repr(nn.GRU(8, return_sequences=True, batch_first=False)) == \
        "GRU(8, batch_first=False, return_sequences=True)"


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
    lazy = nn.LSTM(hidden_size=4, num_layers=2)
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
    with pytest.raises(ValueError, match=r"LSTM: expected a 3-D input \(batch, time, "
                                         r"features\) \(batch_first=True\), got shape "
                                         r"\(2, 5, 3, 1\)"):
        layer(sn.ones(2, 5, 3, 1))
    with pytest.raises(ValueError, match=r"LSTM: expected inputs with 3 features \(the last "
                                         r"axis of \(batch, time, features\) "
                                         r"\(batch_first=True\)\), got shape \(2, 5, 4\) "
                                         r"with 4$"):
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
    with pytest.raises(ValueError, match=r"Sequential\[1\] \(GRU\): got a 2-D input"):
        model(sn.ones(2, 5))


# -- the two forms: Keras's and PyTorch's -----------------------------------------------------

@pytest.mark.parametrize("make,keras,batch_first", [
    (lambda: nn.LSTM(8), True, True),
    (lambda: nn.LSTM(units=8), True, True),
    (lambda: nn.LSTM(8, input_shape=(None, 3)), True, True),
    (lambda: nn.LSTM(8, return_sequences=True), True, True),
    (lambda: nn.LSTM(3, 8, return_state=True), True, True),
    (lambda: nn.LSTM(8, return_sequences=True, batch_first=False), True, False),
    (lambda: nn.LSTM(3, 8), False, False),
    (lambda: nn.LSTM(hidden_size=8), False, False),
    (lambda: nn.LSTM(8, input_size=3), False, False),
    (lambda: nn.LSTM(8, batch_first=True), False, True),
    (lambda: nn.GRU(3, 8, 2, batch_first=True), False, True),
])
def test_how_a_layer_is_built_picks_its_form_and_layout(make, keras, batch_first):
    layer = make()
    assert (layer.keras, layer.batch_first) == (keras, batch_first)
    assert ("(batch, time, features)" if batch_first else "(time, batch, features)") \
        in layer.layout


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_keras_outputs_are_the_pytorch_forms_outputs(kind, bidirectional):
    """return_sequences gives the output sequence, the default the last layer's final
    state(s) (both directions, forward first, as Keras's Bidirectional), return_state the
    states: the same computation as the PyTorch form with the same weights."""
    sn.manual_seed(0)
    torch_form = LAYERS[kind](3, 5, num_layers=2, batch_first=True, bidirectional=bidirectional)
    x = sn.randn(4, 6, 3)
    out, state = torch_form(x)
    finals = _final(kind, state)
    directions = 2 if bidirectional else 1
    last = [[s[2 * directions - directions + d] for s in finals] for d in range(directions)]
    for return_sequences in (False, True):
        keras_form = LAYERS[kind](5, num_layers=2, bidirectional=bidirectional,
                                  return_sequences=return_sequences, return_state=True)
        keras_form.load_state_dict(torch_form.state_dict())
        got = keras_form(x)
        want_output = out.numpy() if return_sequences else np.concatenate(
            [d[0].numpy() for d in last], axis=1)
        np.testing.assert_allclose(got[0].numpy(), want_output, rtol=1e-6)
        want_states = [s.numpy() for d in last for s in d]
        assert len(got) == 1 + len(want_states)
        for have, want in zip(got[1:], want_states):
            assert have.shape == (4, 5)
            np.testing.assert_allclose(have.numpy(), want, rtol=1e-6)


def test_keras_layers_stack_in_sequential_and_train():
    """Sequential([LSTM(return_sequences=True), LSTM, Dense]) on (batch, time, features):
    compile and fit as Keras, the loss falls."""
    from somanet.train import Sequential, losses
    sn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 6, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    model = Sequential([nn.LSTM(12, return_sequences=True), nn.LSTM(8), nn.Dense(2)])
    model.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], learning_rate=0.02)
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.predict(x[:5]).shape == (5, 2)


def test_keras_initial_state_is_pytorchs_state():
    sn.manual_seed(1)
    keras_form = nn.LSTM(4, bidirectional=True, return_sequences=True)
    torch_form = nn.LSTM(3, 4, bidirectional=True, batch_first=True)
    x = sn.randn(2, 5, 3)
    keras_form(x)
    torch_form.load_state_dict(keras_form.state_dict())
    h_f, c_f, h_b, c_b = (sn.randn(2, 4) for _ in range(4))
    got = keras_form(x, initial_state=[h_f, c_f, h_b, c_b])
    want, _ = torch_form(x, (sn.stack([h_f, h_b]), sn.stack([c_f, c_b])))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    gru = nn.GRU(4)
    assert gru(x, initial_state=h_f).shape == (2, 4)  # one state: a tensor, not a list


# -- padded sequences -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_padded_sequences_give_the_results_of_unpadded_ones(kind):
    """A batch of right-padded sequences with lengths= gives, for each sequence, the outputs
    and final states of that sequence run alone (two layers, both directions); the padded
    steps output zeros; mask= gives the same."""
    sn.manual_seed(2)
    layer = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, batch_first=True)
    lengths = [5, 2, 3]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 3)).astype(np.float32)
    x[1, 2:] = 9.0  # padding values must not matter
    x[2, 3:] = -7.0
    out, state = layer(sn.tensor(x), lengths=lengths)
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    out_mask, state_mask = layer(sn.tensor(x), mask=sn.tensor(mask))
    np.testing.assert_array_equal(out.numpy(), out_mask.numpy())
    for b, length in enumerate(lengths):
        alone, alone_state = layer(sn.tensor(x[b:b + 1, :length]))
        np.testing.assert_allclose(out.numpy()[b, :length], alone.numpy()[0], atol=1e-6)
        assert not out.numpy()[b, length:].any()
        for got, want in zip(_final(kind, state), _final(kind, alone_state)):
            np.testing.assert_allclose(got.numpy()[:, b], want.numpy()[:, 0], atol=1e-6)


def test_padded_gradients_are_the_sum_of_the_unpadded_ones():
    """The padded steps take no part in training: the weights' gradient of a padded batch
    is the sum of the gradients of its sequences run alone."""
    sn.manual_seed(3)
    layer = nn.LSTM(4, bidirectional=True)  # Keras form: the last states, (B, 2H)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)
    lengths = [6, 3]
    layer(sn.tensor(x[:, :1]))  # build
    layer(sn.tensor(x), lengths=lengths).sum().backward()
    padded = [p.grad.numpy().copy() for p in layer.parameters()]
    layer.zero_grad()
    for b, length in enumerate(lengths):
        layer(sn.tensor(x[b:b + 1, :length])).sum().backward()
    for got, want in zip(padded, [p.grad.numpy() for p in layer.parameters()]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_lengths_match_torch_packed_sequences(kind):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    torch.manual_seed(0)
    theirs = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](
        3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    ours = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    for name, value in theirs.named_parameters():
        value = value.detach().numpy()
        if name.startswith("weight"):
            getattr(ours, name).data[...] = value.T
        elif kind == "gru":
            getattr(ours, name).data[...] = value
        elif name.startswith("bias_ih"):
            other = getattr(theirs, name.replace("bias_ih", "bias_hh")).detach().numpy()
            getattr(ours, name.replace("bias_ih", "bias")).data[...] = value + other
    x = np.random.default_rng(4).standard_normal((3, 6, 3))
    lengths = [6, 2, 4]
    x_t = torch.tensor(x, requires_grad=True)
    packed_out, state_t = theirs(pack_padded_sequence(x_t, lengths, batch_first=True,
                                                      enforce_sorted=False))
    out_t, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=6)
    x_ours = sn.tensor(x, dtype="float64", requires_grad=True)
    out, state = ours(x_ours, lengths=lengths)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=1e-12)
    for got, want in zip(_final(kind, state), _final(kind, state_t)):
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), atol=1e-12)
    weights = np.random.default_rng(5).standard_normal(out.shape)
    (out_t * torch.tensor(weights)).sum().backward()
    (out * sn.tensor(weights, dtype="float64")).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_t.grad.numpy(), atol=1e-10)


# -- RepeatVector and TimeDistributed ---------------------------------------------------------

def test_repeat_vector_and_time_distributed():
    x = sn.randn(4, 3, requires_grad=True)
    repeated = nn.RepeatVector(5)(x)
    assert repeated.shape == (4, 5, 3)
    np.testing.assert_array_equal(repeated.numpy()[:, 2], x.numpy())
    repeated.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((4, 3), 5.0))
    dense = nn.Dense(3, 2)
    per_step = nn.TimeDistributed(dense)
    seq = sn.randn(4, 5, 3)
    np.testing.assert_allclose(per_step(seq).numpy(), dense(seq).numpy(), rtol=1e-6)
    images = nn.TimeDistributed(nn.Sequential(nn.Flatten(), nn.Dense(3)))
    assert images(sn.randn(2, 7, 4, 4)).shape == (2, 7, 3)
    assert list(per_step.state_dict()) == ["layer.weight", "layer.bias"]
    assert repr(nn.RepeatVector(5)) == "RepeatVector(5)"


def test_repeat_vector_and_time_distributed_errors():
    with pytest.raises(ValueError, match=r"RepeatVector: expected a 2-D input \(batch, "
                                         r"features\), got shape \(4, 5, 3\)"):
        nn.RepeatVector(2)(sn.ones(4, 5, 3))
    with pytest.raises(ValueError, match="RepeatVector: n must be a positive int, got 0"):
        nn.RepeatVector(0)
    with pytest.raises(TypeError, match="TimeDistributed wraps a Module, got int"):
        nn.TimeDistributed(3)
    with pytest.raises(ValueError, match=r"TimeDistributed: expected an input \(batch, time, "
                                         r"\.\.\.\) with at least 3 axes, got shape \(4, 3\)"):
        nn.TimeDistributed(nn.Dense(2))(sn.ones(4, 3))


# -- layout errors -----------------------------------------------------------------------------

def test_a_2d_input_is_refused_as_ambiguous_with_both_readings():
    keras_form = nn.LSTM(4)
    with pytest.raises(ValueError, match=r"LSTM: got a 2-D input of shape \(10, 3\), which is "
                                         r"ambiguous: one sequence of 10 steps \(time, "
                                         r"features\), or 10 sequences of one step \(batch, "
                                         r"features\)\? This layer reads 3-D \(batch, time, "
                                         r"features\) \(Keras's layout\); add the missing "
                                         r"axis: x.reshape\(1, 10, 3\) for one sequence, "
                                         r"x.reshape\(10, 1, 3\) for one-step sequences"):
        keras_form(sn.ones(10, 3))
    with pytest.raises(ValueError, match=r"\(time, batch, features\) \(PyTorch's default; "
                                         r"batch_first=True for \(batch, time, features\)\); "
                                         r"add the missing axis: x.reshape\(10, 1, 3\) for "
                                         r"one sequence"):
        nn.LSTM(3, 4)(sn.ones(10, 3))
    with pytest.raises(ValueError, match=r"GRU: got integer ids of shape \(2, 7\); .* put an "
                                         r"Embedding\(vocabulary, dim\) before it"):
        nn.GRU(4)(sn.zeros(2, 7, dtype="int64"))


def test_the_wrong_feature_size_names_both_and_the_layout():
    layer = nn.LSTM(3, 8)  # PyTorch form: (time, batch, features)
    with pytest.raises(ValueError, match=r"LSTM: expected inputs with 3 features \(the last "
                                         r"axis of \(time, batch, features\) \(PyTorch's "
                                         r"default; batch_first=True for \(batch, time, "
                                         r"features\)\)\), got shape \(2, 3, 5\) with 5; axis "
                                         r"1 has 3: if those are the features, move them last "
                                         r"\(x.swapaxes\(1, 2\)\)"):
        layer(sn.ones(2, 3, 5))
    model = nn.Sequential(nn.LSTM(8, input_shape=(None, 3)), nn.Dense(2))
    with pytest.raises(ValueError, match=r"Sequential\[0\] \(LSTM\): expected inputs with 3 "
                                         r"features .* got shape \(2, 6, 4\) with 4"):
        model(sn.ones(2, 6, 4))


def test_padding_and_state_errors_point_at_the_layout():
    layer = nn.GRU(4)  # Keras form: (batch, time, features)
    x = sn.ones(2, 6, 3)
    with pytest.raises(ValueError, match=r"GRU: lengths must have one entry per sequence, "
                                         r"\(2,\), got \(6,\); the input's time axis has 6: is "
                                         r"it in the other layout\? This layer reads \(batch, "
                                         r"time, features\)"):
        layer(x, lengths=[1, 2, 3, 4, 5, 6])
    with pytest.raises(ValueError, match=r"GRU: lengths must lie in \[0, 6\] \(the input has 6 "
                                         r"steps\), got \[7, 2\]"):
        layer(x, lengths=[7, 2])
    with pytest.raises(TypeError, match=r"GRU: lengths must be one int per sequence"):
        layer(x, lengths=[1.5, 2.0])
    with pytest.raises(ValueError, match=r"GRU: mask must have shape \(batch, time\) = \(2, 6\) "
                                         r"for an input of shape \(2, 6, 3\), got \(6, 2\); "
                                         r"that is the other layout"):
        layer(x, mask=np.ones((6, 2), bool))
    with pytest.raises(ValueError, match="GRU: mask must hold booleans"):
        layer(x, mask=np.full((2, 6), 0.5))
    with pytest.raises(TypeError, match="GRU: give lengths= or mask=, not both"):
        layer(x, lengths=[1, 2], mask=np.ones((2, 6), bool))
    torch_form = nn.GRU(3, 4)  # (time, batch, features)
    with pytest.raises(ValueError, match=r"GRU: the initial state h0 must have shape .* = "
                                         r"\(1, 6, 4\), got \(1, 2, 4\); the input's time axis "
                                         r"has 2: is it in the other layout"):
        torch_form(x, sn.zeros(1, 2, 4))
    lstm = nn.LSTM(4, bidirectional=True)
    with pytest.raises(ValueError, match=r"LSTM: initial_state must be 4 tensors of shape "
                                         r"\(batch, 4\): h, c for each direction \(forward "
                                         r"first\), got \[\(2, 4\), \(2, 4\)\]"):
        lstm(x, initial_state=[sn.zeros(2, 4), sn.zeros(2, 4)])
    with pytest.raises(TypeError, match=r"LSTM: initial_state= .* is for one layer; with "
                                        r"num_layers=2 give state=\(h0, c0\)"):
        nn.LSTM(4, num_layers=2)(x, initial_state=[sn.zeros(2, 4), sn.zeros(2, 4)])
    with pytest.raises(TypeError, match="LSTM: give the initial state once"):
        lstm(x, (sn.zeros(2, 2, 4),) * 2, initial_state=[sn.zeros(2, 4)] * 4)
    with pytest.raises(ValueError, match=r"LSTM: input_shape is \(timesteps, features\)"):
        nn.LSTM(4, input_shape=(3,))


def test_a_keras_form_model_exports_to_onnx(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import somanet.onnx  # noqa: F401
    sn.manual_seed(4)
    model = nn.Sequential(nn.LSTM(6, return_sequences=True), nn.GRU(5, bidirectional=True),
                          nn.Dense(2))
    x = sn.randn(2, 7, 3)
    model(x)
    model.eval()
    path = tmp_path / "keras_form.onnx"
    sn.onnx.export(model, (x,), path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (2, 5):
        inputs = sn.randn(batch, 7, 3)
        got = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})[0]
        np.testing.assert_allclose(got, model(inputs).numpy(), rtol=1e-4, atol=1e-5)


def test_a_masked_call_is_refused_by_onnx_export_with_a_reason(tmp_path):
    pytest.importorskip("onnx")
    import somanet.onnx  # noqa: F401

    class Padded(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4, batch_first=True)

        def forward(self, x):
            return self.lstm(x, lengths=[2] * x.shape[0])[0]

    with pytest.raises(Exception, match="padded steps .* have no ONNX form"):
        sn.onnx.export(Padded(), (sn.randn(2, 5, 3),), tmp_path / "padded.onnx")
