"""Sequence to sequence: an encoder-decoder LSTM with attention (``Seq2Seq``), trained
with teacher forcing and decoded greedily or by beam search.

The encoder reads the source (token ids, right-padded with ``<pad>``) with a
bidirectional LSTM; the decoder, an LSTM started from the encoder's final states,
reads the target shifted right (``<start>`` first) and at every step attends to the
encoder's outputs (Luong, Pham & Manning 2015, global attention)::

    s_1..s_S, (h, c)  = BiLSTM(Embedding(source))          s_j (2H), padded steps masked
    h_t               = LSTM(Embedding(y_{t-1}), h_{t-1})  h_0 = [h_fwd; h_bwd]  (2H)
    a_t               = softmax_j(score(h_t, s_j))         over the real source steps
    c_t               = sum_j a_tj s_j
    h~_t              = tanh(W_c [c_t; h_t])               Luong's attentional state
    p(y_t | y_<t, x)  = softmax(W_o h~_t)

``score`` is ``nn.Attention``'s ``"general"`` (``h W s``, default), ``"dot"`` or
``"scaled_dot"``, or Bahdanau's additive ``v . tanh(h W_q + s W_k)``
(``attention="additive"``, ``nn.AdditiveAttention``).

**Training** is teacher forcing: the decoder sees the true previous token, so a whole
target sequence is one pass (the LSTMs run fused over all steps) and the loss is the
cross-entropy of every target token, ``<pad>`` ignored. ``fit(source, target)`` takes
the target ids ending with ``<end>`` (what ``TranslationPairs.arrays()`` gives) and
makes the decoder's inputs itself; Keras's form ``fit([source, decoder_input],
target)`` works too.

**Decoding** feeds the model its own predictions one step at a time. ``decode`` /
``translate`` keep the ``beam_size`` most probable prefixes (beam search; Sutskever,
Vinyals & Le 2014), scored by their summed log-probabilities, optionally divided by
``length ** length_penalty`` (Wu et al. 2016); ``beam_size=1`` is greedy decoding.
Both return the attention weights of the chosen output.

    >>> import somanet as sn
    >>> from somanet import models
    >>> train = sn.datasets.dates("train", n=256, seed=0)
    >>> model = models.seq2seq(train.source_vocab, train.target_vocab, units=16)
    >>> model.compile()
    >>> x, y = train.arrays()
    >>> history = model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    >>> result = model.decode(x[:3], beam_size=2)
    >>> result.ids.shape[0], result.attention.shape[0], result.attention.shape[2]
    (3, 3, 57)
    >>> len(model.translate(["3 March 1994"]))
    1
"""
from collections import namedtuple

import numpy

from .. import nn, ops
from .._checks import check_choice, check_int, check_positive_int, check_real, is_int
from ..autograd import no_grad
from ..backend import to_numpy
from ..tensor import Tensor
from ..train import Model
from ..train.losses import SparseCategoricalCrossentropy
from ..train.metrics import MeanMetricWrapper

ATTENTIONS = ("general", "dot", "scaled_dot", "additive")

Decoded = namedtuple("Decoded", ["ids", "attention", "scores"])
Decoded.__doc__ = """What ``Seq2Seq.decode`` returns, NumPy arrays:

- ``ids`` (N, L) int64: the output tokens, each row ending with ``<end>`` then
  ``<pad>`` (or cut at ``max_length``);
- ``attention`` (N, L, S) float32: the attention weights over the S source steps at
  every output step (rows sum to 1; zero after ``<end>``);
- ``scores`` (N,) float: the chosen output's log-probability (divided by
  ``length ** length_penalty``).
"""


class Seq2Seq(Model):
    """An encoder-decoder LSTM with attention (see the module description for the
    equations).

    Args:
        source_vocab_size, target_vocab_size: the number of source and target tokens.
        embedding_dim: E, the size of the token embeddings.
        units: H, the encoder LSTM's units per direction; the decoder has 2H.
        attention: the score: ``"general"`` (Luong's ``h W s``, default), ``"dot"``,
            ``"scaled_dot"`` or ``"additive"`` (Bahdanau's).
        pad_id, start_id, end_id: the special token ids (those of ``CharVocabulary``
            by default: 0, 1, 2); ``pad_id`` marks padded source steps (masked) and
            target steps (no loss).
        max_length: the most output tokens ``decode`` makes (with ``<end>``).
        source_vocab, target_vocab: optional vocabularies (``encode_batch`` /
            ``decode_batch`` methods, as ``somanet.data.text.Vocabulary`` and
            ``CharVocabulary``), for ``translate`` on strings.

    Call: ``model(source, decoder_input)``: source (N, S) int ids, decoder_input
    (N, T) int ids (``<start>`` then the target but its last token) -> logits
    (N, T, target_vocab_size).
    """

    integer_input = True  # token ids

    def __init__(self, source_vocab_size, target_vocab_size, embedding_dim=32, units=64,
                 attention="general", pad_id=0, start_id=1, end_id=2, max_length=64,
                 source_vocab=None, target_vocab=None, name=None):
        super().__init__(name=name)
        who = "Seq2Seq"
        self.source_vocab_size = check_positive_int(who, "source_vocab_size",
                                                    source_vocab_size)
        self.target_vocab_size = check_positive_int(who, "target_vocab_size",
                                                    target_vocab_size)
        self.embedding_dim = check_positive_int(who, "embedding_dim", embedding_dim)
        self.units = check_positive_int(who, "units", units)
        self.attention_score = check_choice(who, "attention", attention, ATTENTIONS)
        for role, value in (("pad_id", pad_id), ("start_id", start_id), ("end_id", end_id)):
            check_int(who, role, value, minimum=0, maximum=self.target_vocab_size - 1,
                      what=f"a target token id in [0, {self.target_vocab_size})")
        if pad_id >= self.source_vocab_size:
            raise ValueError(f"Seq2Seq: pad_id={pad_id} is not a source token id (the source "
                             f"vocabulary has {self.source_vocab_size})")
        if len({pad_id, start_id, end_id}) != 3:
            raise ValueError(f"Seq2Seq: pad_id, start_id and end_id must differ, got "
                             f"{pad_id}, {start_id}, {end_id}")
        self.pad_id, self.start_id, self.end_id = int(pad_id), int(start_id), int(end_id)
        self.max_length = check_positive_int(who, "max_length", max_length)
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        hidden = 2 * self.units
        self.encoder_embedding = nn.Embedding(self.source_vocab_size, self.embedding_dim,
                                              padding_idx=self.pad_id)
        self.encoder = nn.LSTM(self.embedding_dim, self.units, bidirectional=True,
                               batch_first=True)
        self.decoder_embedding = nn.Embedding(self.target_vocab_size, self.embedding_dim)
        self.decoder = nn.LSTM(self.embedding_dim, hidden, batch_first=True)
        if self.attention_score == "additive":
            self.attention = nn.AdditiveAttention(hidden)
        else:
            self.attention = nn.Attention(self.attention_score)
        self.combine = nn.Dense(2 * hidden, hidden, activation="tanh")  # Luong's W_c
        self.output = nn.Dense(hidden, self.target_vocab_size)
        # Size the attention's parameters now, so the model is built (summary, load_weights).
        self.attention(ops.zeros(1, 1, hidden), ops.zeros(1, 1, hidden))

    # -- the teacher-forced pass ----------------------------------------------------------

    def forward(self, source, decoder_input):
        self._check_ids("source", source, self.source_vocab_size)
        self._check_ids("decoder_input", decoder_input, self.target_vocab_size)
        if source.shape[0] != decoder_input.shape[0]:
            raise ValueError(f"source and decoder_input must have the same number of rows, "
                             f"got shapes {source.shape} and {decoder_input.shape}")
        memory, mask, state = self.encode(source)
        states, _ = self.decoder(self.decoder_embedding(decoder_input), state)
        logits, _ = self._attend(states, memory, mask)
        return logits

    def encode(self, source):
        """Run the encoder: ``(memory, mask, state)``, the encoder's outputs (N, S, 2H),
        the real source steps (N, S) bool, and the decoder's initial ``(h, c)``, each
        (1, N, 2H), both directions' final states side by side."""
        mask = source.data != self.pad_id
        memory, (h, c) = self.encoder(self.encoder_embedding(source), mask=mask)
        state = tuple(ops.unsqueeze(ops.concatenate([s[0], s[1]], axis=-1), 0)
                      for s in (h, c))
        return memory, mask, state

    def _attend(self, states, memory, mask):
        """Logits and attention weights for decoder states (N, T, 2H) or (N, 2H)."""
        context, weights = self.attention(states, memory, mask=mask,
                                          return_attention_scores=True)
        attentional = self.combine(ops.concatenate([context, states], axis=-1))
        return self.output(attentional), weights

    def _check_ids(self, role, ids, size):
        if not isinstance(ids, Tensor):
            raise TypeError(f"the {role} must be token ids (an int array or Tensor), got "
                            f"{type(ids).__name__}")
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(f"the {role} must be int token ids of shape (batch, steps), got "
                             f"{ids.dtype} of shape {ids.shape}")
        if ids.size and (int(ids.data.min()) < 0 or int(ids.data.max()) >= size):
            raise ValueError(f"the {role} has ids outside [0, {size}) (min "
                             f"{int(ids.data.min())}, max {int(ids.data.max())})")

    # -- training ---------------------------------------------------------------------------

    def compile(self, optimizer="adam", loss=None, metrics=None, learning_rate=None,
                jit=False, **options):
        """``Model.compile`` with a sequence model's defaults: Adam; the cross-entropy of
        the logits with ``<pad>`` targets ignored; and ``"sequence_accuracy"``, the share
        of targets whose every token is the arg-max under teacher forcing (an
        optimistic proxy: decoding feeds the model its own outputs)."""
        if loss is None:
            loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=self.pad_id)
        if metrics is None:
            metrics = [MeanMetricWrapper(self._sequence_accuracy, name="sequence_accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        learning_rate=learning_rate, jit=jit, **options)

    def _sequence_accuracy(self, y_true, y_pred):
        labels = y_true.data if isinstance(y_true, Tensor) else y_true
        right = (y_pred.data.argmax(axis=-1) == labels) | (labels == self.pad_id)
        return right.all(axis=-1).astype(y_pred.dtype)

    def teacher_forcing(self, source, target):
        """``([source, decoder_input], target)`` for ``Model.fit``: the decoder's input is
        ``<start>`` followed by the target without its last token.

        Args:
            source: (N, S) int ids.
            target: (N, T) int ids, each row ending with ``<end>`` then ``<pad>``.
        """
        target = _host_ids(target, "target")
        source = _host_ids(source, "source")
        if source.shape[0] != target.shape[0]:
            raise ValueError(f"source and target must have the same number of rows, got "
                             f"shapes {source.shape} and {target.shape}")
        if target.shape[1] < 1:
            raise ValueError("the target needs at least one step (the <end> token)")
        decoder_input = numpy.empty_like(target)
        decoder_input[:, 0] = self.start_id
        decoder_input[:, 1:] = target[:, :-1]
        return [source, decoder_input], target

    def fit(self, x=None, y=None, **kwargs):
        """``Model.fit`` on ``(source, target)`` id arrays: the decoder's inputs are made
        from the target (``teacher_forcing``), and ``validation_data=(source, target)``
        likewise. Keras's ``fit([source, decoder_input], target)`` and Datasets pass
        through unchanged."""
        if y is not None and _is_ids(x):
            x, y = self.teacher_forcing(x, y)
        validation = kwargs.get("validation_data")
        if isinstance(validation, tuple) and len(validation) == 2 and _is_ids(validation[0]):
            kwargs["validation_data"] = self.teacher_forcing(*validation)
        return super().fit(x, y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """``Model.evaluate`` on ``(source, target)`` id arrays, as ``fit``."""
        if y is not None and _is_ids(x):
            x, y = self.teacher_forcing(x, y)
        return super().evaluate(x, y, **kwargs)

    # -- decoding ---------------------------------------------------------------------------

    def _decode_step(self, tokens, state, memory, mask):
        """One decoder step for (R,) token ids: log-probabilities (R, V), the new state
        and the attention weights (R, S)."""
        embedded = self.decoder_embedding(Tensor(tokens[:, None]))
        out, state = self.decoder(embedded, state)
        logits, weights = self._attend(out[:, 0], memory, mask)
        return ops.log_softmax(logits, axis=-1).data, state, weights.data

    def decode(self, source, beam_size=1, max_length=None, length_penalty=0.0,
               batch_size=256):
        """Translate source ids by beam search (``beam_size=1``: greedy decoding), in
        evaluation mode and without gradients.

        Each step extends every kept prefix by every token and keeps the ``beam_size``
        best by summed log-probability; a prefix that has produced ``<end>`` is finished
        and stays as it is. At the end the best beam by ``score / length **
        length_penalty`` is returned (length counts the tokens up to ``<end>``).

        Args:
            source: (N, S) int ids (right-padded with ``<pad>``).
            beam_size: prefixes kept per source; 1 is greedy (the arg-max each step).
            max_length: the most output tokens (default the model's ``max_length``).
            length_penalty: alpha >= 0; 0 ranks by the plain log-probability.
            batch_size: sources decoded together.

        Returns:
            ``Decoded(ids, attention, scores)``, NumPy arrays (see ``Decoded``).
        """
        who = "Seq2Seq.decode"
        beam_size = check_positive_int(who, "beam_size", beam_size)
        max_length = self.max_length if max_length is None else check_positive_int(
            who, "max_length", max_length)
        length_penalty = check_real(who, "length_penalty", length_penalty, minimum=0.0)
        batch_size = check_positive_int(who, "batch_size", batch_size)
        source = _host_ids(source, "source")
        self._check_ids("source", Tensor(source), self.source_vocab_size)
        was_training = self.training
        self.eval()
        parts = []
        try:
            with no_grad():
                for begin in range(0, len(source), batch_size):
                    parts.append(self._beam_search(source[begin:begin + batch_size],
                                                   beam_size, max_length, length_penalty))
        finally:
            self.train(was_training)
        if not parts:
            steps = source.shape[1]
            return Decoded(numpy.zeros((0, 0), numpy.int64),
                           numpy.zeros((0, 0, steps), numpy.float32), numpy.zeros(0))
        length = max(part[0].shape[1] for part in parts)
        ids = numpy.concatenate([_pad_to(part[0], length, self.pad_id) for part in parts])
        attention = numpy.concatenate([_pad_to(part[1], length, 0.0) for part in parts])
        return Decoded(ids, attention, numpy.concatenate([part[2] for part in parts]))

    def _beam_search(self, source, beam, max_length, length_penalty):
        device = self._device()
        xp = device.xp
        n, steps = source.shape
        rows = n * beam
        memory, mask, state = self.encode(Tensor(source, device=device))
        if beam > 1:  # every source's beams side by side: row i * beam + k
            order = xp.repeat(xp.arange(n), beam)
            memory = Tensor(memory.data[order])
            mask = mask[order]
            state = tuple(Tensor(s.data[:, order]) for s in state)
        scores = xp.zeros((n, beam), dtype=xp.float64)
        scores[:, 1:] = -xp.inf  # at first only one prefix (the empty one) exists
        finished = xp.zeros((n, beam), dtype=bool)
        lengths = xp.zeros((n, beam), dtype=xp.int64)
        tokens = xp.full(rows, self.start_id, dtype=xp.int64)
        history = xp.zeros((n, beam, 0), dtype=xp.int64)
        weights_history = xp.zeros((n, beam, 0, steps), dtype=memory.dtype)
        for _ in range(max_length):
            log_probs, state, weights = self._decode_step(tokens, state, memory, mask)
            vocabulary = log_probs.shape[-1]
            log_probs = log_probs.reshape(n, beam, vocabulary).astype(xp.float64)
            # A finished prefix only continues with <pad>, at no cost.
            log_probs[finished] = -xp.inf
            log_probs[finished, self.pad_id] = 0.0
            candidates = (scores[:, :, None] + log_probs).reshape(n, beam * vocabulary)
            # The best `beam` candidates, ties to the lowest index (as argmax, so that
            # beam_size=1 is greedy decoding exactly).
            best = xp.argsort(-candidates, axis=1, kind="stable")[:, :beam]
            scores = xp.take_along_axis(candidates, best, axis=1)
            parent, token = best // vocabulary, best % vocabulary
            history = xp.concatenate(
                [xp.take_along_axis(history, parent[:, :, None], axis=1), token[:, :, None]],
                axis=2)
            weights = weights.reshape(n, beam, 1, steps)
            parent_finished = xp.take_along_axis(finished, parent, axis=1)
            weights = xp.where(parent_finished[:, :, None, None], 0, weights)
            weights_history = xp.concatenate(
                [xp.take_along_axis(weights_history, parent[:, :, None, None], axis=1),
                 xp.take_along_axis(weights, parent[:, :, None, None], axis=1)], axis=2)
            lengths = xp.take_along_axis(lengths, parent, axis=1) + ~parent_finished
            finished = parent_finished | (token == self.end_id)
            tokens = token.reshape(rows)
            if beam > 1:
                flat_parent = (xp.arange(n)[:, None] * beam + parent).reshape(rows)
                state = tuple(Tensor(s.data[:, flat_parent]) for s in state)
            if bool(finished.all()):
                break
        ranked = scores / xp.maximum(lengths, 1) ** length_penalty if length_penalty \
            else scores
        choice = xp.argmax(ranked, axis=1)
        pick = xp.arange(n)
        return (to_numpy(history[pick, choice]), to_numpy(weights_history[pick, choice]),
                to_numpy(ranked[pick, choice]))

    def translate(self, texts, beam_size=1, max_length=None, length_penalty=0.0,
                  return_attention=False, batch_size=256):
        """Translate strings with the model's vocabularies: the source vocabulary's
        ``encode_batch``, ``decode`` (below), the target vocabulary's ``decode_batch``.

        Args:
            texts: a string or a list of strings.
            beam_size, max_length, length_penalty, batch_size: as ``decode``.
            return_attention: also return each translation's attention weights, a list of
                (output tokens with ``<end>``, source characters) arrays.

        Returns:
            A list of strings (one string for one text), and the attention list when
            asked.
        """
        if self.source_vocab is None or self.target_vocab is None:
            raise RuntimeError("translate needs the vocabularies: build the model with "
                               "source_vocab= and target_vocab= (models.seq2seq(source_vocab, "
                               "target_vocab) does), or call decode() on ids")
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        result = self.decode(self.source_vocab.encode_batch(texts), beam_size, max_length,
                             length_penalty, batch_size)
        outputs = self.target_vocab.decode_batch(result.ids)
        if not return_attention:
            return outputs[0] if single else outputs
        maps = []
        for row, text in enumerate(texts):
            ends = numpy.flatnonzero(result.ids[row] == self.end_id)
            length = int(ends[0]) + 1 if ends.size else result.ids.shape[1]
            maps.append(result.attention[row, :length, :len(text)])
        return (outputs[0], maps[0]) if single else (outputs, maps)

    def extra_repr(self):
        return (f"source_vocab_size={self.source_vocab_size}, target_vocab_size="
                f"{self.target_vocab_size}, embedding_dim={self.embedding_dim}, units="
                f"{self.units}, attention={self.attention_score!r}")


def exact_match(predicted, expected):
    """The share of ``predicted`` strings (or id rows) equal to ``expected``: a float."""
    predicted, expected = list(predicted), list(expected)
    if len(predicted) != len(expected):
        raise ValueError(f"exact_match: {len(predicted)} predictions but {len(expected)} "
                         f"expected")
    if not predicted:
        raise ValueError("exact_match: nothing to compare")
    same = [numpy.array_equal(a, b) if not isinstance(a, str) else a == b
            for a, b in zip(predicted, expected)]
    return float(numpy.mean(same))


def seq2seq(source_vocab, target_vocab, embedding_dim=32, units=64, attention="general",
            max_length=64):
    """An encoder-decoder LSTM with attention (``Seq2Seq``) for these vocabularies.

    Architecture (V_s, V_t the vocabulary sizes)::

        Embedding(V_s, E)                      source ids (N, S) -> (N, S, E)
        LSTM(E -> H, bidirectional)            -> memory (N, S, 2H), final (h, c)
        Embedding(V_t, E)                      decoder input (N, T) -> (N, T, E)
        LSTM(E -> 2H), from [h_fwd; h_bwd]     -> states (N, T, 2H)
        Attention(attention)                   states over memory -> context (N, T, 2H)
        Dense(4H -> 2H, tanh)                  [context; state] -> attentional state
        Dense(2H -> V_t)                       logits (N, T, V_t)

    Args:
        source_vocab, target_vocab: ``CharVocabulary`` objects, or any
            ``somanet.data.text.Vocabulary`` with the specials ``<pad>`` (both),
            ``<start>`` and ``<end>`` (the target): their sizes and special ids are used,
            and ``translate`` encodes and decodes with them; or the vocabulary sizes as
            ints (the special ids then are 0, 1, 2).
        embedding_dim, units, attention, max_length: as ``Seq2Seq``.
    """
    sizes, vocabularies = [], []
    for role, vocab in (("source_vocab", source_vocab), ("target_vocab", target_vocab)):
        if is_int(vocab):
            sizes.append(int(vocab))
            vocabularies.append(None)
        elif all(hasattr(vocab, name) for name in ("encode_batch", "decode_batch",
                                                   "__len__")):
            needed = ("pad_id",) if role == "source_vocab" else ("pad_id", "start_id",
                                                                 "end_id")
            missing = [name for name in needed if getattr(vocab, name, None) is None]
            if missing:
                raise ValueError(f"models.seq2seq: {role} has no {', '.join(missing)}: "
                                 f"give it the specials '<pad>', '<start>', '<end>' "
                                 f"(CharVocabulary has them), got {vocab!r:.80}")
            sizes.append(len(vocab))
            vocabularies.append(vocab)
        else:
            raise TypeError(f"models.seq2seq: {role} must be a vocabulary (CharVocabulary) "
                            f"or its size, got {type(vocab).__name__}")
    special = {}
    target = vocabularies[1]
    if target is not None:
        special = dict(pad_id=target.pad_id, start_id=target.start_id, end_id=target.end_id)
        source = vocabularies[0]
        if source is not None and source.pad_id != target.pad_id:
            raise ValueError(f"models.seq2seq: the vocabularies pad with different ids "
                             f"({source.pad_id} and {target.pad_id})")
    return Seq2Seq(sizes[0], sizes[1], embedding_dim, units, attention,
                   max_length=max_length, source_vocab=vocabularies[0],
                   target_vocab=vocabularies[1], **special)


def _is_ids(value):
    return (isinstance(value, Tensor) or (hasattr(value, "shape") and hasattr(value, "dtype"))) \
        and getattr(value, "ndim", 0) == 2


def _host_ids(values, role):
    array = to_numpy(values.data) if isinstance(values, Tensor) else numpy.asarray(values)
    if array.ndim != 2 or array.dtype.kind not in "iu":
        raise ValueError(f"the {role} must be int token ids of shape (batch, steps), got "
                         f"{array.dtype} of shape {array.shape}")
    return array.astype(numpy.int64, copy=False)


def _pad_to(array, length, value):
    if array.shape[1] == length:
        return array
    widths = [(0, 0), (0, length - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
    return numpy.pad(array, widths, constant_values=value)
