"""Conv1D / Conv2D / ConvTranspose2D: both constructor orders, lazy channels, errors."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn

needs_conv = pytest.mark.skipif(not hasattr(sn.ops, "conv2d"),
                                reason="somanet.ops.conv2d has not landed yet")


def test_both_constructor_orders():
    keras = nn.Conv2D(6, 5)
    assert (keras.in_channels, keras.out_channels, keras.kernel_size) == (None, 6, (5, 5))
    assert keras.weight is None
    torch_like = nn.Conv2D(1, 6, 5)
    assert torch_like.weight.shape == (6, 1, 5, 5) and torch_like.bias.shape == (6,)
    keywords = nn.Conv2D(in_channels=3, out_channels=8, kernel_size=(3, 1), stride=2)
    assert keywords.weight.shape == (8, 3, 3, 1) and keywords.stride == (2, 2)
    keras_keywords = nn.Conv2D(filters=4, kernel_size=3, strides=2, padding="same",
                               dilation_rate=2, use_bias=False)
    assert keras_keywords.stride == (2, 2) and keras_keywords.dilation == (2, 2)
    assert keras_keywords.padding == "same" and keras_keywords.use_bias is False
    assert nn.Conv2D(4, 3, input_shape=(3, 28, 28)).weight.shape == (4, 3, 3, 3)


def test_input_shape_is_kept_and_checked():
    assert nn.Conv2D(4, 3, input_shape=(3, 28, 28)).input_shape == (3, 28, 28)
    assert nn.Conv1D(4, 3, input_shape=(2, None)).in_channels == 2
    with pytest.raises(ValueError, match=r"Conv2D: input_shape must be one sample's "
                                         r"\(C, H, W\) without the batch axis, 3 positive ints"):
        nn.Conv2D(4, 3, input_shape=(28, 28))
    with pytest.raises(ValueError, match=r"Conv2D: input_shape must be .* \(None for a size "
                                         r"left open, but the first\), got \(None, 8, 8\)"):
        nn.Conv2D(4, 3, input_shape=(None, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2D: in_channels=2, but input_shape=\(3, 8, 8\) "
                                         r"has 3 channels"):
        nn.Conv2D(2, 4, 3, input_shape=(3, 8, 8))


def test_conv1d_and_transpose_orders():
    assert nn.Conv1D(2, 8, 3).weight.shape == (8, 2, 3)
    assert nn.Conv1D(8, 3).in_channels is None
    assert nn.ConvTranspose2D(16, 8, 4).weight.shape == (16, 8, 4, 4)  # (in, out, k, k)
    assert nn.ConvTranspose2D(8, 4, groups=1).in_channels is None
    assert nn.Conv2D(4, 8, 3, groups=2).weight.shape == (8, 2, 3, 3)


def test_bad_arguments():
    with pytest.raises(TypeError, match="needs out_channels and kernel_size"):
        nn.Conv2D(6)
    with pytest.raises(TypeError, match="at most 3 positional sizes"):
        nn.Conv2D(1, 6, 5, 1)
    with pytest.raises(ValueError, match="padding must be an int, 2 ints, 'same' or 'valid'"):
        nn.Conv2D(6, 5, padding="full")
    with pytest.raises(ValueError, match="out_channels \\(6\\) must be divisible by groups"):
        nn.Conv2D(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="kernel_size must be an int or 2 ints"):
        nn.Conv2D(6, (5, 5, 5))
    with pytest.raises(ValueError, match="does not take padding='same'"):
        nn.ConvTranspose2D(4, 3, padding="same")


def test_kernel_defaults_glorot_and_zero_bias():
    conv = nn.Conv2D(16, 32, 3)
    limit = np.sqrt(6 / (16 * 9 + 32 * 9))
    assert np.abs(conv.weight.numpy()).max() <= limit and not conv.bias.numpy().any()
    assert conv.weight.numpy().std() == pytest.approx(limit / np.sqrt(3), rel=0.05)


def test_repr():
    assert repr(nn.Conv2D(1, 6, 5)) == "Conv2D(1, 6, kernel_size=5)"
    assert repr(nn.Conv2D(3, 8, 3, stride=2, padding="same", activation="relu")) == (
        "Conv2D(3, 8, kernel_size=3, stride=2, padding=same, activation=relu)")


def test_wrong_channels_names_the_layer_without_running_the_op():
    model = nn.Sequential(nn.Identity(), nn.Identity(), nn.Conv2D(3, 6, 5))
    with pytest.raises(ValueError, match=r"^Sequential\[2\] \(Conv2D\): expected input of "
                                         r"shape \(N, 3, H, W\), got shape \(2, 1, 28, 28\)"):
        model(sn.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"looks channels-last.*x\.permute\(0, 3, 1, 2\)"):
        model(sn.zeros(2, 28, 28, 3))
    with pytest.raises(ValueError, match=r"add the batch axis: x\.unsqueeze\(0\)"):
        model(sn.zeros(3, 28, 28))
    with pytest.raises(ValueError, match=r"^Conv1D: expected input of shape \(N, 2, L\)"):
        nn.Conv1D(2, 4, 3)(sn.zeros(1, 3, 10))


@needs_conv
def test_lenet_shapes_and_lazy_channels():
    model = nn.Sequential(nn.Conv2D(6, 5, activation="relu"), nn.MaxPool2D(2),
                          nn.Conv2D(16, 5, activation="relu"), nn.MaxPool2D(2), nn.Flatten(),
                          nn.Dense(120, activation="relu"), nn.Dense(10))
    out = model(sn.randn(2, 1, 28, 28))
    assert out.shape == (2, 10)
    assert model[0].weight.shape == (6, 1, 5, 5) and model[2].weight.shape == (16, 6, 5, 5)
    assert model[5].in_features == 16 * 4 * 4


@needs_conv
def test_conv2d_matches_a_direct_computation():
    conv = nn.Conv2D(2, 3, 3, stride=1, padding=1)
    x = sn.randn(1, 2, 5, 5)
    out = conv(x).numpy()
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    w, b = conv.weight.numpy(), conv.bias.numpy()
    expected = np.zeros((1, 3, 5, 5), np.float32)
    for i in range(5):
        for j in range(5):
            expected[0, :, i, j] = np.tensordot(w, padded[0, :, i:i + 3, j:j + 3], axes=3) + b
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


@needs_conv
def test_same_padding_and_conv1d_and_transpose_shapes():
    assert nn.Conv2D(4, 3, padding="same")(sn.zeros(1, 2, 9, 9)).shape == (1, 4, 9, 9)
    assert nn.Conv1D(4, 3)(sn.zeros(2, 3, 10)).shape == (2, 4, 8)
    up = nn.ConvTranspose2D(8, 4, stride=2, padding=1)
    assert up(sn.zeros(1, 16, 7, 7)).shape == (1, 8, 14, 14)
    assert up.weight.shape == (16, 8, 4, 4)


@needs_conv
def test_conv_gradients_reach_the_parameters():
    conv = nn.Conv2D(2, 3, 3)
    conv(sn.randn(2, 2, 6, 6)).sum().backward()
    assert conv.weight.grad.shape == (3, 2, 3, 3)
    np.testing.assert_allclose(conv.bias.grad.numpy(), 2 * 4 * 4)


@needs_conv
def test_load_state_dict_builds_lazy_conv():
    source = nn.Conv2D(4, 3)
    source(sn.zeros(1, 2, 5, 5))
    target = nn.Conv2D(4, 3)
    target.load_state_dict(source.state_dict())
    assert target.in_channels == 2
