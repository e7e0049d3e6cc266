r"""LAMSTAR, the large memory storage and retrieval network (Graupe & Kordylewski 1996,
"Network based on SOM (self-organizing-map) modules combined with statistical decision
tools", Proc. 29th Midwest Symposium on Circuits and Systems; D. Graupe, "Principles of
Artificial Neural Networks", ch. 13).

The input word ``x`` is split into sub-words ``x_1 .. x_M`` (say, the patches of an image),
each fed to its own input module, a Kohonen self-organising-map layer of neurons with
weight vectors ``w_{ij}``. Within module ``i`` the neurons compete, winner take all:

.. math::

    j^*(i) = \arg\min_j \| \hat x_i - w_{ij} \|,
    \qquad \hat x_i = x_i / \| x_i \|  \quad (\text{sub-words normalised}),

and only the winner learns, ``w_{ij^*} \leftarrow w_{ij^*} + \alpha (\hat x_i - w_{ij^*})``.
Memory is allocated as it is needed: when no neuron of the module is within ``threshold``
of the sub-word, a new neuron is set to it (up to ``neurons`` per module). A sub-word that
is all zeros carries no pattern and leaves its module out (no winner, no vote).

Link weights ``L^k_{ij}`` connect every SOM neuron to every output decision neuron ``k``
(one per class). The decision is the output neuron with the largest sum of the links from
the winners:

.. math::

    k^* = \arg\max_k \sum_i L^k_{i, j^*(i)}.

The links learn by reward and punishment (Graupe's rule, with ``L(0) = 0``): for a
training word of class ``c``, each winner's link to the right output neuron is rewarded,
``L^c_{i j^*} \leftarrow L^c_{i j^*} + \Delta L``; when the network's decision ``k^*`` was
wrong, the links that voted for it are punished, ``L^{k^*}_{i j^*} \leftarrow
L^{k^*}_{i j^*} - \Delta M`` (the winners before any neuron was allocated for this word;
a tie among the decision neurons is no decision, and punishes nothing). An optional forgetting factor shrinks every link by ``(1 - forgetting)`` after
each epoch, so that links not refreshed fade.

What is simplified here, exactly:

- one output neuron per class (Graupe also allows several output neurons coding a
  decision, and output thresholds for "no decision");
- no correlation layers (the horizontal links between SOM modules), and no
  interpolation or extrapolation of missing sub-words from them: a missing (all-zero)
  sub-word only drops its module's vote;
- the SOM modules are winner-take-all with no neighbourhood, and ``α`` is constant;
- no ranking or pruning of modules or neurons by their link weights (the "feature
  extraction" Graupe reads from the links), although ``links`` holds what it would use;
- training is one pass per epoch over the (shuffled) samples, winners, SOM update and
  link update per sample, as in the book; prediction is the same decision in a batch,
  with no learning.

The model keeps its memory in buffers (``som_weights``, ``som_counts``, ``links``), so
``state_dict``, ``somanet.io.save_weights`` / ``load_weights`` and checkpoints carry it;
``fit(checkpoint_dir=..., resume=True)`` resumes at the last finished epoch.

    >>> import numpy as np
    >>> from somanet import models
    >>> x = np.eye(4, dtype=np.float32).repeat(2, axis=1)[[0, 1, 2, 3] * 5]   # 4 classes
    >>> net = models.LAMSTAR(n_subwords=4, subword_size=2, n_classes=4, neurons=4)
    >>> history = net.fit(x, np.arange(20) % 4, epochs=2, verbose=0)
    >>> net.predict(x[:4]).argmax(axis=1).tolist()
    [0, 1, 2, 3]
"""
import math

import numpy

from .._checks import check_flag, check_int, check_positive_int, check_real
from ..autograd import no_grad
from ..backend import CPU, device_of, to_device, to_numpy, xp_of
from ..io import check_writable, is_checkpoint, load_checkpoint, save_checkpoint
from ..ops import zeros
from ..tensor import Tensor
from ..train import History, Model


def image_patches(images, patch):
    """Split images (N, H, W) into non-overlapping ``patch`` x ``patch`` sub-words,
    (N, (H / patch) * (W / patch), patch * patch), row by row (NumPy arrays)."""
    images = numpy.asarray(images)
    if images.ndim != 3 or images.shape[1] % patch or images.shape[2] % patch:
        raise ValueError(f"image_patches: expected images (N, H, W) with H and W multiples of "
                         f"{patch}, got shape {images.shape}")
    n, rows, columns = images.shape
    blocks = images.reshape(n, rows // patch, patch, columns // patch, patch)
    return blocks.transpose(0, 1, 3, 2, 4).reshape(n, -1, patch * patch)


class LAMSTAR(Model):
    """A LAMSTAR network: SOM input modules, winner take all, link weights to decision
    neurons learned by reward and punishment (see ``somanet.models.lamstar``).

    Args:
        n_subwords: ``M``, the input modules (one per sub-word).
        subword_size: the length of each sub-word.
        n_classes: output decision neurons.
        neurons: the most SOM neurons a module may allocate.
        threshold: a sub-word farther than this from every neuron of its module gets a
            new neuron (distances between normalised sub-words lie in [0, 2]).
        learning_rate: ``α`` of the SOM winners.
        reward, punishment: ``ΔL`` and ``ΔM`` of the link weights.
        forgetting: the links shrink by ``(1 - forgetting)`` after every epoch (0: never).
        normalize: normalise each sub-word to unit length (Graupe's); ``False`` compares
            raw sub-words by Euclidean distance (then zero sub-words vote too).

    Shape:
        x (N, n_subwords * subword_size) or (N, n_subwords, subword_size) ->
        (N, n_classes), the decision neurons' summed link weights (arg-max: the class).

    Attributes:
        som_weights: (M, neurons, subword_size). som_counts: (M, neurons), how often each
        neuron won (0: not allocated). links: (M, neurons, n_classes).
    """

    def __init__(self, n_subwords, subword_size, n_classes, neurons=32, threshold=0.5,
                 learning_rate=0.1, reward=0.05, punishment=0.05, forgetting=0.0,
                 normalize=True, name=None):
        super().__init__(name=name)
        who = "LAMSTAR"
        self.n_subwords = check_positive_int(who, "n_subwords", n_subwords)
        self.subword_size = check_positive_int(who, "subword_size", subword_size)
        self.n_classes = check_positive_int(who, "n_classes", n_classes)
        self.neurons = check_positive_int(who, "neurons", neurons)
        self.threshold = check_real(who, "threshold", threshold, minimum=0.0)
        self.learning_rate = check_real(who, "learning_rate", learning_rate, minimum=0.0,
                                        maximum=1.0)
        self.reward = check_real(who, "reward", reward, minimum=0.0)
        self.punishment = check_real(who, "punishment", punishment, minimum=0.0)
        self.forgetting = check_real(who, "forgetting", forgetting, minimum=0.0, maximum=1.0)
        self.normalize = check_flag(who, "normalize", normalize)
        shape = (self.n_subwords, self.neurons)
        self.register_buffer("som_weights", zeros(*shape, self.subword_size))
        self.register_buffer("som_counts", zeros(*shape, dtype="int64"))
        self.register_buffer("links", zeros(*shape, self.n_classes))

    def extra_repr(self):
        return (f"{self.n_subwords} x {self.subword_size} -> {self.n_classes}, "
                f"neurons={self.neurons}, threshold={self.threshold:g}")

    # -- inputs ------------------------------------------------------------------------------

    def _subwords(self, x, who):
        """``x`` as an (N, M, d) array on the model's device, sub-words normalised, and the
        (N, M) mask of sub-words that take part (non-zero ones, when normalising)."""
        array = x.data if isinstance(x, Tensor) else x
        device = self.links.device
        if array is x and device_of(array) is CPU:  # host data, copied to the model's device
            array = to_device(array, device)
        else:  # lists; tensors and arrays of another device are an error naming both
            array = device.asarray(array)
        xp = device.xp
        expected = self.n_subwords * self.subword_size
        if array.ndim < 2 or math.prod(array.shape[1:]) != expected:
            raise ValueError(f"{who}: expected (N, {expected}) or (N, {self.n_subwords}, "
                             f"{self.subword_size}) inputs, got shape {tuple(array.shape)}")
        words = array.reshape(array.shape[0], self.n_subwords, self.subword_size)
        words = words.astype(self.som_weights.dtype)
        if words.size and not bool(xp.isfinite(words).all()):
            raise ValueError(f"{who}: the inputs contain nan or inf")
        if not self.normalize:
            return words, xp.ones(words.shape[:2], dtype=bool)
        norms = xp.sqrt((words * words).sum(axis=2, keepdims=True))
        active = norms[..., 0] > 1e-6
        return words / xp.where(norms > 1e-6, norms, 1.0), active

    def _winners(self, words):
        """The nearest allocated neuron of each module, (N, M), and its squared distance
        (inf where a module has no neuron yet)."""
        xp = xp_of(words)
        weights = self.som_weights.data
        # |x - w|^2 = |x|^2 - 2 x.w + |w|^2, for every sample, module and neuron at once.
        cross = xp.einsum("nmd,mjd->nmj", words, weights)
        distances = (words * words).sum(axis=2)[..., None] - 2 * cross \
            + (weights * weights).sum(axis=2)[None]
        distances = xp.where(self.som_counts.data[None] > 0, distances, xp.inf)
        winners = distances.argmin(axis=2)
        nearest = xp.take_along_axis(distances, winners[..., None], axis=2)[..., 0]
        return winners, xp.maximum(nearest, 0.0)

    def _decide(self, winners, active):
        """The decision neurons' scores: the sum over active modules of the winners' links."""
        xp = xp_of(winners)
        modules = xp.arange(self.n_subwords)[None, :]
        votes = self.links.data[modules, winners]  # (N, M, K)
        return (votes * active[..., None]).sum(axis=1)

    def forward(self, x):
        """The decision scores (N, n_classes) (no learning)."""
        words, active = self._subwords(x, "LAMSTAR")
        xp = xp_of(words)
        winners, nearest = self._winners(words)
        active = active & xp.isfinite(nearest)  # a module with no neuron yet has no vote
        return Tensor(self._decide(winners, active))

    # -- learning ----------------------------------------------------------------------------

    def learn(self, words, active, label):
        """One training word (its (M, d) normalised sub-words and (M,) mask) of class
        ``label``: SOM winners (allocating neurons where needed), their update, then the
        links' reward and punishment. Returns whether the decision before learning was
        right."""
        xp = xp_of(words)
        weights, counts, links = self.som_weights.data, self.som_counts.data, self.links.data
        distances = ((weights - words[:, None, :]) ** 2).sum(axis=2)
        distances = xp.where(counts > 0, distances, xp.inf)
        winners = distances.argmin(axis=1)
        nearest = distances[xp.arange(self.n_subwords), winners]
        modules = xp.nonzero(active)[0]
        voting = modules[xp.isfinite(nearest[modules])]
        scores = links[voting, winners[voting]].sum(axis=0)
        decision = int(scores.argmax()) if voting.size else -1
        if decision >= 0 and int((scores == scores[decision]).sum()) > 1:
            decision = -1  # a tie is no decision (so the untrained net punishes nothing)
        right = decision == label
        voters = winners[voting].copy()  # the neurons that made the decision
        # Memory: a module whose nearest neuron is too far (or that has none) allocates one.
        far = modules[~(nearest[modules] <= self.threshold ** 2)]
        if far.size:
            free = counts[far] == 0
            has_room = free.any(axis=1)
            new = free.argmax(axis=1)
            grow = far[has_room]
            weights[grow, new[has_room]] = words[grow]
            winners[grow] = new[has_room]
        winners_active = winners[modules]
        # Kohonen: only the winners learn (a fresh neuron already sits on its sub-word).
        weights[modules, winners_active] += self.learning_rate * (
            words[modules] - weights[modules, winners_active])
        counts[modules, winners_active] += 1
        # Reward the winners' links to the right decision neuron; punish the links that
        # voted for a wrong decision (a neuron allocated just now took no part in it).
        links[modules, winners_active, label] += self.reward
        if decision >= 0 and not right:
            links[voting, voters, decision] -= self.punishment
        return right

    def fit(self, x, y, epochs=1, shuffle=True, seed=0, verbose=1, validation_data=None,
            checkpoint_dir=None, resume=False):
        """Train online, sample by sample, for ``epochs`` passes over ``(x, y)``.

        Args:
            x, y: inputs and integer labels in [0, n_classes).
            epochs: passes over the data.
            shuffle: visit the samples in a new random order every epoch (the order of
                epoch ``e`` depends on ``(seed, e)`` only, so a resumed run sees the same).
            verbose: 0 silent, 1 one line per epoch.
            validation_data: ``(x_val, y_val)``: its accuracy is logged as ``val_accuracy``.
            checkpoint_dir: a checkpoint (memory, epoch, history) written after every epoch
                (``somanet.io.save_checkpoint``).
            resume: continue from the checkpoint in ``checkpoint_dir`` (at the start of the
                epoch after the last one saved; an online pass cut short is redone).

        Returns:
            A ``History``: per epoch ``accuracy`` (the decisions made before each sample's
            update: online training accuracy), ``allocated`` (SOM neurons in use) and
            ``val_accuracy``.
        """
        who = "LAMSTAR.fit"
        epochs = check_positive_int(who, "epochs", epochs)
        shuffle = check_flag(who, "shuffle", shuffle)
        seed = check_int(who, "seed", seed, minimum=0)
        verbose = check_int(who, "verbose", verbose, minimum=0, maximum=1)
        labels = self._labels(y, who)
        words, active = self._subwords(x, who)
        if len(labels) != words.shape[0]:
            raise ValueError(f"{who}: x has {words.shape[0]} samples but y has {len(labels)}")
        folder = None
        if checkpoint_dir is not None:
            folder = check_writable(checkpoint_dir, who=who, what="checkpoints",
                                    hint="choose a folder you can write to")
        elif resume:
            raise ValueError(f"{who}: resume=True needs checkpoint_dir=")
        history = History()
        history.model = self
        start = 0
        if resume and is_checkpoint(folder):
            info = load_checkpoint(folder, model=self, restore_rng=False)
            start = info["epoch"]
            history.history = {key: list(values) for key, values in info["history"].items()}
            history.epoch = list(range(start))
        for epoch in range(start, epochs):
            order = numpy.random.default_rng([seed, epoch]).permutation(len(labels)) \
                if shuffle else numpy.arange(len(labels))
            right = 0
            with no_grad():
                for index in order.tolist():
                    right += self.learn(words[index], active[index], int(labels[index]))
                if self.forgetting:
                    self.links.data *= 1.0 - self.forgetting
            logs = {"accuracy": right / max(len(labels), 1),
                    "allocated": int((self.som_counts.data > 0).sum())}
            if validation_data is not None:
                logs["val_accuracy"] = self.accuracy(*validation_data)
            history.on_epoch_end(epoch, logs)
            if verbose:
                print(f"epoch {epoch + 1}/{epochs}: "
                      + ", ".join(f"{key} {value:.4g}" for key, value in logs.items()))
            if folder is not None:
                save_checkpoint(folder, self, epoch=epoch + 1, history=history.history,
                                rng=False)
        self.history = history
        self.eval()
        return history

    def _labels(self, y, who):
        labels = numpy.asarray(to_numpy(y.data) if isinstance(y, Tensor) else y)
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(f"{who}: y must be integer class labels (N,), got {labels.dtype} "
                             f"of shape {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise ValueError(f"{who}: labels must lie in [0, {self.n_classes}), got values from "
                             f"{labels.min()} to {labels.max()}")
        return labels

    def accuracy(self, x, y, batch_size=512):
        """The share of ``x`` classified as ``y`` (ties and silent networks count wrong)."""
        labels = self._labels(y, "LAMSTAR.accuracy")
        if len(x) != len(labels):
            raise ValueError(f"LAMSTAR.accuracy: x has {len(x)} samples but y has "
                             f"{len(labels)}")
        right = 0
        with no_grad():
            for start in range(0, len(labels), batch_size):
                scores = to_numpy(self(x[start:start + batch_size]).data)
                best = scores.max(axis=1, keepdims=True)
                unique = (scores == best).sum(axis=1) == 1
                right += int(((scores.argmax(axis=1) == labels[start:start + batch_size])
                              & unique).sum())
        return right / max(len(labels), 1)

    def allocated(self):
        """SOM neurons in use per module, a list."""
        return to_numpy((self.som_counts.data > 0).sum(axis=1)).tolist()

    def plot_links(self, path=None, module=None):
        """The link weights as a heat map: rows are the SOM neurons (of one module, or all
        modules one after another), columns the decision neurons."""
        from ..viz._common import finish, new_figure
        links = to_numpy(self.links.data)
        counts = to_numpy(self.som_counts.data)
        if module is not None:
            module = check_int("LAMSTAR.plot_links", "module", module, minimum=0,
                               maximum=self.n_subwords - 1)
            rows = links[module][counts[module] > 0]
            title = f"LAMSTAR module {module}: link weights"
        else:
            rows = links[counts > 0]
            title = "LAMSTAR: link weights of every allocated SOM neuron"
        figure, ax = new_figure(6, 5)
        image = ax.imshow(rows, aspect="auto", cmap="RdBu_r", interpolation="nearest",
                          vmin=-abs(rows).max(initial=1e-9), vmax=abs(rows).max(initial=1e-9))
        ax.set_xlabel("decision neuron (class)")
        ax.set_ylabel("SOM neuron")
        ax.set_title(title)
        figure.colorbar(image, ax=ax)
        figure.tight_layout()
        return finish(figure, path, "LAMSTAR.plot_links")
