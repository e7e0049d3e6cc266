"""Shared helpers for the optimiser tests."""
import numpy as np

import somanet as sn
from somanet.nn.parameter import Parameter


def param(values, dtype="float64"):
    """A Parameter with these values (float64 by default, so hand values match tightly)."""
    return Parameter(sn.tensor(values, dtype=dtype))


def grad(values, like):
    """A gradient Tensor with ``like``'s dtype."""
    return sn.tensor(values, dtype=like.dtype)


def run(optimizer, w, grads):
    """Apply one step per gradient in ``grads`` to ``w``; the values after each step."""
    values = []
    for g in grads:
        w.grad = grad(g, w)
        optimizer.step()
        values.append(w.numpy().copy())
    return values


def assert_steps(values, expected, rtol=1e-12, atol=1e-15):
    """Each step's values against the hand-computed ones."""
    assert len(values) == len(expected)
    for step, (got, want) in enumerate(zip(values, expected), start=1):
        np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), rtol=rtol,
                                   atol=atol, err_msg=f"step {step}")


# One configuration of every optimiser, with each of its options switched on, for the
# tests that sweep them all (dtype, allocation, state dict).
ALL_OPTIMIZERS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1, "centered": True}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "lr_decay": 0.05}),
    ("Rprop", {"lr": 0.01}),
    ("Manhattan", {"lr": 0.01}),
]
ALL_IDS = [f"{name}-{'-'.join(options)}" for name, options in ALL_OPTIMIZERS]


def make(name, params, options):
    return getattr(sn.optim, name)(params, **options)


def random_grads(shape, count, seed=0, dtype=np.float32):
    """``count`` gradients, the third the negative of the second (so Rprop sees a sign
    flip)."""
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(count)]
    if count > 2:
        grads[2] = -grads[1]
    return grads
