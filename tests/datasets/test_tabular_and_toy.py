import json

import numpy as np
import pytest

import somanet as sn
from somanet.datasets import TabularEncoder, load_csv

ADMISSIONS = """admit,gre,gpa,rank
0,380,3.61,3
1,660,3.67,3
1,800,4.00,1
1,640,3.19,4
0,520,2.93,4
1,760,3.00,2
1,560,2.98,1
0,400,3.08,2
1,540,3.39,3
0,700,3.92,2
"""


@pytest.fixture
def admissions(tmp_path):
    path = tmp_path / "admissions.csv"
    path.write_text(ADMISSIONS)
    return path


def test_xor_and_three_bit_images():
    x, y = sn.datasets.xor()
    assert x.dtype == y.dtype == np.float32
    assert np.array_equal(y[:, 0], np.logical_xor(x[:, 0], x[:, 1]).astype(np.float32))
    images, desired = sn.datasets.three_bit_images()
    assert images.tolist() == [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert desired.ravel().tolist() == [0, 1, 1, 0] and images.dtype == np.float32


def test_load_csv_one_hot_and_standardise(admissions):
    data = load_csv(admissions, target="admit", categorical=["rank"])
    assert data.feature_names == ["gre", "gpa", "rank=1", "rank=2", "rank=3", "rank=4"]
    x, y = data.x_train, data.y_train
    assert x.dtype == np.float32 and x.shape == (10, 6) and data.x_test is None
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 1, 1, 0, 1, 1, 0, 1, 0]
    assert np.allclose(x[:, :2].mean(axis=0), 0, atol=1e-6)
    assert np.allclose(x[:, :2].std(axis=0), 1, atol=1e-5)
    assert x[:, 2:].sum(axis=1).tolist() == [1.0] * 10  # exactly one level per row
    assert x[0, 2:].tolist() == [0, 0, 1, 0]  # rank 3
    gre = np.array([380, 660, 800, 640, 520, 760, 560, 400, 540, 700], dtype=np.float64)
    assert data.encoder.mean["gre"] == pytest.approx(gre.mean())
    assert "10 train rows" in repr(data)


def test_statistics_come_from_the_train_rows(admissions):
    data = load_csv(admissions, target="admit", features=["gre", "gpa"], test_fraction=0.3,
                    seed=1)
    assert data.x_train.shape == (7, 2) and data.x_test.shape == (3, 2)
    assert np.allclose(data.x_train.mean(axis=0), 0, atol=1e-6)
    assert not np.allclose(data.x_test.mean(axis=0), 0, atol=1e-3)
    order = np.random.default_rng(1).permutation(10)
    all_y = np.array([0, 1, 1, 1, 0, 1, 1, 0, 1, 0])
    assert data.y_test.tolist() == all_y[order[7:]].tolist()
    again = load_csv(admissions, target="admit", features=["gre", "gpa"], test_fraction=0.3,
                     seed=1)
    assert np.array_equal(again.x_test, data.x_test)


def test_encoder_applies_to_new_data_and_round_trips(admissions):
    data = load_csv(admissions, target="admit", categorical=["rank"], standardize=True)
    encoder = TabularEncoder.from_state_dict(json.loads(json.dumps(data.encoder.state_dict())))
    new = {"gre": [380, "700"], "gpa": ["3.61", 3.92], "rank": ["3", 2]}
    x = encoder.transform(new)
    assert np.allclose(x, data.x_train[[0, 9]])
    with pytest.raises(ValueError, match="level '5', unseen"):
        encoder.transform({"gre": [1], "gpa": [1], "rank": [5]})
    with pytest.raises(ValueError, match="lacks column 'gpa'"):
        encoder.transform({"gre": [1]})


def test_text_columns_are_categorical_and_text_targets_are_classes(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("size,colour,kind\n1.5,red,cat\n2.5,blue,dog\n3.5,red,dog\n")
    data = load_csv(path, target="kind", standardize=False)
    assert data.feature_names == ["size", "colour=blue", "colour=red"]
    assert data.x_train[:, 0].tolist() == [1.5, 2.5, 3.5]
    assert data.y_train.tolist() == [0, 1, 1] and data.encoder.target_classes == ["cat", "dog"]
    regression = load_csv(path, target="size", features=["colour"])
    assert regression.y_train.dtype == np.float32
    integral = load_csv(path, target="size", features=["colour"], target_dtype="float64")
    assert integral.y_train.dtype == np.float64


def test_bad_columns_list_the_available_ones(admissions):
    with pytest.raises(ValueError, match=r"target column \['admitted'\] not in the file; the "
                                         r"columns are \['admit', 'gre', 'gpa', 'rank'\]"):
        load_csv(admissions, target="admitted")
    with pytest.raises(ValueError, match=r"feature columns \['GRE'\] not in the file"):
        load_csv(admissions, target="admit", features=["GRE"])
    with pytest.raises(ValueError, match=r"categorical columns \['ranking'\]"):
        load_csv(admissions, target="admit", categorical=["ranking"])
    with pytest.raises(ValueError, match="also listed as a feature"):
        load_csv(admissions, target="admit", features=["admit", "gre"])
    with pytest.raises(ValueError, match="test_fraction"):
        load_csv(admissions, target="admit", test_fraction=1.0)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        load_csv(tmp_path / "nope.csv", target="a")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="is empty"):
        load_csv(tmp_path / "empty.csv", target="a")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="no data rows"):
        load_csv(tmp_path / "header.csv", target="a")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3 has 1 fields, the header has 2"):
        load_csv(tmp_path / "ragged.csv", target="a")
    (tmp_path / "holes.csv").write_text("a,b\n1,2\n3,\n")
    with pytest.raises(ValueError, match="column 'b' has 1 missing value.*data row 2"):
        load_csv(tmp_path / "holes.csv", target="a")
    (tmp_path / "twice.csv").write_text("a,a\n1,2\n")
    with pytest.raises(ValueError, match="duplicate column names"):
        load_csv(tmp_path / "twice.csv", target="a")


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_numeric_column_with_a_few_typos_is_an_error_naming_them(tmp_path):
    rows = [f"{600 + i},{i % 4 + 1},{i % 2}" for i in range(40)]
    rows[5] = "5OO,2,1"
    rows[17] = "7l0,1,0"
    path = _csv(tmp_path, "gre,rank,admit\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"data.csv: column 'gre' holds numbers, but 2 cell\(s\) "
                                         r"are not numbers: '5OO' \(line 7\), '7l0' \(line 19\); "
                                         r"correct them, or list the column in categorical"):
        load_csv(path, target="admit")
    data = load_csv(path, target="admit", categorical=["gre"])  # said to be categories
    assert "gre=5OO" in data.feature_names


def test_infinite_and_out_of_range_numbers_name_the_row_and_column(tmp_path):
    for bad in ("inf", "-Infinity", "1e39", "-3e300"):
        path = _csv(tmp_path, f"a,b,y\n1,2,0\n3,{bad},1\n5,6,0\n")
        with pytest.raises(ValueError, match=rf"column 'b' holds 1 number\(s\) that are infinite "
                                             rf"or beyond float32's range .*'{bad}' \(line 3\)"):
            load_csv(path, target="y")
    path = _csv(tmp_path, "a,y\n1,0\n2,1\n")
    encoder = load_csv(path, target="y").encoder
    with pytest.raises(ValueError, match=r"column 'a' holds 'inf' in row 2: not a finite"):
        encoder.transform({"a": ["1", "inf"]})


def test_an_undecodable_file_names_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,y\nZürich,1\nBern,0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.csv is not UTF-8 text: byte 8 \(line 2\) is "
                                         r"0xfc"):
        load_csv(path, target="y")
    path.write_bytes(b"\xef\xbb\xbfa,y\n1,0\n\xff,1\n")  # after a byte order mark
    with pytest.raises(ValueError, match=r"byte 11 \(line 3\) is 0xff"):
        load_csv(path, target="y")
    path.write_bytes(b"a,y\n1,0\n2\x00,1\n")
    with pytest.raises(ValueError, match=r"holds a NUL byte at byte 9 \(line 3\): it is not "
                                         r"a text file"):
        load_csv(path, target="y")
