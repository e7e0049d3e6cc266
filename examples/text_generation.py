"""Seed 002, "automatic text generation": a character-level LSTM trained on Shakespeare.

The network reads a text one character at a time and learns, at every step, the
distribution of the next character (Karpathy's char-rnn; Graves 2013)::

    Embedding(73, 32) -> LSTM(256, return_sequences=True) -> TimeDistributed(Dense(73))
    loss = mean_t -log p(c_{t+1} | c_1 .. c_t)        (cross-entropy on next characters)

``somanet.datasets.shakespeare()`` (Hamlet, Macbeth, Romeo and Juliet; 419,129
characters, public domain, bundled) is split into the first 90% to train on and the
last 10% held out; ``somanet.data.text.Vocabulary`` maps its 73 characters to ids and
``CharSequenceDataset`` cuts the training part into windows of 100 characters with the
same text one character on as targets. ``models.generate`` then writes new text: it
draws each character from ``softmax(logits / temperature)`` (only the ``top_k`` most
likely with ``top_k=``) and feeds it back in.

It is measured in bits per character (BPC) on the held-out text,
``mean -log2 p(c_{t+1} | history)``, against two count models fitted on the same
training text (``models.CharNGram``, add-k smoothing,
``p(c | h) = (count(h, c) + k) / (count(h) + k V)``): a unigram (no history) and a
3-gram (the previous two characters), each with the best k of 0.01 / 0.03 / 0.1 / 0.3 / 1
on the held-out text itself (a generous baseline). A uniform guess costs log2 73 = 6.19.

Measured with the defaults (seed 0; 5 epochs of Adam, lr 0.003, batch 64; on a busy
2-core machine shared with other jobs, run as ``OMP_NUM_THREADS=1 python
examples/text_generation.py``: with two BLAS threads competing for two busy cores each
matrix product was 20 times slower)::

    uniform guess                        6.190 bits per character
    unigram (add-k, k = 1)               4.695
    3-gram  (add-k, k = 0.03)            2.855
    char-LSTM, 317,033 parameters        3.431  2.995  2.761  2.613  2.520   (epochs 1-5)

The LSTM passes the 3-gram in its third epoch and ends at 2.520 bits per character
(the target was below the 3-gram); the five epochs took 516 s there (68-123 s an epoch,
as the other jobs came and went). A sample at temperature 0.5, primed with a new line::

    I a still temard, and the words and strange of the ever of be come the very sword
    not to the surches'd well.

    MACBETH.
    And seep he some the mat the hear of which it in them down.

    [Enter in more, Hamlet.

It has learnt the plays' layout (speaker names in capitals, stage directions in
brackets), spelling of common words and some punctuation; not yet sense. At
temperature 1.0 it invents more words ("savery jadpliexs, plate, to perely ofen").

Bits per character and samples at temperature 0.5 and 1.0 are printed; the figure
``bpc.png`` shows the validation BPC per epoch against the two baselines.

    OMP_NUM_THREADS=1 python examples/text_generation.py [--out FOLDER] [--epochs N]
"""
import argparse
import math
import os
import tempfile
import time
import warnings

import numpy as np

import somanet as sn
from somanet import models
from somanet.data.text import CharSequenceDataset, Vocabulary
from somanet.train import losses

BASELINE_KS = (0.01, 0.03, 0.1, 0.3, 1.0)


def baselines(train_ids, validation_ids, vocab_size):
    """``{"unigram": (bpc, k), "3-gram": (bpc, k)}``: each with its best k."""
    found = {}
    for name, order in (("unigram", 1), ("3-gram", 3)):
        scores = [(models.CharNGram(order, k).fit(train_ids, vocab_size).bits_per_character(
            validation_ids, history=train_ids), k) for k in BASELINE_KS]
        found[name] = min(scores)
    return found


class ValidationBPC(sn.train.Callback):
    """Bits per character on the held-out ids after every epoch (into ``logs``)."""

    def __init__(self, ids):
        super().__init__()
        self.ids, self.values = ids, []

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(models.bits_per_character(self.model, self.ids))
        if logs is not None:
            logs["val_bpc"] = self.values[-1]


def main(out=None, seed=0, epochs=5, hidden=256, embedding_dim=32, window=100, batch_size=64,
         learning_rate=0.003, text=None, sample_length=300, verbose=True):
    """Train, measure and sample. ``text`` (default the bundled Shakespeare) and small
    sizes make a fast test.

    Returns:
        ``{"bpc": per-epoch validation BPC, "unigram", "trigram", "unigram_k",
        "trigram_k", "samples": {temperature: text}, "seconds", "vocab", "figure"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_text_generation_")
    os.makedirs(out, exist_ok=True)
    say = print if verbose else (lambda *args: None)
    sn.manual_seed(seed)
    text = sn.datasets.shakespeare() if text is None else text
    vocab = Vocabulary.from_text(text)
    split = sn.datasets.split_text(text, validation_fraction=0.1)
    train_ids, validation_ids = vocab.encode(split["train"]), vocab.encode(split["validation"])
    found = baselines(train_ids, validation_ids, len(vocab))
    say(f"{len(text):,} characters, {len(vocab)} distinct; {len(train_ids):,} to train, "
        f"{len(validation_ids):,} held out; uniform guess {math.log2(len(vocab)):.3f} bits")
    say(f"unigram (add-k, k={found['unigram'][1]:g})  {found['unigram'][0]:.3f} bits/char")
    say(f"3-gram  (add-k, k={found['3-gram'][1]:g})  {found['3-gram'][0]:.3f} bits/char")

    x, y = CharSequenceDataset(train_ids, window).arrays()
    model = models.char_lstm(len(vocab), embedding_dim=embedding_dim, hidden=hidden)
    model.compile(optimizer="adam", learning_rate=learning_rate,
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    measure = ValidationBPC(validation_ids)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sn.train.LossIncreasingWarning)
        model.fit(x, y, epochs=epochs, batch_size=batch_size, seed=seed, callbacks=[measure],
                  verbose=2 if verbose else 0)
    seconds = time.perf_counter() - start
    say(f"char-LSTM ({model.num_parameters():,} parameters, {epochs} epochs, {seconds:.0f} s) "
        f"{measure.values[-1]:.3f} bits/char on the held-out text "
        f"(per epoch: {' '.join(f'{v:.3f}' for v in measure.values)})")
    prime = "\n" if "\n" in vocab else split["validation"][:1]
    samples = {}
    for temperature in (0.5, 1.0):
        samples[temperature] = models.generate(model, vocab, prime, length=sample_length,
                                               temperature=temperature, seed=seed)
        say(f"\n--- sample, temperature {temperature} ---{samples[temperature]}")
    figure = os.path.join(out, "bpc.png")
    epochs_axis = np.arange(1, len(measure.values) + 1)
    sn.viz.plot_curves({"char-LSTM (held out)": (epochs_axis, measure.values),
                        "3-gram": (epochs_axis, [found["3-gram"][0]] * len(epochs_axis)),
                        "unigram": (epochs_axis, [found["unigram"][0]] * len(epochs_axis))},
                       path=figure, xlabel="epoch", ylabel="bits per character",
                       title="Character language model on held-out Shakespeare")
    say(f"figure: {figure}")
    return {"bpc": measure.values, "unigram": found["unigram"][0],
            "unigram_k": found["unigram"][1], "trigram": found["3-gram"][0],
            "trigram_k": found["3-gram"][1], "samples": samples, "seconds": seconds,
            "vocab": vocab, "figure": figure}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=256)
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed, epochs=arguments.epochs,
         hidden=arguments.hidden)
