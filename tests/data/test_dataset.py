import numpy as np
import pytest

import somanet as sn
from somanet.data import (DataLoader, MemmapDataset, Subset, TensorDataset, check_labels,
                          random_split)


def test_tensor_dataset_items_and_batches():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    data = TensorDataset(x, y)
    assert len(data) == 6
    row, label = data[4]
    assert row.tolist() == [8.0, 9.0] and label == 4
    xb, yb = data.__getitems__(np.array([5, 0, 3]))
    assert xb.tolist() == [[10, 11], [0, 1], [6, 7]] and yb.tolist() == [5, 0, 3]
    assert "6 examples" in repr(data)


def test_tensor_dataset_keeps_arrays_and_takes_tensors():
    x = np.ones((3, 2), dtype=np.float32)
    data = TensorDataset(x, sn.tensor([1, 2, 3]))
    assert data.arrays[0] is x  # no copy
    assert data.arrays[1].dtype == np.int64
    nested = TensorDataset([[1.0, 2.0], [3.0, 4.0]])
    assert nested.arrays[0].shape == (2, 2)


def test_tensor_dataset_different_lengths():
    with pytest.raises(ValueError, match=r"different lengths \[5, 4\].*\(5, 3\), \(4,\)"):
        TensorDataset(np.zeros((5, 3)), np.zeros(4))


def test_tensor_dataset_empty_and_missing():
    with pytest.raises(ValueError, match="empty"):
        TensorDataset(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.float32(3.0))
    with pytest.raises(TypeError, match="dtype <U1"):
        TensorDataset(["a", "b"])


def test_labels_outside_the_classes():
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"\[0, 3\) for 3 classes, got values from 0 to 5"):
        TensorDataset(x, np.array([0, 1, 2, 5]), num_classes=3)
    with pytest.raises(ValueError, match="from -1 to 1"):
        TensorDataset(x, np.array([0, 1, -1, 1]), num_classes=3)
    data = TensorDataset(x, np.array([0, 1, 2, 2]), num_classes=3)
    assert data.num_classes == 3


def test_check_labels_types():
    with pytest.raises(TypeError, match="integer class indices.*float32.*astype"):
        check_labels(np.array([0.0, 1.0], dtype=np.float32), 2)
    with pytest.raises(ValueError, match="positive int"):
        check_labels(np.array([0, 1]), 0)
    check_labels(sn.tensor([0, 1, 1]), 2)  # tensors are fine
    check_labels(np.zeros(0, dtype=np.int64), 2)


def test_memmap_dataset_streams_from_disk(tmp_path):
    x = np.random.default_rng(0).random((50, 3, 4)).astype(np.float32)
    y = np.arange(50) % 7
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    data = MemmapDataset(tmp_path / "x.npy", str(tmp_path / "y.npy"), num_classes=7)
    assert isinstance(data.arrays[0], np.memmap)  # not read into memory
    assert len(data) == 50
    on_disk = [(xb.numpy().copy(), yb.numpy().copy())
               for xb, yb in DataLoader(data, batch_size=16, shuffle=True, seed=3)]
    in_memory = [(xb.numpy(), yb.numpy())
                 for xb, yb in DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True,
                                          seed=3)]
    assert len(on_disk) == 4
    for (a, b), (c, d) in zip(on_disk, in_memory):
        assert type(a) is np.ndarray and np.array_equal(a, c) and np.array_equal(b, d)


def test_memmap_dataset_raw_memmap_and_errors(tmp_path):
    raw = np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="w+", shape=(8, 2))
    raw[:] = 1.0
    raw.flush()
    data = MemmapDataset(np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="r", shape=(8, 2)))
    assert len(data) == 8
    with pytest.raises(FileNotFoundError, match="no file"):
        MemmapDataset(tmp_path / "missing.npy")
    (tmp_path / "bad.npy").write_bytes(b"not an npy file at all")
    with pytest.raises(ValueError, match="not a .npy array file"):
        MemmapDataset(tmp_path / "bad.npy")
    with pytest.raises(TypeError, match="numpy.memmap"):
        MemmapDataset(42)
    np.save(tmp_path / "short.npy", np.zeros(3))
    np.save(tmp_path / "long.npy", np.zeros(4))
    with pytest.raises(ValueError, match="different lengths"):
        MemmapDataset(tmp_path / "short.npy", tmp_path / "long.npy")


def test_subset_and_random_split_sizes():
    data = TensorDataset(np.arange(10))
    train, test = random_split(data, [7, 3], seed=0)
    assert (len(train), len(test)) == (7, 3)
    together = np.concatenate([train.indices, test.indices])
    assert sorted(together.tolist()) == list(range(10))
    again, _ = random_split(data, [7, 3], seed=0)
    assert np.array_equal(train.indices, again.indices)
    (values,) = train.__getitems__(np.array([0, 1]))
    assert values.tolist() == train.indices[:2].tolist()
    assert train[0][0] == train.indices[0]
    parts = random_split(data, [0.5, 0.3, 0.2], seed=1)
    assert [len(part) for part in parts] == [5, 3, 2]
    parts = random_split(TensorDataset(np.arange(11)), [0.5, 0.5], seed=1)
    assert [len(part) for part in parts] == [6, 5]


def test_random_split_follows_manual_seed():
    data = TensorDataset(np.arange(20))
    sn.manual_seed(5)
    first = random_split(data, [10, 10])[0].indices
    sn.manual_seed(5)
    assert np.array_equal(first, random_split(data, [10, 10])[0].indices)


def test_random_split_errors():
    data = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match="sum to the dataset's size 10"):
        random_split(data, [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(data, [0.5, 0.2])
    with pytest.raises(ValueError, match="at least one length"):
        random_split(data, [])
    with pytest.raises(IndexError, match=r"\[0, 10\)"):
        Subset(data, [0, 10])


def test_subset_of_plain_dataset():
    class Squares(sn.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, index):
            return np.float32(index * index), index

    subset = Subset(Squares(), [4, 1])
    (values, labels), = list(DataLoader(subset, batch_size=2))
    assert values.tolist() == [16.0, 1.0] and labels.tolist() == [4, 1]


def test_base_dataset_must_be_subclassed():
    with pytest.raises(NotImplementedError, match="__len__"):
        len(sn.data.Dataset())
    with pytest.raises(NotImplementedError, match="__getitem__"):
        sn.data.Dataset()[0]
