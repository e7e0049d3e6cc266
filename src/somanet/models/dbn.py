r"""Deep belief networks: a stack of RBMs trained greedily, layer by layer, then fine-tuned
as a classifier; and the convolutional DBN, a stack of convolutional RBMs with
probabilistic max-pooling.

**DBN** (Hinton, Osindero & Teh 2006, "A fast learning algorithm for deep belief nets",
Neural Computation 18). Layer ``l`` is an RBM whose visible units are the hidden units of
layer ``l - 1``:

.. math::

    h^0 = x, \qquad h^l = \sigma(h^{l-1} W^l + c^l) = p(h^l = 1 | h^{l-1}),

Greedy layer-wise pre-training (``pretrain``): train RBM 1 on the data by contrastive
divergence, then RBM 2 on RBM 1's hidden probabilities, and so on; each new layer can
only improve a variational lower bound on the log-likelihood of the data (the paper's
argument). The pre-trained weights then initialise a feed-forward sigmoid network, with a
softmax layer (``Dense`` logits) on top, fine-tuned by back-propagation on labels
(``compile`` / ``fit``: the net is a ``somanet.train.Model``). Pre-training uses no
labels, so it helps most when labels are few (``examples/dbn_digits.py`` measures it).

As a generative model (``sample``) the top two layers form an undirected RBM and the
lower layers directed sigmoid belief nets: Gibbs sampling in the top RBM, then one
top-down pass ``h^{l-1} = p(h^{l-1} | h^l)`` to the pixels. Simplified from the paper:
no label units in the top RBM, and no up-down (wake-sleep) fine-tuning of the generative
weights; fine-tuning here is discriminative, as in Hinton & Salakhutdinov (2006).

**Convolutional DBN** (Lee, Grosse, Ranganath & Ng 2009). Layer ``l`` is a ``ConvRBM``
whose visible units are the previous layer's pooling units (their probabilities in
pre-training and in the forward pass); its output is its own pooling units, so each
layer sees a wider part of the image at a coarser resolution. The forward pass for
classification is ``pool_probabilities`` layer after layer, then ``Dense`` logits on the
flattened top-layer maps; fine-tuning back-propagates through the probabilistic
max-pooling (it is differentiable). Simplified from the paper: inference is the bottom-up
pass only (the paper also describes block Gibbs sampling with top-down feedback, used for
hallucination and inpainting), and the classifier is fine-tuned rather than an SVM on
the features.

    >>> import somanet as sn
    >>> from somanet import models
    >>> x, y = sn.datasets.mnist_small("train")
    >>> dbn = models.DBN((784, 64, 32), num_classes=10)
    >>> histories = dbn.pretrain(x[:256], epochs=1)         # greedy, unsupervised
    >>> dbn.compile(optimizer="adam", loss=sn.train.losses.SparseCategoricalCrossentropy(
    ...     from_logits=True), metrics=["accuracy"])
    >>> history = dbn.fit(x[:100], y[:100], epochs=1, verbose=0)  # supervised fine-tuning
"""
import math
import os

import numpy

from .. import nn, ops
from .._checks import check_positive_int
from ..autograd import no_grad
from ..train import Model
from .rbm import RBM, ConvRBM


def _pretrain(layers, x, epochs, batch_size, learning_rate, optimizer, verbose, checkpoint_dir,
              resume, seed, callbacks, who):
    """Train each RBM of ``layers`` on the previous one's output (greedy, layer-wise).

    ``checkpoint_dir`` holds a checkpoint folder per layer (``layer_1``, ...); with
    ``resume=True`` a finished layer is restored and not trained again, an interrupted one
    continues where its checkpoint stopped. Returns each layer's ``History``.
    """
    epochs_per_layer = _per_layer(epochs, len(layers), who, "epochs")
    rates = _per_layer(learning_rate, len(layers), who, "learning_rate", integer=False)
    data = x
    histories = []
    for index, (rbm, layer_epochs, rate) in enumerate(zip(layers, epochs_per_layer, rates)):
        rbm.compile(optimizer=optimizer, learning_rate=rate)
        rbm.init_visible_bias(data)  # the guide's start (a resumed layer's checkpoint wins)
        folder = None if checkpoint_dir is None else os.path.join(
            os.fspath(checkpoint_dir), f"layer_{index + 1}")
        if verbose:
            print(f"{who}: pre-training layer {index + 1} of {len(layers)} "
                  f"({type(rbm).__name__})")
        histories.append(rbm.fit(data, epochs=layer_epochs, batch_size=batch_size,
                                 verbose=verbose, checkpoint_dir=folder, resume=resume,
                                 seed=None if seed is None else seed + index,
                                 callbacks=callbacks))
        if index + 1 < len(layers):
            data = rbm.predict(data, batch_size=256)  # probabilities feed the next layer
    return histories


def _per_layer(value, count, who, name, integer=True):
    values = list(value) if isinstance(value, (list, tuple)) else [value] * count
    if len(values) != count:
        raise ValueError(f"{who}.pretrain: {name} has {len(values)} entries for {count} layers")
    if integer:
        values = [check_positive_int(f"{who}.pretrain", name, item) for item in values]
    return values


class DBN(Model):
    """A deep belief net: RBMs stacked, pre-trained greedily, fine-tuned as a classifier
    (see the module docstring).

    Args:
        sizes: the layer sizes, input first: ``(784, 500, 500)`` stacks a 784 x 500 and a
            500 x 500 RBM.
        num_classes: logits of the ``Dense`` layer on top (``None``: no classifier; the
            forward pass then gives the top layer's probabilities).
        k, persistent, weight_decay: each RBM's training (``models.RBM``).
        image_shape: the shape of one input, e.g. ``(28, 28)`` (flattened), to draw the
            first layer's filters.

    Shape:
        x (N, sizes[0]) or (N, *image_shape), values in [0, 1] -> (N, num_classes) logits.

    Attributes:
        rbms: the ``ModuleList`` of RBMs, bottom first. head: the ``Dense`` classifier.
    """

    def __init__(self, sizes=(784, 500, 500), num_classes=10, k=1, persistent=False,
                 weight_decay=1e-4, image_shape=None, name=None):
        super().__init__(name=name)
        sizes = [check_positive_int("DBN", "sizes entries", size) for size in sizes]
        if len(sizes) < 2:
            raise ValueError(f"DBN: sizes needs the input size and at least one hidden layer, "
                             f"got {sizes}")
        if image_shape is None and sizes[0] == 784:
            image_shape = (28, 28)
        self.sizes = tuple(sizes)
        self.rbms = nn.ModuleList([
            RBM(below, above, k=k, persistent=persistent, weight_decay=weight_decay,
                image_shape=image_shape if index == 0 else None)
            for index, (below, above) in enumerate(zip(sizes[:-1], sizes[1:]))])
        self.num_classes = None if num_classes is None else check_positive_int(
            "DBN", "num_classes", num_classes)
        self.head = nn.Dense(sizes[-1], num_classes) if num_classes else None

    def extra_repr(self):
        return f"sizes={self.sizes}, num_classes={self.num_classes}"

    def features(self, x):
        """The top layer's hidden probabilities, (N, sizes[-1])."""
        h = x
        for rbm in self.rbms:
            h = rbm(h)
        return h

    def forward(self, x):
        h = self.features(x)
        return self.head(h) if self.head is not None else h

    def pretrain(self, x, epochs=10, batch_size=32, learning_rate=None, optimizer=None,
                 verbose=0, checkpoint_dir=None, resume=False, seed=None, callbacks=None):
        """Greedy layer-wise pre-training: each RBM by CD-k on the previous layer's hidden
        probabilities (no labels), its visible biases first set from its data
        (``RBM.init_visible_bias``).

        Args:
            x: the training inputs (N, sizes[0]) or (N, *image_shape), in [0, 1].
            epochs, learning_rate: for every layer, or a list with one per layer
                (``learning_rate=None``: the RBMs' default, 0.1).
            batch_size, optimizer, verbose, callbacks, seed: for each layer's ``fit``
                (``seed + layer index`` per layer).
            checkpoint_dir: a folder with one checkpoint folder per layer (``layer_1``...).
            resume: continue from those checkpoints (finished layers are not retrained).

        Returns:
            A list with each layer's ``History`` (``loss``: its reconstruction error).
        """
        return _pretrain(list(self.rbms), x, epochs, batch_size, learning_rate, optimizer,
                         verbose, checkpoint_dir, resume, seed, callbacks, "DBN")

    def sample(self, n, steps=1000):
        """``n`` samples: ``steps`` Gibbs steps in the top RBM, then a top-down pass of
        probabilities; returns the visible means (n, sizes[0])."""
        with no_grad():
            top = self.rbms[-1]
            h = top.sample(n, steps=steps)
            for rbm in reversed(list(self.rbms)[:-1]):
                h = rbm.visible_mean(h)
            return h

    def plot_filters(self, path=None, limit=100, columns=10):
        """The first layer's filters as an image grid (``RBM.plot_filters``)."""
        return self.rbms[0].plot_filters(path, limit=limit, columns=columns)


class ConvolutionalDBN(Model):
    """A convolutional deep belief net: ``ConvRBM`` layers with probabilistic max-pooling,
    pre-trained greedily, then a ``Dense`` classifier on the top layer's pooling units
    (see the module docstring).

    Args:
        in_channels: image channels.
        filters, kernel_sizes, pool_sizes: one entry per layer.
        image_size: ``(H, W)`` of the inputs (to size the classifier).
        num_classes: logits on top (``None``: the forward pass gives the top pooling maps).
        sparsity_targets, sparsity_cost, k: each ConvRBM's (``models.ConvRBM``); targets
            one per layer.
        visible: the first layer's visible units, ``"bernoulli"`` or ``"gaussian"``
            (upper layers see probabilities: Bernoulli).

    Shape:
        x (N, H, W) or (N, C, H, W) -> (N, num_classes).

    Attributes:
        layers: the ``ModuleList`` of ConvRBMs. head: the ``Dense`` classifier.
    """

    def __init__(self, in_channels=1, filters=(24, 40), kernel_sizes=(7, 4), pool_sizes=(2, 2),
                 image_size=(28, 28), num_classes=10, sparsity_targets=(0.02, 0.02),
                 sparsity_cost=2.0, k=1, visible="bernoulli", name=None):
        super().__init__(name=name)
        who = "ConvolutionalDBN"
        counts = {len(filters), len(kernel_sizes), len(pool_sizes), len(sparsity_targets)}
        if len(counts) != 1:
            raise ValueError(f"{who}: filters, kernel_sizes, pool_sizes and sparsity_targets "
                             f"need one entry per layer, got lengths {len(filters)}, "
                             f"{len(kernel_sizes)}, {len(pool_sizes)}, {len(sparsity_targets)}")
        rows, columns = (image_size, image_size) if isinstance(image_size, int) else image_size
        layers, channels = [], in_channels
        for index, (count, kernel, pool, target) in enumerate(
                zip(filters, kernel_sizes, pool_sizes, sparsity_targets)):
            layers.append(ConvRBM(channels, count, kernel, pool,
                                  visible=visible if index == 0 else "bernoulli", k=k,
                                  sparsity_target=target, sparsity_cost=sparsity_cost))
            rows, columns = (rows - kernel + 1) // pool, (columns - kernel + 1) // pool
            if rows < 1 or columns < 1:
                raise ValueError(f"{who}: images of {image_size} are too small for layer "
                                 f"{index + 1} ({kernel} x {kernel} filters, {pool} x {pool} "
                                 f"pooling)")
            channels = count
        self.layers = nn.ModuleList(layers)
        self.image_size = (rows, columns)
        self.in_channels = in_channels
        self.feature_shape = (channels, rows, columns)
        self.num_classes = num_classes
        self.head = nn.Dense(math.prod(self.feature_shape), num_classes) if num_classes else None

    def features(self, x):
        """The top layer's pooling probabilities, (N, K, Hp, Wp)."""
        if x.ndim == 3 and self.in_channels == 1:
            x = x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])
        for layer in self.layers:
            x = layer.pool_probabilities(x)
        return x

    def forward(self, x):
        h = self.features(x)
        if self.head is None:
            return h
        return self.head(ops.flatten(h, 1))

    def pretrain(self, x, epochs=2, batch_size=32, learning_rate=None, optimizer=None,
                 verbose=0, checkpoint_dir=None, resume=False, seed=None, callbacks=None):
        """Greedy layer-wise pre-training of the ConvRBMs (as ``DBN.pretrain``)."""
        x = numpy.asarray(x) if not hasattr(x, "ndim") else x
        if x.ndim == 3 and self.in_channels == 1:
            x = x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])
        return _pretrain(list(self.layers), x, epochs, batch_size, learning_rate, optimizer,
                         verbose, checkpoint_dir, resume, seed, callbacks, "ConvolutionalDBN")

    def plot_filters(self, path=None, limit=100, columns=10):
        """The first layer's filters as an image grid (``ConvRBM.plot_filters``)."""
        return self.layers[0].plot_filters(path, limit=limit, columns=columns)
