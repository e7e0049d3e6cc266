"""Several outputs: each output's loss and metrics in the logs, named after the outputs."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn

from .helpers import logits_loss


def data(n=48):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 3)).astype("float32")
    label = (x.sum(1) > 0).astype("int64")
    value = x[:, :1] * 2.0
    return x, label, value


def two_heads():
    sn.manual_seed(0)
    inputs = sn.Input(shape=(3,))
    hidden = nn.Dense(8, activation="tanh")(inputs)
    return sn.Model(inputs, [nn.Dense(2)(hidden), nn.Dense(1)(hidden)])


def test_history_keeps_each_outputs_loss_and_metrics():
    model = two_heads()
    model.output_names = ["label", "value"]
    model.compile(optimizer="adam", loss=[logits_loss(), "mse"], loss_weights=[1.0, 0.5],
                  metrics=["accuracy"], learning_rate=0.01)
    x, label, value = data()
    history = model.fit(x, [label, value], epochs=3, batch_size=16, verbose=0,
                        validation_data=(x, [label, value]))
    logged = history.history
    assert list(logged) == ["loss", "label_loss", "value_loss", "label_accuracy",
                            "value_accuracy", "val_loss", "val_label_loss", "val_value_loss",
                            "val_label_accuracy", "val_value_accuracy", "lr"]
    # Equal batches: the epoch's total is the weighted sum of the outputs' own losses.
    for epoch in range(3):
        assert logged["loss"][epoch] == pytest.approx(
            logged["label_loss"][epoch] + 0.5 * logged["value_loss"][epoch], rel=1e-5)
    assert model.metrics_names == ["loss", "label_loss", "value_loss", "label_accuracy",
                                   "value_accuracy"]
    # evaluate: each output's loss against a hand computation on the predictions.
    logs = model.evaluate(x, [label, value], batch_size=16, verbose=0, return_dict=True)
    logits, estimate = model.predict(x)
    shifted = logits - logits.max(1, keepdims=True)
    cross_entropy = -(shifted[np.arange(len(x)), label]
                      - np.log(np.exp(shifted).sum(1))).mean()
    assert logs["label_loss"] == pytest.approx(cross_entropy, rel=1e-4)
    assert logs["value_loss"] == pytest.approx(np.mean((estimate - value) ** 2), rel=1e-4)
    values = model.evaluate(x, [label, value], verbose=0)
    assert len(values) == 5 and values[1] == pytest.approx(logs["label_loss"])


def test_default_names_are_the_output_layers_names():
    model = two_heads()
    assert model.output_names == ["linear_1", "linear_2"]
    model.compile(optimizer="sgd", loss=[logits_loss(), "mse"])
    x, label, value = data(16)
    history = model.fit(x, [label, value], epochs=1, verbose=0)
    assert set(history.history) == {"loss", "linear_1_loss", "linear_2_loss", "lr"}


def test_a_named_nested_model_names_its_output():
    inputs = sn.Input(shape=(3,))
    head = sn.Sequential([nn.Dense(1)], name="price")
    model = sn.Model(inputs, [nn.Dense(2)(inputs), head(inputs)])
    assert model.output_names == ["linear", "price"]


def test_one_layer_giving_two_outputs_is_numbered():
    inputs = sn.Input(shape=(3,))
    out = nn.Dense(2)(inputs)
    assert sn.Model(inputs, [out, out]).output_names == ["linear", "linear_1"]


def test_loss_and_weights_by_output_name():
    model = two_heads()
    model.output_names = ["label", "value"]
    model.compile(optimizer="adam", loss={"value": "mse", "label": logits_loss()},
                  loss_weights={"value": 0.5})
    assert model._compiled.loss_weights == [1.0, 0.5]
    x, label, value = data(16)
    history = model.fit(x, [label, value], epochs=1, verbose=0)
    assert "value_loss" in history.history
    with pytest.raises(ValueError, match=r"compile: loss names the output\(s\) \['price'\]; "
                                         r"the outputs are \['label', 'value'\]"):
        model.compile(loss={"label": logits_loss(), "price": "mse"})
    with pytest.raises(ValueError, match=r"compile: loss gives no loss for the output\(s\) "
                                         r"\['value'\]"):
        model.compile(loss={"label": logits_loss()})


def test_jit_steps_log_each_output_too():
    model = two_heads()
    model.compile(optimizer="sgd", loss=[logits_loss(), "mse"], jit=True)
    x, label, value = data(32)
    eager = two_heads()
    eager.compile(optimizer="sgd", loss=[logits_loss(), "mse"])
    compiled_logs = model.fit(x, [label, value], epochs=2, batch_size=8, verbose=0,
                              shuffle=False).history
    eager_logs = eager.fit(x, [label, value], epochs=2, batch_size=8, verbose=0,
                           shuffle=False).history
    assert compiled_logs["linear_2_loss"] == pytest.approx(eager_logs["linear_2_loss"])
    assert compiled_logs["linear_2_loss"][1] != compiled_logs["linear_2_loss"][0]


class TwoOutputs(sn.Model):
    def __init__(self):
        super().__init__()
        self.body = nn.Dense(4, activation="tanh")
        self.label = nn.Dense(2)
        self.value = nn.Dense(1)

    def forward(self, x):
        hidden = self.body(x)
        return [self.label(hidden), self.value(hidden)]


def test_a_subclassed_model_numbers_its_outputs_or_takes_names():
    sn.manual_seed(0)
    model = TwoOutputs()
    model.compile(optimizer="sgd", loss=[logits_loss(), "mse"], metrics=["accuracy"])
    x, label, value = data(16)
    logged = model.fit(x, [label, value], epochs=1, verbose=0).history
    assert {"output_0_loss", "output_1_loss", "output_0_accuracy"} <= set(logged)
    model.output_names = ["label", "value"]
    assert {"label_loss", "value_accuracy"} <= set(model.fit(x, [label, value], epochs=1,
                                                             verbose=0).history)
    model.output_names = ["only_one"]
    with pytest.raises(ValueError, match=r"output_names has 1 name\(s\) \(\['only_one'\]\) but "
                                         r"the model has 2 output\(s\)"):
        model.fit(x, [label, value], epochs=1, verbose=0)


def test_bad_output_names():
    model = two_heads()
    with pytest.raises(TypeError, match=r"output_names must be a list of non-empty names"):
        model.output_names = "label"
    with pytest.raises(TypeError, match=r"output_names must be a list of non-empty names"):
        model.output_names = ["label", ""]
    with pytest.raises(ValueError, match=r"output_names must be distinct"):
        model.output_names = ["a", "a"]
    with pytest.raises(ValueError, match=r"output_names: the model has 2 output\(s\), got 3"):
        model.output_names = ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"compile: loss is a dict, but this model's outputs "
                                         r"have no names yet"):
        TwoOutputs().compile(loss={"a": "mse"})
