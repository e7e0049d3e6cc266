r"""Restricted Boltzmann machines: Bernoulli-Bernoulli, Gaussian-Bernoulli and convolutional
(with probabilistic max-pooling), trained by contrastive divergence (CD-k) or persistent
contrastive divergence (PCD).

An RBM (Smolensky 1986; Hinton 2002, "Training products of experts by minimizing
contrastive divergence") is a two-layer undirected model: visible units ``v`` (the data)
and hidden units ``h`` (features), every visible unit connected to every hidden unit, no
connections within a layer. Its joint distribution is

.. math::

    p(v, h) = e^{-E(v, h)} / Z, \qquad Z = \sum_{v, h} e^{-E(v, h)},

    E(v, h) = -b^T v - c^T h - v^T W h        (Bernoulli visible and hidden units)

with ``W`` the weights ``(n_visible, n_hidden)``, ``b`` the visible and ``c`` the hidden
biases. With no connections inside a layer the conditionals factorise:

.. math::

    p(h_j = 1 | v) = \sigma(c_j + v^T W_{:j}), \qquad p(v_i = 1 | h) = \sigma(b_i + W_{i:} h).

Summing ``h`` out gives the free energy, ``p(v) = e^{-F(v)} / Z``:

.. math::

    F(v) = -b^T v - \sum_j \log(1 + e^{c_j + v^T W_{:j}}).

The gradient of the log-likelihood is ``-dF(v)/dθ`` at the data minus the same under the
model, ``E_model[-dF/dθ]``; for ``W`` that is ``<v h^T>_data - <v h^T>_model``. The model
expectation is intractable; CD-k (Hinton 2002) estimates it at ``v_k``, the end of a
``k``-step Gibbs chain (``h ~ p(h|v)``, ``v ~ p(v|h)``) started at the data; PCD (Tieleman
2008) keeps the chains from one update to the next instead of restarting them. Here the
update is written as a loss, so that somanet's autograd and optimisers do the rest::

    loss = mean F(v_data) - mean F(v_k) + (weight_decay / 2) |W|^2     (v_k held constant)

whose gradient is exactly the CD (or PCD) estimate, with the hidden probabilities (not
samples) in both statistics, as Hinton's practical guide (2010, "A practical guide to
training restricted Boltzmann machines", UTML TR 2010-003) recommends. ``fit`` is
``somanet.train``'s (callbacks, ``checkpoint_dir=`` / ``resume=True``, data parallelism);
it logs the reconstruction error as ``loss``: the mean squared difference between the data
and its mean-field reconstruction ``p(v | p(h | v))``, which the guide calls "a very poor
measure of the progress of learning" but cheap. For a model small enough to enumerate
(``min(n_visible, n_hidden) <= 20`` for Bernoulli units), ``log_partition()`` and
``log_likelihood(v)`` are exact; the ``ExactLogLikelihood`` callback records the exact
log-likelihood of the training data after every epoch.

The Gaussian-Bernoulli RBM (Hinton & Salakhutdinov 2006; the guide's section 13.2) has
real-valued visible units with standard deviations ``σ`` (fixed, not learned)::

    E(v, h) = sum_i (v_i - b_i)^2 / (2 σ_i^2) - c^T h - (v / σ)^T W h
    p(h_j = 1 | v) = σ(c_j + (v / σ)^T W_{:j}),   p(v_i | h) = N(b_i + σ_i W_{i:} h, σ_i^2)
    F(v) = sum_i (v_i - b_i)^2 / (2 σ_i^2) - sum_j log(1 + e^{c_j + (v / σ)^T W_{:j}})

The convolutional RBM with probabilistic max-pooling (Lee, Grosse, Ranganath & Ng 2009,
"Convolutional deep belief networks for scalable unsupervised learning of hierarchical
representations", ICML) shares each of ``K`` filters ``W^k`` over the image: group ``k`` of
hidden units sees ``I^k = W^k * v + b_k`` (a "valid" cross-correlation), and the hidden
units are split into ``P x P`` blocks ``B_α``, each with a pooling unit ``p_α``, of which at
most one unit is on (on exactly when the pooling unit is). Then

.. math::

    p(h^k_{ij} = 1 | v) = \frac{e^{I^k_{ij}}}{1 + \sum_{(i', j') \in B_α} e^{I^k_{i'j'}}},
    \qquad p(p^k_α = 0 | v) = \frac{1}{1 + \sum_{(i', j') \in B_α} e^{I^k_{i'j'}}},

    p(v = 1 | h) = \sigma(\sum_k W^k \star h^k + c)        (a "full" convolution),

    F(v) = -c \sum v - \sum_{k, α} \log(1 + \sum_{(i, j) \in B_α} e^{I^k_{ij}}).

The pooling units' probabilities are the layer's output (``ConvRBM.forward``), the input
of the next layer in a convolutional DBN (``somanet.models.dbn``). Lee et al.'s sparsity
regularisation pulls each group's mean activation towards a target ``p``: the hidden bias
``b_k`` moves by ``lr * sparsity_cost * (p - q_k)`` each update, ``q_k`` the group's mean
``p(h^k = 1 | v)`` on the batch (Lee, Ekanadham & Ng 2008 apply it to the biases only, as
here).

    >>> import numpy as np
    >>> import somanet as sn
    >>> from somanet import models
    >>> sn.manual_seed(0)
    >>> x = (np.random.default_rng(0).random((64, 9)) < 0.3).astype(np.float32)
    >>> rbm = models.RBM(9, 4, k=1)
    >>> rbm.compile()                      # SGD, learning rate 0.1, momentum 0.5
    >>> history = rbm.fit(x, epochs=2, batch_size=16, verbose=0)
    >>> sorted(history.history)           # "loss" is the reconstruction error
    ['loss', 'lr']
    >>> rbm.free_energy(x[:2]).shape, rbm.log_likelihood(x).shape
    ((2,), (64,))
"""
import math
import warnings

import numpy

from .. import nn, ops
from .._checks import check_choice, check_flag, check_int, check_positive_int, check_real
from ..autograd import no_grad
from ..backend import to_numpy, xp_of
from ..optim import SGD
from ..tensor import Tensor
from ..train import Model
from ..train.callbacks import Callback
from ..train.trainer import LossIncreasingWarning

MAX_ENUMERATED_UNITS = 20  # log_partition enumerates 2^n states of one layer, n at most this


def _states(count, start, stop, xp):
    """The binary vectors numbered ``start .. stop - 1`` of ``count`` bits, float64
    ``(stop - start, count)``: row ``r`` holds the bits of ``start + r``."""
    numbers = xp.arange(start, stop, dtype=xp.int64)[:, None]
    return ((numbers >> xp.arange(count, dtype=xp.int64)[None, :]) & 1).astype(xp.float64)


def _logaddexp_all(xp, values):
    """``log sum exp(values)`` in float64."""
    peak = values.max()
    return float(peak + xp.log(xp.exp(values - peak).sum()))


def _bernoulli(probabilities):
    """Binary samples with the given probabilities (the somanet RNG, so runs reproduce)."""
    return (ops.rand_like(probabilities) < probabilities).astype(probabilities.dtype)


class _ContrastiveDivergence(Model):
    """What every RBM here shares: compile / fit / evaluate for CD-k and PCD, the training
    step, the reconstruction error. A subclass defines ``_visible`` (check and shape the
    input), ``hidden_probabilities``, ``visible_mean``, ``sample_visible``,
    ``_sample_hidden_from``, ``free_energy`` and ``_penalty``."""

    k = 1
    persistent = False
    default_learning_rate = 0.1

    def _set_training(self, who, k, persistent, weight_decay):
        self.k = check_positive_int(who, "k", k, what="a positive number of Gibbs steps")
        self.persistent = check_flag(who, "persistent", persistent)
        self.weight_decay = check_real(who, "weight_decay", weight_decay, minimum=0.0,
                                       what="a non-negative L2 weight cost")

    # -- compile / fit / evaluate ------------------------------------------------------------

    def compile(self, optimizer=None, learning_rate=None):
        """Choose the optimiser for ``fit``; the loss is the CD objective (see the module).

        Args:
            optimizer: as ``Model.compile`` (a name, an Optimizer, a class or a factory).
                Default: SGD with momentum 0.5 (Hinton's guide starts there).
            learning_rate: for the default optimiser, default 0.1 (the guide's rate for
                binary data; use ~0.001-0.01 for Gaussian visible units) and 2.0 for
                ``ConvRBM`` (its statistics are averaged over positions and its hidden
                units are sparse, so its gradients are much smaller); else that
                optimiser's default.
        """
        if optimizer is None:
            rate = self.default_learning_rate if learning_rate is None else learning_rate
            learning_rate = None

            def optimizer(params, lr=rate):
                return SGD(params, lr=lr, momentum=0.5)
        # The compiled loss is never called (train_step and test_step compute their own);
        # it is there because Model.compile requires one.
        super().compile(optimizer=optimizer, loss="mse", learning_rate=learning_rate)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, **kwargs):
        """Train by CD-k (or PCD with ``persistent=True``) on ``x``: ``Model.fit`` with the
        same options (``callbacks``, ``validation_data=(x_val,)``, ``checkpoint_dir``,
        ``resume``, ``seed``...). ``y`` is ignored (an RBM is unsupervised). The logged
        ``loss`` is the reconstruction error; fit does not warn when it rises (it is not
        the objective, and under PCD it often rises while the likelihood improves).

        Returns:
            The ``History``.
        """
        if "validation_data" in kwargs and kwargs["validation_data"] is not None:
            kwargs["validation_data"] = self._unsupervised(kwargs["validation_data"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LossIncreasingWarning)
            return super().fit(*self._unsupervised(x), batch_size=batch_size, epochs=epochs,
                               **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        """The reconstruction error on ``x`` (``Model.evaluate``'s options; ``y`` ignored)."""
        return super().evaluate(*self._unsupervised(x), batch_size=batch_size, **kwargs)

    @staticmethod
    def _unsupervised(x):
        """``(x, dummy targets)``: ``Model.fit`` wants targets; an RBM ignores them."""
        if isinstance(x, (tuple, list)) and len(x) in (1, 2) and hasattr(x[0], "shape"):
            x = x[0]  # validation_data=(x_val,) or (x_val, y_val)
        if not hasattr(x, "shape") or not hasattr(x, "__len__"):
            raise TypeError(f"RBM training takes an array of samples (NumPy or Tensor), got "
                            f"{type(x).__name__}; for a Dataset, index its samples into an "
                            f"array first")
        return x, numpy.zeros(len(x), dtype=numpy.float32)

    # -- the steps ---------------------------------------------------------------------------

    def train_step(self, batch):
        """One CD-k / PCD update on a batch; returns its reconstruction error."""
        x, _ = batch
        data = self._visible(x, "fit")
        with no_grad():
            positive = self.hidden_probabilities(data)
            error = self._squared_error(data, self.visible_mean(positive))
            if self.persistent:
                hidden = self._sample_hidden_from(self.hidden_probabilities(self.chains))
            else:
                hidden = self._sample_hidden_from(positive)
            fantasy = self._run_chain(hidden, self.k)
            if self.persistent:
                self.chains.data[...] = fantasy.data
        loss = self.free_energy(data).mean() - self.free_energy(fantasy).mean()
        scale = self._objective_scale(data)
        if scale != 1:
            loss = loss * scale
        penalty = self._penalty(positive)
        if penalty is not None:
            loss = loss + penalty
        self.minimize(loss, int(data.shape[0]))
        return error

    def test_step(self, batch):
        x, _ = batch
        return self.reconstruction_error(x)

    def _objective_scale(self, data):
        """A factor on the CD loss (1; a convolutional RBM averages over positions)."""
        return 1

    def _run_chain(self, hidden, steps):
        """``steps`` Gibbs steps from hidden states: ``v ~ p(v|h)`` then, between steps,
        ``h ~ p(h|v)``; returns the last visible sample."""
        visible = self.sample_visible(hidden)
        for _ in range(steps - 1):
            hidden = self._sample_hidden_from(self.hidden_probabilities(visible))
            visible = self.sample_visible(hidden)
        return visible

    @staticmethod
    def _squared_error(data, reconstruction):
        difference = data - reconstruction
        return (difference * difference).mean()

    # -- shared public API -------------------------------------------------------------------

    def forward(self, v):
        """The hidden units' probabilities ``p(h = 1 | v)`` (the RBM as a feature layer)."""
        return self.hidden_probabilities(v)

    def sample_hidden(self, v):
        """Binary hidden states drawn from ``p(h | v)``."""
        with no_grad():
            return self._sample_hidden_from(self.hidden_probabilities(v))

    def gibbs(self, v, steps=1):
        """``steps`` steps of block Gibbs sampling from visible states ``v``: each step draws
        ``h ~ p(h | v)`` then ``v ~ p(v | h)``. Returns the last visible sample."""
        steps = check_positive_int(type(self).__name__ + ".gibbs", "steps", steps)
        with no_grad():
            hidden = self._sample_hidden_from(self.hidden_probabilities(self._visible(v)))
            return self._run_chain(hidden, steps)

    def reconstruct(self, v):
        """The mean-field reconstruction ``E[v | h = p(h | v)]``."""
        with no_grad():
            return self.visible_mean(self.hidden_probabilities(v))

    def reconstruction_error(self, v):
        """The mean squared difference between ``v`` and ``reconstruct(v)``, a float."""
        with no_grad():
            data = self._visible(v)
            return float(self._squared_error(data, self.reconstruct(data)))

    def _as_tensor(self, v):
        if isinstance(v, Tensor):
            return v
        return Tensor(v, device=self._device())


class RBM(_ContrastiveDivergence):
    """A restricted Boltzmann machine with binary (Bernoulli) visible and hidden units,
    trained by CD-k or PCD (see the module docstring for the maths).

    Args:
        n_visible: visible units (784 for 28 x 28 images).
        n_hidden: hidden units (features).
        k: Gibbs steps per update (CD-k; PCD's steps per update when ``persistent``).
        persistent: persistent contrastive divergence (Tieleman 2008): ``chains`` fantasy
            particles kept from update to update (a buffer, so in ``state_dict`` and in
            checkpoints).
        chains: the number of persistent chains (default 100; only with ``persistent``).
        weight_decay: the L2 cost on the weights (not the biases), the guide's 0.0001
            being typical; added to the loss as ``weight_decay / 2 * |W|^2``.
        image_shape: the shape of one sample, e.g. ``(28, 28)``, to draw the filters
            (``filters()``, ``plot_filters``); inputs of that shape are flattened.
        init_std: the weights start ~ N(0, init_std^2) (0.01, the guide's); the biases at 0
            (``init_visible_bias(x)`` sets ``b_i = log(p_i / (1 - p_i))`` from data).

    Shape:
        ``v``: (N, n_visible) or (N, *image_shape), values in [0, 1] (binary, or
        probabilities) -> ``forward(v)``: (N, n_hidden), ``p(h = 1 | v)``.

    Attributes:
        weight: (n_visible, n_hidden). visible_bias: (n_visible,). hidden_bias: (n_hidden,).
        chains: (chains, n_visible), PCD's fantasy particles (``persistent=True`` only).

    Raises:
        ValueError: for visible values outside [0, 1] (pixels in 0-255, standardised data):
            scale them, or use ``GaussianBernoulliRBM`` for real values.
    """

    visible_units = "bernoulli"

    def __init__(self, n_visible, n_hidden, k=1, persistent=False, chains=None,
                 weight_decay=0.0, image_shape=None, init_std=0.01, name=None):
        super().__init__(name=name)
        who = type(self).__name__
        self.n_visible = check_positive_int(who, "n_visible", n_visible)
        self.n_hidden = check_positive_int(who, "n_hidden", n_hidden)
        self._set_training(who, k, persistent, weight_decay)
        if image_shape is not None:
            image_shape = tuple(check_positive_int(who, "image_shape entries", size)
                                for size in image_shape)
            if math.prod(image_shape) != self.n_visible:
                raise ValueError(f"{who}: image_shape {image_shape} has "
                                 f"{math.prod(image_shape)} pixels, but n_visible is "
                                 f"{self.n_visible}")
        self.image_shape = image_shape
        init_std = check_real(who, "init_std", init_std, minimum=0.0)
        self.weight = nn.Parameter(nn.init.normal((self.n_visible, self.n_hidden),
                                                  std=init_std))
        self.visible_bias = nn.Parameter(ops.zeros(self.n_visible))
        self.hidden_bias = nn.Parameter(ops.zeros(self.n_hidden))
        if chains is not None and not self.persistent:
            raise ValueError(f"{who}: chains= is the number of persistent chains; it needs "
                             f"persistent=True")
        if self.persistent:
            count = check_positive_int(who, "chains", 100 if chains is None else chains)
            self.register_buffer("chains", self._initial_chains(count))

    def extra_repr(self):
        text = f"{self.n_visible}, {self.n_hidden}, k={self.k}"
        return text + (f", persistent, chains={self.chains.shape[0]}" if self.persistent
                       else "")

    def _initial_chains(self, count):
        return (ops.rand(count, self.n_visible) < 0.5).astype("float32")

    # -- inputs ------------------------------------------------------------------------------

    def _visible(self, v, who=None):
        """``v`` as an (N, n_visible) Tensor on the model's device, checked."""
        who = f"{type(self).__name__}{'.' + who if who else ''}"
        v = self._as_tensor(v)
        if v.dtype.kind != "f":
            v = v.astype(self.weight.dtype)
        if v.ndim >= 2 and math.prod(v.shape[1:]) == self.n_visible:
            if v.ndim > 2:
                v = v.reshape(v.shape[0], self.n_visible)
        else:
            raise ValueError(f"{who}: expected (N, {self.n_visible}) visible values"
                             + (f" or (N, {', '.join(map(str, self.image_shape))}) images"
                                if self.image_shape else "")
                             + f", got shape {tuple(v.shape)}")
        self._check_values(v, who)
        return v

    def _check_values(self, v, who):
        if v.size == 0:
            return
        low, high = float(v.data.min()), float(v.data.max())
        if not (low >= 0.0 and high <= 1.0):  # also catches nan
            raise ValueError(
                f"{who}: Bernoulli visible units take values in [0, 1] (binary data or "
                f"probabilities), got values from {low:g} to {high:g}; scale the data "
                f"(x / 255 for 8-bit pixels), or use GaussianBernoulliRBM for real-valued "
                f"data")

    def init_visible_bias(self, x):
        """Set the visible biases to ``log(p_i / (1 - p_i))``, ``p_i`` the mean of unit ``i``
        over ``x`` (the guide's section 8; clipped to [0.01, 0.99])."""
        with no_grad():
            mean = self._visible(x, "init_visible_bias").mean(axis=0)
            mean = mean.clip(0.01, 0.99)
            self.visible_bias.data[...] = ops.log(mean / (1.0 - mean)).data

    # -- the conditionals --------------------------------------------------------------------

    def _hidden_input(self, v):
        return ops.linear(v, self.weight, self.hidden_bias)

    def hidden_probabilities(self, v):
        """``p(h_j = 1 | v) = sigmoid(c_j + v W_{:j})``, (N, n_hidden)."""
        return ops.sigmoid(self._hidden_input(self._visible(v)))

    def _sample_hidden_from(self, probabilities):
        return _bernoulli(probabilities)

    def visible_mean(self, h):
        """``E[v | h] = p(v = 1 | h) = sigmoid(b + h W^T)``, (N, n_visible)."""
        h = self._as_tensor(h)
        return ops.sigmoid(ops.linear(h, self.weight.T, self.visible_bias))

    def sample_visible(self, h):
        """Visible states drawn from ``p(v | h)``."""
        with no_grad():
            return _bernoulli(self.visible_mean(h))

    # -- energies ----------------------------------------------------------------------------

    def energy(self, v, h):
        """``E(v, h) = -b.v - c.h - v W h`` per sample, (N,)."""
        v, h = self._visible(v, "energy"), self._as_tensor(h)
        return -(v * self.visible_bias).sum(axis=1) - (h * self.hidden_bias).sum(axis=1) \
            - ((v @ self.weight) * h).sum(axis=1)

    def free_energy(self, v):
        """``F(v) = -b.v - sum_j log(1 + exp(c_j + v W_{:j}))`` per sample, (N,):
        ``p(v) = exp(-F(v)) / Z``. Differentiable (the CD loss is built from it)."""
        v = self._visible(v, "free_energy")
        return -(v * self.visible_bias).sum(axis=1) \
            - ops.softplus(self._hidden_input(v)).sum(axis=1)

    def _penalty(self, positive):
        if not self.weight_decay:
            return None
        return (self.weight * self.weight).sum() * (0.5 * self.weight_decay)

    # -- exact quantities (small models) -----------------------------------------------------

    def log_partition(self):
        """The exact ``log Z``, a float, by enumerating the smaller layer's ``2^n`` states
        (the other summed analytically), in float64.

        Raises:
            ValueError: when both layers have more than 20 units.
        """
        weight, b, c, xp = self._float64_parameters()
        if min(self.n_visible, self.n_hidden) > MAX_ENUMERATED_UNITS:
            raise ValueError(f"{type(self).__name__}.log_partition: enumerating needs a layer "
                             f"of at most {MAX_ENUMERATED_UNITS} units, got {self.n_visible} "
                             f"visible and {self.n_hidden} hidden")
        if self.n_hidden <= self.n_visible:  # sum over h of e^{c.h} prod_i (1 + e^{b_i + W_i h})
            count, own, other, matrix = self.n_hidden, c, b, weight.T
        else:  # sum over v of e^{-F(v)}
            count, own, other, matrix = self.n_visible, b, c, weight
        return self._enumerate(count, xp, lambda s: s @ own + xp.logaddexp(
            0.0, s @ matrix + other).sum(axis=1))

    @staticmethod
    def _enumerate(count, xp, log_weight, chunk=1 << 14):
        """``log sum_s exp(log_weight(s))`` over the ``2^count`` binary vectors ``s``."""
        parts = []
        for start in range(0, 1 << count, chunk):
            states = _states(count, start, min(start + chunk, 1 << count), xp)
            parts.append(_logaddexp_all(xp, log_weight(states)))
        return _logaddexp_all(xp, xp.asarray(parts))

    def _float64_parameters(self):
        xp = xp_of(self.weight.data)
        return (self.weight.data.astype(xp.float64), self.visible_bias.data.astype(xp.float64),
                self.hidden_bias.data.astype(xp.float64), xp)

    def log_likelihood(self, v):
        """The exact ``log p(v) = -F(v) - log Z`` per sample (float64 Tensor (N,)), for
        models small enough for ``log_partition``."""
        with no_grad():
            v = self._visible(v, "log_likelihood")
            weight, b, c, xp = self._float64_parameters()
            data = v.data.astype(xp.float64)
            minus_free = data @ b + xp.logaddexp(0.0, data @ weight + c).sum(axis=1)
            return Tensor(minus_free - self.log_partition(), dtype="float64")

    # -- sampling and pictures ---------------------------------------------------------------

    def sample(self, n, steps=1000, start=None):
        """Draw ``n`` samples by running ``steps`` steps of Gibbs sampling from random
        visible states (or from ``start``); returns the last step's visible means
        ``E[v | h]`` (N, n_visible), smoother to look at than binary samples."""
        who = type(self).__name__ + ".sample"
        n = check_positive_int(who, "n", n)
        steps = check_positive_int(who, "steps", steps)
        with no_grad():
            visible = self._initial_chains(n) if start is None else self._visible(start, who)
            visible = visible.to(self._device())
            for _ in range(steps):
                hidden = self._sample_hidden_from(self.hidden_probabilities(visible))
                mean = self.visible_mean(hidden)
                visible = self._draw_visible(mean)
            return mean

    def _draw_visible(self, mean):
        return _bernoulli(mean)

    def filters(self):
        """The weights into each hidden unit as a NumPy array, (n_hidden, *image_shape)
        (or (n_hidden, n_visible) without ``image_shape``): the learned features."""
        weights = to_numpy(self.weight.data).T
        return weights.reshape((self.n_hidden,) + tuple(self.image_shape)) \
            if self.image_shape else weights

    def plot_filters(self, path=None, limit=100, columns=10):
        """The filters as an image grid (``somanet.viz.plot_image_grid``); needs
        ``image_shape``. Returns the Figure (saved to ``path`` as a PNG if given)."""
        if not self.image_shape:
            raise ValueError(f"{type(self).__name__}.plot_filters: the filters need an image "
                             f"shape; build the RBM with image_shape=(28, 28)")
        from .. import viz
        return viz.plot_image_grid(self.filters(), path=path, columns=columns, limit=limit)


class GaussianBernoulliRBM(RBM):
    """An RBM with real-valued (Gaussian) visible units of fixed standard deviations
    ``sigma`` and binary hidden units (the module docstring has the energy).

    Standardise the data (zero mean, unit variance per unit) and keep ``sigma=1``, as the
    guide advises: learning ``σ`` with CD is unstable, so it is fixed here. Use a learning
    rate 10-100 times smaller than for binary units (``compile(learning_rate=0.005)``).

    Args:
        sigma: the visible units' standard deviation, a number or one per unit.
        Others as ``RBM``.

    Raises:
        ValueError: for non-finite visible values.
    """

    visible_units = "gaussian"

    def __init__(self, n_visible, n_hidden, sigma=1.0, **kwargs):
        super().__init__(n_visible, n_hidden, **kwargs)
        sigma_array = numpy.broadcast_to(numpy.asarray(sigma, dtype=numpy.float32),
                                         (self.n_visible,)).copy()
        if not (numpy.isfinite(sigma_array).all() and (sigma_array > 0).all()):
            raise ValueError(f"GaussianBernoulliRBM: sigma must be positive and finite, got "
                             f"{sigma!r}")
        self.register_buffer("sigma", Tensor(sigma_array))

    def _initial_chains(self, count):
        sigma = getattr(self, "sigma", None)
        noise = ops.randn(count, self.n_visible)
        return noise if sigma is None else noise * sigma + self.visible_bias.detach()

    def _check_values(self, v, who):
        if v.size and not bool(xp_of(v.data).isfinite(v.data).all()):
            raise ValueError(f"{who}: the visible values contain nan or inf")

    def init_visible_bias(self, x):
        """Set the visible biases to the data's mean (the Gaussians' centres)."""
        with no_grad():
            self.visible_bias.data[...] = self._visible(x, "init_visible_bias").mean(
                axis=0).data

    def _hidden_input(self, v):
        return ops.linear(v / self.sigma, self.weight, self.hidden_bias)

    def hidden_probabilities(self, v):
        """``p(h_j = 1 | v) = sigmoid(c_j + (v / σ) W_{:j})``."""
        return ops.sigmoid(self._hidden_input(self._visible(v)))

    def visible_mean(self, h):
        """``E[v | h] = b + σ (h W^T)``."""
        h = self._as_tensor(h)
        return ops.linear(h, self.weight.T) * self.sigma + self.visible_bias

    def sample_visible(self, h):
        """``v ~ N(b + σ h W^T, σ^2)``."""
        with no_grad():
            return self._draw_visible(self.visible_mean(h))

    def _draw_visible(self, mean):
        return mean + ops.randn_like(mean) * self.sigma

    def energy(self, v, h):
        """``E(v, h) = sum (v - b)^2 / (2 σ^2) - c.h - (v / σ) W h`` per sample."""
        v, h = self._visible(v, "energy"), self._as_tensor(h)
        scaled = (v - self.visible_bias) / self.sigma
        return (scaled * scaled).sum(axis=1) * 0.5 - (h * self.hidden_bias).sum(axis=1) \
            - (((v / self.sigma) @ self.weight) * h).sum(axis=1)

    def free_energy(self, v):
        """``F(v) = sum (v - b)^2 / (2 σ^2) - sum_j log(1 + exp(c_j + (v / σ) W_{:j}))``."""
        v = self._visible(v, "free_energy")
        scaled = (v - self.visible_bias) / self.sigma
        return (scaled * scaled).sum(axis=1) * 0.5 \
            - ops.softplus(self._hidden_input(v)).sum(axis=1)

    def log_partition(self):
        """The exact ``log Z`` (a float): ``2^n_hidden`` hidden states enumerated, the
        Gaussian integral over ``v`` done analytically::

            log Z = sum_i log(sqrt(2 pi) σ_i)
                    + log sum_h exp(c.h + sum_i (b_i a_i / σ_i + a_i^2 / 2)),  a = W h

        Raises:
            ValueError: with more than 20 hidden units.
        """
        weight, b, c, xp = self._float64_parameters()
        if self.n_hidden > MAX_ENUMERATED_UNITS:
            raise ValueError(f"GaussianBernoulliRBM.log_partition: enumerating needs at most "
                             f"{MAX_ENUMERATED_UNITS} hidden units, got {self.n_hidden}")
        sigma = self.sigma.data.astype(xp.float64)

        def log_weight(states):
            a = states @ weight.T
            return states @ c + (a * (b / sigma) + 0.5 * a * a).sum(axis=1)

        constant = float(xp.log(math.sqrt(2 * math.pi) * sigma).sum())
        return constant + self._enumerate(self.n_hidden, xp, log_weight)

    def log_likelihood(self, v):
        """The exact log-density ``log p(v) = -F(v) - log Z`` per sample (float64 (N,))."""
        with no_grad():
            v = self._visible(v, "log_likelihood")
            weight, b, c, xp = self._float64_parameters()
            sigma = self.sigma.data.astype(xp.float64)
            data = v.data.astype(xp.float64)
            minus_free = -0.5 * (((data - b) / sigma) ** 2).sum(axis=1) \
                + xp.logaddexp(0.0, (data / sigma) @ weight + c).sum(axis=1)
            return Tensor(minus_free - self.log_partition(), dtype="float64")


class ConvRBM(_ContrastiveDivergence):
    """A convolutional RBM with probabilistic max-pooling (Lee et al. 2009), trained by CD-k;
    the maths is in the module docstring.

    Args:
        in_channels: visible channels (1 for grayscale digits; the previous layer's
            filters in a convolutional DBN).
        filters: ``K``, the number of filters (hidden groups).
        kernel_size: the filters' side ``f``: hidden groups are ``(H - f + 1, W - f + 1)``.
        pool_size: ``P``, the side of the max-pooling blocks; hidden rows and columns past
            the last whole block are left out of the model (no unit there).
        visible: ``"bernoulli"`` (values in [0, 1]) or ``"gaussian"`` (real values,
            unit variance: standardise the data).
        k: Gibbs steps per update (CD-k). Persistent chains are not offered: their shape
            would depend on the image size, which the model only learns from the data.
        sparsity_target: ``p``, the wanted mean activation of each hidden group.
        sparsity_cost: ``λ``, the strength of the pull (0 turns it off).
        weight_decay: L2 cost on the filters.
        init_std: the filters start ~ N(0, init_std^2); the hidden biases at -2 (units
            mostly off, near the sparsity target), the visible biases at 0
            (``init_visible_bias(x)`` sets them from data).

    Shape:
        ``v``: (N, in_channels, H, W) (or (N, H, W) with one channel) -> ``forward(v)``:
        the pooling units' probabilities, (N, K, (H - f + 1) // P, (W - f + 1) // P).

    Attributes:
        weight: (K, in_channels, f, f). hidden_bias: (K,). visible_bias: (in_channels,).
    """

    default_learning_rate = 2.0

    def __init__(self, in_channels=1, filters=24, kernel_size=7, pool_size=2,
                 visible="bernoulli", k=1, sparsity_target=0.02, sparsity_cost=2.0,
                 weight_decay=0.0, init_std=0.01, name=None):
        super().__init__(name=name)
        who = "ConvRBM"
        self.in_channels = check_positive_int(who, "in_channels", in_channels)
        self.filters = check_positive_int(who, "filters", filters)
        self.kernel_size = check_positive_int(who, "kernel_size", kernel_size)
        self.pool_size = check_positive_int(who, "pool_size", pool_size)
        self.visible_units = check_choice(who, "visible", visible, ("bernoulli", "gaussian"))
        self._set_training(who, k, False, weight_decay)
        self.sparsity_target = check_real(who, "sparsity_target", sparsity_target,
                                          minimum=0.0, maximum=1.0)
        self.sparsity_cost = check_real(who, "sparsity_cost", sparsity_cost, minimum=0.0)
        init_std = check_real(who, "init_std", init_std, minimum=0.0)
        shape = (self.filters, self.in_channels, self.kernel_size, self.kernel_size)
        self.weight = nn.Parameter(nn.init.normal(shape, std=init_std))
        self.hidden_bias = nn.Parameter(ops.full((self.filters,), -2.0))
        self.visible_bias = nn.Parameter(ops.zeros(self.in_channels))

    def init_visible_bias(self, x):
        """Set each channel's visible bias from data: ``log(p / (1 - p))``, ``p`` the
        channel's mean (Bernoulli units; clipped to [0.01, 0.99]), or the mean (Gaussian)."""
        with no_grad():
            mean = self._visible(x, "init_visible_bias").mean(axis=(0, 2, 3))
            if self.visible_units == "bernoulli":
                mean = mean.clip(0.01, 0.99)
                mean = ops.log(mean / (1.0 - mean))
            self.visible_bias.data[...] = mean.data

    def extra_repr(self):
        return (f"{self.in_channels} -> {self.filters}, kernel_size={self.kernel_size}, "
                f"pool_size={self.pool_size}, visible={self.visible_units!r}, k={self.k}")

    # -- inputs and shapes -------------------------------------------------------------------

    def _visible(self, v, who=None):
        who = f"ConvRBM{'.' + who if who else ''}"
        v = self._as_tensor(v)
        if v.dtype.kind != "f":
            v = v.astype(self.weight.dtype)
        if v.ndim == 3 and self.in_channels == 1:
            v = v.reshape(v.shape[0], 1, v.shape[1], v.shape[2])
        if v.ndim != 4 or v.shape[1] != self.in_channels:
            raise ValueError(f"{who}: expected images (N, {self.in_channels}, H, W)"
                             + (" or (N, H, W)" if self.in_channels == 1 else "")
                             + f", got shape {tuple(v.shape)}")
        side = self.kernel_size + self.pool_size - 1
        if v.shape[2] < side or v.shape[3] < side:
            raise ValueError(f"{who}: images of {v.shape[2]} x {v.shape[3]} are too small for "
                             f"{self.kernel_size} x {self.kernel_size} filters and "
                             f"{self.pool_size} x {self.pool_size} pooling; expected at least "
                             f"{side} x {side}")
        if v.size:
            low, high = float(v.data.min()), float(v.data.max())
            if self.visible_units == "bernoulli" and not (low >= 0.0 and high <= 1.0):
                raise ValueError(
                    f"{who}: Bernoulli visible units take values in [0, 1], got values "
                    f"from {low:g} to {high:g}; scale the data (x / 255 for 8-bit pixels), or "
                    f"use visible='gaussian' for real-valued (standardised) data")
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(f"{who}: the visible values contain nan or inf")
        return v

    def _block_view(self, v):
        """The hidden inputs ``I = W * v + b`` as blocks, (N, K, Hp, P, Wp, P) (rows and
        columns past the last whole block dropped), and the (H', W') of the full maps."""
        hidden_input = ops.conv2d(v, self.weight, self.hidden_bias)
        n, groups, rows, columns = hidden_input.shape
        size = self.pool_size
        pooled_rows, pooled_columns = rows // size, columns // size
        if pooled_rows * size != rows or pooled_columns * size != columns:
            hidden_input = hidden_input[:, :, :pooled_rows * size, :pooled_columns * size]
        blocks = hidden_input.reshape(n, groups, pooled_rows, size, pooled_columns, size)
        return blocks, (rows, columns)

    def _block_terms(self, v):
        """Per block: ``e^{I - m}`` for each unit (N, K, Hp, P, Wp, P), and ``1 + sum e^I``
        as ``total = sum e^{I - m} + e^{-m}`` (N, K, Hp, 1, Wp, 1), with ``m = max(0, max
        I)`` a constant shift for stability. Returns ``(exp_units, total, m, map size)``."""
        blocks, size = self._block_view(v)
        xp = xp_of(blocks.data)
        shift = Tensor(xp.maximum(self._block_reduce(blocks.data, xp.maximum), 0.0))
        exp_units = ops.exp(blocks - shift)
        total = self._block_sum(exp_units) + ops.exp(-shift)
        return exp_units, total, shift, size

    def _block_reduce(self, blocks, combine):
        """``combine`` (``xp.maximum``...) over each block of an array, keeping the block
        axes as 1s: P*P strided views, much faster than a reduction over two short axes."""
        size = self.pool_size
        result = blocks[:, :, :, 0:1, :, 0:1]
        for row in range(size):
            for column in range(size):
                if row or column:
                    result = combine(result, blocks[:, :, :, row:row + 1, :, column:column + 1])
        return result

    def _block_sum(self, blocks):
        """The differentiable sum over each block, (N, K, Hp, 1, Wp, 1): an average pool."""
        n, groups, pooled_rows, size, pooled_columns, _ = blocks.shape
        grid = blocks.reshape(n, groups, pooled_rows * size, pooled_columns * size)
        pooled = ops.avg_pool2d(grid, size) * float(size * size)
        return pooled.reshape(n, groups, pooled_rows, 1, pooled_columns, 1)

    def _full_map(self, blocks, size):
        """(N, K, Hp, P, Wp, P) -> (N, K, H', W'), zeros where no block is."""
        n, groups, pooled_rows, pool, pooled_columns, _ = blocks.shape
        grid = blocks.reshape(n, groups, pooled_rows * pool, pooled_columns * pool)
        pad_rows, pad_columns = size[0] - grid.shape[2], size[1] - grid.shape[3]
        if pad_rows or pad_columns:
            grid = ops.pad(grid, ((0, 0), (0, 0), (0, pad_rows), (0, pad_columns)))
        return grid

    # -- the conditionals --------------------------------------------------------------------

    def hidden_probabilities(self, v):
        """``p(h^k_ij = 1 | v)``, (N, K, H - f + 1, W - f + 1): ``e^I / (1 + sum_block e^I)``
        (0 where no block is). Differentiable."""
        exp_units, total, _, size = self._block_terms(self._visible(v))
        return self._full_map(exp_units / total, size)

    def pool_probabilities(self, v):
        """``p(p^k_α = 1 | v) = 1 - 1 / (1 + sum_{B_α} e^I)``, (N, K, Hp, Wp): the layer's
        output. Differentiable (a convolutional DBN fine-tunes through it)."""
        exp_units, total, _, _ = self._block_terms(self._visible(v))
        pooled = self._block_sum(exp_units) / total
        n, groups, pooled_rows, _, pooled_columns, _ = pooled.shape
        return pooled.reshape(n, groups, pooled_rows, pooled_columns)

    def forward(self, v):
        """The pooling units' probabilities (see ``pool_probabilities``)."""
        return self.pool_probabilities(v)

    def _sample_hidden_from(self, probabilities):
        """At most one unit on per block: a categorical draw over the block's units and
        "off", from ``p(h = 1 | v)`` (N, K, H', W'), by the inverse of the cumulative
        distribution over the block's units in row-major order (beyond it: "off")."""
        data = probabilities.data
        xp = xp_of(data)
        n, groups, rows, columns = data.shape
        size = self.pool_size
        pooled_rows, pooled_columns = rows // size, columns // size
        blocks = data[:, :, :pooled_rows * size, :pooled_columns * size].reshape(
            n, groups, pooled_rows, size, pooled_columns, size)
        uniform = ops.rand(n, groups, pooled_rows, 1, pooled_columns, 1, dtype=data.dtype,
                           device=probabilities.device).data
        states = xp.zeros_like(blocks)
        below = xp.zeros_like(uniform)  # the CDF before the current unit
        for row in range(size):
            for column in range(size):
                unit = blocks[:, :, :, row:row + 1, :, column:column + 1]
                upper = below + unit
                states[:, :, :, row:row + 1, :, column:column + 1] = (uniform >= below) & (
                    uniform < upper)
                below = upper
        return self._full_map(Tensor(states), (rows, columns))

    def visible_mean(self, h):
        """``E[v | h]``: ``sigmoid(sum_k W^k * h^k + c)`` (a full convolution), without the
        sigmoid for Gaussian units."""
        h = self._as_tensor(h)
        total = ops.conv_transpose2d(h, self.weight) \
            + self.visible_bias.reshape(1, self.in_channels, 1, 1)
        return ops.sigmoid(total) if self.visible_units == "bernoulli" else total

    def sample_visible(self, h):
        """``v ~ p(v | h)``."""
        with no_grad():
            mean = self.visible_mean(h)
            if self.visible_units == "bernoulli":
                return _bernoulli(mean)
            return mean + ops.randn_like(mean)

    # -- energies ----------------------------------------------------------------------------

    def _visible_term(self, v):
        bias = self.visible_bias.reshape(1, self.in_channels, 1, 1)
        if self.visible_units == "bernoulli":
            return -(v * bias).sum(axis=(1, 2, 3))
        centred = v - bias
        return (centred * centred).sum(axis=(1, 2, 3)) * 0.5

    def energy(self, v, h):
        """``E(v, h) = -sum_k h^k . (W^k * v + b_k) + (visible term)`` per sample, for
        states ``h`` with at most one unit on per block (not checked)."""
        v, h = self._visible(v, "energy"), self._as_tensor(h)
        hidden_input = ops.conv2d(v, self.weight, self.hidden_bias)
        return self._visible_term(v) - (h * hidden_input).sum(axis=(1, 2, 3))

    def free_energy(self, v):
        """``F(v) = (visible term) - sum_{k, α} log(1 + sum_{B_α} e^{I^k})`` per sample,
        (N,). Differentiable."""
        v = self._visible(v, "free_energy")
        _, total, shift, _ = self._block_terms(v)
        per_block = ops.log(total) + shift
        return self._visible_term(v) - per_block.sum(axis=(1, 2, 3, 4, 5))

    def _objective_scale(self, data):
        """``1 / (H' W')``: the CD statistics averaged over the hidden positions (as Lee et
        al. normalise them), so one learning rate suits any image size."""
        rows = data.shape[2] - self.kernel_size + 1
        columns = data.shape[3] - self.kernel_size + 1
        return 1.0 / (rows * columns)

    def _penalty(self, positive):
        """Weight decay, and the sparsity pull on the hidden biases as a loss whose gradient
        is ``λ (q_k - p)`` for ``b_k`` (so SGD moves ``b_k`` by ``lr λ (p - q_k)``)."""
        terms = []
        if self.weight_decay:
            terms.append((self.weight * self.weight).sum() * (0.5 * self.weight_decay))
        if self.sparsity_cost:
            mean_activation = positive.mean(axis=(0, 2, 3)).detach()
            pull = (mean_activation - self.sparsity_target) * self.sparsity_cost
            terms.append((pull * self.hidden_bias).sum())
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def filters_array(self):
        """The filters as a NumPy array (K, in_channels, f, f)."""
        return to_numpy(self.weight.data).copy()

    def plot_filters(self, path=None, limit=100, columns=10, channel=0):
        """The filters of one input channel as an image grid (a PNG at ``path``)."""
        channel = check_int("ConvRBM.plot_filters", "channel", channel, minimum=0,
                            maximum=self.in_channels - 1)
        from .. import viz
        return viz.plot_image_grid(self.filters_array()[:, channel], path=path,
                                   columns=columns, limit=limit)


class ExactLogLikelihood(Callback):
    """Records the exact mean log-likelihood of ``data`` under an RBM (``log_likelihood``:
    small models only) before training and after every epoch.

    Attributes:
        values: ``[before training, after epoch 1, ...]`` (floats, nats per sample).

        >>> callback = ExactLogLikelihood(x_train)           # doctest: +SKIP
        >>> rbm.fit(x_train, epochs=20, callbacks=[callback])  # doctest: +SKIP
        >>> callback.values                                   # doctest: +SKIP
    """

    def __init__(self, data):
        super().__init__()
        self.data = data
        self.values = []

    def _measure(self):
        return float(self.model.log_likelihood(self.data).mean())

    def on_train_begin(self, logs=None):
        if not self.values:
            self.values.append(self._measure())

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(self._measure())

    def state_dict(self):
        return {"values": list(self.values)}

    def load_state_dict(self, state):
        self.values = [float(value) for value in state["values"]]
