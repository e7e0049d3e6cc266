"""examples/admissions.py: seed 004's admissions network (2 hidden units, 900 epochs,
learnrate 0.005) on a CSV generated from a stated logistic model."""
import csv

import pytest

import admissions


def test_articles_settings(tmp_path, check_png):
    result = admissions.main(out=str(tmp_path))
    with open(result["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["admit", "gre", "gpa", "rank"] and len(rows) == 400
    assert {row["rank"] for row in rows} == {"1", "2", "3", "4"}
    # load_csv: gre, gpa standardised, rank one-hot; 10% held out
    assert result["feature_names"] == ["gre", "gpa", "rank=1", "rank=2", "rank=3", "rank=4"]
    assert (result["n_train"], result["n_test"]) == (360, 40)
    # printed every 90 epochs: epochs 0, 90, ..., 810
    assert [epoch for epoch, _, _ in result["printed"]] == list(range(0, 900, 90))
    losses = [loss for _, loss, _ in result["printed"]]
    # Full-batch gradient descent at learnrate 0.005: the MSE falls, a little, every time,
    # so the warning never fires; the network still answers "rejected" for everybody.
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    assert not any(warned for _, _, warned in result["printed"])
    assert 0 < losses[0] - losses[-1] < 0.02
    assert result["test_accuracy"] == pytest.approx(result["majority_accuracy"])
    assert 0.5 < result["logistic_accuracy"] <= 1
    check_png(result["figure"], min_kb=10, min_side=300)


def test_warning_when_the_loss_increases(tmp_path):
    with pytest.warns(admissions.sn.train.LossIncreasingWarning):  # fit warns too
        result = admissions.main(out=str(tmp_path), learnrate=500.0, epochs=900)
    printed = result["printed"]
    assert any(warned for _, _, warned in printed)
    for (_, earlier, _), (_, later, warned) in zip(printed, printed[1:]):
        assert warned == (later > earlier)  # the article's rule: last_loss < loss
    assert printed[0][2] is False
