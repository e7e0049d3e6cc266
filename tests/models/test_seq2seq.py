"""models.Seq2Seq: the teacher-forced pass, fit on (source, target) and in Keras's form,
learning an easy subset of the dates task in seconds, greedy decoding = beam search with
beam_size=1, beam scores = the log-probabilities of their outputs, attention weights
(rows sum to 1, nothing on padding), padding-invariance, translate, weights on disk, and
the errors."""
import numpy as np
import pytest

import somanet as sn
from somanet import models


def _data(n, styles=("dotted",), seed=0, split="train"):
    return sn.datasets.dates(split, n=n, seed=seed, styles=list(styles))


def _model(pairs, units=8, **kwargs):
    sn.manual_seed(0)
    return models.seq2seq(pairs.source_vocab, pairs.target_vocab, units=units,
                          embedding_dim=8, **kwargs)


@pytest.fixture(scope="module")
def trained():
    """A model trained for a few seconds on day.month.year dates, and held-out ones."""
    train, test = _data(600), _data(200, seed=1, split="test")
    sn.manual_seed(0)
    model = models.seq2seq(train.source_vocab, train.target_vocab, units=24,
                           embedding_dim=16)
    model.compile(learning_rate=0.01)
    x, y = train.arrays()
    model.fit(x, y, epochs=4, batch_size=32, verbose=0, seed=0)
    return model, test


def _log_probabilities(model, source, ids):
    """log p(ids | source) under teacher forcing, summed over the tokens up to <end>."""
    [_, decoder_input], target = model.teacher_forcing(source, ids)
    logits = model(source, decoder_input).numpy().astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, target[:, :, None], axis=-1)[:, :, 0]
    real = np.cumsum(target == model.end_id, axis=1) - (target == model.end_id) == 0
    return (picked * real).sum(axis=1), real.sum(axis=1)


# -- the model ----------------------------------------------------------------------------

def test_the_teacher_forced_pass_and_its_inputs():
    pairs = _data(6)
    model = _model(pairs)
    assert model.is_built
    x, y = pairs.arrays()
    [source, decoder_input], target = model.teacher_forcing(x, y)
    assert decoder_input[:, 0].tolist() == [model.start_id] * 6
    np.testing.assert_array_equal(decoder_input[:, 1:], y[:, :-1])
    assert target is y and source is x
    logits = model(x, decoder_input)
    assert logits.shape == (6, 11, len(pairs.target_vocab)) and logits.dtype == sn.float32
    hidden = 16
    assert model.encoder.hidden_size == 8 and model.decoder.hidden_size == hidden
    assert model.num_parameters() == model.num_parameters(trainable_only=True) > 0


def test_it_learns_an_easy_subset_in_seconds(trained):
    model, test = trained
    x, _ = test.arrays()
    greedy = model.decode(x)
    accuracy = models.exact_match(test.target_vocab.decode(greedy.ids), test.targets)
    assert accuracy > 0.6  # chance: 1 in 36,525 dates
    beam = model.decode(x, beam_size=3)
    assert models.exact_match(test.target_vocab.decode(beam.ids), test.targets) > 0.6


def test_beam_size_one_is_greedy_decoding(trained):
    model, test = trained
    x, _ = test.arrays()
    greedy = model.decode(x, batch_size=64)
    one = model.decode(x, beam_size=1, batch_size=200)
    np.testing.assert_array_equal(one.ids, greedy.ids)
    np.testing.assert_allclose(one.attention, greedy.attention, atol=1e-5)  # batch sizes differ
    np.testing.assert_allclose(one.scores, greedy.scores, rtol=1e-5)
    # and the greedy output is the arg-max at every step of its own prefix
    [_, decoder_input], _ = model.teacher_forcing(x, greedy.ids)
    steps = model(x, decoder_input).numpy().argmax(axis=-1)
    ended = np.cumsum(greedy.ids == model.end_id, axis=1) - (greedy.ids == model.end_id) > 0
    np.testing.assert_array_equal(np.where(ended, greedy.ids, steps), greedy.ids)


@pytest.mark.parametrize("beam_size,penalty", [(1, 0.0), (3, 0.0), (4, 1.0)])
def test_beam_scores_are_the_log_probabilities_of_their_outputs(beam_size, penalty):
    pairs = _data(12, styles=("mon_day_year", "weekday"))
    model = _model(pairs)  # untrained: the outputs vary in length and beams differ
    x, _ = pairs.arrays()
    result = model.decode(x, beam_size=beam_size, max_length=9, length_penalty=penalty)
    assert result.ids.shape[0] == 12 and result.ids.shape[1] <= 9
    log_probs, lengths = _log_probabilities(model, x, result.ids)
    np.testing.assert_allclose(result.scores, log_probs / lengths ** penalty, rtol=1e-4,
                               atol=1e-5)


def test_wider_beams_find_outputs_at_least_as_probable_as_greedy_on_average():
    pairs = _data(30, styles=("spoken",))
    model = _model(pairs)
    x, _ = pairs.arrays()
    greedy, beam = model.decode(x, max_length=6), model.decode(x, beam_size=5, max_length=6)
    assert beam.scores.mean() > greedy.scores.mean()
    assert np.mean(beam.scores >= greedy.scores - 1e-5) > 0.9


def test_attention_weights_sum_to_one_and_skip_padding(trained):
    model, test = trained
    x, _ = test.arrays()
    result = model.decode(x[:20], beam_size=2)
    steps = x.shape[1]
    assert result.attention.shape == (20, result.ids.shape[1], steps)
    produced = np.cumsum(result.ids == model.end_id, axis=1) - (result.ids == model.end_id) == 0
    sums = result.attention.sum(axis=-1)
    np.testing.assert_allclose(sums[produced], 1.0, rtol=1e-5)
    assert np.all(sums[~produced] == 0.0)
    padded = np.broadcast_to((x[:20] == 0)[:, None, :], result.attention.shape)
    assert np.all(result.attention[padded] == 0.0)


def test_more_padding_changes_nothing(trained):
    model, test = trained
    x, _ = test.arrays()
    wider = np.pad(x[:16], [(0, 0), (0, 5)])
    narrow, wide = model.decode(x[:16], beam_size=2), model.decode(wider, beam_size=2)
    np.testing.assert_array_equal(wide.ids, narrow.ids)
    np.testing.assert_allclose(wide.attention[:, :, :x.shape[1]], narrow.attention, atol=1e-5)
    assert np.all(wide.attention[:, :, x.shape[1]:] == 0.0)


def test_translate_strings_with_attention(trained):
    model, _ = trained
    outputs, maps = model.translate(["3.3.1994", "28.02.07"], beam_size=2,
                                    return_attention=True)
    assert len(outputs) == 2 and all(isinstance(text, str) for text in outputs)
    assert maps[0].shape[1] == len("3.3.1994") and maps[1].shape[1] == len("28.02.07")
    assert maps[0].shape[0] == len(outputs[0]) + 1  # every output character and <end>
    single, attention = model.translate("1.1.2000", return_attention=True)
    assert isinstance(single, str) and attention.ndim == 2


# -- training in both forms, on disk --------------------------------------------------------

def test_fit_in_both_forms_with_validation_and_evaluate():
    pairs, held_out = _data(64), _data(32, seed=1, split="test")
    x, y = pairs.arrays()
    xv, yv = held_out.arrays()
    model = _model(pairs, attention="additive")
    model.compile()
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0, validation_data=(xv, yv))
    assert {"loss", "sequence_accuracy", "val_loss", "val_sequence_accuracy"} <= set(
        history.history)
    inputs, target = model.teacher_forcing(x, y)
    again = model.fit(inputs, target, epochs=1, batch_size=32, verbose=0)  # Keras's form
    assert np.isfinite(again.history["loss"][0])
    loss = model.evaluate(xv, yv, verbose=0)
    assert np.isfinite(loss if np.isscalar(loss) else loss[0])


@pytest.mark.parametrize("attention", ["dot", "scaled_dot", "additive"])
def test_every_attention_score_trains(attention):
    pairs = _data(32)
    x, y = pairs.arrays()
    model = _model(pairs, attention=attention)
    model.compile(learning_rate=0.01)
    history = model.fit(x, y, epochs=3, batch_size=32, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_weights_round_trip_through_a_file(tmp_path, trained):
    model, test = trained
    path = str(tmp_path / "seq2seq.safetensors")
    sn.io.save_weights(path, model)
    fresh = models.seq2seq(test.source_vocab, test.target_vocab, units=24, embedding_dim=16)
    sn.io.load_weights(path, fresh)
    x, _ = test.arrays()
    np.testing.assert_array_equal(fresh.decode(x[:10]).ids, model.decode(x[:10]).ids)


# -- errors ---------------------------------------------------------------------------------

def test_errors_name_what_was_wrong():
    pairs = _data(4)
    model = _model(pairs)
    x, y = pairs.arrays()
    [_, decoder_input], _ = model.teacher_forcing(x, y)
    with pytest.raises(ValueError, match=r"source has ids outside \[0, 72\)"):
        model(x + 100, decoder_input)
    with pytest.raises(ValueError, match="same number of rows"):
        model(x[:2], decoder_input)
    with pytest.raises(ValueError, match=r"source must be int token ids of shape \(batch, "
                                         r"steps\)"):
        model.decode(x[0])
    with pytest.raises(ValueError, match="beam_size must be"):
        model.decode(x, beam_size=0)
    with pytest.raises(ValueError, match="length_penalty must be"):
        model.decode(x, length_penalty=-1)
    with pytest.raises(ValueError, match="attention must be one of 'general', 'dot'"):
        models.seq2seq(pairs.source_vocab, pairs.target_vocab, attention="concat")
    with pytest.raises(ValueError, match="pad_id, start_id and end_id must differ"):
        models.Seq2Seq(10, 10, pad_id=0, start_id=0, end_id=2)
    with pytest.raises(ValueError, match=r"end_id must be a target token id in \[0, 5\)"):
        models.Seq2Seq(10, 5, end_id=7)
    with pytest.raises(TypeError, match="source_vocab must be a vocabulary"):
        models.seq2seq("abc", pairs.target_vocab)
    bare = models.seq2seq(len(pairs.source_vocab), len(pairs.target_vocab), units=4)
    with pytest.raises(RuntimeError, match="translate needs the vocabularies"):
        bare.translate("1.1.2000")
    assert bare.decode(x, max_length=3).ids.shape == (4, 3)
    with pytest.raises(ValueError, match="exact_match: 2 predictions but 1 expected"):
        models.exact_match(["a", "b"], ["a"])


def test_any_vocabulary_with_the_specials():
    from somanet.data.text import Vocabulary
    source = Vocabulary("abc", specials=("<unk>", "<pad>"), unk_token="<unk>")
    target = Vocabulary("xyz", specials=("<end>", "<pad>", "<start>"))
    sn.manual_seed(0)
    model = models.seq2seq(source, target, units=4, embedding_dim=4, max_length=5)
    assert (model.pad_id, model.start_id, model.end_id) == (1, 2, 0)
    outputs = model.translate(["ab", "cqa"])
    assert len(outputs) == 2 and all(set(text) <= set("xyz") for text in outputs)
    assert isinstance(model.translate("ba"), str)
    with pytest.raises(ValueError, match="target_vocab has no start_id, end_id: give it "
                                         "the specials"):
        models.seq2seq(source, Vocabulary("xyz", specials=("<pad>",)))
    with pytest.raises(ValueError, match="source_vocab has no pad_id"):
        models.seq2seq(Vocabulary("abc"), target)
