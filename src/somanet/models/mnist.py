"""Models for 28x28 digit images: the Keras quickstart MLP, LeNet-5 and an LSTM that reads
an image row by row.

Every builder returns a ready-built model (all parameters exist, so ``summary()``,
``num_parameters()`` and ``load_weights`` work before the first batch) whose output is
one logit per class; wrap it in ``Sequential([model, Softmax()])`` for probabilities,
as the TensorFlow quickstart does.

    >>> from somanet import models
    >>> models.quickstart().num_parameters()
    101770
    >>> models.lenet().num_parameters()
    61706
    >>> models.lstm_classifier().num_parameters()
    81674
"""
import math

from .. import nn
from .._checks import check_positive_int, is_int
from ..train import Model, Sequential

IMAGE_SHAPE = (28, 28)


def _check_shape(shape, who):
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    return tuple(check_positive_int(who, "input_shape entries", size, what="a positive int")
                 for size in shape)


def mlp(input_shape=IMAGE_SHAPE, hidden=128, num_classes=10, dropout=0.2, activation="relu"):
    """A multilayer perceptron on flattened inputs: the TensorFlow/Keras beginner
    quickstart's model by default.

    Architecture (defaults)::

        Flatten(input_shape=(28, 28))         (N, 28, 28) -> (N, 784)
        Dense(128, activation="relu")         784*128 + 128 = 100,480 parameters
        Dropout(0.2)
        Dense(10)                             128*10 + 10   =   1,290 parameters
                                              total           101,770

    The output is logits ("a vector of logits or log-odds scores, one for each
    class", as the quickstart puts it), so train it with
    ``sparse_categorical_crossentropy`` on logits. The quickstart reports ~98% test
    accuracy after 5 epochs of Adam on the full MNIST; on the bundled ``mnist_small``
    (4,000 training digits) it reaches ~0.91.

    Args:
        input_shape: the shape of one sample (flattened by the first layer).
        hidden: units of the hidden layer; an int, or a sequence for several hidden
            layers (``hidden=(256, 128)``), each followed by the activation and dropout.
        num_classes: output logits.
        dropout: the drop probability after each hidden layer (0 for none).
        activation: the hidden layers' activation (a name or a callable).

    Shape:
        (N, *input_shape) -> (N, num_classes).
    """
    who = "models.mlp"
    input_shape = _check_shape(input_shape, who)
    sizes = (hidden,) if is_int(hidden) else tuple(hidden)
    for size in sizes:
        check_positive_int(who, "hidden", size, what="a positive int")
    check_positive_int(who, "num_classes", num_classes, what="a positive int")
    layers = [nn.Flatten(input_shape=input_shape)]
    width = math.prod(input_shape)
    for size in sizes:
        layers.append(nn.Dense(width, size, activation=activation))
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Dense(width, num_classes))
    return Sequential(layers)


def quickstart():
    """The TensorFlow/Keras beginner quickstart's model, exactly::

        Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                    Dropout(0.2), Dense(10)])

    101,770 parameters; logits out. The same as ``mlp()`` with its defaults, and the
    model ``somanet train`` trains when given no ``--model``.
    """
    return mlp()


def lenet(num_classes=10, in_channels=1, image_size=28):
    """LeNet-5 (LeCun et al. 1998) in its modern form: ReLU and max pooling.

    Architecture::

        Reshape(1, 28, 28)                    (N, 28, 28) or (N, 1, 28, 28) -> (N, 1, 28, 28)
        Conv2D(1 -> 6, 5x5, padding=2), ReLU  -> (N, 6, 28, 28)       156 parameters
        MaxPool2D(2)                          -> (N, 6, 14, 14)
        Conv2D(6 -> 16, 5x5), ReLU            -> (N, 16, 10, 10)    2,416 parameters
        MaxPool2D(2)                          -> (N, 16, 5, 5)
        Flatten                               -> (N, 400)
        Dense(120, relu)                                           48,120 parameters
        Dense(84, relu)                                            10,164 parameters
        Dense(10)                             logits                  850 parameters
                                              total                61,706

    A convolutional network suits image data better than an MLP; with 5 epochs of
    Adam on ``mnist_small`` it reaches ~0.95 test accuracy (the MLP ~0.91).

    Args:
        num_classes: output logits.
        in_channels: image channels (1 for grayscale).
        image_size: the height and width of the (square) input images.

    Shape:
        (N, H, W) (one channel) or (N, C, H, W) -> (N, num_classes).
    """
    who = "models.lenet"
    check_positive_int(who, "num_classes", num_classes, what="a positive int")
    check_positive_int(who, "in_channels", in_channels, what="a positive int")
    check_positive_int(who, "image_size", image_size, what="a positive int")
    side = ((image_size // 2) - 4) // 2  # 28: 28 -> pool 14 -> conv 10 -> pool 5
    if side < 1:
        raise ValueError(f"{who}: image_size={image_size} is too small for two 5x5 "
                         f"convolutions and two 2x2 poolings; expected at least 12")
    return Sequential([
        nn.Reshape(in_channels, image_size, image_size),
        nn.Conv2D(in_channels, 6, 5, padding=2, activation="relu"),
        nn.MaxPool2D(2),
        nn.Conv2D(6, 16, 5, activation="relu"),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(16 * side * side, 120, activation="relu"),
        nn.Dense(120, 84, activation="relu"),
        nn.Dense(84, num_classes),
    ])


class LSTMClassifier(Model):
    """Reads each image as a sequence (one step per row) and classifies it from the LSTM's
    last hidden state: ``logits = Dense(h_T)``.

    A recurrent network carries what it has read so far in its hidden state; this is
    the many-to-one case (a sequence in, one label out).

    Args:
        input_size: features per step (the image width).
        hidden_size: LSTM units.
        num_classes: output logits.

    Shape:
        (N, T, input_size), or (N, 1, T, input_size) images -> (N, num_classes).
    """

    def __init__(self, input_size=28, hidden_size=128, num_classes=10):
        super().__init__()
        who = "models.lstm_classifier"
        self.input_size = check_positive_int(who, "input_size", input_size, what="a positive int")
        check_positive_int(who, "hidden_size", hidden_size, what="a positive int")
        check_positive_int(who, "num_classes", num_classes, what="a positive int")
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.head = nn.Dense(hidden_size, num_classes)

    def forward(self, x):
        if x.ndim == 4 and x.shape[1] == 1:  # (N, 1, H, W) images: drop the channel axis
            x = x.reshape(x.shape[0], x.shape[2], x.shape[3])
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])  # the last layer's hidden state after the last row


def lstm_classifier(input_size=28, hidden_size=128, num_classes=10):
    """An LSTM over the 28 rows of an image (28 features a step), then a Dense layer on
    the last hidden state.

    Architecture::

        LSTM(28 -> 128, batch_first)          (N, 28, 28) -> h_T (N, 128)
                                              28*512 + 128*512 + 512 = 80,384 parameters
        Dense(10)                             128*10 + 10 = 1,290 parameters
                                              total         81,674

    The LSTM's forget-gate bias starts at one (Keras's ``unit_forget_bias``).
    See ``LSTMClassifier``.
    """
    return LSTMClassifier(input_size, hidden_size, num_classes)
