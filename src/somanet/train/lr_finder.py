"""``lr_find``: sweep the learning rate over a short run and suggest one.

A learning rate too small converges slowly and gets stuck; one too large
overshoots, becomes unstable and diverges. The sweep (L. N. Smith, "Cyclical
Learning Rates for Training Neural Networks", 2017: the LR range test)
trains for ``steps`` batches while the learning rate grows exponentially from
``start_lr`` to ``end_lr``,

    lr_t = start_lr * (end_lr / start_lr) ** (t / (steps - 1)),

records the loss, smoothed by an exponential moving average with bias
correction (``s_t = beta s_{t-1} + (1 - beta) loss_t``, reported as
``s_t / (1 - beta^(t+1))``), and stops early when the smoothed loss exceeds
``diverge`` times its minimum. The suggestion is the learning rate where the
smoothed loss falls fastest (the most negative slope of loss against
``log10(lr)``) before its minimum; ``result.min_lr_div10`` (the rate at the
minimum, divided by 10) is the other common rule.

Afterwards the model's weights and buffers, the optimiser's state and learning
rate, the global RNG state and a given DataLoader's position are restored
bit for bit: training after ``lr_find`` is as if it never ran.

    >>> import numpy as np, somanet as sn
    >>> from somanet import nn
    >>> x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    >>> y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")
    >>> model = sn.Sequential([sn.Input(shape=(4,)), nn.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> result = sn.lr_find(model, x, y, steps=40)
    >>> 1e-7 <= result.suggestion <= 10
    True
"""
import math

import numpy

from .._checks import check_int
from ..backend import (get_device_rng_states, get_rng_state, set_device_rng_states,
                       set_rng_state)
from ..data import DataLoader
from . import data_adapter
from .trainer import GradientAccumulator


class LRFinderResult:
    """What ``lr_find`` measured.

    Attributes:
        lrs: the learning rates tried, one per step.
        losses: the smoothed losses.
        raw_losses: the batch losses as measured.
        suggestion: the learning rate of steepest descent (see the module docstring).
        min_lr_div10: the learning rate at the smallest smoothed loss, divided by 10.
    """

    def __init__(self, lrs, losses, raw_losses):
        self.lrs = list(lrs)
        self.losses = list(losses)
        self.raw_losses = list(raw_losses)
        self.min_lr_div10 = None
        self.suggestion = None
        if self.losses:
            lowest = int(numpy.argmin(self.losses))
            self.min_lr_div10 = self.lrs[lowest] / 10
            self.suggestion = self.min_lr_div10
            if lowest >= 2:
                slopes = numpy.gradient(numpy.asarray(self.losses[:lowest + 1]),
                                        numpy.log10(numpy.asarray(self.lrs[:lowest + 1])))
                self.suggestion = self.lrs[int(numpy.argmin(slopes))]

    def plot(self, path=None):
        """Plot the smoothed loss against the learning rate (log scale), marking the
        suggestion. Saves a PNG to ``path`` and returns ``path``; without a path returns the
        matplotlib ``Figure`` (shown by notebooks). Needs matplotlib (``somanet[viz]``);
        uses no GUI backend."""
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("plotting the learning-rate sweep needs matplotlib: pip install "
                              "matplotlib (or somanet[viz])") from None
        figure = Figure(figsize=(6, 4))
        axes = figure.subplots()
        axes.plot(self.lrs, self.losses, label="smoothed loss")
        if self.suggestion is not None:
            index = self.lrs.index(self.suggestion) if self.suggestion in self.lrs else None
            axes.axvline(self.suggestion, color="tab:red", linestyle="--",
                         label=f"suggestion {self.suggestion:.2e}")
            if index is not None:
                axes.plot([self.suggestion], [self.losses[index]], "o", color="tab:red")
        axes.set_xscale("log")
        axes.set_xlabel("learning rate")
        axes.set_ylabel("loss")
        axes.set_title("Learning-rate sweep")
        axes.legend()
        figure.tight_layout()
        if path is None:
            return figure
        figure.savefig(path, dpi=100)
        return path

    def __repr__(self):
        shown = "None" if self.suggestion is None else f"{self.suggestion:.3g}"
        return f"LRFinderResult({len(self.lrs)} steps, suggestion={shown})"


def lr_find(model, x, y=None, start_lr=1e-7, end_lr=10.0, steps=100, batch_size=None,
            smoothing=0.98, diverge=4.0, plot=None):
    """Sweep the learning rate exponentially over a short training run; suggest one.

    Args:
        model: a compiled ``Model`` (its optimiser and loss are used).
        x, y: the training data, as for ``fit`` (arrays, a Dataset, a DataLoader).
        start_lr, end_lr: the range swept (``0 < start_lr < end_lr``).
        steps: the number of batches (the data is cycled if it has fewer).
        batch_size: default 32 (not with a DataLoader).
        smoothing: the moving-average factor ``beta`` of the smoothed loss, in [0, 1).
        diverge: stop when the smoothed loss exceeds ``diverge`` times its minimum.
        plot: a path: also save the plot there (a PNG).

    Returns:
        An ``LRFinderResult`` (``.suggestion``, ``.lrs``, ``.losses``, ``.plot(path)``).
    """
    model._require_compiled("lr_find")
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr, got start_lr={start_lr!r}, "
                         f"end_lr={end_lr!r}")
    steps = check_int("lr_find", "steps", steps, minimum=2)
    if not 0 <= smoothing < 1:
        raise ValueError(f"lr_find: smoothing must be in [0, 1), got {smoothing!r}")
    if not diverge > 1:
        raise ValueError(f"lr_find: diverge must be > 1, got {diverge!r}")
    rng, device_rngs = get_rng_state(), get_device_rng_states()
    feed, _ = data_adapter.make_feed("lr_find", x, y, batch_size, True, None,
                                     model._num_inputs(), need_targets=True,
                                     device=model._device())
    model._prepare_training(feed)
    optimizer = model.optimizer
    loader = feed.loader
    saved_loader = loader.state_dict() if isinstance(x, DataLoader) else None
    weights = {key: value.data.copy() for key, value in model.state_dict().items()}
    saved_optimizer = optimizer.state_dict()  # its arrays are copies already
    grads = [(param, param.grad) for param in optimizer.parameters()]
    modes = [(module, module.training) for module in model.modules()]
    saved_accumulator = model._accumulator
    lrs, smoothed, raw = [], [], []
    try:
        model._accumulator = GradientAccumulator(optimizer, 1)
        optimizer.zero_grad()
        model.train()
        factor = (end_lr / start_lr) ** (1.0 / (steps - 1))
        average, best = 0.0, math.inf
        while len(lrs) < steps:
            stop = False
            for batch in loader:
                lr = start_lr * factor ** len(lrs)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                batch_x, batch_y = data_adapter.unpack(batch, feed.num_inputs)
                loss = float(model.train_step((batch_x, batch_y)))
                if not math.isfinite(loss):
                    stop = True
                    break
                average = smoothing * average + (1 - smoothing) * loss
                value = average / (1 - smoothing ** (len(lrs) + 1))
                lrs.append(lr)
                raw.append(loss)
                smoothed.append(value)
                best = min(best, value)
                if len(lrs) >= steps or (len(lrs) > 1 and value > diverge * best):
                    stop = True
                    break
            if stop:
                break
    finally:
        model.load_state_dict(weights)
        optimizer.load_state_dict(saved_optimizer)
        for param, grad in grads:
            param.grad = grad
        for module, mode in modes:
            module.training = mode
        model._accumulator = saved_accumulator
        model.reset_metrics()
        if saved_loader is not None:
            loader.load_state_dict(saved_loader)
        set_rng_state(rng)
        set_device_rng_states(device_rngs)
    result = LRFinderResult(lrs, smoothed, raw)
    if plot:
        result.plot(plot)
    return result
