import numpy as np
import pytest

import somanet as sn


def test_off_by_default_and_nans_pass_silently():
    x = sn.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        y = sn.log(x)
    assert np.isinf(y.numpy()[0])


def test_forward_anomaly_names_the_op_shapes_and_ranges():
    x = sn.tensor([0.0, 1.0], requires_grad=True)
    with sn.detect_anomaly(), np.errstate(divide="ignore"), \
            pytest.raises(FloatingPointError, match=r"Log produced -inf.*shape \(2,\) in \[0.0, 1.0\]"):
        sn.log(x)


def test_backward_anomaly_names_the_op():
    x = sn.tensor([0.0, 4.0], requires_grad=True)
    y = sn.sqrt(x).sum()  # forward fine; d sqrt / dx at 0 is inf
    with sn.detect_anomaly(), np.errstate(divide="ignore"), \
            pytest.raises(FloatingPointError, match="Sqrt produced inf in the gradient"):
        y.backward()


def test_anomaly_mode_restores_after_the_block():
    with sn.detect_anomaly():
        pass
    x = sn.tensor([0.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        sn.log(x)  # no error outside the block
