"""Integer and bool features (issue 19): cast to the default float dtype once at a Model's
boundary, as Keras does, for every layer; an op meeting integers and float32 computes in
float32 (tests/ops/test_registry.py sweeps the ops); integer inputs the model declares
(an Embedding first, ``Input(dtype="int64")``) pass as they are."""
import inspect

import numpy as np
import pytest

import somanet as sn
from somanet import nn

# (layer factory, one sample's shape): every layer of somanet.nn.
LAYERS = {
    "Linear": (lambda: nn.Linear(4), (3,)),
    "Conv1D": (lambda: nn.Conv1D(2, 3), (2, 6)),
    "Conv2D": (lambda: nn.Conv2D(2, 3), (1, 5, 5)),
    "ConvTranspose2D": (lambda: nn.ConvTranspose2D(2, 3), (1, 4, 4)),
    "AvgPool2D": (lambda: nn.AvgPool2D(2), (1, 4, 4)),
    "GlobalAvgPool2D": (lambda: nn.GlobalAvgPool2D(), (2, 4, 4)),
    "MaxPool2D": (lambda: nn.MaxPool2D(2), (1, 4, 4)),
    "Flatten": (lambda: nn.Flatten(), (2, 3)),
    "Reshape": (lambda: nn.Reshape((6,)), (2, 3)),
    "Dropout": (lambda: nn.Dropout(0.5), (6,)),
    "BatchNorm1D": (lambda: nn.BatchNorm1D(), (3,)),
    "BatchNorm2D": (lambda: nn.BatchNorm2D(), (2, 3, 3)),
    "LayerNorm": (lambda: nn.LayerNorm(3), (3,)),
    "RNN": (lambda: nn.RNN(4, batch_first=True), (5, 3)),
    "LSTM": (lambda: nn.LSTM(4, batch_first=True), (5, 3)),
    "GRU": (lambda: nn.GRU(4, batch_first=True), (5, 3)),
    "ELU": (lambda: nn.ELU(), (3,)),
    "GELU": (lambda: nn.GELU(), (3,)),
    "Identity": (lambda: nn.Identity(), (3,)),
    "LeakyReLU": (lambda: nn.LeakyReLU(), (3,)),
    "LogSoftmax": (lambda: nn.LogSoftmax(), (3,)),
    "ReLU": (lambda: nn.ReLU(), (3,)),
    "Sigmoid": (lambda: nn.Sigmoid(), (3,)),
    "Softmax": (lambda: nn.Softmax(), (3,)),
    "Softplus": (lambda: nn.Softplus(), (3,)),
    "Step": (lambda: nn.Step(), (3,)),
    "Tanh": (lambda: nn.Tanh(), (3,)),
    "RepeatVector": (lambda: nn.RepeatVector(2), (3,)),
    "TimeDistributed": (lambda: nn.TimeDistributed(nn.Dense(3)), (5, 4)),
}
LAYERS = {name: entry for name, entry in LAYERS.items() if hasattr(nn, name)}
NOT_LAYERS = {"Module", "ModuleDict", "ModuleList", "ParameterList", "Sequential",
              "Embedding"}  # containers; Embedding takes integers (tested below)
# Layers of several inputs, tested in a functional model with one Input each.
MERGE_LAYERS = ("Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract")
ATTENTION_LAYERS = ("Attention", "AdditiveAttention")


class _First(nn.Module):
    """The first output of a recurrent layer (its outputs, not its state)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        out = self.layer(x)
        return out[0] if isinstance(out, tuple) else out


def _data(shape, dtype, seed=0):
    values = np.random.default_rng(seed).integers(0, 3, size=(4,) + shape)
    return values.astype(dtype)


def test_every_layer_is_in_the_table():
    layers = {value.__name__ for value in vars(nn).values()
              if inspect.isclass(value) and issubclass(value, nn.Module)
              and not value.__name__.endswith("Loss")}
    several = set(MERGE_LAYERS) | set(ATTENTION_LAYERS)
    assert sorted(layers - NOT_LAYERS - set(LAYERS) - several) == []


@pytest.mark.parametrize("name", MERGE_LAYERS + ATTENTION_LAYERS)
def test_layers_of_several_inputs_get_them_cast_at_the_boundary(name):
    sn.manual_seed(0)
    if name in MERGE_LAYERS:
        shapes = [(3,), (3,)]
        inputs = [sn.Input(shape) for shape in shapes]
        outputs = getattr(nn, name)()(inputs)
    else:
        shapes = [(2, 3), (5, 3)]
        inputs = [sn.Input(shape) for shape in shapes]
        outputs = getattr(nn, name)()(*inputs)
    model = sn.Model(inputs, outputs)
    data = [_data(shape, "int64", seed) for seed, shape in enumerate(shapes)]
    out = model(data)
    assert out.dtype == np.float32, f"{name} on int64 gave {out.dtype}"
    np.testing.assert_allclose(out.numpy(), model([d.astype(np.float32) for d in data]).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dtype", ["int64", "uint8", "bool"])
def test_a_model_casts_integer_features_once_at_its_boundary(name, dtype):
    factory, shape = LAYERS[name]
    sn.manual_seed(0)
    model = sn.Sequential([_First(factory())])
    model.eval()
    data = _data(shape, dtype)
    out = model(data)
    assert out.dtype == np.float32, f"{name} on {dtype} gave {out.dtype}"
    np.testing.assert_allclose(out.numpy(), model(data.astype(np.float32)).numpy(), rtol=1e-6)
    assert model(sn.tensor(data)).dtype == np.float32  # a Tensor of integers too


@pytest.mark.parametrize("name", sorted(name for name in LAYERS if name not in
                                        ("RNN", "LSTM", "GRU")))
def test_a_layer_with_weights_on_integers_computes_in_float32(name):
    # No model boundary: the op meets integers and float32 weights (the RNNs check their
    # input themselves, see tests/ops/test_registry.py)
    factory, shape = LAYERS[name]
    layer = factory()
    x = sn.tensor(_data(shape, "int64"))
    if name in ("Sigmoid", "Softmax", "LogSoftmax", "ELU", "GELU", "Softplus", "Tanh", "Step",
                "ReLU", "LeakyReLU", "Identity", "Flatten", "Reshape", "Dropout", "MaxPool2D",
                "AvgPool2D", "GlobalAvgPool2D", "RepeatVector"):
        pytest.skip("no weights: what it gives integers is NumPy's (a Model casts first)")
    out = layer(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


@pytest.mark.filterwarnings("ignore::somanet.train.LossIncreasingWarning")
def test_fit_on_integer_features_trains_in_float32():
    x = _data((3,), "int64")
    y = np.array([0, 1, 1, 0])
    model = sn.Sequential([nn.Dense(8, activation="relu"), nn.BatchNorm1D(), nn.Dense(2)])
    model.compile(optimizer="sgd", loss=sn.train.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model.predict(x).dtype == np.float32
    assert model.evaluate(x.astype("uint8"), y, verbose=0)[0] > 0


def test_integer_inputs_the_model_declares_pass_as_they_are():
    tokens = np.array([[1, 2, 3], [4, 5, 0]])
    sequential = sn.Sequential([nn.Embedding(6, 2), nn.Flatten(), nn.Dense(1)])
    assert sequential(tokens).dtype == np.float32  # indices reached the Embedding
    inputs = sn.Input((3,), dtype="int64")
    functional = sn.Model(inputs, nn.Dense(1)(nn.Flatten()(nn.Embedding(6, 2)(inputs))))
    assert functional(tokens).dtype == np.float32
    features = sn.Input((3,))  # float by default: integer data is cast
    assert sn.Model(features, nn.Dense(1)(features))(tokens).dtype == np.float32
    assert sn.Sequential([sn.Input((3,), dtype="int64"), nn.Embedding(6, 2)])(tokens).dtype \
        == np.float32

    class Tagger(sn.Model):  # an Embedding inside: the model takes integers
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(6, 2)

        def forward(self, x):
            return self.embed(x)

    assert Tagger()(tokens).shape == (2, 3, 2)

    class Counts(sn.Model):  # says so: integer features are cast
        integer_input = False

        def __init__(self):
            super().__init__()
            self.seen = None

        def forward(self, x):
            self.seen = x.dtype
            return x

    counts = Counts()
    counts(tokens)
    assert counts.seen == np.float32


def test_a_float_model_keeps_float64_data_policy():
    # float64 data still becomes float32 (the dtype policy), float32 stays as it is
    model = sn.Sequential([nn.Dense(2)])
    assert model(np.ones((2, 3))).dtype == np.float32
