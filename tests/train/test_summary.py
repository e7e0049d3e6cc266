"""Model.summary(): layers, output shapes, parameter counts, totals."""
import somanet as sn
from somanet import nn
from somanet.train import Concatenate


def text_of(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines[0]


def test_quickstart_summary():
    model = sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
                           nn.Dropout(0.2), nn.Dense(10)])
    text = text_of(model)
    rows = [line.split() for line in text.splitlines()]
    assert text.splitlines()[0] == "Model: Sequential"
    assert ["0", "(Flatten)", "(None,", "784)", "0"] in rows
    assert ["1", "(Linear)", "(None,", "128)", "100,480"] in rows
    assert ["2", "(Dropout)", "(None,", "128)", "0"] in rows
    assert ["3", "(Linear)", "(None,", "10)", "1,290"] in rows
    assert "Total params: 101,770 (397.54 KB)" in text
    assert "Trainable params: 101,770 (397.54 KB)" in text
    assert "Non-trainable params: 0 (0 B)" in text


def test_non_trainable_counts_frozen_parameters_and_buffers(capsys):
    model = sn.Sequential([sn.Input(shape=(4,)), nn.Dense(3), nn.BatchNorm1D(3), nn.Dense(2)])
    model[0].requires_grad_(False)
    model.summary()
    text = capsys.readouterr().out
    assert "Total params: 35" in text  # 15 + (3 + 3 weights, 3 + 3 running stats) + 8
    assert "Trainable params: 14" in text  # BatchNorm's gamma and beta, the last Dense
    assert "Non-trainable params: 21" in text  # the frozen Dense, the running statistics


def test_unknown_input_shape_is_said_and_can_be_given():
    model = sn.Sequential([nn.Dense(4), nn.ReLU(), nn.Dense(1)])
    text = text_of(model)
    assert "0 (unbuilt)" in text and "Output shapes are unknown" in text
    assert "Total params: 0" in text
    text = text_of(model, input_shape=(3,))
    assert "unknown" not in text and "(None, 4)" in text and "Total params: 21" in text


def test_subclassed_model_summary_after_fit_knows_shapes():
    class Net(sn.Model):
        def __init__(self):
            super().__init__()
            self.body = nn.Dense(6, activation="relu")
            self.head = nn.Dense(2)

        def forward(self, x):
            return self.head(self.body(x))

    model = Net()
    model.build((None, 5))
    text = text_of(model)
    assert "body (Linear)" in text and "(None, 6)" in text and "head (Linear)" in text
    assert "Total params: 50" in text


def test_functional_summary_shows_connections_and_shared_layers():
    a, b = sn.Input(shape=(3,), name="a"), sn.Input(shape=(3,), name="b")
    shared = nn.Dense(4)
    out = nn.Dense(1)(Concatenate()([shared(a), shared(b)]))
    text = text_of(sn.Model([a, b], out))
    rows = [" ".join(line.split()) for line in text.splitlines()]
    assert "a (Input) (None, 3) 0" in rows
    assert "linear (Linear) (None, 4) 16 a" in rows
    assert "linear (Linear) (None, 4) 0 (shared) b" in rows
    assert "concatenate (Concatenate) (None, 8) 0 linear[0], linear[1]" in rows
    assert "Total params: 25" in text


def _rows(model):
    return [" ".join(line.split()) for line in text_of(model).splitlines()]


def test_input_shape_on_the_first_layer_gives_every_shape():
    model = sn.Sequential([nn.Dense(4, input_shape=(3,)), nn.Dense(1)])
    rows = _rows(model)
    assert "0 (Linear) (None, 4) 16" in rows and "1 (Linear) (None, 1) 5" in rows
    assert not any("unknown" in row or "unbuilt" in row or "?" in row for row in rows)


def test_input_shape_of_other_first_layers():
    conv = sn.Sequential([nn.Conv2D(4, 3, input_shape=(1, 8, 8)), nn.Flatten(), nn.Dense(2)])
    assert "0 (Conv2D) (None, 4, 6, 6) 40" in _rows(conv)
    assert "2 (Linear) (None, 2) 290" in _rows(conv)
    lstm = sn.Sequential([nn.LSTM(4, input_shape=(5, 3)), nn.Dense(1)])
    assert "0 (LSTM) (None, 4) 128" in _rows(lstm)
    by_dim = sn.Sequential([nn.Dense(4, input_dim=3), nn.Dense(2)])
    assert "1 (Linear) (None, 2) 10" in _rows(by_dim)


def test_an_open_size_is_shown_as_none():
    model = sn.Sequential([nn.LSTM(4, input_shape=(None, 3), return_sequences=True),
                           nn.Dense(2)])
    rows = _rows(model)
    assert "0 (LSTM) (None, None, 4) 128" in rows and "1 (Linear) (None, None, 2) 10" in rows
    assert model.input_specs == [((None, 3), None)]


def test_input_shape_through_add_and_a_nested_model():
    model = sn.Sequential()
    model.add(nn.Dense(4, input_shape=(3,)))
    model.add(nn.Dense(2))
    assert "1 (Linear) (None, 2) 10" in _rows(model)
    outer = sn.Sequential([sn.Sequential([nn.Dense(4, input_shape=(3,))]), nn.Dense(2)])
    assert "1 (Linear) (None, 2) 10" in _rows(outer)
