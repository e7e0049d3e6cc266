"""Deep stacking networks (somanet.models.dsn): stacking improves accuracy, the upper weights
are the ridge solution, a singular system is regularised with a warning, resuming,
saving, bad input."""
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet import models
from somanet.models.dsn import SingularRidgeWarning


@pytest.fixture(scope="module")
def digits():
    x, y = sn.datasets.mnist_small("train")
    return x[:1200], y[:1200]


def test_stacking_modules_raises_accuracy(digits, tmp_path):
    x, y = digits
    sn.manual_seed(0)
    dsn = models.DSN(n_modules=3, n_hidden=64, ridge=0.01)
    assert [m.in_features for m in dsn.dsn_modules] == [784, 794, 804]  # x, then + outputs
    history = dsn.fit(x[:900], y[:900], epochs=4, batch_size=300, verbose=0, seed=0,
                      validation_data=(x[900:], y[900:]))
    train, val = history.history["accuracy"], history.history["val_accuracy"]
    assert len(train) == len(val) == 3 and history.epoch == [0, 1, 2]
    assert train[0] < train[1] < train[2]
    assert val[-1] > 0.8 and val[-1] >= val[0]
    assert dsn.module_accuracies(x[900:], y[900:]) == pytest.approx(val)
    assert dsn(x[:5]).shape == (5, 10)
    pytest.importorskip("matplotlib")
    dsn.plot_module_accuracy(tmp_path / "dsn.png")
    assert (tmp_path / "dsn.png").stat().st_size > 1000


def test_upper_weights_are_the_ridge_solution(digits):
    x, y = digits
    sn.manual_seed(0)
    dsn = models.DSN(n_modules=1, n_hidden=16, ridge=0.1)
    dsn.fit(x[:300], y[:300], epochs=1, batch_size=100, verbose=0)
    module = dsn.dsn_modules[0]
    with sn.no_grad():
        hidden = module.hidden(sn.tensor(x[:300].reshape(300, 784))).numpy().astype(np.float64)
    hidden = np.concatenate([hidden, np.ones((300, 1))], axis=1)
    targets = np.eye(10)[y[:300]]
    expected = np.linalg.solve(hidden.T @ hidden / 300 + 0.1 * np.eye(17),
                               hidden.T @ targets / 300)
    np.testing.assert_allclose(module.upper.numpy(), expected, rtol=1e-3, atol=1e-4)


def test_a_singular_ridge_system_is_regularised_and_said_so():
    rng = np.random.default_rng(0)
    x = rng.random((40, 6)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    sn.manual_seed(0)
    dsn = models.DSN(n_inputs=6, n_classes=3, n_modules=2, n_hidden=32, ridge=0.0)
    with pytest.warns(SingularRidgeWarning, match=r"module 1: the ridge system .* singular.*"
                                                  r"added .* I .*ridge > 0") as caught:
        history = dsn.fit(x, y, epochs=2, batch_size=8, verbose=0)  # 8 samples, 33 unknowns
    singular = [w for w in caught if issubclass(w.category, SingularRidgeWarning)]
    assert len(singular) == 2  # once per module, not once per batch
    assert np.isfinite(dsn(x).numpy()).all()
    assert np.isfinite(history.history["loss"]).all()
    with warnings.catch_warnings():  # a regularised system is solved without a word
        warnings.simplefilter("error", SingularRidgeWarning)
        models.DSN(n_inputs=6, n_classes=3, n_modules=1, n_hidden=32, ridge=0.1).fit(
            x, y, epochs=1, batch_size=8, verbose=0)


def test_fit_resumes_module_by_module_bit_for_bit(digits, tmp_path):
    x, y = digits[0][:200], digits[1][:200]

    def run(epochs, folder=None, resume=False):
        sn.manual_seed(0)
        dsn = models.DSN(n_modules=2, n_hidden=16)
        dsn.fit(x, y, epochs=epochs, batch_size=50, verbose=0, seed=2,
                checkpoint_dir=folder, resume=resume)
        return dsn

    straight = run(2)
    run([2, 1], tmp_path)  # stopped during the second module
    resumed = run(2, tmp_path, resume=True)
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key].numpy(), value.numpy())


def test_weights_round_trip_and_bad_input(tmp_path, digits):
    x, y = digits[0][:100], digits[1][:100]
    dsn = models.DSN(n_modules=2, n_hidden=8)
    dsn.fit(x, y, epochs=1, batch_size=50, verbose=0)
    path = tmp_path / "dsn.safetensors"
    sn.io.save_weights(path, dsn)
    copy = models.DSN(n_modules=2, n_hidden=8)
    sn.io.load_weights(path, copy)
    np.testing.assert_array_equal(copy(x[:4]).numpy(), dsn(x[:4]).numpy())
    assert "dsn_modules.1.upper" in copy.state_dict()
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        dsn.fit(x, y + 5, verbose=0)
    with pytest.raises(ValueError, match="784 features per sample"):
        dsn(np.zeros((2, 27, 28), dtype=np.float32))
    with pytest.raises(ValueError, match="integer class labels"):
        dsn.fit(x, y.astype(np.float32), verbose=0)
