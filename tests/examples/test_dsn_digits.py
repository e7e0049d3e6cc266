"""examples/dsn_digits.py: a deep stacking network's accuracy per stacked module."""
import pytest

import dsn_digits


def test_accuracy_rises_with_the_modules(tmp_path, check_png):
    result = dsn_digits.main(out=str(tmp_path), modules=3, hidden=64, epochs=3,
                             train_size=1500)
    train, test = result["train_accuracy"], result["test_accuracy"]
    assert len(train) == len(test) == 3
    assert train[0] < train[1] < train[2]
    assert test[-1] > test[0] and test[-1] > 0.8  # 0.817 -> 0.832 with seed 0
    check_png(result["figure"], min_kb=15, min_side=350)


@pytest.mark.slow
def test_as_documented(tmp_path):
    result = dsn_digits.main(out=str(tmp_path))
    assert result["test_accuracy"][-1] > result["test_accuracy"][0] + 0.03
    assert result["test_accuracy"][-1] > 0.93
