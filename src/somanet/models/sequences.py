"""The four shapes of a recurrent network (one-to-one, one-to-many, many-to-one,
many-to-many), each a plain ``Sequential``.

A recurrent layer reads a sequence one step at a time and carries what it has read in
its hidden state ``h_t = f(x_t, h_{t-1})``. Which steps take an input and which give an
output makes four shapes::

    one-to-one      x -> y                     a plain network (no recurrence)
    one-to-many     x -> y_1 .. y_T            RepeatVector(T), LSTM(return_sequences=True),
                                               TimeDistributed(Dense)
    many-to-one     x_1 .. x_T -> y            LSTM (the last state), Dense
    many-to-many    x_1 .. x_T -> y_1 .. y_T   LSTM(return_sequences=True),
                                               TimeDistributed(Dense)

No shape needs a hand-written Model subclass: Keras's ``RepeatVector``,
``TimeDistributed`` and ``return_sequences`` say it, as they do in Keras. Every
builder returns a ``somanet.train.Sequential`` whose output is logits (or, for the
digit rows, pixel probabilities), inputs (batch, time, features).

================================ ===================================== ===================
builder                          task                                  input -> output
================================ ===================================== ===================
``one_to_one(features, C)``      classify one vector                   (N, F) -> (N, C)
``one_to_many()``                draw a digit's 28 rows from its label (N,) -> (N, 28, 28)
``many_to_one()``                classify MNIST digits row by row      (N, 28, 28) -> (N, 10)
``many_to_many()``               label every step (running parity)     (N, T, 1) -> (N, T, 2)
================================ ===================================== ===================

``running_parity(n, steps)`` makes the many-to-many task's data: random bits, and at
each step the parity of the bits so far (``y_t = (x_1 + ... + x_t) mod 2``), which
needs the memory of every earlier step.

    >>> import somanet as sn
    >>> from somanet import models
    >>> models.many_to_many()(sn.ones(4, 12, 1)).shape
    (4, 12, 2)
    >>> models.one_to_many()(sn.tensor([3, 7])).shape
    (2, 28, 28)
"""
import numpy

from .. import nn
from .._checks import check_positive_int
from ..train import Sequential

WHO = "models.sequences"


def _size(name, value):
    return check_positive_int(WHO, name, value, what="a positive int")


def one_to_one(features, num_classes, hidden=32):
    """One vector in, one label out: a multilayer perceptron (no recurrence).

    Architecture: ``Dense(hidden, relu), Dense(num_classes)``.

    Shape:
        (N, features) -> (N, num_classes) logits.
    """
    return Sequential([nn.Dense(_size("features", features), _size("hidden", hidden),
                                activation="relu"),
                       nn.Dense(hidden, _size("num_classes", num_classes))])


def one_to_many(num_classes=10, steps=28, features=28, hidden=128, embedding_dim=16):
    """One label in, a sequence out: draw an image row by row from its class.

    Architecture::

        Embedding(num_classes, embedding_dim)    (N,) ids -> (N, E)
        RepeatVector(steps)                      -> (N, T, E), the same input every step
        LSTM(hidden, return_sequences=True)      -> (N, T, H)
        TimeDistributed(Dense(features, sigmoid)) -> (N, T, features), one row a step

    Trained with binary cross-entropy against the images' pixels in [0, 1], it learns
    each class's typical digit (a deterministic model draws the mean of what it saw).

    Shape:
        (N,) integer labels -> (N, steps, features) pixel probabilities.
    """
    return Sequential([
        nn.Embedding(_size("num_classes", num_classes), _size("embedding_dim", embedding_dim)),
        nn.RepeatVector(_size("steps", steps)),
        nn.LSTM(_size("hidden", hidden), return_sequences=True),
        nn.TimeDistributed(nn.Dense(_size("features", features), activation="sigmoid")),
    ])


def many_to_one(features=28, num_classes=10, hidden=128):
    """A sequence in, one label out: read an image's rows, classify from the last state.

    Architecture: ``LSTM(hidden)`` (its last hidden state, Keras's default), then
    ``Dense(num_classes)``: ``Sequential([nn.LSTM(128), nn.Dense(10)])``, 81,674
    parameters for 28 x 28 digits, the same network as ``models.lstm_classifier()``.

    Shape:
        (N, T, features) -> (N, num_classes) logits.
    """
    return Sequential([nn.LSTM(_size("hidden", hidden), input_shape=(None, _size(
        "features", features))), nn.Dense(hidden, _size("num_classes", num_classes))])


def many_to_many(features=1, num_classes=2, hidden=32):
    """A sequence in, a label at every step out (running parity, tagging).

    Architecture: ``LSTM(hidden, return_sequences=True)``, then
    ``TimeDistributed(Dense(num_classes))``, one logit vector a step.

    Shape:
        (N, T, features) -> (N, T, num_classes) logits.
    """
    return Sequential([
        nn.LSTM(_size("hidden", hidden), return_sequences=True,
                input_shape=(None, _size("features", features))),
        nn.TimeDistributed(nn.Dense(hidden, _size("num_classes", num_classes))),
    ])


def running_parity(n, steps=12, seed=0):
    """The many-to-many task: random bits and the parity of the bits so far at each step.

    Returns:
        ``(x, y)``: x float32 (n, steps, 1) of 0s and 1s; y int64 (n, steps),
        ``y[:, t] = x[:, :t + 1].sum() % 2``.

        >>> from somanet import models
        >>> x, y = models.running_parity(2, steps=5, seed=1)
        >>> bool(((x[:, :, 0].cumsum(axis=1) % 2) == y).all())
        True
    """
    rng = numpy.random.default_rng(seed)
    bits = rng.integers(0, 2, (_size("n", n), _size("steps", steps)))
    return bits[:, :, None].astype(numpy.float32), (bits.cumsum(axis=1) % 2).astype(numpy.int64)
