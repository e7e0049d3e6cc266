"""examples/perceptron_study.py: seed 002's perceptron, w = (8, 3, 3), bias -5 / threshold 5,
then threshold 3."""
import perceptron_study

# Inputs in binary order 000 ... 111 (money, easy maths, no GPU needed).
SUMS = [0, 3, 3, 6, 8, 11, 11, 14]  # 8 x1 + 3 x2 + 3 x3, by hand


def test_truth_tables_bias_equals_threshold(tmp_path, check_png):
    result = perceptron_study.main(out=str(tmp_path))
    tables = result["tables"]
    for table in tables.values():
        assert table["sums"] == SUMS
        assert table["bias_form"] == table["threshold_form"]  # b = -T: the same unit
    assert result["same_unit"] is True
    # T = 5: sum >= 5. Note 011 (easy maths, no GPU, no money) = 6 >= 5 says "study",
    # against the article's sentence; the docstring explains.
    assert tables[5.0]["bias_form"] == [0, 0, 0, 1, 1, 1, 1, 1]
    # T = 3: every input with any factor says "study" (sum >= 3).
    assert tables[3.0]["bias_form"] == [0, 1, 1, 1, 1, 1, 1, 1]
    # T = 7: money decides alone, the article's intended reading.
    assert tables[7.0]["bias_form"] == [0, 0, 0, 0, 1, 1, 1, 1]
    check_png(result["figure"])


def test_step_layer_is_strict_only_at_the_threshold(tmp_path):
    table = perceptron_study.main(out=str(tmp_path), thresholds=(3.0,))["tables"][3.0]
    # somanet's Step is 1 where x > 0: it differs from ">= 0" exactly where sum == T.
    differs = [i for i, (a, b) in enumerate(zip(table["bias_form"], table["step_layer"]))
               if a != b]
    assert differs == [1, 2]
    assert all(SUMS[i] == 3 for i in differs)
