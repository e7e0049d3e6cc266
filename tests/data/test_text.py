"""somanet.data.text: Vocabulary and CharSequenceDataset; the bundled shakespeare() text."""
import hashlib

import numpy as np
import pytest

import somanet as sn
from somanet.data import DataLoader
from somanet.data.text import CharSequenceDataset, Vocabulary


def test_vocabulary_round_trip_and_ids():
    vocab = Vocabulary.from_text("to be, or not to be")
    assert vocab.chars == " ,benort" and len(vocab) == 8
    ids = vocab.encode("not to be")
    assert ids.dtype == np.int64 and ids.tolist() == [4, 5, 7, 0, 7, 5, 0, 2, 3]
    assert vocab.decode(ids) == "not to be"
    assert vocab.decode(sn.tensor(ids)) == "not to be"
    assert vocab.decode([]) == ""
    assert "b" in vocab and "x" not in vocab
    assert Vocabulary.from_state_dict(vocab.state_dict()) == vocab


def test_unknown_characters_are_a_clear_error():
    vocab = Vocabulary.from_text("abc")
    assert vocab.unknown("abxcyx") == ["x", "y"]
    with pytest.raises(ValueError, match=r"2 character\(s\) not in the vocabulary: 'x', 'y' "
                                         r"\(the first at position 2\); the vocabulary holds "
                                         r"'abc'"):
        vocab.encode("abxcyx")
    with pytest.raises(ValueError, match=r"id 3 is outside \[0, 3\)"):
        vocab.decode([0, 3])
    with pytest.raises(TypeError, match="integer ids"):
        vocab.decode(np.array([0.5]))
    with pytest.raises(TypeError, match="expected a str"):
        vocab.encode(["a"])


def test_bad_vocabularies():
    with pytest.raises(ValueError, match="'a' is given twice"):
        Vocabulary("aba")
    with pytest.raises(ValueError, match="at least one"):
        Vocabulary("")
    with pytest.raises(TypeError, match="single characters"):
        Vocabulary(["ab", "c"])
    with pytest.raises(ValueError, match="from_state_dict"):
        Vocabulary.from_state_dict({"chars": 3})


def test_windows_are_the_text_and_the_text_one_on():
    ids = np.arange(23)
    data = CharSequenceDataset(ids, window=5)
    assert len(data) == (23 - 1 - 5) // 5 + 1 == 4
    x, y = data[1]
    assert x.tolist() == [5, 6, 7, 8, 9] and y.tolist() == [6, 7, 8, 9, 10]
    xs, ys = data.arrays()
    assert xs.shape == ys.shape == (4, 5) and xs.dtype == np.int64
    np.testing.assert_array_equal(ys, xs + 1)
    assert xs[-1, -1] + 1 == ys[-1, -1] <= 22
    overlapping = CharSequenceDataset(ids, window=5, stride=2)
    assert len(overlapping) == (23 - 1 - 5) // 2 + 1 and overlapping[-1][0][0] == 16
    batches = list(DataLoader(data, batch_size=3, shuffle=True, seed=0))
    assert [tuple(xb.shape) for xb, _ in batches] == [(3, 5), (1, 5)]
    for xb, yb in batches:
        np.testing.assert_array_equal(yb.numpy(), xb.numpy() + 1)


def test_bad_windows():
    with pytest.raises(ValueError, match="too short for windows of 10"):
        CharSequenceDataset(np.arange(10), window=10)
    with pytest.raises(ValueError, match="1-D sequence of int ids"):
        CharSequenceDataset(np.zeros((3, 4), np.int64), window=2)
    with pytest.raises((TypeError, ValueError), match="window"):
        CharSequenceDataset(np.arange(10), window=0)
    with pytest.raises(IndexError, match="out of range"):
        CharSequenceDataset(np.arange(10), window=3)[3]


def test_shakespeare_is_the_recorded_text():
    text = sn.datasets.shakespeare()
    assert len(text) == 419_129 and len(set(text)) == 73
    assert hashlib.sha256(text.encode("ascii")).hexdigest() == sn.datasets.SHAKESPEARE_SHA256
    assert text.startswith("HAMLET, PRINCE OF DENMARK")
    train, validation = (sn.datasets.shakespeare("train"),
                         sn.datasets.shakespeare("validation"))
    assert train + validation == text and len(validation) == round(0.1 * len(text))
    with pytest.raises(ValueError, match="split"):
        sn.datasets.shakespeare("test")
    with pytest.raises(ValueError, match="validation_fraction"):
        sn.datasets.split_text(text, 0)


def test_read_text(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_bytes("Ode to joy\r\nfreude\r\n".encode("utf-8"))
    assert sn.datasets.read_text(str(path)) == "Ode to joy\nfreude\n"
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ValueError, match="is not utf-8 text"):
        sn.datasets.read_text(str(tmp_path / "bad.txt"))
    with pytest.raises(FileNotFoundError, match="missing"):
        sn.datasets.read_text(str(tmp_path / "none.txt"))
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty"):
        sn.datasets.read_text(str(tmp_path / "empty.txt"))


def test_a_vocabulary_with_special_tokens():
    vocab = Vocabulary("abc", specials=("<pad>", "<start>", "<end>", "<unk>"),
                       unk_token="<unk>")
    assert vocab.tokens == ["<pad>", "<start>", "<end>", "<unk>", "a", "b", "c"]
    assert (vocab.pad_id, vocab.start_id, vocab.end_id, vocab.unk_id) == (0, 1, 2, 3)
    assert len(vocab) == 7 and vocab.chars == "abc" and "a" in vocab and "<pad>" not in vocab
    assert vocab.encode("bxa").tolist() == [5, 3, 4] and vocab.unknown("bxa") == ["x"]
    ids = vocab.encode_batch(["ab", "cxa"], length=6, start=True, end=True)
    assert ids.dtype == np.int64 and ids.tolist() == [[1, 4, 5, 2, 0, 0],
                                                      [1, 6, 3, 4, 2, 0]]
    assert vocab.decode_batch(ids) == ["ab", "c\ufffda"]
    assert vocab.decode(ids[1]) == "c\ufffda" and vocab.decode([4, 2, 5]) == "a"
    assert vocab.decode_batch(sn.tensor(ids)) == ["ab", "c\ufffda"]
    again = Vocabulary.from_state_dict(vocab.state_dict())
    assert again == vocab and again.unk_id == 3 and hash(again) == hash(vocab)
    assert vocab != Vocabulary("abc") and Vocabulary("abc").unk_id is None
    # a plain character vocabulary: the same batch form, equal lengths need no <pad>
    plain = Vocabulary("abc")
    assert plain.state_dict() == {"chars": "abc"}
    assert plain.encode_batch(["ab", "ca"]).tolist() == [[0, 1], [2, 0]]
    assert plain.decode_batch([[0, 1], [2, 0]]) == ["ab", "ca"]
    # CharVocabulary is that vocabulary with its specials fixed
    chars = sn.datasets.CharVocabulary("abc")
    assert isinstance(chars, Vocabulary) and chars == vocab and chars.characters == "abc"
    assert sn.datasets.CharVocabulary.end_id == 2
    assert chars.encode("ab").tolist() == vocab.encode_batch("ab").tolist() == [[4, 5]]
    restored = sn.datasets.CharVocabulary.from_state_dict(chars.state_dict())
    assert type(restored) is sn.datasets.CharVocabulary and restored == chars
    with pytest.raises(ValueError, match="expected the specials"):
        sn.datasets.CharVocabulary.from_state_dict(Vocabulary("abc").state_dict())


def test_special_token_errors():
    with pytest.raises(ValueError, match=r"unk_token='<unk>' must be one of the specials"):
        Vocabulary("abc", specials=("<pad>",), unk_token="<unk>")
    with pytest.raises(ValueError, match="special token '<pad>' is given twice"):
        Vocabulary("abc", specials=("<pad>", "<pad>"))
    with pytest.raises(ValueError, match="'a' is both a special token and a character"):
        Vocabulary("abc", specials=("a",))
    with pytest.raises(TypeError, match="specials must be a sequence of tokens"):
        Vocabulary("abc", specials="<pad>")
    with pytest.raises(TypeError, match="a special token must be a non-empty str"):
        Vocabulary("abc", specials=("",))
    plain = Vocabulary("abc")
    with pytest.raises(ValueError, match=r"padding rows to one length needs the special "
                                         r"token '<pad>'"):
        plain.encode_batch(["ab", "c"])
    with pytest.raises(ValueError, match=r"end=True needs the special token '<end>'"):
        plain.encode_batch(["ab"], end=True)
    with pytest.raises(ValueError, match=r"1 character\(s\) not in the vocabulary in "
                                         r"texts\[1\]: 'x'"):
        plain.encode_batch(["ab", "xa"])
    with pytest.raises(ValueError, match=r"expected int ids \(N, length\)"):
        plain.decode_batch(np.zeros((1, 2, 3), np.int64))
    with pytest.raises(ValueError, match="from_state_dict"):
        Vocabulary.from_state_dict({"chars": "abc", "specials": "<pad>"})
