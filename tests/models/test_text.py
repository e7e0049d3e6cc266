"""models.text: char_lstm, sample_logits, generate, bits_per_character, CharNGram."""
import math
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet import models, nn
from somanet.data.text import CharSequenceDataset, Vocabulary
from somanet.train import losses


def tiny(vocab_size=5, seed=0):
    sn.manual_seed(seed)
    return models.char_lstm(vocab_size, embedding_dim=4, hidden=8).eval()


def test_char_lstm_layers_and_shapes():
    model = models.char_lstm(30, embedding_dim=8, hidden=16, num_layers=2, dropout=0.1)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Embedding", "LSTM", "Dropout", "LSTM", "TimeDistributed"]
    assert model.is_built
    out = model(sn.tensor(np.zeros((3, 7), np.int64)))
    assert out.shape == (3, 7, 30) and out.dtype == np.float32
    assert models.char_lstm(30, 8, 16).num_parameters() == \
        30 * 8 + (8 * 64 + 16 * 64 + 64) + (16 * 30 + 30)
    with pytest.raises((TypeError, ValueError), match="vocab_size"):
        models.char_lstm(0)
    with pytest.raises(ValueError, match="dropout"):
        models.char_lstm(5, dropout=1.0)


def test_sample_logits_greedy_top_k_and_temperature():
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    rng = np.random.default_rng(0)
    assert models.sample_logits(logits, temperature=0) == 3
    assert models.sample_logits(logits, top_k=1, rng=rng) == 3
    draws = models.sample_logits(np.tile(logits, (20000, 1)), rng=rng)
    assert draws.shape == (20000,) and draws.dtype == np.int64
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 20000, [0.1, 0.2, 0.3, 0.4],
                               atol=0.015)
    top2 = models.sample_logits(np.tile(logits, (5000, 1)), top_k=2, rng=rng)
    counts = np.bincount(top2, minlength=4)
    assert counts[:2].sum() == 0
    assert abs(counts[3] / 5000 - 0.4 / 0.7) < 0.03  # renormalised over the two kept
    cold = models.sample_logits(np.tile(logits, (5000, 1)), temperature=0.25, rng=rng)
    expected = np.array([0.1, 0.2, 0.3, 0.4]) ** 4
    assert abs((cold == 3).mean() - expected[3] / expected.sum()) < 0.03
    assert models.sample_logits(logits, top_k=99, rng=rng) in range(4)  # k > V keeps all
    assert models.sample_logits(sn.tensor(logits.astype(np.float32)), temperature=0) == 3


def test_sample_logits_bad_options():
    with pytest.raises(ValueError, match="temperature"):
        models.sample_logits(np.zeros(3), temperature=-1)
    with pytest.raises((TypeError, ValueError), match="top_k"):
        models.sample_logits(np.zeros(3), top_k=0)
    with pytest.raises(ValueError, match=r"expected logits \(V,\) or \(B, V\)"):
        models.sample_logits(np.zeros((2, 2, 2)))


def test_generate_carries_the_state_exactly():
    # Greedy generation with the carried state equals re-reading the whole text each step.
    vocab = Vocabulary("abcde")
    model = tiny()
    text = models.generate(model, vocab, "abc", length=12, temperature=0)
    assert text.startswith("abc") and len(text) == 15
    again = "abc"
    with sn.no_grad():
        for _ in range(12):
            logits = model(sn.tensor(vocab.encode(again)[None])).numpy()
            again += vocab.chars[int(logits[0, -1].argmax())]
    assert text == again


def test_generate_is_reproducible_by_seed():
    vocab, model = Vocabulary("abcde"), tiny()
    first = models.generate(model, vocab, "a", length=50, temperature=1.5, seed=7)
    assert first == models.generate(model, vocab, "a", length=50, temperature=1.5, seed=7)
    assert first != models.generate(model, vocab, "a", length=50, temperature=1.5, seed=8)
    assert models.generate(model, vocab, "ab", length=0) == "ab"
    assert not model.training  # restored: it was in eval mode


def test_generate_bad_input():
    vocab, model = Vocabulary("abcde"), tiny()
    with pytest.raises(ValueError, match=r"the prime holds 'z', not in the model's vocabulary"):
        models.generate(model, vocab, "az", length=3)
    with pytest.raises(ValueError, match="prime must be a non-empty string"):
        models.generate(model, vocab, "", length=3)
    with pytest.raises(ValueError, match="length must be an int >= 0"):
        models.generate(model, vocab, "a", length=-1)
    with pytest.raises(ValueError, match="temperature"):
        models.generate(model, vocab, "a", temperature=-0.5)
    last_state = sn.Sequential([nn.Embedding(5, 4), nn.LSTM(8), nn.Dense(8, 5)])
    with pytest.raises(ValueError, match="return_sequences=True"):
        models.generate(last_state, vocab, "a")
    with pytest.raises(ValueError, match="the model gives 6 logits a step; the vocabulary "
                                         "has 5"):
        models.generate(tiny(6), vocab, "a", length=2)


def _direct_bits(model, ids):
    with sn.no_grad():
        logits = model(sn.tensor(ids[None, :-1])).numpy().astype(np.float64)[0]
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(ids) - 1), ids[1:]].mean() / math.log(2)


def test_bits_per_character_in_chunks_equals_one_pass():
    ids = np.random.default_rng(0).integers(0, 5, 60)
    model = tiny()
    direct = _direct_bits(model, ids)
    assert models.bits_per_character(model, ids, streams=1, chunk=7) == \
        pytest.approx(direct, rel=1e-5)
    # three streams: each piece is scored from a zero state, the pieces' pairs partition ids
    pieces = [ids[0:21], ids[20:41], ids[40:60]]
    expected = sum(_direct_bits(model, p) * (len(p) - 1) for p in pieces) / 59
    assert models.bits_per_character(model, ids, streams=3, chunk=4) == \
        pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="at least 2 ids"):
        models.bits_per_character(model, ids[:1])


def test_char_lstm_learns_a_repeating_text():
    vocab = Vocabulary.from_text("hello world ")
    ids = vocab.encode("hello world " * 60)
    x, y = CharSequenceDataset(ids, window=24, stride=5).arrays()
    sn.manual_seed(0)
    model = models.char_lstm(len(vocab), embedding_dim=8, hidden=32)
    model.compile(optimizer="adam", learning_rate=0.02,
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    before = models.bits_per_character(model, ids[:200])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sn.train.LossIncreasingWarning)
        model.fit(x, y, epochs=8, batch_size=16, verbose=0, seed=0)
    after = models.bits_per_character(model, ids[:200])
    assert before > 2.5 and after < 0.3  # log2(8) = 3 bits before; near certainty after
    assert models.generate(model, vocab, "hello w", length=16, temperature=0) == \
        "hello world hello world"


def test_ngram_counts_by_hand():
    ids = np.array([0, 1, 0, 1, 0, 2])  # V = 3
    bigram = models.CharNGram(2, k=1.0).fit(ids, 3)
    # after 0: next is 1, 1, 2 (3 times); after 1: 0, 0 (2 times)
    test = np.array([0, 1, 0, 2])  # pairs (0,1) (1,0) (0,2)
    p = [(2 + 1) / (3 + 3), (2 + 1) / (2 + 3), (1 + 1) / (3 + 3)]
    assert bigram.bits_per_character(test) == pytest.approx(-np.mean(np.log2(p)))
    unigram = models.CharNGram(1, k=0.5).fit(ids, 3)  # counts 3, 2, 1 of 6
    q = [(2 + 0.5) / 7.5, (3 + 0.5) / 7.5, (1 + 0.5) / 7.5]
    assert unigram.bits_per_character(test) == pytest.approx(-np.mean(np.log2(q)))
    # an unseen history is uniform; history= supplies the context of the first characters
    trigram = models.CharNGram(3, k=1.0).fit(ids, 3)
    alone = trigram.bits_per_character(np.array([1, 0]))
    assert alone == pytest.approx(math.log2(3))  # ids[1]'s history would need ids[-1]
    with_history = trigram.bits_per_character(np.array([1, 0]), history=np.array([0]))
    # history (0, 1) -> next 0 seen twice of twice: (2 + 1) / (2 + 3)
    assert with_history == pytest.approx(-math.log2(3 / 5))


def test_ngram_bad_input():
    with pytest.raises(ValueError, match="call fit"):
        models.CharNGram(2).bits_per_character(np.array([0, 1]))
    with pytest.raises(ValueError, match=r"k"):
        models.CharNGram(2, k=0)
    with pytest.raises(ValueError, match=r"int ids in \[0, 3\)"):
        models.CharNGram(2).fit(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="fewer than the order"):
        models.CharNGram(4).fit(np.array([0, 1]), 3)
