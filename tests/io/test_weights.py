import os

import numpy as np
import pytest
from safetensors.numpy import load_file

import somanet as sn
from somanet import nn
from somanet.io import (atomic_write_bytes, load_weights, read_metadata, read_weights,
                        save_weights)


def _model(seed=0):
    sn.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _values(model):
    return {name: tensor.numpy().copy() for name, tensor in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_round_trip_and_file_is_plain_safetensors(tmp_path):
    model, other = _model(0), _model(1)
    path = tmp_path / "model.safetensors"
    save_weights(model, path, metadata={"note": "hello"})
    assert not _same(_values(model), _values(other))
    result = load_weights(other, path)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert _same(_values(model), _values(other))
    plain = load_file(str(path))  # any safetensors reader sees the same tensors
    assert _same(plain, _values(model)) and plain["0.weight"].dtype == np.float32
    assert read_metadata(path)["note"] == "hello"
    assert _same(read_weights(path), _values(model))
    assert [name for name in os.listdir(tmp_path)] == ["model.safetensors"]  # no temp left


def test_save_a_dict_of_tensors_and_arrays(tmp_path):
    path = tmp_path / "d.safetensors"
    save_weights({"a": sn.ones(2, 2), "b": np.arange(3), "c": np.ones((3, 3))[:, 0]}, path)
    loaded = read_weights(path)
    assert loaded["a"].dtype == np.float32 and loaded["b"].tolist() == [0, 1, 2]
    assert loaded["c"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="Module or a dict"):
        save_weights([1, 2], path)
    with pytest.raises(TypeError, match="metadata must map strings"):
        save_weights({"a": np.ones(1)}, path, metadata={"n": 1})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_weights({"a": np.ones(1)}, tmp_path / "no" / "such" / "x.safetensors")


def _assert_fails_unchanged(model, path, match, **kwargs):
    before = _values(model)
    with pytest.raises(ValueError, match=match) as caught:
        load_weights(model, path, **kwargs)
    assert str(path) in str(caught.value)
    assert _same(before, _values(model))


def test_truncated_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(_model(0), path)
    path.write_bytes(path.read_bytes()[:-10])
    _assert_fails_unchanged(_model(1), path, "not a readable safetensors file.*truncated")


def test_wrong_format(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, weight=np.ones(3))
    _assert_fails_unchanged(_model(1), path, "not a readable safetensors file")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    _assert_fails_unchanged(_model(1), empty, "not a readable safetensors file")


def test_mis_shaped_missing_and_extra_tensors(tmp_path):
    wide = tmp_path / "wide.safetensors"
    save_weights(nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2)), wide)
    _assert_fails_unchanged(_model(1), wide, r"'0.weight' has shape \(3, 5\) in the state "
                                             r"dict but \(3, 4\)")
    values = _values(_model(0))
    missing = tmp_path / "missing.safetensors"
    save_weights({k: v for k, v in values.items() if k != "2.bias"}, missing)
    _assert_fails_unchanged(_model(1), missing, r"missing keys: \['2.bias'\]")
    extra = tmp_path / "extra.safetensors"
    save_weights({**values, "3.weight": np.ones(2, dtype=np.float32)}, extra)
    _assert_fails_unchanged(_model(1), extra, r"unexpected keys: \['3.weight'\]")
    model = _model(1)
    result = load_weights(model, extra, strict=False)
    assert result.unexpected_keys == ["3.weight"] and _same(_values(model), values)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        load_weights(_model(), tmp_path / "nope.safetensors")
    with pytest.raises(IsADirectoryError, match="is a folder.*load_checkpoint"):
        load_weights(_model(), tmp_path)
    with pytest.raises(TypeError, match="expects a Module"):
        load_weights({"a": 1}, tmp_path / "x")


def test_lazy_model_takes_shapes_from_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(_model(0), path)
    lazy = nn.Sequential(nn.Linear(4), nn.ReLU(), nn.Linear(2))
    load_weights(lazy, path)
    assert _same(_values(lazy), _values(_model(0)))


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(_model(0), path)
    original = path.read_bytes()

    with pytest.raises(TypeError):
        atomic_write_bytes(path, object())  # fails while writing
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.safetensors"]  # the temporary file was removed
