"""model.save / sn.load_model: a self-describing folder (JSON + safetensors, no pickle) that
rebuilds Sequential, functional, zoo and registered user models, and refuses the rest
with errors that name what is wrong."""
import json
import os

import numpy as np
import pytest

import somanet as sn
from somanet import models, nn


def _data(n=32, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, (x.sum(axis=1) > 0).astype("int64")


def _classifier():
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(8, activation="relu"),
                           nn.BatchNorm1D(), nn.Dense(2)])
    model.compile(optimizer=sn.optim.Adam(model.parameters(), lr=0.01),
                  loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_a_compiled_model_goes_on_training_exactly_after_load(tmp_path):
    x, y = _data()
    model = _classifier()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    model.save(tmp_path / "clf")
    assert sorted(os.listdir(tmp_path / "clf")) == ["model.json", "model.safetensors",
                                                    "optimizer.safetensors"]
    again = sn.load_model(tmp_path / "clf")
    assert type(again) is sn.Sequential and again.compiled and not again.training
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    # the optimiser's moments and step count came back: the next epoch is the same
    first = model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False).history
    second = again.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False).history
    assert first == second
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[name].numpy(), value.numpy())


def test_without_the_optimizer_and_uncompiled(tmp_path):
    x, _ = _data()
    model = _classifier()
    model.save(tmp_path / "m", include_optimizer=False)
    assert "optimizer.safetensors" not in os.listdir(tmp_path / "m")
    assert sn.load_model(tmp_path / "m").compiled  # compile settings, a fresh optimiser
    plain = sn.load_model(tmp_path / "m", compile=False)
    assert not plain.compiled
    np.testing.assert_array_equal(plain.predict(x), model.predict(x))


def test_a_functional_model_with_a_shared_layer(tmp_path):
    x, _ = _data()
    inputs = sn.Input(shape=(3,))
    shared = nn.Dense(4, activation="tanh")
    left, right = shared(inputs), shared(nn.Dense(3)(inputs))
    outputs = nn.Dense(2)(sn.train.Concatenate()([left, right]))
    model = sn.Model(inputs, outputs, name="two_paths")
    model.save(tmp_path / "f")
    again = sn.load_model(tmp_path / "f")
    assert again.name == "two_paths"
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    # the shared layer is one layer again: one set of its weights
    assert len(list(again.parameters())) == len(list(model.parameters()))


@pytest.mark.parametrize("build", [
    lambda: models.lenet(),
    lambda: models.RBM(9, 4, persistent=True, chains=4),
    lambda: models.DSN(n_modules=2, n_hidden=8),
    lambda: models.autoencoder(code_dim=4, hidden=(16,)),
], ids=["lenet", "rbm", "dsn", "autoencoder"])
def test_zoo_models(tmp_path, build):
    model = build()
    if not model.is_built:
        model.build((None, 1, 28, 28) if "LeNet" in repr(model) else (None, 28, 28))
    model.save(tmp_path / "zoo")
    again = sn.load_model(tmp_path / "zoo")
    assert type(again) is type(model)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[name].numpy(), value.numpy())


def test_a_registered_user_layer_and_custom_objects(tmp_path):
    class Scale(nn.Module):
        def __init__(self, factor=2.0):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(2), Scale(3.0)])
    with pytest.raises(TypeError, match=r"Scale.*not registered.*@somanet.register_layer"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m" / "model.json").exists()

    sn.register_layer(Scale, name="tests.Scale")
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "model.json").read_text())
    assert "tests.Scale" in json.dumps(config)
    again = sn.load_model(tmp_path / "m")
    assert type(again[-1]) is Scale and again[-1].factor == 3.0
    x, _ = _data()
    np.testing.assert_array_equal(again.predict(x), model.predict(x))

    # a registry that does not know the name (another process): a clear error, or
    # custom_objects
    text = (tmp_path / "m" / "model.json").read_text().replace("tests.Scale", "my.Unknown")
    (tmp_path / "m" / "model.json").write_text(text)
    with pytest.raises(ValueError, match=r"'my.Unknown'.*not registered.*custom_objects"):
        sn.load_model(tmp_path / "m")
    again = sn.load_model(tmp_path / "m", custom_objects={"Unknown": Scale})
    assert type(again[-1]) is Scale


def test_a_file_never_runs_code(tmp_path):
    model = _classifier()
    model.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    config = json.loads(path.read_text())
    config["model"]["class"] = "os.system"
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"'os.system'.*not registered"):
        sn.load_model(tmp_path / "m")


def test_arguments_that_are_not_json_are_refused_at_save(tmp_path):
    model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(2, activation=lambda t: t * 2)])
    with pytest.raises(TypeError, match=r"Sequential\[0\] \(Linear\) argument activation=.*not JSON"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists() or not os.listdir(tmp_path / "m")


def test_bad_paths_and_damaged_folders(tmp_path):
    model = _classifier()
    with pytest.raises(TypeError, match=r"takes the folder first, then the model"):
        sn.train.save_model(model, tmp_path / "m")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds other files"):
        model.save(tmp_path / "notes")
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        model.save(tmp_path / "file")
    lazy = sn.Sequential([nn.Dense(4), nn.Dense(2)])
    with pytest.raises(ValueError, match=r"not built yet.*build\(input_shape\)"):
        lazy.save(tmp_path / "lazy")

    with pytest.raises(FileNotFoundError, match="not a folder saved by model.save"):
        sn.load_model(tmp_path / "nowhere")
    model.save_weights(tmp_path / "w.safetensors")
    with pytest.raises(FileNotFoundError, match=r"a weights file: model.load_weights"):
        sn.load_model(tmp_path / "w.safetensors")
    with pytest.raises(FileNotFoundError, match="holds no model.json"):
        sn.load_model(tmp_path / "notes")
    model.save(tmp_path / "m")
    config_path = tmp_path / "m" / "model.json"
    good = config_path.read_text()
    config_path.write_text(good[:40])
    with pytest.raises(ValueError, match="not valid JSON.*damaged"):
        sn.load_model(tmp_path / "m")
    config_path.write_text(json.dumps({"format": "keras"}))
    with pytest.raises(ValueError, match="not a somanet model description"):
        sn.load_model(tmp_path / "m")
    config_path.write_text(good.replace('"version": 1', '"version": 99'))
    with pytest.raises(ValueError, match="format version 99"):
        sn.load_model(tmp_path / "m")


def test_model_save_weights_and_load_weights(tmp_path):
    x, _ = _data()
    model, other = _classifier(), _classifier()
    model.save_weights(tmp_path / "w.safetensors")
    result = other.load_weights(tmp_path / "w.safetensors")
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(TypeError, match="takes the path first"):
        sn.io.save_weights(model, tmp_path / "w.safetensors")
