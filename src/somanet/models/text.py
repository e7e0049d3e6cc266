"""Character-level language models: ``char_lstm``, sampling text from it with ``generate``,
and measuring it in bits per character against n-gram baselines (``CharNGram``).

A character language model reads a text one character at a time and, at every step,
gives a distribution over the next character, ``p(c_{t+1} | c_1 .. c_t)``
(Karpathy's char-rnn, Graves 2013). Trained with cross-entropy on next-character
targets (``somanet.data.text.CharSequenceDataset``), it writes new text by sampling a
character, feeding it back, and sampling again.

Bits per character (BPC) measures it on held-out text: the average of
``-log2 p(c_{t+1} | c_1 .. c_t)`` over the text; a uniform guess over V characters costs
``log2 V`` (6.19 bits for 73), lower is better, and ``BPC = cross-entropy (nats) / ln 2``.

    >>> import somanet as sn
    >>> from somanet import models
    >>> from somanet.data.text import Vocabulary
    >>> vocab = Vocabulary.from_text("to be or not to be")
    >>> model = models.char_lstm(len(vocab), embedding_dim=8, hidden=16)
    >>> model(sn.tensor(vocab.encode("to be")[None])).shape   # (batch, time, vocabulary)
    (1, 5, 7)
    >>> text = models.generate(model, vocab, "to ", length=10, seed=0)
    >>> len(text), text[:3]
    (13, 'to ')
"""
import math

import numpy

from .. import nn
from .._checks import check_non_negative, check_positive_int, check_real, is_int
from ..autograd import no_grad
from ..backend import fresh_generator, generator, to_numpy
from ..ops import tensor
from ..tensor import Tensor
from ..train import Sequential

_RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)


def _host(values):
    """A Tensor, a device array, or a list as a NumPy array."""
    if isinstance(values, Tensor):
        values = values.data
    if isinstance(values, numpy.ndarray):
        return values
    if hasattr(values, "__cuda_array_interface__"):
        return to_numpy(values)
    return numpy.asarray(values)


def char_lstm(vocab_size, embedding_dim=64, hidden=256, num_layers=1, dropout=0.0):
    """A character-level LSTM language model (Keras-style ``Sequential``).

    Architecture::

        Embedding(vocab_size, embedding_dim)     (N, T) ids -> (N, T, E)
        LSTM(hidden, return_sequences=True)      -> (N, T, H), num_layers of them
        (Dropout(dropout) between LSTMs, if given)
        TimeDistributed(Dense(vocab_size))       -> (N, T, V) next-character logits

    Train with ``SparseCategoricalCrossentropy(from_logits=True)`` on next-character
    targets (``CharSequenceDataset``); sample with ``generate``; measure with
    ``bits_per_character``.

    Args:
        vocab_size: the number of characters (``len(vocabulary)``).
        embedding_dim: the size of each character's vector.
        hidden: LSTM units.
        num_layers: stacked LSTM layers.
        dropout: the drop probability between stacked LSTM layers (training only).

    Shape:
        (N, T) int ids -> (N, T, vocab_size) logits.
    """
    who = "models.char_lstm"
    vocab_size = check_positive_int(who, "vocab_size", vocab_size, what="a positive int")
    embedding_dim = check_positive_int(who, "embedding_dim", embedding_dim,
                                       what="a positive int")
    hidden = check_positive_int(who, "hidden", hidden, what="a positive int")
    num_layers = check_positive_int(who, "num_layers", num_layers, what="a positive int")
    dropout = check_real(who, "dropout", dropout, minimum=0.0, maximum=1.0, max_open=True,
                         what="a probability in [0, 1)")
    layers = [nn.Embedding(vocab_size, embedding_dim)]
    width = embedding_dim
    for layer in range(num_layers):
        if layer and dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.LSTM(hidden, return_sequences=True, input_shape=(None, width)))
        width = hidden
    layers.append(nn.TimeDistributed(nn.Dense(hidden, vocab_size)))
    return Sequential(layers)


# -- sampling ---------------------------------------------------------------------------------


def sample_logits(logits, temperature=1.0, top_k=None, rng=None):
    """Draw one id per row of ``logits`` from ``softmax(logits / temperature)``.

    ``temperature`` below 1 sharpens the distribution (safer, more repetitive text),
    above 1 flattens it (more surprising, more mistakes); ``0`` takes the most likely id
    (greedy). ``top_k`` keeps only the ``k`` most likely ids before drawing (Fan et al.
    2018), so an unlikely character is never drawn; a ``k`` above the vocabulary size
    keeps all.

    Args:
        logits: (V,) or (B, V) array or Tensor.
        temperature: >= 0.
        top_k: a positive int, or ``None`` for all.
        rng: a ``numpy.random.Generator`` (default: somanet's CPU generator, seeded by
            ``sn.manual_seed``).

    Returns:
        an int (for (V,) logits) or an int64 array (B,).
    """
    temperature = check_non_negative("sample_logits", "temperature", temperature,
                                     what="a number >= 0")
    if top_k is not None:
        top_k = check_positive_int("sample_logits", "top_k", top_k, what="a positive int")
    values = _host(logits).astype(numpy.float64)
    if values.ndim not in (1, 2) or values.shape[-1] == 0:
        raise ValueError(f"sample_logits: expected logits (V,) or (B, V), got shape "
                         f"{values.shape}")
    rows = values.reshape(-1, values.shape[-1])
    if temperature == 0:
        chosen = rows.argmax(axis=1)
    else:
        scaled = rows / temperature
        if top_k is not None and top_k < rows.shape[1]:
            kth = numpy.partition(scaled, -top_k, axis=1)[:, -top_k][:, None]
            scaled = numpy.where(scaled >= kth, scaled, -numpy.inf)
        scaled -= scaled.max(axis=1, keepdims=True)
        probabilities = numpy.exp(scaled)
        cumulative = numpy.cumsum(probabilities, axis=1)
        rng = generator() if rng is None else rng
        draws = rng.random(len(rows)) * cumulative[:, -1]
        chosen = (cumulative <= draws[:, None]).sum(axis=1)
        chosen = numpy.minimum(chosen, rows.shape[1] - 1)
    chosen = chosen.astype(numpy.int64)
    return int(chosen[0]) if values.ndim == 1 else chosen


def _check_language_model(model, who):
    if not isinstance(model, Sequential):
        raise TypeError(f"{who}: expected a Sequential language model (models.char_lstm), "
                        f"got {type(model).__name__}")
    for index, layer in enumerate(model):
        if isinstance(layer, _RECURRENT) and not (layer.keras and layer.return_sequences):
            raise ValueError(f"{who}: layer {index} ({type(layer).__name__}) must return "
                             f"every step (return_sequences=True), as models.char_lstm's do")


def _device(model):
    for parameter in model.parameters():
        return parameter.device
    return None


def _forward_with_state(model, ids, states):
    """Run ``model`` on ``ids`` (B, T) starting from ``states`` (one entry per recurrent
    layer, ``None`` for zeros); returns the logits (B, T, V) as a NumPy array and the
    recurrent layers' final states, so the next call continues the text."""
    x = tensor(ids, device=_device(model))
    for index, layer in enumerate(model):
        if isinstance(layer, _RECURRENT):
            layer.return_state = True  # its final (h, c) too, for the next call
            try:
                out = layer(x, initial_state=states.get(index))
            finally:
                layer.return_state = False
            x, states[index] = out[0], list(out[1:])
        else:
            x = layer(x)
    return numpy.asarray(to_numpy(x.data), dtype=numpy.float64), states


def generate(model, vocab, prime, length=500, temperature=1.0, top_k=None, seed=None):
    """Write ``length`` characters after ``prime`` with a character language model.

    The model reads ``prime``, then draws each next character from its output
    (``sample_logits``: ``temperature``, ``top_k``) and feeds it back in, carrying the
    recurrent state, so every character is conditioned on all that came before.

    Args:
        model: a language model, e.g. ``models.char_lstm`` (its recurrent layers
            return every step).
        vocab: the ``Vocabulary`` it was trained with.
        prime: the text to start from (at least one character, all in ``vocab``).
        length: characters to generate (0 returns ``prime``).
        temperature: see ``sample_logits``; 0 is greedy.
        top_k: see ``sample_logits``.
        seed: an int for reproducible text; ``None`` draws from somanet's generator
            (``sn.manual_seed``).

    Returns:
        ``prime`` followed by the generated characters (a ``str``).

    Raises:
        ValueError: ``prime`` is empty or holds characters outside ``vocab``.
    """
    who = "generate"
    _check_language_model(model, who)
    if not isinstance(prime, str) or not prime:
        raise ValueError(f"{who}: prime must be a non-empty string (the text to continue), "
                         f"got {prime!r}")
    if not is_int(length) or length < 0:
        raise ValueError(f"{who}: length must be an int >= 0, got {length!r}")
    missing = vocab.unknown(prime)
    if missing:
        raise ValueError(f"{who}: the prime holds {', '.join(repr(c) for c in missing)}, "
                         f"not in the model's vocabulary {vocab.chars!r}")
    # Validate the sampling options before any work.
    sample_logits(numpy.zeros(len(vocab)), temperature, top_k, fresh_generator(0))
    rng = fresh_generator(seed) if seed is not None else generator()
    was_training = model.training
    model.eval()
    out = []
    try:
        with no_grad():
            logits, states = _forward_with_state(model, vocab.encode(prime)[None], {})
            for _ in range(length):
                if logits.shape[-1] != len(vocab):
                    raise ValueError(f"{who}: the model gives {logits.shape[-1]} logits a "
                                     f"step; the vocabulary has {len(vocab)} characters")
                next_id = sample_logits(logits[0, -1], temperature, top_k, rng)
                out.append(next_id)
                logits, states = _forward_with_state(model, numpy.array([[next_id]]),
                                                     states)
    finally:
        model.train(was_training)
    return prime + vocab.decode(numpy.array(out, dtype=numpy.int64))


# -- measuring ----------------------------------------------------------------------------------


def bits_per_character(model, ids, streams=16, chunk=256):
    """The model's bits per character on the id sequence ``ids`` (held-out text).

    Scores every character after the first, ``mean_t -log2 p(ids[t] | ids[:t])`` over
    ``t = 1 .. L-1``. The text is cut into ``streams`` contiguous pieces read side by
    side, ``chunk`` steps at a time, the recurrent state carried from chunk to chunk,
    so each character is conditioned on all of its piece before it (not on a window cut
    at a fixed length).

    Args:
        model: a language model whose recurrent layers return every step
            (``models.char_lstm``).
        ids: int ids, shape (L,), L >= 2.
        streams: pieces read in parallel (a batch); more is faster, each piece starts
            from a zero state.
        chunk: steps per forward call.

    Returns:
        a float, bits per character.
    """
    who = "bits_per_character"
    _check_language_model(model, who)
    ids = _host(ids).astype(numpy.int64).reshape(-1)
    if ids.size < 2:
        raise ValueError(f"{who}: expected at least 2 ids, got {ids.size}")
    streams = min(check_positive_int(who, "streams", streams, what="a positive int"),
                  ids.size - 1)
    chunk = check_positive_int(who, "chunk", chunk, what="a positive int")
    pairs = ids.size - 1
    per_stream = -(-pairs // streams)
    inputs = numpy.zeros(streams * per_stream, numpy.int64)
    targets = numpy.zeros(streams * per_stream, numpy.int64)
    inputs[:pairs], targets[:pairs] = ids[:-1], ids[1:]
    valid = numpy.arange(streams * per_stream) < pairs  # the padding closes the last stream
    inputs, targets, valid = (a.reshape(streams, per_stream) for a in (inputs, targets, valid))
    total, states = 0.0, {}
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for start in range(0, per_stream, chunk):
                part = slice(start, start + chunk)
                logits, states = _forward_with_state(model, inputs[:, part], states)
                logits -= logits.max(axis=2, keepdims=True)
                log_z = numpy.log(numpy.exp(logits).sum(axis=2))
                picked = numpy.take_along_axis(logits, targets[:, part, None], axis=2)[..., 0]
                total += float(((log_z - picked) * valid[:, part]).sum())
    finally:
        model.train(was_training)
    return total / pairs / math.log(2)


class CharNGram:
    """An n-gram character model with add-k smoothing, the classic baseline for BPC.

    ``p(c | h) = (count(h, c) + k) / (count(h) + k * V)`` where ``h`` is the previous
    ``order - 1`` characters (``order=1``: a unigram, no history); a history never
    seen gets the uniform ``1 / V``. ``k = 1`` is Laplace's rule; smaller ``k`` trusts
    the counts more.

    Args:
        order: characters per n-gram (1 unigram, 2 bigram, 3 trigram, ...).
        k: the pseudo-count added to every (history, character) pair, > 0.

    Example::

        model = CharNGram(3, k=0.1).fit(train_ids, len(vocab))
        model.bits_per_character(validation_ids, history=train_ids[-2:])
    """

    def __init__(self, order=3, k=1.0):
        self.order = check_positive_int(self, "order", order, what="a positive int")
        self.k = check_real(self, "k", k, minimum=0.0, min_open=True, what="a number > 0")
        self.vocab_size = None

    def _codes(self, ids):
        """The history code of each position ``t >= order - 1`` of ``ids``."""
        codes = numpy.zeros(ids.size - self.order + 1, numpy.int64)
        for back in range(1, self.order):
            codes = codes * self.vocab_size + ids[self.order - 1 - back:ids.size - back]
        return codes

    def _ids(self, ids, who):
        ids = _host(ids).reshape(-1)
        if ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0
                         or (self.vocab_size is not None and ids.max() >= self.vocab_size)):
            raise ValueError(f"CharNGram.{who}: expected int ids in [0, {self.vocab_size}), "
                             f"got dtype {ids.dtype}, range [{ids.min()}, {ids.max()}]")
        return ids.astype(numpy.int64)

    def fit(self, ids, vocab_size):
        """Count the n-grams of ``ids`` (a training text's ids in ``[0, vocab_size)``)."""
        self.vocab_size = check_positive_int(self, "vocab_size", vocab_size,
                                             what="a positive int")
        if self.vocab_size ** max(self.order - 1, 1) * self.vocab_size >= 2 ** 62:
            raise ValueError(f"CharNGram: order {self.order} with {self.vocab_size} "
                             f"characters has too many histories to index")
        ids = self._ids(ids, "fit")
        if ids.size < self.order:
            raise ValueError(f"CharNGram.fit: {ids.size} ids are fewer than the order "
                             f"{self.order}")
        codes = self._codes(ids)
        nexts = ids[self.order - 1:]
        self._pairs, self._pair_counts = numpy.unique(codes * self.vocab_size + nexts,
                                                      return_counts=True)
        self._histories, self._history_counts = numpy.unique(codes, return_counts=True)
        return self

    @staticmethod
    def _lookup(table, counts, keys):
        where = numpy.searchsorted(table, keys)
        where = numpy.minimum(where, len(table) - 1)
        return numpy.where(table[where] == keys, counts[where], 0)

    def bits_per_character(self, ids, history=None):
        """Bits per character on ``ids[1:]``, each given the ``order - 1`` characters before
        it: from ``ids`` itself, and for the first ones from ``history`` (the ids that
        precede ``ids``, e.g. the end of the training text; without it, shorter
        histories count as unseen, i.e. uniform)."""
        if self.vocab_size is None:
            raise ValueError("CharNGram: call fit(ids, vocab_size) before scoring")
        ids = self._ids(ids, "bits_per_character")
        if ids.size < 2:
            raise ValueError(f"CharNGram.bits_per_character: expected at least 2 ids, got "
                             f"{ids.size}")
        before = self.order - 1
        history = numpy.zeros(0, numpy.int64) if history is None else \
            self._ids(history, "bits_per_character")[-before:] if before else \
            numpy.zeros(0, numpy.int64)
        known = len(history)
        # Score positions 1.. of ids; pad an absent history with id 0 and mark it unseen.
        stream = numpy.concatenate([numpy.zeros(before - known, numpy.int64), history, ids])
        codes = self._codes(stream)[1:]  # the histories of ids[1:] (ids[0] is stream[before])
        nexts = ids[1:]
        pair = self._lookup(self._pairs, self._pair_counts, codes * self.vocab_size + nexts)
        seen = self._lookup(self._histories, self._history_counts, codes)
        probability = (pair + self.k) / (seen + self.k * self.vocab_size)
        unknown_history = numpy.arange(1, ids.size) < before - known
        probability = numpy.where(unknown_history, 1.0 / self.vocab_size, probability)
        return float(-numpy.log2(probability).mean())
