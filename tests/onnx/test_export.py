"""Export: every supported layer and op, written as ONNX, checked by onnx.checker (in
export), run by onnxruntime at two batch sizes and compared with somanet; and loaded
back by somanet.onnx.load, which must compute the same."""
import numpy
import pytest

import somanet as sn
from somanet import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import somanet.onnx  # noqa: E402  (after the skips: it needs onnx)

RTOL, ATOL = 1e-4, 1e-5
BATCHES = (2, 5)


def run_onnxruntime(path, inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {spec.name: numpy.asarray(x.numpy() if isinstance(x, sn.Tensor) else x)
             for spec, x in zip(session.get_inputs(), inputs)}
    return session.run(None, feeds)


def as_list(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def flat(result):
    """Nested outputs (an RNN's ``(out, (h, c))``) as a flat list of arrays."""
    found = []
    for item in as_list(result):
        if isinstance(item, (tuple, list)):
            found.extend(flat(item))
        else:
            found.append(item.numpy())
    return found


def check_model(model, make_inputs, tmp_path, name="model", batch_axis=0):
    """Export on batch BATCHES[0]; compare onnxruntime and the loaded module with somanet at
    both batch sizes. Returns the ModelProto."""
    path = tmp_path / f"{name}.onnx"
    proto = sn.onnx.export(model, make_inputs(BATCHES[0]), path, batch_axis=batch_axis)
    loaded = sn.onnx.load(path)
    if isinstance(model, nn.Module):
        model.eval()
    for batch in BATCHES:
        inputs = make_inputs(batch)
        expected = flat(model(*inputs))
        got = run_onnxruntime(path, inputs)
        assert len(got) == len(expected)
        for want, have in zip(expected, got):
            numpy.testing.assert_allclose(have, want, rtol=RTOL, atol=ATOL)
        again = [numpy.asarray(t.numpy()) for t in as_list(loaded(*inputs))]
        for want, have in zip(expected, again):
            numpy.testing.assert_allclose(have, want, rtol=RTOL, atol=ATOL)
    return proto


def images(channels=3, size=8):
    return lambda batch: (sn.randn(batch, channels, size, size),)


def vectors(features=6):
    return lambda batch: (sn.randn(batch, features),)


def sequences(features=4, steps=5, batch_first=False):
    if batch_first:
        return lambda batch: (sn.randn(batch, steps, features),)
    return lambda batch: (sn.randn(steps, batch, features),)


def trained_batch_norm(layer, shape):
    layer.train()
    for _ in range(3):
        layer(sn.randn(*shape) * 2 + 1)
    layer.eval()
    return layer


LAYERS = {
    "linear": (lambda: nn.Linear(6, 4), vectors()),
    "dense_relu_3d": (lambda: nn.Dense(6, 4, activation="relu"),
                      lambda batch: (sn.randn(batch, 3, 6),)),
    "dense_keras": (lambda: nn.Sequential(nn.Dense(5, activation="tanh"), nn.Dense(2)),
                    vectors()),
    "conv1d": (lambda: nn.Conv1D(3, 4, 3, padding=1, stride=2),
               lambda batch: (sn.randn(batch, 3, 9),)),
    "conv2d": (lambda: nn.Conv2D(3, 4, 3, padding="same"), images()),
    "conv2d_strided_grouped": (lambda: nn.Conv2D(4, 6, 3, stride=2, dilation=2, groups=2),
                               images(4, 9)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2D(3, 2, 3, stride=2, padding=1,
                                                    output_padding=1), images(3, 5)),
    "max_pool": (lambda: nn.MaxPool2D(2), images()),
    "max_pool_ceil_padded": (lambda: nn.MaxPool2D(3, stride=2, padding=1, ceil_mode=True),
                             images(2, 8)),
    "max_pool_dilated": (lambda: nn.MaxPool2D(2, stride=1, dilation=2), images(2, 7)),
    "avg_pool": (lambda: nn.AvgPool2D(3, stride=2, padding=1), images(2, 7)),
    "avg_pool_no_pad_count": (lambda: nn.AvgPool2D(3, stride=2, padding=1,
                                                   count_include_pad=False), images(2, 7)),
    "avg_pool_ceil": (lambda: nn.AvgPool2D(2, ceil_mode=True), images(2, 7)),
    "global_avg_pool": (lambda: nn.GlobalAvgPool2D(), images()),
    "batch_norm_2d": (lambda: trained_batch_norm(nn.BatchNorm2D(3), (4, 3, 8, 8)), images()),
    "batch_norm_1d": (lambda: trained_batch_norm(nn.BatchNorm1D(6), (8, 6)), vectors()),
    "batch_norm_1d_no_affine": (lambda: trained_batch_norm(nn.BatchNorm1D(3, affine=False),
                                                           (8, 3, 5)),
                                lambda batch: (sn.randn(batch, 3, 5),)),
    "layer_norm": (lambda: nn.LayerNorm(6), lambda batch: (sn.randn(batch, 3, 6),)),
    "layer_norm_2_axes": (lambda: nn.LayerNorm((3, 6), elementwise_affine=False),
                          lambda batch: (sn.randn(batch, 3, 6),)),
    "dropout_eval": (lambda: nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5)), vectors()),
    "embedding": (lambda: nn.Embedding(10, 4),
                  lambda batch: (sn.randint(0, 10, (batch, 3)),)),
    "flatten": (lambda: nn.Flatten(), images()),
    "reshape": (lambda: nn.Reshape(2, -1), vectors()),
    "rnn": (lambda: nn.RNN(4, 3), sequences()),
    "rnn_relu_batch_first": (lambda: nn.RNN(4, 3, nonlinearity="relu", batch_first=True),
                             sequences(batch_first=True)),
    "lstm": (lambda: nn.LSTM(4, 3), sequences()),
    "lstm_two_layers_bidirectional": (lambda: nn.LSTM(4, 3, num_layers=2, bidirectional=True),
                                      sequences()),
    "gru": (lambda: nn.GRU(4, 3, batch_first=True), sequences(batch_first=True)),
    "gru_bidirectional_no_bias": (lambda: nn.GRU(4, 3, bidirectional=True, bias=False),
                                  sequences()),
}

ACTIVATIONS = {
    "step": nn.Step(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "relu": nn.ReLU(),
    "leaky_relu": nn.LeakyReLU(0.2), "elu": nn.ELU(0.7), "gelu": nn.GELU(),
    "gelu_tanh": nn.GELU("tanh"), "softplus": nn.Softplus(),
    "softplus_beta_threshold": nn.Softplus(beta=2.0, threshold=1.0),
    "softmax": nn.Softmax(), "log_softmax": nn.LogSoftmax(axis=1), "identity": nn.Identity(),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_exports_and_matches_at_two_batch_sizes(name, tmp_path):
    sn.manual_seed(0)
    make_model, make_inputs = LAYERS[name]
    model = make_model()
    time_major = isinstance(model, (nn.RNN, nn.LSTM, nn.GRU)) and not model.batch_first
    check_model(model, make_inputs, tmp_path, name, batch_axis=1 if time_major else 0)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_exports(name, tmp_path):
    sn.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 6), ACTIVATIONS[name])
    check_model(model, lambda batch: (sn.randn(batch, 6) * 3,), tmp_path, name)


def elementwise_program(x, y):
    a = (x + y) * 0.5 - y / (sn.abs(x) + 1.0)
    b = sn.exp(-sn.abs(a)) + sn.log(sn.abs(y) + 1.0) + sn.sqrt(sn.abs(x))
    c = sn.maximum(a, b) - sn.minimum(x, 0.25) + x ** 2 + sn.pow(sn.abs(y) + 1.0, x * 0.1)
    d = sn.where(x > y, sn.clip(c, -1.0, 1.0), sn.clip(-c, low=0.0))
    flags = (sn.greater_equal(x, 0.0).astype("float32") + sn.less(y, 0.0).astype("float32") +
             sn.not_equal(x, y).astype("float32") + sn.less_equal(x, y).astype("float32") +
             sn.equal(x, x).astype("float32"))
    return d + flags


def reduction_program(x):
    return (sn.sum(x, axis=1) + sn.mean(x, axis=(1, 2)).reshape(-1, 1) + sn.max(x, axis=1) +
            sn.min(x, axis=1) + sn.prod(x * 0.5 + 1.0, axis=1) + sn.var(x, axis=1, ddof=1) +
            sn.std(x, axis=1) + sn.logsumexp(x, axis=1) +
            sn.argmax(x, axis=1).astype("float32") + sn.argmin(x, axis=1).astype("float32"))


def keepdims_program(x):
    return (sn.sum(x, axis=-1, keepdims=True) * sn.max(x, axis=(1, 2), keepdims=True) +
            sn.mean(x))


def shape_program(x):
    parts = sn.split(x, [1, 3], axis=2)
    joined = sn.concatenate([parts[1], parts[0]], axis=2)
    stacked = sn.stack([joined, joined * 2], axis=1)
    turned = sn.transpose(stacked, (0, 2, 1, 3))
    padded = sn.pad(turned, [(0, 0), (1, 0), (0, 0), (0, 2)], value=0.5)
    picked = padded[:, 1:, -1, ::2] + padded[:, None, 0, 0, 1:3].sum(axis=-1, keepdims=True)
    return sn.unsqueeze(picked, 1) + sn.broadcast_to(sn.ones(1, 1, 1, 1), (1, 1, 1, 3))


WEIGHT = sn.randn(4, 2)


def matmul_program(x, y):
    return sn.log_softmax(sn.matmul(x, WEIGHT), axis=-1) + sn.softmax(x @ y, axis=1)


PROGRAMS = {
    "elementwise": (elementwise_program,
                    lambda batch: (sn.randn(batch, 5), sn.randn(batch, 5))),
    "reductions": (reduction_program, lambda batch: (sn.randn(batch, 4, 3),)),
    "reductions_keepdims": (keepdims_program, lambda batch: (sn.randn(batch, 4, 3),)),
    "shapes": (shape_program, lambda batch: (sn.randn(batch, 3, 4),)),
    "matmul_softmax": (matmul_program, lambda batch: (sn.randn(batch, 3, 4),
                                                      sn.randn(batch, 4, 2))),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_function_exports(name, tmp_path):
    sn.manual_seed(2)
    program, make_inputs = PROGRAMS[name]
    check_model(program, make_inputs, tmp_path, name)


def test_zoo_models_export(tmp_path):
    from somanet import models
    sn.manual_seed(3)
    for name in ("mlp", "lenet", "lstm"):
        model = models.get(name)
        proto = check_model(model, lambda batch: (sn.rand(batch, 28, 28),), tmp_path, name)
        assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_initializers_named_by_module_path(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    proto = sn.onnx.export(model, sn.ones(2, 3), tmp_path / "m.onnx")
    assert sorted(t.name for t in proto.graph.initializer) == \
        ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert [v.name for v in proto.graph.input] == ["x"] or len(proto.graph.input) == 1
    assert [v.name for v in proto.graph.output] == ["output"]


def test_fixed_batch_when_not_dynamic(tmp_path):
    proto = sn.onnx.export(nn.Flatten(), sn.ones(2, 3, 4), tmp_path / "m.onnx",
                           dynamic_batch=False)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 3, 4]


def test_recurrent_gate_order_is_converted(tmp_path):
    """A one-step LSTM whose only nonzero weights feed one gate at a time: ONNX's LSTM
    must compute what somanet's does, block by block (i f g o -> i o f c)."""
    hidden, features = 2, 3
    for kind, layer_class, gates in (("lstm", nn.LSTM, 4), ("gru", nn.GRU, 3)):
        for gate in range(gates):
            layer = layer_class(features, hidden)
            layer.weight_ih_l0.data[...] = 0
            layer.weight_hh_l0.data[...] = 0
            block = slice(gate * hidden, (gate + 1) * hidden)
            layer.weight_ih_l0.data[:, block] = numpy.arange(features * hidden).reshape(
                features, hidden) * 0.3 - 0.5
            for name, parameter in layer.named_parameters():
                if "bias" in name:
                    parameter.data[...] = 0
                    parameter.data[block] = 0.25
            check_model(layer, sequences(features, 3), tmp_path, f"{kind}_{gate}",
                        batch_axis=1)


class Cube(sn.Function):
    def forward(ctx, x):
        return x ** 3

    def backward(ctx, grad):
        return grad


class CubeLayer(nn.Module):
    def forward(self, x):
        return Cube.apply(x)


def test_an_op_without_onnx_form_names_op_and_layer(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), CubeLayer()))
    with pytest.raises(sn.onnx.UnsupportedOpError, match=r"Cube in Sequential\[1\]\[1\] "
                                                         r"\(CubeLayer\)"):
        sn.onnx.export(model, sn.ones(2, 3), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_an_unsupported_op_in_a_function_names_the_function(tmp_path):
    def program(x):
        return sn.huber(x, sn.zeros_like(x), reduction="none")

    with pytest.raises(sn.onnx.UnsupportedOpError, match="Huber in the traced function "
                                                         "'program'"):
        sn.onnx.export(program, sn.ones(2, 3), tmp_path / "m.onnx")


def test_batch_norm_in_training_mode_is_refused_for_a_function(tmp_path):
    weight, bias = sn.ones(3), sn.zeros(3)

    def program(x):
        return sn.batch_norm(x, weight, bias, training=True)

    with pytest.raises(sn.onnx.UnsupportedOpError, match="training mode"):
        sn.onnx.export(program, sn.ones(4, 3), tmp_path / "m.onnx")


def test_export_restores_training_mode(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    model.train()
    proto = sn.onnx.export(model, sn.ones(2, 3), tmp_path / "m.onnx")
    assert model.training and model[1].training
    assert "Dropout" not in [node.op_type for node in proto.graph.node]


def test_outputs_that_are_inputs_or_repeated(tmp_path):
    def program(x):
        y = sn.relu(x)
        return x, y, y

    path = tmp_path / "m.onnx"
    proto = sn.onnx.export(program, sn.randn(2, 3), path)
    assert [v.name for v in proto.graph.output] == ["output_0", "output_1", "output_2"]
    x = numpy.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    got = run_onnxruntime(path, [x])
    for have, want in zip(got, (x, numpy.maximum(x, 0), numpy.maximum(x, 0))):
        numpy.testing.assert_allclose(have, want)
