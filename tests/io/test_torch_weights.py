"""Weights from PyTorch: a safetensors file of the equivalent PyTorch model's state_dict
loads with layout="torch" and gives the same outputs; save_weights(layout="torch") writes
one PyTorch loads; a layout mismatch is always an error, never a silent transpose."""
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import somanet as sn
from somanet import nn

torch = pytest.importorskip("torch")


def _save_torch(module, path):
    save_file({name: value.detach().numpy().copy() for name, value in
               module.state_dict().items()}, str(path))


def _randomise(module, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in module.state_dict().items():
            if value.dtype.is_floating_point:
                fresh = torch.rand(value.shape, generator=generator) * 0.6 - 0.3
                value.copy_(fresh + 1.0 if name.endswith("running_var") else fresh)


def _pairs():
    t = torch.nn
    return {
        "linear": (lambda: t.Sequential(t.Linear(4, 4), t.ReLU(), t.Linear(4, 3)),
                   lambda: nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)),
                   (5, 4)),
        "conv": (lambda: t.Sequential(t.Conv2d(2, 3, 3), t.BatchNorm2d(3), t.ReLU(),
                                      t.ConvTranspose2d(3, 2, 3, stride=2)),
                 lambda: nn.Sequential(nn.Conv2D(2, 3, 3), nn.BatchNorm2D(3), nn.ReLU(),
                                       nn.ConvTranspose2D(3, 2, 3, stride=2)),
                 (2, 2, 7, 7)),
        "conv1d_layer_norm": (lambda: t.Sequential(t.Conv1d(2, 4, 3), t.LayerNorm(6)),
                              lambda: nn.Sequential(nn.Conv1D(2, 4, 3), nn.LayerNorm(6)),
                              (3, 2, 8)),
    }


@pytest.mark.parametrize("name", list(_pairs()))
def test_feed_forward_layers_load_from_torch(tmp_path, name):
    make_torch, make_ours, shape = _pairs()[name]
    theirs, ours = make_torch().eval(), make_ours()
    _randomise(theirs, seed=1)
    path = tmp_path / "torch.safetensors"
    _save_torch(theirs, path)
    sn.io.load_weights(path, ours, layout="torch")
    ours.eval()
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(sn.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-5)

    # and back: somanet writes a file PyTorch loads, with the same outputs
    back = tmp_path / "back.safetensors"
    sn.io.save_weights(back, ours, layout="torch")
    again = make_torch().eval()
    again.load_state_dict({k: torch.from_numpy(v) for k, v in load_file(str(back)).items()})
    with torch.no_grad():
        np.testing.assert_allclose(again(torch.from_numpy(x)).numpy(), want, rtol=1e-5,
                                   atol=1e-5)


def test_embedding_loads_from_torch(tmp_path):
    theirs, ours = torch.nn.Embedding(10, 4, padding_idx=0), nn.Embedding(10, 4, padding_idx=0)
    _randomise(theirs, seed=3)
    _save_torch(theirs, tmp_path / "e.safetensors")
    sn.io.load_weights(tmp_path / "e.safetensors", ours, layout="torch")
    ids = np.array([[1, 0, 9], [3, 3, 2]])
    with torch.no_grad():
        want = theirs(torch.from_numpy(ids)).numpy()
    np.testing.assert_array_equal(ours(sn.tensor(ids)).numpy(), want)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_load_from_torch(tmp_path, kind):
    theirs = getattr(torch.nn, kind)(4, 6, num_layers=2, bidirectional=True,
                                     batch_first=True)
    ours = getattr(nn, kind)(4, 6, num_layers=2, bidirectional=True, batch_first=True)
    _randomise(theirs, seed=4)
    path = tmp_path / "rnn.safetensors"
    _save_torch(theirs, path)
    sn.io.load_weights(path, ours, layout="torch")
    x = np.random.default_rng(5).normal(size=(3, 5, 4)).astype(np.float32)
    with torch.no_grad():
        want, _ = theirs(torch.from_numpy(x))
    got, _ = ours(sn.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)

    back = tmp_path / "back.safetensors"
    sn.io.save_weights(back, ours, layout="torch")
    again = getattr(torch.nn, kind)(4, 6, num_layers=2, bidirectional=True, batch_first=True)
    again.load_state_dict({k: torch.from_numpy(v) for k, v in load_file(str(back)).items()})
    with torch.no_grad():
        np.testing.assert_allclose(again(torch.from_numpy(x))[0].numpy(), want.numpy(),
                                   rtol=1e-5, atol=1e-5)


def test_a_layout_mismatch_is_an_error_never_silent(tmp_path):
    square = torch.nn.Linear(4, 4)
    path = tmp_path / "square.safetensors"
    _save_torch(square, path)
    ours = nn.Linear(4, 4)
    before = ours.weight.numpy().copy()
    # a square weight would load transposed without a word: the file must say its layout
    with pytest.raises(ValueError, match=r"not written by somanet.*'weight'.*layout='torch'"):
        sn.io.load_weights(path, ours)
    np.testing.assert_array_equal(ours.weight.numpy(), before)

    wide = tmp_path / "wide.safetensors"
    _save_torch(torch.nn.Linear(4, 3), wide)
    with pytest.raises(ValueError, match=r"transposed: a PyTorch state_dict\? pass "
                                         r"layout='torch'"):
        sn.io.load_weights(wide, nn.Linear(4, 3), layout="somanet")

    written = tmp_path / "ours.safetensors"
    sn.io.save_weights(written, ours, layout="torch")
    with pytest.raises(ValueError, match=r"says its tensors are in 'torch' layout"):
        sn.io.load_weights(written, nn.Linear(4, 4), layout="somanet")
    with pytest.raises(ValueError, match=r"layout must be 'somanet' or 'torch'"):
        sn.io.load_weights(written, nn.Linear(4, 4), layout="keras")
    # the file says which layout it has: no layout= needed
    copy = nn.Linear(4, 4)
    sn.io.load_weights(written, copy)
    np.testing.assert_array_equal(copy.weight.numpy(), ours.weight.numpy())


def test_a_lstm_file_without_one_of_the_two_biases(tmp_path):
    theirs = torch.nn.LSTM(3, 2)
    arrays = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    del arrays["bias_hh_l0"]
    save_file(arrays, str(tmp_path / "half.safetensors"))
    with pytest.raises(ValueError, match=r"sum of PyTorch's 'bias_ih_l0' and 'bias_hh_l0'.*"
                                         r"no 'bias_hh_l0'"):
        sn.io.load_weights(tmp_path / "half.safetensors", nn.LSTM(3, 2), layout="torch")
