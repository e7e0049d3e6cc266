r"""Deep stacking networks (Deng & Yu 2011, "Deep convex net: a scalable architecture for
speech pattern classification", Interspeech; Deng, Yu & Platt 2012, "Scalable stacking and
learning for building deep architectures", ICASSP).

A DSN is a stack of simple modules. Module ``m`` sees the raw input ``x`` together with
the outputs of all the modules below it, has one layer of sigmoid hidden units and a
linear output layer:

.. math::

    z_m = [x, y_1, ..., y_{m-1}], \qquad H_m = \sigma(z_m W_m + b_m), \qquad
    y_m = [H_m, 1] U_m.

With the lower weights ``W_m`` fixed, the upper weights ``U_m`` minimise the squared error
to the one-hot targets ``T`` and so have a closed form, ridge regression:

.. math::

    U_m = (\tilde H^T \tilde H / N + \lambda I)^{-1} \tilde H^T T / N,
    \qquad \tilde H = [H_m, 1].

The lower weights are refined by gradient descent on ``E = |\tilde H U_m(W_m) - T|^2 / N``,
*with* ``U_m`` a function of ``W_m`` (Deng & Yu's gradient, which accounts for the upper
weights moving with the lower ones): here ``U_m`` is computed with the differentiable
``somanet.ops.solve.solve``, so autograd gives that gradient. Each mini-batch solves its
own ``U_m``; once module ``m`` is trained, ``U_m`` is solved once more on all the training
data and the module is frozen. The class is the arg-max of the top module's output.
Training is module by module, each a convex-ish problem of modest size, which is what
made DSNs scale (and parallelise) in the papers.

A singular ridge system (``ridge=0`` with fewer samples than hidden units, or hidden units
that duplicate each other) is regularised: ``δ I`` is added with ``δ`` = 1e-5 times the
largest eigenvalue, and a ``SingularRidgeWarning`` says so (once per module).

Simplified from the papers: mini-batch gradient steps with a somanet optimiser (the papers
use full-batch steps with a fixed rate), the upper layer has a bias unit, and module ``m``
starts from module ``m - 1``'s lower weights for the inputs they share (Deng, Yu & Platt's
initialisation; the rows for the new inputs start at zero).

    >>> import somanet as sn
    >>> from somanet import models
    >>> x, y = sn.datasets.mnist_small("train")
    >>> dsn = models.DSN(n_modules=2, n_hidden=64)
    >>> history = dsn.fit(x[:500], y[:500], epochs=2, verbose=0)
    >>> len(history.history["accuracy"])                    # one value per module
    2
"""
import os
import warnings

import numpy

from .. import nn, ops
from .._checks import check_int, check_positive_int, check_real
from ..autograd import no_grad
from ..backend import to_numpy, xp_of
from ..ops.solve import solve
from ..tensor import Tensor
from ..train import History, Model

RIDGE_JITTER = 1e-5  # a singular system gets RIDGE_JITTER * (largest eigenvalue) * I


class SingularRidgeWarning(UserWarning):
    """A deep stacking network's ridge system ``H^T H / N + λ I`` was singular (or nearly:
    smallest eigenvalue below 1e-6 of the largest) and a multiple of the identity was added
    to solve it. Set ``ridge`` > 0 to choose the regularisation yourself."""


class DSNModule(Model):
    """One module of a deep stacking network: ``y = [sigmoid(z W + b), 1] U``, ``U`` solved
    in closed form (see ``somanet.models.dsn``).

    Args:
        in_features: the module's inputs (raw input plus the lower modules' outputs).
        n_hidden: sigmoid hidden units.
        n_outputs: outputs (classes).
        ridge: ``λ``, the ridge regularisation of the upper weights.
        index: the module's position in the stack (for messages).

    Attributes:
        hidden: the ``Dense`` sigmoid layer (``W``, ``b``). upper: the buffer ``U``,
        (n_hidden + 1, n_outputs).
    """

    def __init__(self, in_features, n_hidden, n_outputs, ridge=0.01, index=1, name=None):
        super().__init__(name=name)
        self.in_features = check_positive_int("DSNModule", "in_features", in_features)
        self.n_hidden = check_positive_int("DSNModule", "n_hidden", n_hidden)
        self.n_outputs = check_positive_int("DSNModule", "n_outputs", n_outputs)
        self.ridge = check_real("DSNModule", "ridge", ridge, minimum=0.0)
        self.index = index
        self.hidden = nn.Dense(self.in_features, self.n_hidden, activation="sigmoid")
        self.register_buffer("upper", ops.zeros(self.n_hidden + 1, self.n_outputs))
        self._warned_singular = False

    def _augmented_hidden(self, z):
        h = self.hidden(z)
        ones = ops.ones(h.shape[0], 1, dtype=h.dtype, device=h.device)
        return ops.concatenate([h, ones], axis=1)

    def forward(self, z):
        return self._augmented_hidden(z) @ self.upper

    def ridge_solution(self, hidden, targets):
        """``U = (H^T H / N + λ I)^{-1} H^T T / N`` (differentiable in ``hidden``); a
        singular system is regularised (``SingularRidgeWarning``)."""
        count = float(hidden.shape[0])
        gram = (hidden.T @ hidden) / count
        xp = xp_of(gram.data)
        eigenvalues = xp.linalg.eigvalsh(gram.data.astype(xp.float64))
        largest = max(float(eigenvalues[-1]), 0.0)
        smallest = float(eigenvalues[0]) + self.ridge
        shift = self.ridge
        if smallest <= 1e-6 * max(largest + self.ridge, 1e-30):
            shift = self.ridge + RIDGE_JITTER * max(largest, 1e-12)
            if not self._warned_singular:
                self._warned_singular = True
                warnings.warn(
                    f"DSN module {self.index}: the ridge system H^T H / N + {self.ridge:g} I "
                    f"({gram.shape[0]} x {gram.shape[0]}, {int(count)} samples) is singular "
                    f"(smallest eigenvalue {float(eigenvalues[0]):.3g}, largest "
                    f"{largest:.3g}); added {shift - self.ridge:.3g} I to solve it. Set "
                    f"ridge > 0 (e.g. ridge=0.01) to choose the regularisation",
                    SingularRidgeWarning, stacklevel=3)
        eye = ops.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        return solve(gram + eye * shift, (hidden.T @ targets) / count)

    def train_step(self, batch):
        """One gradient step on the lower weights, with ``U`` solved on the batch."""
        z, targets = batch
        hidden = self._augmented_hidden(z)
        error = hidden @ self.ridge_solution(hidden, targets) - targets
        loss = (error * error).sum(axis=1).mean()
        self.minimize(loss, int(z.shape[0]))
        return loss

    def test_step(self, batch):
        z, targets = batch
        error = self(z) - targets
        return (error * error).sum(axis=1).mean()

    def solve_upper(self, z, targets, batch_size=1024):
        """Set ``U`` to the ridge solution on all of ``(z, targets)`` (no gradients)."""
        with no_grad():
            device = self.upper.device
            z = z if isinstance(z, Tensor) else Tensor(z, device=device)
            targets = targets if isinstance(targets, Tensor) else Tensor(targets, device=device)
            hidden = ops.concatenate([self._augmented_hidden(z[start:start + batch_size])
                                      for start in range(0, z.shape[0], batch_size)], axis=0)
            self.upper.data[...] = self.ridge_solution(hidden, targets).data


class DSN(Model):
    """A deep stacking network for classification (see ``somanet.models.dsn``).

    Args:
        n_inputs: input features (784 for 28 x 28 images, flattened).
        n_classes: classes (outputs of every module).
        n_modules: modules in the stack.
        n_hidden: sigmoid hidden units per module.
        ridge: ``λ`` of every module's ridge regression (0 allowed: a singular system is
            then regularised with a ``SingularRidgeWarning``).
        input_shape: the shape of one input (flattened); default ``(28, 28)`` for 784.

    Shape:
        x (N, n_inputs) or (N, *input_shape) -> (N, n_classes) scores (targets one-hot).

    Attributes:
        dsn_modules: the ``ModuleList`` of ``DSNModule``s, bottom first.
    """

    def __init__(self, n_inputs=784, n_classes=10, n_modules=5, n_hidden=256, ridge=0.01,
                 input_shape=None, name=None):
        super().__init__(name=name)
        self.n_inputs = check_positive_int("DSN", "n_inputs", n_inputs)
        self.n_classes = check_positive_int("DSN", "n_classes", n_classes)
        n_modules = check_positive_int("DSN", "n_modules", n_modules)
        self.input_shape = tuple(input_shape) if input_shape is not None else (
            (28, 28) if n_inputs == 784 else (n_inputs,))
        self.dsn_modules = nn.ModuleList([
            DSNModule(self.n_inputs + index * self.n_classes, n_hidden, self.n_classes,
                      ridge=ridge, index=index + 1) for index in range(n_modules)])

    def _flat(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x, device=self._device())
        if x.ndim < 2 or int(numpy.prod(x.shape[1:])) != self.n_inputs:
            raise ValueError(f"DSN: expected inputs with {self.n_inputs} features per sample "
                             f"((N, {self.n_inputs}) or (N, "
                             f"{', '.join(map(str, self.input_shape))})), got shape "
                             f"{tuple(x.shape)}")
        return x.reshape(x.shape[0], self.n_inputs) if x.ndim != 2 else x

    def module_outputs(self, x, modules=None):
        """Every module's output for ``x``, bottom first (the first ``modules`` only)."""
        flat = self._flat(x)
        outputs = []
        for module in list(self.dsn_modules)[:modules]:
            inputs = ops.concatenate([flat] + outputs, axis=1) if outputs else flat
            outputs.append(module(inputs))
        return outputs

    def forward(self, x):
        return self.module_outputs(x)[-1]

    def module_accuracies(self, x, y, batch_size=1024):
        """The accuracy of the stack cut after each module: ``[after 1, after 2, ...]``."""
        labels = numpy.asarray(to_numpy(y.data) if isinstance(y, Tensor) else y)
        correct = numpy.zeros(len(self.dsn_modules))
        with no_grad():
            for start in range(0, len(labels), batch_size):
                outputs = self.module_outputs(x[start:start + batch_size])
                for index, output in enumerate(outputs):
                    predicted = to_numpy(output.data).argmax(axis=1)
                    correct[index] += (predicted == labels[start:start + batch_size]).sum()
        return (correct / len(labels)).tolist()

    def _one_hot(self, y, who):
        labels = numpy.asarray(to_numpy(y.data) if isinstance(y, Tensor) else y)
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(f"{who}: y must be integer class labels (N,), got "
                             f"{labels.dtype} of shape {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise ValueError(f"{who}: labels must lie in [0, {self.n_classes}), got values "
                             f"from {labels.min()} to {labels.max()}")
        return numpy.eye(self.n_classes, dtype=numpy.float32)[labels], labels

    def fit(self, x, y, epochs=10, batch_size=500, optimizer="adam", learning_rate=None,
            validation_data=None, verbose=1, checkpoint_dir=None, resume=False, seed=None,
            warm_start=True):
        """Train the stack module by module: each module's lower weights by mini-batch
        gradient steps (``U`` solved per batch), then its ``U`` on all of ``x``.

        Args:
            x, y: inputs and integer labels.
            epochs: gradient epochs per module (an int, or one per module).
            batch_size: samples per step; each solves a ridge system, so keep it well
                above ``n_hidden`` (or rely on ``ridge``).
            optimizer, learning_rate: each module's optimiser (``Model.compile``'s).
            validation_data: ``(x_val, y_val)``: its accuracy per module is recorded too.
            verbose: 0 silent, 1 one line per module (2: ``Model.fit``'s epoch lines too).
            checkpoint_dir: one checkpoint folder per module (``module_1``...), by each
                module's ``Model.fit``; ``resume=True`` restores finished modules and
                continues an interrupted one, bit for bit.
            seed: each module's ``fit`` seed (``seed + index``).
            warm_start: start module ``m`` from module ``m - 1``'s lower weights on the
                inputs they share (new rows at zero); else from the random initialisation.

        Returns:
            A ``History`` with one entry per module: ``accuracy`` (on ``x``), ``loss`` (the
            squared error of the stack's top output on ``x``), ``val_accuracy``.
        """
        who = "DSN.fit"
        count = len(self.dsn_modules)
        epochs_per_module = list(epochs) if isinstance(epochs, (list, tuple)) else \
            [epochs] * count
        if len(epochs_per_module) != count:
            raise ValueError(f"{who}: epochs has {len(epochs_per_module)} entries for {count} "
                             f"modules")
        epochs_per_module = [check_positive_int(who, "epochs", value)
                             for value in epochs_per_module]
        batch_size = check_positive_int(who, "batch_size", batch_size)
        verbose = check_int(who, "verbose", verbose, minimum=0, maximum=2)
        targets, labels = self._one_hot(y, who)
        flat = to_numpy(self._flat(x).data)
        if len(flat) != len(labels):
            raise ValueError(f"{who}: x has {len(flat)} samples but y has {len(labels)}")
        val = None
        if validation_data is not None:
            val = (validation_data[0], self._one_hot(validation_data[1], who)[1])
        history = History()
        history.model = self
        inputs = flat
        for index, module in enumerate(self.dsn_modules):
            if warm_start and index > 0:
                self._warm_start(index)
            module.compile(optimizer=optimizer, loss="mse", learning_rate=learning_rate)
            folder = None if checkpoint_dir is None else os.path.join(
                os.fspath(checkpoint_dir), f"module_{index + 1}")
            module.fit(inputs, targets, epochs=epochs_per_module[index], batch_size=batch_size,
                       verbose=max(verbose - 1, 0), checkpoint_dir=folder, resume=resume,
                       seed=None if seed is None else seed + index)
            module.solve_upper(inputs, targets)
            with no_grad():
                output = to_numpy(ops.concatenate(
                    [module(Tensor(inputs[start:start + 1024], device=self._device()))
                     for start in range(0, len(inputs), 1024)], axis=0).data)
            logs = {"accuracy": float((output.argmax(axis=1) == labels).mean()),
                    "loss": float(((output - targets) ** 2).sum(axis=1).mean())}
            if val is not None:
                logs["val_accuracy"] = self.module_accuracies(val[0], val[1])[index]
            history.on_epoch_end(index, logs)
            if verbose:
                print(f"module {index + 1}/{count}: "
                      + ", ".join(f"{key} {value:.4f}" for key, value in logs.items()))
            inputs = numpy.concatenate([inputs, output], axis=1)
        self.history = history
        self.eval()
        return history

    def _warm_start(self, index):
        """Module ``index`` starts from module ``index - 1``'s lower weights on the inputs
        they share; its rows for the newest module's outputs start at zero."""
        below, module = self.dsn_modules[index - 1], self.dsn_modules[index]
        with no_grad():
            shared = below.in_features
            module.hidden.weight.data[:shared] = below.hidden.weight.data
            module.hidden.weight.data[shared:] = 0.0
            module.hidden.bias.data[...] = below.hidden.bias.data

    def plot_module_accuracy(self, path=None, history=None):
        """Accuracy per stacked module (``somanet.viz.plot_curves``) from ``fit``'s history."""
        from .. import viz
        history = history or self.history
        if history is None or "accuracy" not in history.history:
            raise ValueError("DSN.plot_module_accuracy: train the DSN with fit() first (or "
                             "pass its History)")
        curves = {"training": history.history["accuracy"]}
        if "val_accuracy" in history.history:
            curves["validation"] = history.history["val_accuracy"]
        return viz.plot_curves(curves, path=path, xlabel="modules stacked", ylabel="accuracy",
                               title="Deep stacking network: accuracy per module")
