"""Text for character-level language models: a ``Vocabulary`` (characters <-> ids) and
``CharSequenceDataset``, a text cut into training windows.

A character language model reads ``x = ids[s : s + window]`` and learns to predict, at
every step, the next character: ``y = ids[s + 1 : s + window + 1]``.

    >>> from somanet.data.text import CharSequenceDataset, Vocabulary
    >>> vocab = Vocabulary.from_text("hello world")
    >>> vocab.chars, len(vocab)
    (' dehlorw', 8)
    >>> ids = vocab.encode("hello")
    >>> ids.tolist(), vocab.decode(ids)
    ([3, 2, 4, 4, 5], 'hello')
    >>> data = CharSequenceDataset(vocab.encode("hello world"), window=4)
    >>> x, y = data[0]
    >>> vocab.decode(x), vocab.decode(y)
    ('hell', 'ello')
"""
import numpy

from .._checks import check_positive_int
from ..backend import to_numpy
from ..tensor import Tensor
from .dataset import Dataset


class Vocabulary:
    """The characters a model knows, each with an id ``0 .. len - 1`` (in sorted order).

    Args:
        chars: the characters (a string or an iterable of one-character strings); each
            once.

    Attributes:
        chars: the characters as one string, ``chars[i]`` has id ``i``.

    A character outside the vocabulary is an error that names it and where it is:
    a model cannot read what it was never trained on.
    """

    def __init__(self, chars):
        chars = list(chars)
        for char in chars:
            if not isinstance(char, str) or len(char) != 1:
                raise TypeError(f"Vocabulary: expected single characters, got {char!r}")
        if not chars:
            raise ValueError("Vocabulary: expected at least one character, got none")
        seen = set()
        for char in chars:
            if char in seen:
                raise ValueError(f"Vocabulary: the character {char!r} is given twice")
            seen.add(char)
        self.chars = "".join(chars)
        self._ids = {char: index for index, char in enumerate(chars)}

    @classmethod
    def from_text(cls, text):
        """The vocabulary of every character in ``text``, sorted."""
        if not isinstance(text, str):
            raise TypeError(f"Vocabulary.from_text: expected a str, got {type(text).__name__}")
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    def __contains__(self, char):
        return char in self._ids

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and other.chars == self.chars

    def __repr__(self):
        return f"Vocabulary({len(self)} characters: {self.chars!r})"

    def unknown(self, text):
        """The characters of ``text`` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(char for char in text if char not in self._ids))

    def encode(self, text):
        """``text`` as int64 ids, shape ``(len(text),)``.

        Raises:
            ValueError: ``text`` holds characters outside the vocabulary (names them and
                the position of the first).
        """
        if not isinstance(text, str):
            raise TypeError(f"Vocabulary.encode: expected a str, got {type(text).__name__}")
        try:
            return numpy.fromiter((self._ids[char] for char in text), dtype=numpy.int64,
                                  count=len(text))
        except KeyError:
            missing = self.unknown(text)
            first = text.index(missing[0])
            shown = ", ".join(repr(char) for char in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise ValueError(f"Vocabulary.encode: {len(missing)} character(s) not in the "
                             f"vocabulary: {shown}{more} (the first at position {first}); "
                             f"the vocabulary holds {self.chars!r}") from None

    def decode(self, ids):
        """The string of ``ids`` (a sequence, array or Tensor of ints in ``[0, len)``)."""
        values = to_numpy(ids.data) if isinstance(ids, Tensor) else numpy.asarray(ids)
        if values.dtype.kind not in "iu" and values.size:
            raise TypeError(f"Vocabulary.decode: expected integer ids, got dtype {values.dtype}")
        values = values.reshape(-1).astype(numpy.int64)
        bad = (values < 0) | (values >= len(self))
        if bad.any():
            raise ValueError(f"Vocabulary.decode: id {int(values[bad][0])} is outside "
                             f"[0, {len(self)}) (the vocabulary has {len(self)} characters)")
        return "".join(self.chars[index] for index in values)

    def state_dict(self):
        """``{"chars": ...}``, plain JSON; ``Vocabulary.from_state_dict`` rebuilds it."""
        return {"chars": self.chars}

    @classmethod
    def from_state_dict(cls, state):
        if not isinstance(state, dict) or not isinstance(state.get("chars"), str):
            raise ValueError("Vocabulary.from_state_dict: expected {'chars': str}, got "
                             f"{state!r:.80}")
        return cls(state["chars"])


class CharSequenceDataset(Dataset):
    """A sequence of ids cut into training windows for next-character prediction.

    Example ``i`` starts at ``s = i * stride``: ``x = ids[s : s + window]`` and
    ``y = ids[s + 1 : s + window + 1]`` (the same text one character on). With
    ``stride = window`` (the default) the windows tile the text without overlap, so an
    epoch reads every character once; ``len = (len(ids) - 1 - window) // stride + 1``.

    Args:
        ids: int ids, shape ``(L,)`` (from ``Vocabulary.encode``).
        window: steps per example (the length back-propagation through time unrolls).
        stride: characters between the starts of consecutive windows (default ``window``).

    Shape:
        each example: x ``(window,)`` int64, y ``(window,)`` int64. ``arrays()`` returns
        all of them at once, ``(N, window)`` each, for ``Model.fit(x, y)``.
    """

    in_memory = True

    def __init__(self, ids, window, stride=None):
        ids = to_numpy(ids.data) if isinstance(ids, Tensor) else numpy.asarray(ids)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(f"CharSequenceDataset: expected a 1-D sequence of int ids, got "
                             f"shape {ids.shape}, dtype {ids.dtype}")
        self.window = check_positive_int(self, "window", window, what="a positive int")
        self.stride = self.window if stride is None else check_positive_int(
            self, "stride", stride, what="a positive int")
        if ids.size < self.window + 1:
            raise ValueError(f"CharSequenceDataset: a text of {ids.size} characters is too "
                             f"short for windows of {self.window} (it needs at least "
                             f"window + 1 = {self.window + 1})")
        self.ids = ids.astype(numpy.int64, copy=False)
        self._length = (self.ids.size - 1 - self.window) // self.stride + 1

    def __len__(self):
        return self._length

    def _starts(self, indices):
        indices = numpy.asarray(indices, dtype=numpy.int64)
        if indices.size and (indices.min() < -self._length or indices.max() >= self._length):
            raise IndexError(f"CharSequenceDataset: index out of range for {self._length} "
                             f"windows")
        return (indices % self._length) * self.stride

    def __getitem__(self, index):
        start = int(self._starts([index])[0])
        return (self.ids[start:start + self.window].copy(),
                self.ids[start + 1:start + self.window + 1].copy())

    def __getitems__(self, indices):
        rows = self._starts(indices)[:, None] + numpy.arange(self.window)
        return self.ids[rows], self.ids[rows + 1]

    def arrays(self):
        """``(x, y)``: every window, int64 ``(len, window)`` each."""
        return self.__getitems__(numpy.arange(self._length))
