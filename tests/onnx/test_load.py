"""Import: ONNX files as somanet Modules that run and train; PyTorch's exports among them."""
import numpy
import pytest

import somanet as sn
from somanet import nn

onnx = pytest.importorskip("onnx")
import somanet.onnx  # noqa: E402
from somanet.onnx.importers import UnsupportedOnnxError  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402


def test_loaded_model_fine_tunes(tmp_path):
    sn.manual_seed(0)
    model = nn.Sequential(nn.Conv2D(1, 4, 3, padding=1), nn.BatchNorm2D(4), nn.ReLU(),
                          nn.MaxPool2D(2), nn.Flatten(), nn.Linear(64, 3))
    model.eval()
    path = tmp_path / "cnn.onnx"
    sn.onnx.export(model, sn.randn(2, 1, 8, 8), path)
    loaded = sn.onnx.load(path)
    names = dict(loaded.named_parameters())
    assert set(loaded.onnx_names) >= {"0.weight", "0.bias", "1.running_mean", "5.weight"}
    assert isinstance(names[loaded.onnx_names["5.weight"]], nn.Parameter)
    assert loaded.onnx_names["1.running_mean"] in dict(loaded.named_buffers())
    x, labels = sn.randn(16, 1, 8, 8), sn.randint(0, 3, (16,))
    optimizer = sn.optim.SGD(loaded.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        loss = sn.cross_entropy(loaded(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()))
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in loaded.parameters())


def test_loaded_recurrent_layers_train(tmp_path):
    sn.manual_seed(1)
    for layer in (nn.LSTM(3, 4, batch_first=True), nn.GRU(3, 4, batch_first=True),
                  nn.RNN(3, 4, batch_first=True, bidirectional=True)):
        path = tmp_path / f"{type(layer).__name__}.onnx"
        sn.onnx.export(lambda x: layer(x)[0], sn.randn(2, 5, 3), path)
        loaded = sn.onnx.load(path)
        out = loaded(sn.randn(3, 5, 3))
        out.sum().backward()
        grads = [p.grad for p in loaded.parameters()]
        assert grads and all(g is not None and numpy.abs(g.numpy()).sum() > 0 for g in grads)


def test_load_accepts_bytes_and_proto(tmp_path):
    proto = sn.onnx.export(nn.Linear(3, 2), sn.ones(1, 3))
    for source in (proto, proto.SerializeToString()):
        assert sn.onnx.load(source)(sn.ones(4, 3)).shape == (4, 2)


def test_unknown_op_is_a_clear_error():
    node = helper.make_node("Hardmax", ["x"], ["y"], name="the_hardmax")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [2, 3])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(UnsupportedOnnxError, match="'the_hardmax' \\(Hardmax\\).*Hardmax is "
                                                   "not supported"):
        sn.onnx.load(model)


def test_wrong_number_of_inputs():
    module = sn.onnx.load(sn.onnx.export(nn.Linear(3, 2), sn.ones(1, 3)))
    with pytest.raises(TypeError, match="takes 1 input"):
        module(sn.ones(1, 3), sn.ones(1, 3))


def test_erf_gradient():
    from somanet.onnx.erf import erf
    x = sn.tensor([-2.0, -0.3, 0.0, 0.7, 1.5], dtype="float64", requires_grad=True)
    sn.gradcheck(erf, [x])
    import math
    assert numpy.allclose(erf(x).numpy(), [math.erf(v) for v in x.numpy()], atol=1e-12)


# -- from PyTorch ----------------------------------------------------------------------------

def _torch_export(torch, model, example, path):
    model.eval()
    torch.onnx.export(model, (example,), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False,
                      opset_version=17)


def test_pytorch_cnn_loads_and_matches(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3, stride=2), torch.nn.GELU(),
        torch.nn.AvgPool2d(2, ceil_mode=True), torch.nn.Flatten(), torch.nn.Dropout(0.3),
        torch.nn.Linear(6, 5), torch.nn.LayerNorm(5), torch.nn.LogSoftmax(dim=1))
    model[1].running_mean.uniform_(-1, 1)
    model[1].running_var.uniform_(0.5, 2)
    path = tmp_path / "torch_cnn.onnx"
    _torch_export(torch, model, torch.randn(2, 1, 12, 12), path)
    loaded = sn.onnx.load(path)
    for batch in (2, 7):
        x = torch.randn(batch, 1, 12, 12)
        with torch.no_grad():
            expected = model(x).numpy()
        numpy.testing.assert_allclose(loaded(sn.tensor(x.numpy())).numpy(), expected,
                                      rtol=1e-4, atol=1e-5)


def test_pytorch_lstm_and_gru_load_and_match(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(20, 6)
            self.lstm = torch.nn.LSTM(6, 5, batch_first=True, bidirectional=True)
            self.gru = torch.nn.GRU(10, 4, batch_first=True)
            self.head = torch.nn.Linear(4, 3)

        def forward(self, tokens):
            out, _ = self.lstm(self.embed(tokens))
            out, h = self.gru(out)
            return self.head(torch.tanh(h[-1])) + out.mean(dim=1).sum(dim=1, keepdim=True)

    model = Net()
    path = tmp_path / "torch_rnn.onnx"
    _torch_export(torch, model, torch.randint(0, 20, (2, 7)), path)
    loaded = sn.onnx.load(path)
    for batch in (2, 5):
        tokens = torch.randint(0, 20, (batch, 7))
        with torch.no_grad():
            expected = model(tokens).numpy()
        numpy.testing.assert_allclose(loaded(sn.tensor(tokens.numpy())).numpy(), expected,
                                      rtol=1e-4, atol=1e-5)


def test_somanet_export_matches_pytorch_layers(tmp_path):
    """The reverse direction of the layout conversion: somanet's LSTM weights put into
    PyTorch (transposed, as nn.recurrent documents), both computing the same."""
    torch = pytest.importorskip("torch")
    sn.manual_seed(2)
    ours = nn.LSTM(3, 4)
    theirs = torch.nn.LSTM(3, 4)
    with torch.no_grad():
        theirs.weight_ih_l0.copy_(torch.tensor(ours.weight_ih_l0.numpy().T))
        theirs.weight_hh_l0.copy_(torch.tensor(ours.weight_hh_l0.numpy().T))
        theirs.bias_ih_l0.copy_(torch.tensor(ours.bias_l0.numpy()))
        theirs.bias_hh_l0.zero_()
    path = tmp_path / "lstm.onnx"
    sn.onnx.export(lambda x: ours(x)[0], sn.randn(5, 2, 3), path, batch_axis=1)
    loaded = sn.onnx.load(path)
    x = numpy.random.default_rng(0).standard_normal((5, 3, 3)).astype("float32")
    with torch.no_grad():
        expected = theirs(torch.tensor(x))[0].numpy()
    numpy.testing.assert_allclose(loaded(sn.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)
