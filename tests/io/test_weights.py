import json
import os
import re
import subprocess
import sys

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
    save_weights(path, model, metadata={"note": "hello"})
    assert not _same(_values(model), _values(other))
    result = load_weights(path, other)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert _same(_values(model), _values(other))
    plain = load_file(str(path))  # any safetensors reader sees the same tensors
    assert _same(plain, _values(model)) and plain["0.weight"].dtype == np.float32
    assert read_metadata(path)["note"] == "hello"
    assert _same(read_weights(path), _values(model))
    assert [name for name in os.listdir(tmp_path)] == ["model.safetensors"]  # no temp left


def test_save_a_dict_of_tensors_and_arrays(tmp_path):
    path = tmp_path / "d.safetensors"
    save_weights(path, {"a": sn.ones(2, 2), "b": np.arange(3), "c": np.ones((3, 3))[:, 0]})
    loaded = read_weights(path)
    assert loaded["a"].dtype == np.float32 and loaded["b"].tolist() == [0, 1, 2]
    assert loaded["c"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="Module or a dict"):
        save_weights(path, [1, 2])
    with pytest.raises(TypeError, match="metadata must map strings"):
        save_weights(path, {"a": np.ones(1)}, metadata={"n": 1})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_weights(tmp_path / "no" / "such" / "x.safetensors", {"a": np.ones(1)})


def _assert_fails_unchanged(model, path, match, **kwargs):
    before = _values(model)
    with pytest.raises(ValueError, match=match) as caught:
        load_weights(path, model, **kwargs)
    assert str(path) in str(caught.value)
    assert _same(before, _values(model))


def test_truncated_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(path, _model(0))
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
    save_weights(wide, nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2)))
    _assert_fails_unchanged(_model(1), wide, r"'0.weight' has shape \(3, 5\) in the file "
                                             r"but \(3, 4\)")
    values = _values(_model(0))
    missing = tmp_path / "missing.safetensors"
    save_weights(missing, {k: v for k, v in values.items() if k != "2.bias"})
    _assert_fails_unchanged(_model(1), missing, r"missing keys: \['2.bias'\]")
    extra = tmp_path / "extra.safetensors"
    save_weights(extra, {**values, "3.weight": np.ones(2, dtype=np.float32)})
    _assert_fails_unchanged(_model(1), extra, r"unexpected keys: \['3.weight'\]")
    model = _model(1)
    result = load_weights(extra, model, strict=False)
    assert result.unexpected_keys == ["3.weight"] and _same(_values(model), values)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        load_weights(tmp_path / "nope.safetensors", _model())
    with pytest.raises(IsADirectoryError, match="is a folder.*load_checkpoint"):
        load_weights(tmp_path, _model())
    with pytest.raises(TypeError, match="expects a Module"):
        load_weights(tmp_path / "x", {"a": 1})


def test_lazy_model_takes_shapes_from_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(path, _model(0))
    lazy = nn.Sequential(nn.Linear(4), nn.ReLU(), nn.Linear(2))
    load_weights(path, lazy)
    assert _same(_values(lazy), _values(_model(0)))


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(path, _model(0))
    original = path.read_bytes()

    with pytest.raises(TypeError):
        atomic_write_bytes(path, object())  # fails while writing
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.safetensors"]  # the temporary file was removed


# -- byte-reproducible files, checksums, non-finite weights --------------------------------


def test_the_same_weights_give_the_same_bytes(tmp_path):
    """Metadata keys and tensors in a fixed order: two saves (two seeded runs) give files
    with one checksum."""
    metadata = {f"key{i}": str(i) for i in range(6)}
    blobs = set()
    for attempt in range(5):
        path = tmp_path / f"m{attempt}.safetensors"
        save_weights(path, _model(0), metadata=dict(reversed(list(metadata.items()))))
        blobs.add(path.read_bytes())
    assert len(blobs) == 1
    assert read_metadata(path)["key3"] == "3"


def test_files_of_other_tools_are_read(tmp_path):
    from safetensors.numpy import save_file
    path = tmp_path / "other.safetensors"
    save_file({"0.weight": np.ones((3, 4), np.float32), "0.bias": np.zeros(4, np.float32),
               "2.weight": np.ones((4, 2), np.float32), "2.bias": np.zeros(2, np.float32)},
              str(path))
    model = _model(1)
    load_weights(path, model, layout="somanet")  # no checksums in it: nothing to verify
    assert float(model.state_dict()["0.weight"].numpy().sum()) == 12


def _data_offset(path, name):
    header = sn.io.read_header(path)
    return header.data_start + header.tensors[name].begin


def test_a_flipped_bit_is_an_error_naming_the_tensor(tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(path, _model(0))
    data = bytearray(path.read_bytes())
    data[_data_offset(path, "2.weight") + 5] ^= 0x10
    path.write_bytes(bytes(data))
    _assert_fails_unchanged(_model(1), path, r"tensor '2.weight' is damaged \(its checksum")
    with pytest.raises(ValueError, match="'2.weight' is damaged"):
        read_weights(path)


def test_nan_or_inf_weights_are_an_error_unless_asked_for(tmp_path):
    values = _values(_model(0))
    values["0.bias"][1] = np.nan
    values["2.weight"][0, 0] = np.inf
    path = tmp_path / "diverged.safetensors"
    save_weights(path, values)
    _assert_fails_unchanged(_model(1), path, r"tensor '0.bias' holds 1 NaN and 0 infinite "
                                             r"value\(s\).*allow_nonfinite=True")
    model = _model(1)
    load_weights(path, model, allow_nonfinite=True)
    assert np.isnan(model.state_dict()["0.bias"].numpy()[1])


# -- the header is checked against the model before any data is read -----------------------

def _crafted(path, tensors):
    """A safetensors file whose header declares ``tensors`` ({name: shape}, float32) and
    whose data is a hole: a sparse file of the declared size, a few KB on disk."""
    header, offset = {}, 0
    for name, shape in tensors.items():
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(len(text).to_bytes(8, "little") + text)
        handle.truncate(8 + len(text) + offset)


_HUGE = (3 * 2 ** 30 // 4 // 3, 3)  # a 3 GiB float32 tensor

PEAK_RSS_MB = """
def peak_rss_mb():
    # VmHWM: this process's own peak (ru_maxrss also counts the forking parent's).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

LOAD_IN_A_FRESH_PROCESS = PEAK_RSS_MB + """
import sys
import somanet as sn
from somanet import nn
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
try:
    sn.io.load_weights(sys.argv[1], model, layout="somanet")
except ValueError as error:
    print("ERROR", error)
print("MAXRSS_MB", peak_rss_mb())
"""


@pytest.mark.parametrize("tensors, match", [
    ({"0.weight": _HUGE, "0.bias": (4,), "2.weight": (4, 2), "2.bias": (2,)},
     r"'0.weight' has shape \(268435456, 3\) in the file but \(3, 4\) in the model"),
    ({"0.weight": (3, 4), "0.bias": (4,), "2.weight": (4, 2), "2.bias": (2,), "junk": _HUGE},
     r"unexpected keys: \['junk'\]"),
])
def test_a_small_file_declaring_a_huge_tensor_fails_before_allocating(tmp_path, tensors, match):
    path = tmp_path / "crafted.safetensors"
    _crafted(path, tensors)
    assert os.path.getsize(path) > 3 * 2 ** 30 and os.stat(path).st_blocks * 512 < 2 ** 20
    job = subprocess.run([sys.executable, "-c", LOAD_IN_A_FRESH_PROCESS, str(path)],
                         capture_output=True, text=True, timeout=120)
    assert job.returncode == 0, job.stderr
    assert re.search(match, job.stdout), job.stdout
    peak = float(job.stdout.split("MAXRSS_MB")[1])
    assert peak < 200, job.stdout


def test_a_header_that_does_not_fit_the_file(tmp_path):
    path = tmp_path / "bad.safetensors"
    _crafted(path, {"0.weight": (3, 4)})
    path.write_bytes(path.read_bytes()[:-4])  # the data is shorter than the header says
    _assert_fails_unchanged(_model(1), path, r"tensor '0.weight' ends at byte 48 of the data "
                                             r"but the file holds 44")
    path.write_bytes((10 ** 12).to_bytes(8, "little") + b"{}")
    _assert_fails_unchanged(_model(1), path, r"header length 1000000000000 does not fit")
