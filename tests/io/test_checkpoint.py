import json
import os

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.data import DataLoader, TensorDataset
from somanet.io import load_checkpoint, save_checkpoint


def _model(seed=0):
    sn.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _data():
    rng = np.random.default_rng(0)
    return TensorDataset(rng.random((20, 3)).astype(np.float32), np.arange(20) % 2)


def _values(model):
    return {name: tensor.numpy().copy() for name, tensor in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _train_step(model, optimizer, x):
    optimizer.zero_grad()
    loss = (model(x) ** 2).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def _batches(loader):
    """Batches across epochs, as a training loop sees them."""
    while True:
        for batch in loader:
            yield batch


def _steps(model, optimizer, batches, count):
    return [_train_step(model, optimizer, next(batches)[0]) for _ in range(count)]


def test_resume_mid_epoch_matches_an_uninterrupted_run(tmp_path):
    model = _model(0)
    optimizer = sn.optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(_data(), batch_size=5, shuffle=True, seed=7)  # 4 batches an epoch
    batches = _batches(loader)
    reference = _steps(model, optimizer, batches, 6)  # stop mid epoch 1, at position 2
    folder = tmp_path / "ckpt"
    save_checkpoint(folder, model, optimizer, loader, epoch=loader.epoch, step=6,
                    history={"loss": reference})
    continued = _steps(model, optimizer, batches, 5)  # the rest of epoch 1, then epoch 2

    fresh_model = _model(123)
    fresh_optimizer = sn.optim.Adam(fresh_model.parameters(), lr=0.9)
    fresh_loader = DataLoader(_data(), batch_size=5, shuffle=True, seed=1)
    sn.manual_seed(999)
    info = load_checkpoint(folder, fresh_model, fresh_optimizer, fresh_loader)
    assert info["step"] == 6 and info["epoch"] == 1 and info["loader_position"] == 2
    assert info["history"]["loss"] == pytest.approx(reference)
    assert fresh_optimizer.param_groups[0]["lr"] == 0.05
    resumed = _steps(fresh_model, fresh_optimizer, _batches(fresh_loader), 5)
    assert resumed == continued
    assert _same(_values(fresh_model), _values(model))


def test_rng_state_is_restored(tmp_path):
    model = _model(0)
    sn.manual_seed(5)
    sn.randn(3)
    save_checkpoint(tmp_path / "c", model)
    expected = sn.randn(4).numpy()
    sn.manual_seed(77)
    load_checkpoint(tmp_path / "c", model)
    assert np.array_equal(sn.randn(4).numpy(), expected)
    sn.manual_seed(77)
    load_checkpoint(tmp_path / "c", model, restore_rng=False)
    sn.manual_seed(77)
    after = sn.randn(4).numpy()
    sn.manual_seed(77)
    load_checkpoint(tmp_path / "c", model, restore_rng=False)
    assert np.array_equal(sn.randn(4).numpy(), after)


def test_device_rng_states_are_saved_as_arrays_and_restored(strict, tmp_path):
    model = _model(0)
    sn.manual_seed(5)
    sn.randn(3, device=strict)
    save_checkpoint(tmp_path / "c", model)
    index = json.loads((tmp_path / "c" / "checkpoint.json").read_text())
    assert index["rng"]["devices"] == [str(strict)] and index["state"] is not None
    expected = sn.randn(4, device=strict).numpy(), sn.randn(4).numpy()
    sn.manual_seed(77)
    sn.randn(6, device=strict)
    load_checkpoint(tmp_path / "c", model)
    assert np.array_equal(sn.randn(4, device=strict).numpy(), expected[0])
    assert np.array_equal(sn.randn(4).numpy(), expected[1])


def test_a_gpu_checkpoint_resumes_where_that_gpu_is_missing(tmp_path, monkeypatch):
    # as if saved on gpu:3: its generator's state is in the checkpoint, this machine has
    # no GPU; the CPU's stream resumes and the GPU's state is skipped
    import somanet.io.checkpoint as checkpoint
    model = _model(0)
    sn.manual_seed(5)
    monkeypatch.setattr(checkpoint, "get_device_rng_states",
                        lambda: {"gpu:3": np.arange(64, dtype=np.uint8)})
    save_checkpoint(tmp_path / "c", model)
    monkeypatch.undo()
    expected = sn.randn(4).numpy()
    sn.manual_seed(77)
    load_checkpoint(tmp_path / "c", model)
    assert np.array_equal(sn.randn(4).numpy(), expected)
    # the index naming a device state the state file lacks is a damaged checkpoint
    index = json.loads((tmp_path / "c" / "checkpoint.json").read_text())
    index["rng"]["devices"].append("gpu:4")
    (tmp_path / "c" / "checkpoint.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="lacks.*rng/gpu:4.*damaged"):
        load_checkpoint(tmp_path / "c", model)
    assert load_checkpoint(tmp_path / "c", model, restore_rng=False)["epoch"] is None


def test_folder_layout_json_and_overwrite(tmp_path):
    folder = tmp_path / "c"
    model = _model(0)
    optimizer = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _train_step(model, optimizer, sn.ones(2, 3))
    save_checkpoint(folder, model, optimizer, epoch=1, step=10,
                    history={"loss": [np.float32(0.5), 0.25]}, extra={"note": "first"})
    index = json.loads((folder / "checkpoint.json").read_text())
    assert index["format"] == "somanet-checkpoint" and index["optimizer"]["type"] == "SGD"
    assert index["history"] == {"loss": [0.5, 0.25]}
    first_files = set(os.listdir(folder))
    assert len(first_files) == 3
    save_checkpoint(folder, model, optimizer, epoch=2, step=20, extra={"note": "second"})
    files = set(os.listdir(folder))
    assert len(files) == 3 and files != first_files  # the old files were removed
    assert load_checkpoint(folder, None)["extra"] == {"note": "second"}
    assert load_checkpoint(folder / "checkpoint.json")["epoch"] == 2


def test_interrupted_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    folder = tmp_path / "c"
    model = _model(0)
    save_checkpoint(folder, model, epoch=1)
    from somanet.io import checkpoint as module

    def crash(path, text):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(module, "atomic_write_text", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(folder, _model(5), epoch=2)
    monkeypatch.undo()
    other = _model(9)
    assert load_checkpoint(folder, other)["epoch"] == 1
    assert _same(_values(other), _values(model))


def test_bad_values_fail_before_writing(tmp_path):
    with pytest.raises(TypeError, match=r"extra\['f'\] is a builtin_function.*JSON cannot hold"):
        save_checkpoint(tmp_path / "c", _model(), extra={"f": print})
    with pytest.raises(ValueError, match="epoch must be a non-negative int"):
        save_checkpoint(tmp_path / "c", _model(), epoch=-1)
    with pytest.raises(TypeError, match=r"history\['loss'\] is a tensor of shape \(2,\)"):
        save_checkpoint(tmp_path / "c", _model(), history={"loss": sn.ones(2)})
    assert not (tmp_path / "c").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        save_checkpoint(tmp_path / "file", _model())


@pytest.fixture
def saved(tmp_path):
    model = _model(0)
    optimizer = sn.optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(_data(), batch_size=5, shuffle=True, seed=3)
    iterator = iter(loader)
    _train_step(model, optimizer, next(iterator)[0])
    folder = tmp_path / "c"
    save_checkpoint(folder, model, optimizer, loader, epoch=0, step=1)
    return folder


def _fresh():
    model = _model(4)
    optimizer = sn.optim.Adam(model.parameters(), lr=0.5)
    _train_step(model, optimizer, sn.ones(2, 3))
    loader = DataLoader(_data(), batch_size=5, shuffle=True, seed=3)
    return model, optimizer, loader


def _assert_load_fails_unchanged(folder, match, exception=ValueError, make=_fresh):
    model, optimizer, loader = make()
    before = (_values(model), optimizer.state_dict(), loader.state_dict())
    with pytest.raises(exception, match=match):
        load_checkpoint(folder, model, optimizer, loader)
    after = (_values(model), optimizer.state_dict(), loader.state_dict())
    assert _same(before[0], after[0])
    assert before[1]["param_groups"] == after[1]["param_groups"]
    assert _same(before[1]["arrays"], after[1]["arrays"])
    assert before[2]["position"] == after[2]["position"] and before[2]["order"] is None \
        and after[2]["order"] is None


def _file(folder, prefix):
    (name,) = [name for name in os.listdir(folder) if name.startswith(prefix)]
    return folder / name


def test_truncated_weights(saved):
    path = _file(saved, "model-")
    path.write_bytes(path.read_bytes()[:-7])
    _assert_load_fails_unchanged(saved, f"{path.name} is not a readable safetensors file")


def test_truncated_state(saved):
    path = _file(saved, "state-")
    path.write_bytes(path.read_bytes()[:100])
    _assert_load_fails_unchanged(saved, f"{path.name} is not a readable safetensors file")


def test_damaged_index(saved):
    (saved / "checkpoint.json").write_text('{"format": "somanet-checkpoint", "vers')
    _assert_load_fails_unchanged(saved, "checkpoint.json is not valid JSON")
    (saved / "checkpoint.json").write_text('{"format": "keras"}')
    _assert_load_fails_unchanged(saved, "not a somanet checkpoint index")


def test_wrong_format_weights(saved):
    path = _file(saved, "model-")
    path.write_text("just text")
    _assert_load_fails_unchanged(saved, "not a readable safetensors file")


def test_weights_that_do_not_fit_the_model(saved):
    def wider():
        model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2))
        optimizer = sn.optim.Adam(model.parameters(), lr=0.5)
        return model, optimizer, DataLoader(_data(), batch_size=5, shuffle=True, seed=3)

    _assert_load_fails_unchanged(saved, r"model-.*does not fit the model.*shape", make=wider)


def test_optimizer_that_does_not_fit_rolls_back_the_model(saved):
    def other_optimizer():
        model = _model(4)
        return model, sn.optim.SGD(model.parameters(), lr=0.5), \
            DataLoader(_data(), batch_size=5, shuffle=True, seed=3)

    _assert_load_fails_unchanged(saved, "saved by Adam, not SGD", make=other_optimizer)


def test_loader_that_does_not_fit(saved):
    def other_loader():
        model = _model(4)
        return model, sn.optim.Adam(model.parameters(), lr=0.5), \
            DataLoader(_data(), batch_size=4, shuffle=True, seed=3)

    _assert_load_fails_unchanged(saved, "batch_size=5.*this loader has batch_size=4",
                                 make=other_loader)


def test_missing_parts(saved, tmp_path):
    model = _model(0)
    save_checkpoint(tmp_path / "bare", model)
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(tmp_path / "bare", model, sn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="no data loader state"):
        load_checkpoint(tmp_path / "bare", model, loader=DataLoader(_data()))
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        load_checkpoint(tmp_path / "nowhere", model)
    os.mkdir(tmp_path / "emptydir")
    with pytest.raises(FileNotFoundError, match="has no checkpoint.json"):
        load_checkpoint(tmp_path / "emptydir", model)
    os.remove(_file(saved, "model-"))
    _assert_load_fails_unchanged(saved, "no file", exception=FileNotFoundError)


def test_damaged_rng_state(saved):
    index = json.loads((saved / "checkpoint.json").read_text())
    index["rng"]["cpu"]["bit_generator"] = "seed"
    (saved / "checkpoint.json").write_text(json.dumps(index))
    _assert_load_fails_unchanged(saved, "damaged RNG state")


@pytest.mark.parametrize("key, name", [("model", "../../x/model.safetensors"),
                                       ("model", "/etc/passwd"),
                                       ("state", "../state-1-abcd.safetensors"),
                                       ("model", "state-1-0a1b2c3d.safetensors")])
def test_file_names_in_the_index_stay_inside_the_folder(saved, key, name):
    index = json.loads((saved / "checkpoint.json").read_text())
    index[key] = name
    (saved / "checkpoint.json").write_text(json.dumps(index))
    _assert_load_fails_unchanged(saved, rf"the entry '{key}' is .*expected the name of a file "
                                        rf"in the checkpoint folder")


@pytest.mark.parametrize("key, value, expected", [
    ("epoch", "3", "a non-negative int or null"), ("step", -1, "a non-negative int or null"),
    ("epoch", True, "a non-negative int or null"), ("history", [1], "an object"),
    ("extra", None, "an object"), ("optimizer", 5, "an object or null")])
def test_index_entries_of_the_wrong_type(saved, key, value, expected):
    index = json.loads((saved / "checkpoint.json").read_text())
    index[key] = value
    (saved / "checkpoint.json").write_text(json.dumps(index))
    _assert_load_fails_unchanged(saved, rf"the entry '{key}' is .*expected {expected}; the file "
                                        rf"is damaged")


def test_a_flipped_bit_in_the_state_is_an_error_naming_the_tensor(saved):
    path = _file(saved, "state-")
    header = sn.io.read_header(path)
    data = bytearray(path.read_bytes())
    data[header.data_start + header.tensors["optimizer/state.0.exp_avg"].begin + 2] ^= 1
    path.write_bytes(bytes(data))
    _assert_load_fails_unchanged(saved, r"tensor 'optimizer/state.0.exp_avg' is damaged")


def test_what_a_killed_save_leaves_behind_is_removed(tmp_path):
    folder = tmp_path / "c"
    save_checkpoint(folder, _model(0), epoch=1)
    leftovers = [".model-7-0a1b2c3d.safetensors.k2j4h5g6.tmp", ".checkpoint.json.abcd1234.tmp",
                 "model-7-0a1b2c3d.safetensors"]  # a save killed before its index
    for name in leftovers:
        (folder / name).write_bytes(b"partial")
    (folder / "notes.txt").write_text("mine")
    (folder / ".notes.txt.abcd1234.tmp").write_text("not a checkpoint file")
    sn.io.clean_checkpoint_folder(folder)
    names = sorted(os.listdir(folder))
    assert not set(leftovers) & set(names)
    assert "notes.txt" in names and ".notes.txt.abcd1234.tmp" in names
    assert load_checkpoint(folder, _model(1))["epoch"] == 1
    for name in leftovers:
        (folder / name).write_bytes(b"partial")
    save_checkpoint(folder, _model(0), epoch=2)  # the next save clears them too
    assert not set(leftovers) & set(os.listdir(folder))


def test_other_arrays_ride_along(tmp_path):
    folder = tmp_path / "c"
    save_checkpoint(folder, _model(0), arrays={"best/0.weight": np.arange(6.0).reshape(2, 3)})
    info = load_checkpoint(folder, arrays=True)
    assert info["arrays"]["best/0.weight"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert "arrays" not in load_checkpoint(folder)


def test_a_loader_order_longer_than_the_data_is_refused_before_reading(saved):
    def smaller():
        model = _model(4)
        rng = np.random.default_rng(0)
        data = TensorDataset(rng.random((5, 3)).astype(np.float32), np.arange(5) % 2)
        return model, sn.optim.Adam(model.parameters(), lr=0.5), \
            DataLoader(data, batch_size=5, shuffle=True, seed=3)

    _assert_load_fails_unchanged(saved, r"the loader's order has shape \(20,\), but this "
                                        r"loader has 5 examples", make=smaller)
