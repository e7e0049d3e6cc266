"""Text for character-level models: a ``Vocabulary`` (characters <-> ids, optionally with
special tokens such as ``<pad>``; ``CharVocabulary`` is the one sequence-to-sequence
models use) and ``CharSequenceDataset``, a text cut into training windows.

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

from .._checks import check_positive_int, is_int
from ..backend import to_numpy
from ..tensor import Tensor
from .dataset import Dataset


PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"


class _BadCharacter(TypeError, ValueError):
    """A vocabulary entry that is not one character: a ``TypeError`` and a ``ValueError``
    (the two character vocabularies somanet had raised one each)."""


class Vocabulary:
    """Characters (and optional special tokens) to integer ids and back.

    Ids: the ``specials`` first, ``0 .. len(specials) - 1`` in the order given, then the
    characters in the order given (``from_text`` sorts them); ``tokens[i]`` is the token
    of id ``i``. A character language model needs no specials; a sequence-to-sequence
    model uses ``<pad>`` (fills rows up to a common length), ``<start>`` (the first input
    of a decoder), ``<end>`` (ends an output) and ``<unk>``: ``CharVocabulary`` is that
    vocabulary.

    Args:
        chars: the characters (a string or an iterable of one-character strings); each
            once.
        specials: special tokens (strings such as ``"<pad>"``), each once, not among the
            characters. ``"<pad>"``, ``"<start>"`` and ``"<end>"`` have a meaning to
            ``encode_batch`` and ``decode``; others decode as their own text.
        unk_token: ``None`` (the default): a character outside the vocabulary is an error
            that names it and where it is (a model cannot read what it was never trained
            on); or one of ``specials`` (``"<unk>"``) that such characters become.

    Attributes:
        chars: the characters as one string.
        tokens: every token, ``tokens[i]`` has id ``i`` (the specials, then the characters).
        specials: the special tokens, a tuple.
        unk_token: as given.
        pad_id, start_id, end_id, unk_id: the ids of ``<pad>``, ``<start>``, ``<end>`` and
            of ``unk_token`` (``None`` where the vocabulary has no such token).

        >>> vocab = Vocabulary("abc", specials=("<pad>", "<unk>"), unk_token="<unk>")
        >>> vocab.tokens, vocab.encode("abx").tolist()
        (['<pad>', '<unk>', 'a', 'b', 'c'], [2, 3, 1])
        >>> vocab.encode_batch(["ab", "c"]).tolist(), vocab.decode([2, 1, 0])
        ([[2, 3], [4, 0]], 'a\\ufffd')
    """

    def __init__(self, chars, specials=(), unk_token=None):
        name = type(self).__name__
        chars = list(chars)
        for char in chars:
            if not isinstance(char, str) or len(char) != 1:
                raise _BadCharacter(f"{name}: expected single characters, got {char!r}")
        if isinstance(specials, str):
            raise TypeError(f"{name}: specials must be a sequence of tokens such as "
                            f"('<pad>', '<unk>'), got the string {specials!r}")
        specials = tuple(specials)
        for token in specials:
            if not isinstance(token, str) or not token:
                raise TypeError(f"{name}: a special token must be a non-empty str, got "
                                f"{token!r}")
        if not chars and not specials:
            raise ValueError(f"{name}: expected at least one character, got none")
        for kind, entries in (("character", chars), ("special token", specials)):
            repeated = list(dict.fromkeys(e for e in entries if entries.count(e) > 1))
            if repeated:
                raise ValueError(f"{name}: the {kind} {repeated[0]!r} is given twice; "
                                 f"expected each {kind} once, got {repeated} more than once")
        both = [token for token in specials if token in chars]
        if both:
            raise ValueError(f"{name}: {both[0]!r} is both a special token and a character")
        if unk_token is not None and unk_token not in specials:
            raise ValueError(f"{name}: unk_token={unk_token!r} must be one of the specials "
                             f"{specials}, or None (unknown characters are an error)")
        self.chars = "".join(chars)
        self.specials = specials
        self.unk_token = unk_token
        self.tokens = list(specials) + chars
        self._ids = {char: index for index, char in enumerate(chars, len(specials))}
        special_id = {token: index for index, token in enumerate(specials)}
        self.pad_id, self.start_id, self.end_id = (special_id.get(PAD), special_id.get(START),
                                                   special_id.get(END))
        self.unk_id = special_id.get(unk_token)

    @classmethod
    def from_text(cls, text):
        """The vocabulary of every character in ``text``, sorted."""
        if not isinstance(text, str):
            raise TypeError(f"{cls.__name__}.from_text: expected a str, got "
                            f"{type(text).__name__}")
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.tokens)

    def __contains__(self, char):
        return char in self._ids

    def __eq__(self, other):
        return (isinstance(other, Vocabulary) and other.tokens == self.tokens
                and other.unk_token == self.unk_token)

    def __hash__(self):
        return hash((tuple(self.tokens), self.unk_token))

    def __repr__(self):
        extra = (f", specials={self.specials}, unk_token={self.unk_token!r}"
                 if self.specials else "")
        return f"{type(self).__name__}({len(self.chars)} characters: {self.chars!r}{extra})"

    def unknown(self, text):
        """The characters of ``text`` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(char for char in text if char not in self._ids))

    def _encode_text(self, text, who, where=""):
        if self.unk_id is not None:
            return [self._ids.get(char, self.unk_id) for char in text]
        try:
            return [self._ids[char] for char in text]
        except KeyError:
            missing = self.unknown(text)
            first = text.index(missing[0])
            shown = ", ".join(repr(char) for char in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise ValueError(f"{who}: {len(missing)} character(s) not in the vocabulary"
                             f"{where}: {shown}{more} (the first at position {first}); the "
                             f"vocabulary holds {self.chars!r}") from None

    def _special(self, token_id, token, who, why):
        if token_id is None:
            raise ValueError(f"{who}: {why} needs the special token {token!r}; this "
                             f"vocabulary's specials are {self.specials}")
        return token_id

    def encode(self, text):
        """One string as int64 ids, shape ``(len(text),)``.

        Raises:
            ValueError: ``text`` holds characters outside the vocabulary and there is no
                ``unk_token`` (names them and the position of the first).
        """
        name = f"{type(self).__name__}.encode"
        if not isinstance(text, str):
            raise TypeError(f"{name}: expected a str, got {type(text).__name__}")
        return numpy.array(self._encode_text(text, name), dtype=numpy.int64)

    def encode_batch(self, texts, length=None, start=False, end=False):
        """The ids of ``texts`` (one string or a list), one row each, right-padded with
        ``<pad>``.

        Args:
            texts: a string or a sequence of strings.
            length: the number of columns (default: the longest, with the start and end
                tokens); a longer text is an error.
            start: put ``<start>`` first; end: put ``<end>`` after the last character.

        Returns:
            int64 array (N, length).

        Raises:
            ValueError: a text does not fit ``length``; rows need padding, ``start`` or
                ``end`` and the vocabulary lacks that special token; an unknown character
                without ``unk_token``.
        """
        name = f"{type(self).__name__}.encode"
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"{name}: expected strings, got {type(text).__name__}")
        extra = int(bool(start)) + int(bool(end))
        longest = max((len(text) for text in texts), default=0) + extra
        if length is None:
            length = longest
        elif not is_int(length) or length < 0:
            raise ValueError(f"{name}: length must be a non-negative int, got {length!r}")
        elif longest > length:
            raise ValueError(f"{name}: a text needs {longest} ids (with start/end), more "
                             f"than length={length}")
        start_id = self._special(self.start_id, START, name, "start=True") if start else None
        end_id = self._special(self.end_id, END, name, "end=True") if end else None
        if any(len(text) + extra < length for text in texts):
            pad_id = self._special(self.pad_id, PAD, name, "padding rows to one length")
        else:
            pad_id = 0
        ids = numpy.full((len(texts), length), pad_id, dtype=numpy.int64)
        for row, text in enumerate(texts):
            codes = self._encode_text(text, name, f" in texts[{row}]")
            if start:
                codes.insert(0, start_id)
            if end:
                codes.append(end_id)
            ids[row, :len(codes)] = codes
        return ids

    def _decode_row(self, values, who):
        bad = (values < 0) | (values >= len(self))
        if bad.any():
            raise ValueError(f"{who}: id {int(values[bad][0])} is outside [0, {len(self)}) "
                             f"(the vocabulary has {len(self)} tokens)")
        if not self.specials:
            return "".join(self.tokens[index] for index in values.tolist())
        if self.end_id is not None:
            ends = numpy.flatnonzero(values == self.end_id)
            if ends.size:
                values = values[:ends[0]]
        shown = []
        for index in values.tolist():
            if index in (self.pad_id, self.start_id):
                continue
            shown.append("\ufffd" if index == self.unk_id else self.tokens[index])
        return "".join(shown)

    def decode(self, ids):
        """The string of ``ids`` (a sequence, array or Tensor of ints in ``[0, len)``).

        Stops at the first ``<end>``; ``<pad>`` and ``<start>`` are skipped and
        ``unk_token`` shows as U+FFFD (the replacement character).
        """
        values = to_numpy(ids.data) if isinstance(ids, Tensor) else numpy.asarray(ids)
        if values.dtype.kind not in "iu" and values.size:
            raise TypeError(f"{type(self).__name__}.decode: expected integer ids, got dtype "
                            f"{values.dtype}")
        return self._decode_row(values.reshape(-1).astype(numpy.int64),
                                f"{type(self).__name__}.decode")

    def decode_batch(self, ids):
        """The strings of rows of ids, (N, length) (one row for 1-D ids), each as
        ``decode``; a list of N strings."""
        name = f"{type(self).__name__}.decode"
        rows = to_numpy(ids.data) if isinstance(ids, Tensor) else numpy.asarray(ids)
        if rows.ndim == 1:
            rows = rows[None, :]
        if rows.ndim != 2 or rows.dtype.kind not in "iu":
            raise ValueError(f"{name}: expected int ids (N, length), got {rows.dtype} of "
                             f"shape {rows.shape}")
        rows = rows.astype(numpy.int64)
        return [self._decode_row(row, name) for row in rows]

    def state_dict(self):
        """``{"chars": ...}`` (with ``"specials"`` and ``"unk_token"`` where there are
        specials), plain JSON; ``Vocabulary.from_state_dict`` rebuilds it."""
        state = {"chars": self.chars}
        if self.specials:
            state.update(specials=list(self.specials), unk_token=self.unk_token)
        return state

    @classmethod
    def from_state_dict(cls, state):
        """The vocabulary ``state_dict`` wrote (a ``Vocabulary``)."""
        if (not isinstance(state, dict) or not isinstance(state.get("chars"), str)
                or not isinstance(state.get("specials", []), (list, tuple))
                or not isinstance(state.get("unk_token"), (str, type(None)))):
            raise ValueError("Vocabulary.from_state_dict: expected {'chars': str} (and "
                             "optionally 'specials': [str], 'unk_token': str or None), got "
                             f"{state!r:.80}")
        return Vocabulary(state["chars"], specials=state.get("specials", ()),
                          unk_token=state.get("unk_token"))


class CharVocabulary(Vocabulary):
    """The ``Vocabulary`` a sequence-to-sequence model reads and writes: the specials
    ``<pad>`` 0, ``<start>`` 1, ``<end>`` 2, ``<unk>`` 3, then the characters in the
    order given; a character outside the vocabulary becomes ``<unk>``.

    ``CharVocabulary(chars)`` is ``Vocabulary(chars, specials=CharVocabulary.SPECIALS,
    unk_token="<unk>")``, except that its ``encode`` and ``decode`` are the batch forms
    ``encode_batch`` and ``decode_batch`` (rows of ids, as ``models.Seq2Seq`` takes
    them). The special ids are class attributes too (``CharVocabulary.end_id``).

    Args:
        characters: the characters (a string or a sequence of one-character strings),
            each once.

        >>> from somanet.datasets import CharVocabulary
        >>> vocab = CharVocabulary("-0123456789")
        >>> len(vocab), vocab.encode(["1994-03"], end=True).tolist()
        (15, [[6, 14, 14, 9, 4, 5, 8, 2]])
        >>> vocab.decode([[6, 14, 14, 9, 4, 5, 8, 2, 0]])
        ['1994-03']
    """

    SPECIALS = (PAD, START, END, UNK)
    pad_id, start_id, end_id, unk_id = range(4)

    def __init__(self, characters):
        super().__init__(characters, specials=self.SPECIALS, unk_token=UNK)

    encode = Vocabulary.encode_batch
    decode = Vocabulary.decode_batch

    @classmethod
    def from_state_dict(cls, state):
        """The ``CharVocabulary`` ``state_dict`` wrote; other specials are an error."""
        vocab = Vocabulary.from_state_dict(state)
        if vocab.specials != cls.SPECIALS or vocab.unk_token != UNK:
            raise ValueError(f"CharVocabulary.from_state_dict: expected the specials "
                             f"{cls.SPECIALS} and unk_token={UNK!r}, got {vocab.specials} "
                             f"and {vocab.unk_token!r}; use Vocabulary.from_state_dict")
        return cls(vocab.chars)

    @property
    def characters(self):
        """The characters as one string (``chars``)."""
        return self.chars


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
