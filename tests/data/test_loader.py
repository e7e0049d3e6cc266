import gc
import json
import threading
import time

import numpy as np
import pytest

import somanet as sn
from somanet.data import DataLoader, Dataset, RandomSampler, SequentialSampler, TensorDataset
from somanet.data.loader import _THREAD_NAME


def _data(n=10):
    x = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    return TensorDataset(x, np.arange(n))


class _OnDisk(TensorDataset):
    in_memory = False  # as a memmap-backed dataset: the loader prefetches in a thread


def _disk(n=10):
    x = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    return _OnDisk(x, np.arange(n))


def _labels(loader):
    return [y.tolist() for _, y in loader]


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == _THREAD_NAME and t.is_alive()]


def _wait_for_no_threads(timeout=2.0):
    deadline = time.monotonic() + timeout
    while _prefetch_threads() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    return _prefetch_threads()


def test_batches_and_dtype_policy():
    loader = DataLoader(_data(), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    x, y = batches[0]
    assert isinstance(x, sn.Tensor) and x.dtype == np.float32  # float64 -> float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3]
    assert x.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert batches[-1][1].tolist() == [8, 9]


def test_drop_last():
    loader = DataLoader(_data(), batch_size=4, drop_last=True)
    assert len(loader) == 2 and _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_other_dtypes_are_kept():
    data = TensorDataset(np.zeros((3, 2), dtype=np.uint8), np.array([True, False, True]))
    x, flags = next(iter(DataLoader(data, batch_size=3)))
    assert x.dtype == np.uint8 and flags.dtype == np.bool_


def test_shuffle_reshuffles_every_epoch_and_covers_all():
    loader = DataLoader(_data(20), batch_size=6, shuffle=True, seed=0)
    epochs = [sum(_labels(loader), []) for _ in range(3)]
    assert loader.epoch == 3
    for order in epochs:
        assert sorted(order) == list(range(20))
    assert epochs[0] != epochs[1] != epochs[2]
    expected = RandomSampler(20, seed=0).indices(1).tolist()
    assert epochs[1] == expected


def test_same_seed_same_batches_and_manual_seed():
    a = DataLoader(_data(20), batch_size=6, shuffle=True, seed=3)
    b = DataLoader(_data(20), batch_size=6, shuffle=True, seed=3)
    assert _labels(a) == _labels(b)
    sn.manual_seed(8)
    c = DataLoader(_data(20), batch_size=6, shuffle=True)
    sn.manual_seed(8)
    d = DataLoader(_data(20), batch_size=6, shuffle=True)
    assert _labels(c) == _labels(d)


def test_prefetch_gives_the_same_batches_as_none():
    prefetched = DataLoader(_disk(30), batch_size=7, shuffle=True, seed=1, prefetch=2)
    direct = DataLoader(_data(30), batch_size=7, shuffle=True, seed=1, prefetch=0)
    assert prefetched._uses_thread() and not direct._uses_thread()
    for _ in range(2):
        first, second = list(prefetched), list(direct)
        assert len(first) == len(second) == 5
        for (x1, y1), (x2, y2) in zip(first, second):
            assert np.array_equal(x1.numpy(), x2.numpy()) and y1.tolist() == y2.tolist()
    assert prefetched.epoch == direct.epoch == 2


def test_per_item_dataset_and_collate():
    class Pairs(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, index):
            return np.full(3, index, dtype=np.float64), index % 2

    x, y = next(iter(DataLoader(Pairs(), batch_size=4)))
    assert x.shape == (4, 3) and x.dtype == np.float32 and y.tolist() == [0, 1, 0, 1]

    class Single(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return float(index)

    (batch,) = list(DataLoader(Single(), batch_size=3))
    assert batch.tolist() == [0.0, 1.0, 2.0] and batch.dtype == np.float32

    class Records(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return {"x": np.ones(2) * index, "label": index}

    batch = next(iter(DataLoader(Records(), batch_size=3)))
    assert batch["x"].shape == (3, 2) and batch["label"].tolist() == [0, 1, 2]

    summed = DataLoader(Pairs(), batch_size=2, collate_fn=lambda items: len(items))
    assert list(summed) == [2, 2, 1]


def test_collate_errors():
    class Ragged(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return (1.0, 2.0) if index == 0 else (1.0,)

    with pytest.raises(ValueError, match="must all have 2 fields, like the first; got a "
                                         "tuple with 1"):
        list(DataLoader(Ragged(), batch_size=2, prefetch=0))

    class Words(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.array(["a", "b"])

    with pytest.raises(TypeError, match="numbers"):
        list(DataLoader(Words(), batch_size=2, prefetch=0))


class _Failing(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, index):
        if index == 6:
            raise KeyError(f"example {index} is broken")
        return np.float32(index)


@pytest.mark.parametrize("prefetch", [0, 2])
def test_worker_exception_is_reraised(prefetch):
    loader = DataLoader(_Failing(), batch_size=3, prefetch=prefetch)
    seen = []
    with pytest.raises(KeyError, match="example 6 is broken"):
        for batch in loader:
            seen.append(batch.tolist())
    assert seen == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert _wait_for_no_threads() == []


def test_abandoned_iterators_leak_no_threads():
    loader = DataLoader(_disk(200), batch_size=2, shuffle=True, seed=0, prefetch=2)
    running = iter(loader)
    assert len(_prefetch_threads()) == 1
    del running
    for _ in range(3):
        next(iter(loader))  # the iterator is dropped at once
    for batch in loader:
        break
    del batch
    iterator = iter(loader)
    next(iterator)
    iterator.close()
    assert _wait_for_no_threads() == []


def test_finished_iteration_leaks_no_threads():
    loader = DataLoader(_disk(20), batch_size=3)
    for _ in loader:
        pass
    assert _wait_for_no_threads() == []


def test_peeking_does_not_advance_the_epoch():
    loader = DataLoader(_data(12), batch_size=5, shuffle=True, seed=2)
    peeked = next(iter(loader))[1].tolist()
    assert loader.epoch == 0
    full = _labels(loader)
    assert full[0] == peeked and loader.epoch == 1


def test_set_epoch():
    loader = DataLoader(_data(12), batch_size=12, shuffle=True, seed=2)
    loader.set_epoch(4)
    assert _labels(loader)[0] == RandomSampler(12, seed=2).indices(4).tolist()
    with pytest.raises(ValueError, match="non-negative"):
        loader.set_epoch(-1)


def _state_through_json(state):
    order = state["order"]
    plain = json.loads(json.dumps({k: v for k, v in state.items() if k != "order"}))
    plain["order"] = None if order is None else np.array(order)
    return plain


@pytest.mark.parametrize("prefetch", [0, 2])
def test_resume_mid_epoch(prefetch):
    loader = DataLoader(_disk(23), batch_size=4, shuffle=True, seed=5, prefetch=prefetch)
    _labels(loader)  # epoch 0 done
    iterator = iter(loader)
    head = [next(iterator)[1].tolist() for _ in range(3)]
    state = _state_through_json(loader.state_dict())
    assert (state["epoch"], state["position"]) == (1, 3)
    tail = [y.tolist() for _, y in iterator]
    following = _labels(loader)  # epoch 2

    resumed = DataLoader(_disk(23), batch_size=4, shuffle=True, seed=99, prefetch=prefetch)
    resumed.load_state_dict(state)
    assert resumed.epoch == 1 and resumed.position == 3
    assert _labels(resumed) == tail
    assert resumed.epoch == 2
    assert _labels(resumed) == following
    assert head + tail != []


def test_resume_at_the_end_of_an_epoch_and_before_any():
    loader = DataLoader(_data(8), batch_size=4, shuffle=True, seed=5)
    iterator = iter(loader)
    next(iterator), next(iterator)
    state = loader.state_dict()
    assert state["position"] == 2 == len(loader)
    resumed = DataLoader(_data(8), batch_size=4, shuffle=True, seed=5)
    resumed.load_state_dict(state)
    assert _labels(resumed) == [] and resumed.epoch == 1
    fresh = DataLoader(_data(8), batch_size=4, shuffle=True, seed=5)
    fresh.load_state_dict(DataLoader(_data(8), batch_size=4, shuffle=True,
                                     seed=5).state_dict())
    assert fresh.state_dict()["order"] is None and len(_labels(fresh)) == 2


def test_load_state_dict_errors_change_nothing():
    loader = DataLoader(_data(10), batch_size=4, shuffle=True, seed=5)
    good = loader.state_dict()
    before = loader.state_dict()

    def bad(**changes):
        return {**good, **changes}

    with pytest.raises(ValueError, match="batch_size=3.*this loader has batch_size=4"):
        loader.load_state_dict(bad(batch_size=3))
    with pytest.raises(ValueError, match="saved for 11 examples"):
        loader.load_state_dict(bad(num_samples=11))
    with pytest.raises(ValueError, match="position 9 is past"):
        loader.load_state_dict(bad(position=9))
    with pytest.raises(ValueError, match="position must be a non-negative int"):
        loader.load_state_dict(bad(position=-1))
    with pytest.raises(ValueError, match="10 integer indices"):
        loader.load_state_dict(bad(order=np.arange(9)))
    with pytest.raises(ValueError, match="outside"):
        loader.load_state_dict(bad(order=np.arange(10) + 5))
    with pytest.raises(ValueError, match="lacks"):
        loader.load_state_dict({"epoch": 0})
    with pytest.raises(ValueError, match="saved for 12 examples"):
        loader.load_state_dict(bad(sampler={"type": "RandomSampler", "num_samples": 12,
                                            "seed": 1}))
    after = loader.state_dict()
    assert {k: v for k, v in after.items() if k != "order"} == \
        {k: v for k, v in before.items() if k != "order"}


def test_numpy_integers_are_accepted_as_sizes_and_epochs():
    loader = DataLoader(_data(), batch_size=np.int64(4), prefetch=np.int32(0))
    assert loader.batch_size == 4 and type(loader.batch_size) is int
    loader.set_epoch(np.int64(2))
    assert loader.epoch == 2
    assert RandomSampler(10, seed=np.uint32(3)).seed == 3


def test_loader_argument_errors():
    data = _data()
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(data, batch_size=0)
    with pytest.raises(ValueError, match="either shuffle=True or a sampler"):
        DataLoader(data, shuffle=True, sampler=SequentialSampler(10))
    with pytest.raises(TypeError, match="somanet.data.Sampler"):
        DataLoader(data, sampler=[0, 1])
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(data, prefetch=-1)
    with pytest.raises(TypeError, match="len"):
        DataLoader(object())

    class Empty(Dataset):
        def __len__(self):
            return 0

    with pytest.raises(ValueError, match="empty"):
        DataLoader(Empty())


def test_custom_sampler_and_device():
    class Reversed(SequentialSampler):
        def indices(self, epoch):
            return np.arange(self.num_samples)[::-1].copy()

    loader = DataLoader(_data(5), batch_size=2, sampler=Reversed(5), device="cpu")
    assert _labels(loader) == [[4, 3], [2, 1], [0]]
    assert "3 batches" in repr(loader)

    class Wrong(SequentialSampler):
        def indices(self, epoch):
            return np.arange(3)

    with pytest.raises(ValueError, match="must return 5 indices"):
        iter(DataLoader(_data(5), sampler=Wrong(5)))


def test_in_memory_data_needs_no_thread():
    data = _data(20)
    assert data.in_memory and data.device is sn.cpu()
    for loader in (DataLoader(data, batch_size=3), DataLoader(data, batch_size=3, device="cpu"),
                   DataLoader(sn.data.Subset(data, [1, 2, 3]), batch_size=2)):
        assert not loader._uses_thread()
        iterator = iter(loader)
        next(iterator)
        assert _prefetch_threads() == []
    assert DataLoader(data, collate_fn=list)._uses_thread()
    assert not sn.data.Subset(_disk(5), [0]).in_memory


@pytest.mark.gpu
@pytest.mark.skipif(sn.gpu_count() == 0, reason="needs a GPU")
def test_batches_move_to_the_gpu_in_the_background():
    loader = DataLoader(_data(10), batch_size=4, shuffle=True, seed=0, device="gpu:0")
    assert loader._uses_thread()
    host = DataLoader(_data(10), batch_size=4, shuffle=True, seed=0)
    for (x, y), (hx, hy) in zip(list(loader), list(host)):
        assert x.device is sn.gpu(0) and y.device is sn.gpu(0)
        assert np.array_equal(x.numpy(), hx.numpy()) and y.tolist() == hy.tolist()
    on_gpu = TensorDataset(sn.tensor(np.arange(6.0)).to("gpu:0"), np.arange(6))
    assert on_gpu.device is None  # mixed devices
    gpu_only = TensorDataset(sn.tensor(np.arange(6.0)).to("gpu:0"))
    (batch,) = next(iter(DataLoader(gpu_only, batch_size=6, shuffle=True, seed=0)))
    assert batch.device is sn.gpu(0) and sorted(batch.tolist()) == list(range(6))
