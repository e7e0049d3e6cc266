"""MaxPool2D / AvgPool2D / GlobalAvgPool2D."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn

needs_pool = pytest.mark.skipif(not hasattr(sn.ops, "max_pool2d"),
                                reason="somanet.ops.max_pool2d has not landed yet")


def test_settings_and_keras_spellings():
    pool = nn.MaxPool2D(pool_size=3, strides=1)
    assert pool.kernel_size == (3, 3) and pool.stride == (1, 1)
    assert nn.AvgPool2D(2).stride == (2, 2)  # stride defaults to the window
    assert repr(nn.MaxPool2D(2)) == "MaxPool2D(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert list(nn.MaxPool2D(2).parameters()) == []


def test_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match=r"^Sequential\[0\] \(MaxPool2D\): expected input of "
                                         r"shape \(N, C, H, W\), got shape \(2, 8\)"):
        nn.Sequential(nn.MaxPool2D(2))(sn.zeros(2, 8))
    with pytest.raises(ValueError, match=r"GlobalAvgPool2D: expected input of shape"):
        nn.GlobalAvgPool2D()(sn.zeros(2, 8))


@needs_pool
def test_pooling_values():
    x = sn.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(nn.MaxPool2D(2)(x).numpy().ravel(), [5, 7, 13, 15])
    np.testing.assert_array_equal(nn.AvgPool2D(2)(x).numpy().ravel(), [2.5, 4.5, 10.5, 12.5])
    gap = nn.GlobalAvgPool2D()(sn.randn(2, 3, 4, 4))
    assert gap.shape == (2, 3)


def test_pytorch_options_reach_the_ops():
    x = sn.tensor(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
    pool = nn.MaxPool2D(2, ceil_mode=True)
    assert pool(x).shape == (1, 1, 3, 3)
    assert repr(pool) == "MaxPool2D(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), " \
                         "ceil_mode=True)"
    dilated = nn.MaxPool2D(2, stride=1, dilation=2)
    np.testing.assert_array_equal(dilated(x).numpy(), sn.max_pool2d(x, 2, 1, dilation=2).numpy())
    assert "dilation=(2, 2)" in repr(dilated)
    exclude = nn.AvgPool2D(3, stride=1, padding=1, count_include_pad=False)
    np.testing.assert_allclose(exclude(sn.ones(1, 1, 3, 3)).numpy(), np.ones((1, 1, 3, 3)))
    assert "count_include_pad=False" in repr(exclude)
    with pytest.raises(TypeError, match=r"AvgPool2D: count_include_pad must be True or False"):
        nn.AvgPool2D(2, count_include_pad=None)
    with pytest.raises(TypeError, match=r"MaxPool2D: ceil_mode must be True or False"):
        nn.MaxPool2D(2, ceil_mode="yes")


def test_pooling_layers_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 8)).astype(np.float32)
    pairs = [(nn.MaxPool2D(3, 2, 1, dilation=2, ceil_mode=True),
              torch.nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True)),
             (nn.AvgPool2D(3, 2, 1, ceil_mode=True, count_include_pad=False),
              torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(sn.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).numpy(), atol=1e-6)
