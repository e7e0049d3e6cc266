"""The functional API: Input -> layers -> Model(inputs, outputs)."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.train import Add, Concatenate, Functional, KerasTensor

from .helpers import logits_loss


def test_seed_003_input_dense_model():
    sn.manual_seed(0)
    inputs = sn.Input(shape=(2,))
    hidden = nn.Dense(4, activation="sigmoid")(inputs)
    outputs = nn.Dense(2)(hidden)
    assert isinstance(hidden, KerasTensor) and hidden.shape == (None, 4)
    model = sn.Model(inputs, outputs)
    assert isinstance(model, Functional) and isinstance(model, sn.Model)
    assert list(model.state_dict()) == ["linear.weight", "linear.bias", "linear_1.weight",
                                        "linear_1.bias"]
    assert model.num_parameters() == 2 * 4 + 4 + 4 * 2 + 2  # built at construction
    x = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    hidden_layer, out_layer = model.linear, model.linear_1
    expected = out_layer(hidden_layer(sn.tensor(x))).numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6)
    assert sn.Model(inputs=inputs, outputs=outputs).num_parameters() == 22


def two_inputs_two_outputs():
    """Two inputs through one shared layer; a classification head on their concatenation
    and a regression head on their sum."""
    sn.manual_seed(0)
    left, right = sn.Input(shape=(3,), name="left"), sn.Input(shape=(3,), name="right")
    shared = nn.Dense(8, activation="tanh")
    a, b = shared(left), shared(right)
    label = nn.Dense(2)(Concatenate()([a, b]))
    value = nn.Dense(1)(Add()([a, b]))
    return sn.Model([left, right], [label, value]), shared


def two_input_data(n=64):
    rng = np.random.default_rng(0)
    left = rng.normal(size=(n, 3)).astype("float32")
    right = rng.normal(size=(n, 3)).astype("float32")
    label = (left.sum(1) > right.sum(1)).astype("int64")
    value = (left + right).sum(1, keepdims=True).astype("float32")
    return left, right, label, value


def test_two_inputs_two_outputs_and_a_shared_layer():
    model, shared = two_inputs_two_outputs()
    # The shared layer is one module with one set of weights.
    assert [name for name, _ in model.named_children()] == ["linear", "concatenate", "linear_1",
                                                           "add", "linear_2"]
    assert model.linear is shared
    left, right, label, value = two_input_data()
    out = model(left[:4], right[:4])
    assert isinstance(out, list) and [o.shape for o in out] == [(4, 2), (4, 1)]
    same = model([left[:4], right[:4]])
    np.testing.assert_array_equal(out[0].numpy(), same[0].numpy())
    # Replaying the graph by hand gives the same numbers.
    a, b = shared(sn.tensor(left[:4])), shared(sn.tensor(right[:4]))
    np.testing.assert_allclose(out[1].numpy(), model.linear_2(a + b).numpy(), rtol=1e-6)

    model.compile(optimizer="adam", loss=[logits_loss(), "mse"], loss_weights=[1.0, 0.5],
                  metrics=["accuracy"], learning_rate=0.02)
    history = model.fit([left, right], [label, value], epochs=8, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "linear_1_loss", "linear_2_loss",
                                    "linear_1_accuracy", "linear_2_accuracy", "lr"}
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    predictions = model.predict([left, right])
    assert [p.shape for p in predictions] == [(64, 2), (64, 1)]
    logs = model.evaluate([left, right], [label, value], verbose=0, return_dict=True)
    assert logs["linear_1_accuracy"] > 0.8
    # The total loss is the weighted sum of the two outputs' losses.
    logits, estimate = predictions
    shifted = logits - logits.max(1, keepdims=True)
    cross_entropy = -(shifted[np.arange(64), label] - np.log(np.exp(shifted).sum(1))).mean()
    expected = cross_entropy + 0.5 * np.mean((estimate - value) ** 2)
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)


def test_functional_model_trains_from_a_dataset_yielding_two_inputs_and_two_targets():
    model, _ = two_inputs_two_outputs()
    model.compile(optimizer="adam", loss=[logits_loss(), "mse"])
    left, right, label, value = two_input_data(32)
    data = sn.data.TensorDataset(left, right, label, value)
    history = model.fit(data, epochs=2, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 2


def test_nested_models_and_layers_returning_tuples():
    sn.manual_seed(0)
    inputs = sn.Input(shape=(5, 4))  # (batch, time, features)
    sequence, state = nn.LSTM(4, 6, batch_first=True)(inputs)
    assert sequence.shape == (None, 5, 6) and isinstance(state, tuple)
    assert state[0].example.shape == (1, 1, 6)  # (layers, batch, hidden): not batch-first
    encoder = sn.Model(inputs, sequence)
    assert encoder(np.zeros((2, 5, 4), "float32")).shape == (2, 5, 6)
    outer_in = sn.Input(shape=(5, 4))
    outer = sn.Model(outer_in, nn.Dense(3)(nn.Flatten()(encoder(outer_in))))
    assert outer(np.zeros((2, 5, 4), "float32")).shape == (2, 3)
    assert outer.functional is encoder and outer.num_parameters() == \
        encoder.num_parameters() + 30 * 3 + 3


def test_wrong_input_shape_and_count_are_clear_errors():
    inputs = sn.Input(shape=(2,))
    model = sn.Model(inputs, nn.Dense(1)(inputs))
    with pytest.raises(ValueError, match=r"Functional: input 0 expects samples of shape "
                                         r"\(2,\) \(batch shape \(None, 2\)\), got a batch of "
                                         r"shape \(4, 3\)"):
        model(np.zeros((4, 3), "float32"))
    two, _ = two_inputs_two_outputs()
    with pytest.raises(TypeError, match=r"takes 2 input\(s\), got 1"):
        two(np.zeros((4, 3), "float32"))


def test_functional_construction_errors():
    a, b = sn.Input(shape=(2,)), sn.Input(shape=(2,))
    hidden = nn.Dense(3)(a)
    with pytest.raises(ValueError, match="input 0 is the output of Linear, not an Input"):
        sn.Model(hidden, nn.Dense(1)(hidden))
    joined = Concatenate()([a, b])
    with pytest.raises(ValueError, match="depend on an Input of shape .* that is not in inputs"):
        sn.Model(a, joined)
    with pytest.raises(TypeError, match="build the model from Input placeholders"):
        sn.Model(a, sn.zeros(2))
    with pytest.raises(TypeError, match="placeholder of the functional API"):
        a + b
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(\.\.\., 3\), "
                                         r"got shape \(1, 2\)") as caught:
        nn.Dense(1, input_shape=(3,))(a)
    assert any("calling Linear on placeholders of shape (None, 2)" in note
               for note in getattr(caught.value, "__notes__", []))
    with pytest.raises(TypeError, match=r"Model\(inputs, outputs\): give both"):
        sn.Model(a)


def test_input_shape_and_dtype():
    tokens = sn.Input(shape=7, dtype="int64")
    assert tokens.shape == (None, 7) and str(tokens.dtype) == "int64"
    embedded = nn.Embedding(10, 4)(tokens)
    assert embedded.shape == (None, 7, 4)
    with pytest.raises(ValueError, match="shape must hold non-negative ints"):
        sn.Input(shape=(-1, 2))
    variable = sn.Input(shape=(None, 3))
    model = sn.Model(variable, nn.Dense(2)(variable))
    assert model(np.zeros((2, 9, 3), "float32")).shape == (2, 9, 2)
