"""BatchNorm1D / BatchNorm2D (running statistics, eval mode) and LayerNorm."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn


def test_batchnorm1d_training_normalises_and_updates_running_stats():
    bn = nn.BatchNorm1D(3, momentum=0.5)
    x = sn.randn(64, 3) * 2 + 5
    out = bn(x).numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-3)
    data = x.numpy()
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.5 * data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * data.var(0, ddof=1),
                               rtol=1e-5)


def test_batchnorm_eval_uses_running_stats():
    bn = nn.BatchNorm2D(2)
    with sn.no_grad():
        bn.running_mean[...] = [1.0, -1.0]
        bn.running_var[...] = [4.0, 0.25]
    bn.eval()
    x = sn.ones(3, 2, 2, 2)
    out = bn(x).numpy()
    np.testing.assert_allclose(out[:, 0], (1 - 1) / np.sqrt(4 + 1e-5), atol=1e-6)
    np.testing.assert_allclose(out[:, 1], 2 / np.sqrt(0.25 + 1e-5), rtol=1e-5)
    before = bn.running_mean.numpy().copy()
    bn(sn.randn(3, 2, 2, 2))
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)  # eval: not updated


def test_running_stats_are_buffers_not_parameters():
    bn = nn.BatchNorm1D(4)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var"]
    assert bn.num_parameters() == 8


def test_lazy_batchnorm_and_state_dict():
    bn = nn.BatchNorm2D()
    bn(sn.randn(4, 3, 2, 2))
    assert bn.num_features == 3 and bn.running_var.shape == (3,)
    fresh = nn.BatchNorm2D()
    fresh.load_state_dict(bn.state_dict())
    assert fresh.num_features == 3
    np.testing.assert_array_equal(fresh.running_mean.numpy(), bn.running_mean.numpy())


def test_batchnorm_wrong_channels_names_the_layer():
    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1D(4))
    with pytest.raises(ValueError, match=r"^Sequential\[1\] \(BatchNorm1D\): expected input of "
                                         r"shape \(N, 4\) or \(N, 4, L\), got shape \(2, 5\)"):
        model(sn.ones(2, 3))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, C, H, W\), got shape "
                                         r"\(2, 3\)"):
        nn.BatchNorm2D()(sn.ones(2, 3))


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    bn = nn.BatchNorm1D(2, track_running_stats=False).eval()
    out = bn(sn.randn(16, 2) + 3).numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    assert list(bn.state_dict()) == ["weight", "bias"]


def test_batchnorm_bad_settings():
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm1D(3, momentum=1.5)


def test_layernorm():
    ln = nn.LayerNorm(4)
    x = sn.randn(3, 4) * 3 + 1
    out = ln(x).numpy()
    np.testing.assert_allclose(out.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(-1), 1, atol=1e-3)
    assert ln.weight.shape == (4,) and (ln.weight.numpy() == 1).all()
    ln.eval()
    np.testing.assert_allclose(ln(x).numpy(), out)  # same in eval
    lazy = nn.LayerNorm()
    assert lazy(sn.randn(2, 5, 6)).shape == (2, 5, 6) and lazy.normalized_shape == (6,)
    with pytest.raises(ValueError, match=r"^LayerNorm: expected input of shape \(\*, 4\), got "
                                         r"shape \(3, 5\)"):
        ln(sn.ones(3, 5))


def test_momentum_none_keeps_the_cumulative_average_of_the_batches():
    bn = nn.BatchNorm1D(3, momentum=None)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    batches = [np.random.default_rng(seed).standard_normal((8, 3)).astype(np.float32) * 2 + seed
               for seed in range(4)]
    for batch in batches:
        bn(sn.tensor(batch))
    assert int(bn.num_batches_tracked.item()) == 4
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([b.var(0, ddof=1) for b in batches], axis=0), rtol=1e-5)
    bn.eval()
    bn(sn.tensor(batches[0]))  # eval: neither the statistics nor the count move
    assert int(bn.num_batches_tracked.item()) == 4
    bn.reset_running_stats()
    assert int(bn.num_batches_tracked.item()) == 0
    assert "momentum=None" in repr(bn)
    fresh = nn.BatchNorm1D(3, momentum=None)
    fresh.load_state_dict(bn.state_dict())
    lazy = nn.BatchNorm2D(momentum=None)
    lazy(sn.randn(4, 2, 3, 3))
    assert int(lazy.num_batches_tracked.item()) == 1


@pytest.mark.parametrize("momentum", [-0.1, 1.5, "0.1"])
def test_momentum_out_of_range_is_an_error(momentum):
    with pytest.raises(ValueError, match=r"BatchNorm1D: momentum must be in \[0, 1\] \(PyTorch's "
                                         r"convention: the new batch's weight\) or None"):
        nn.BatchNorm1D(3, momentum=momentum)


def test_batch_norm_op_checks_momentum():
    with pytest.raises(ValueError, match=r"batch_norm: momentum must be in \[0, 1\]"):
        sn.batch_norm(sn.randn(4, 2), running_mean=sn.zeros(2), running_var=sn.ones(2),
                      momentum=2.0)


def test_momentum_none_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2D(3, momentum=None), torch.nn.BatchNorm2d(3, momentum=None)
    rng = np.random.default_rng(0)
    for step in range(5):
        batch = (rng.standard_normal((4, 3, 5, 5)) * (step + 1) + step).astype(np.float32)
        out, expected = ours(sn.tensor(batch)), theirs(torch.tensor(batch))
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(),
                               rtol=1e-5, atol=1e-6)
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked)
