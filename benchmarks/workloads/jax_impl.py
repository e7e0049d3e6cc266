"""The five workloads in JAX, the idiomatic way: pure functions of a parameter pytree, a
``jax.jit``-compiled training step (``jax.value_and_grad`` + an optax update) called per
batch, from the same data, initial weights and batch orders as the others.

CPU only, 2 threads: XLA sizes its thread pool from the CPUs this process may run on,
so where more than ``THREADS`` are allowed the process is restricted to ``THREADS`` of
them (Linux), and XLA_FLAGS asks for multi-threaded Eigen with 2 intra-op threads; all
before jax is imported. Each batch is sliced from the NumPy arrays on the host (as a data
loader hands them over) and the losses stay on the device until the end of the epoch,
which blocks on them and on the parameters (``block_until_ready``) inside the timed
region. The first call of a step for a batch shape traces and compiles it: in epoch 1
(left out of the median) for W1-W4; W5's total includes it, and its note says how long
the first call took.
"""
import os

from .common import THREADS

os.environ["JAX_PLATFORMS"] = "cpu"
os.environ["XLA_FLAGS"] = " ".join(filter(None, [
    os.environ.get("XLA_FLAGS"),
    f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={THREADS}"]))
if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > THREADS:
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:THREADS])

import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from .common import (EpochTimer, Result, dense_weights, epoch_orders,  # noqa: E402
                     lenet_weights, lstm_weights, peak_rss_mb, reset_peak_rss,
                     three_bit_images)


def _dense(params):
    return [{"w": jnp.asarray(kernel), "b": jnp.asarray(bias)} for kernel, bias in params]


def _mlp(layers, x):
    """Dense layers with ReLU between them; x flattened to (batch, features)."""
    x = x.reshape(x.shape[0], -1)
    for layer in layers[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ layers[-1]["w"] + layers[-1]["b"]


def _cross_entropy(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def _accuracy(predict, params, x, y):
    return float((np.asarray(jax.jit(predict)(params, jnp.asarray(x))).argmax(axis=1)
                  == y).mean())


def _loop(name, forward, params, optimizer, data, batch_size, prepare=lambda x: x,
          key=None):
    """Train ``forward(params, x[, key])`` with cross-entropy; ``key``: a jax.random key
    split every step (dropout), else ``forward(params, x)``."""
    x_train, y_train = prepare(data.x_train), data.y_train

    def loss_fn(params, x, y, key):
        logits = forward(params, x, key) if key is not None else forward(params, x)
        return _cross_entropy(logits, y)

    @jax.jit
    def step(params, opt_state, x, y, key):
        if key is not None:
            key, dropout_key = jax.random.split(key)
        else:
            dropout_key = None
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y, dropout_key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, key

    opt_state = optimizer.init(params)
    timer = EpochTimer()
    reset_peak_rss()
    for order in epoch_orders(len(x_train)):
        with timer:
            losses = []
            for start in range(0, len(order), batch_size):
                index = order[start:start + batch_size]
                params, opt_state, loss, key = step(params, opt_state, x_train[index],
                                                    y_train[index], key)
                losses.append(loss)
            final_loss = float(jnp.mean(jnp.stack(losses)))
            jax.block_until_ready(params)
    rss = peak_rss_mb()
    predict = (lambda p, x: forward(p, x, None)) if key is not None else forward
    return Result("jax", name, timer.times,
                  _accuracy(predict, params, prepare(data.x_test), data.y_test),
                  final_loss, rss)


def w1(data):
    """784-128 relu, dropout 0.2, 10; Adam 1e-3, batch 32."""
    rate = 0.2

    def forward(params, x, key):
        x = x.reshape(x.shape[0], -1)
        hidden = jax.nn.relu(x @ params[0]["w"] + params[0]["b"])
        if key is not None:  # training: inverted dropout
            keep = jax.random.bernoulli(key, 1.0 - rate, hidden.shape)
            hidden = jnp.where(keep, hidden / (1.0 - rate), 0.0)
        return hidden @ params[1]["w"] + params[1]["b"]

    return _loop("W1", forward, _dense(dense_weights([784, 128, 10])), optax.adam(1e-3), data,
                 32, key=jax.random.PRNGKey(0))


def w2(data):
    """784-512-512-10 ReLU; SGD momentum 0.9, lr 0.05, batch 128."""
    return _loop("W2", _mlp, _dense(dense_weights([784, 512, 512, 10])),
                 optax.sgd(0.05, momentum=0.9), data, 128)


def _conv(x, layer, padding):
    y = jax.lax.conv_general_dilated(x, layer["w"], window_strides=(1, 1),
                                     padding=[(padding, padding)] * 2,
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + layer["b"][None, :, None, None]


def _max_pool(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def w3(data):
    """LeNet: conv 6@5x5 pad 2, relu, pool, conv 16@5x5, relu, pool, 400-120-84-10; Adam."""

    def forward(params, x):
        x = _max_pool(jax.nn.relu(_conv(x, params["conv"][0], 2)))
        x = _max_pool(jax.nn.relu(_conv(x, params["conv"][1], 0)))
        return _mlp(params["dense"], x)

    weights = lenet_weights()
    params = {"conv": _dense(weights[:2]), "dense": _dense(weights[2:])}
    return _loop("W3", forward, params, optax.adam(1e-3), data, 64,
                 prepare=lambda x: x[:, None, :, :])


def w4(data):
    """LSTM(128) over the 28 image rows (gates i, f, g, o, as common.lstm_weights stores
    them: x @ W_ih + h @ W_hh + bias), the last hidden state -> dense 10; Adam."""
    (w_ih, w_hh, bias), head = lstm_weights()
    hidden = w_hh.shape[0]

    def forward(params, x):
        inputs = jnp.swapaxes(x, 0, 1) @ params["w_ih"] + params["bias"]  # (T, B, 4H), once

        def cell(carry, projected):
            h, c = carry
            gates = projected + h @ params["w_hh"]
            i, f, g, o = jnp.split(gates, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), None

        zeros = jnp.zeros((x.shape[0], hidden), x.dtype)
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), inputs)
        return h @ params["head"]["w"] + params["head"]["b"]

    params = {"w_ih": jnp.asarray(w_ih), "w_hh": jnp.asarray(w_hh), "bias": jnp.asarray(bias),
              "head": _dense([head])[0]}
    return _loop("W4", forward, params, optax.adam(1e-3), data, 64)


def w5(data):
    """Seed 000's 3-4-1 sigmoid network: 10,000 full-batch gradient steps, lr 1.0."""
    x_np, d_np, w1_np, w2_np = three_bit_images()
    x, d = jnp.asarray(x_np), jnp.asarray(d_np)
    params = (jnp.asarray(w1_np), jnp.asarray(w2_np))
    optimizer = optax.sgd(1.0)

    def error_fn(params, x, d):
        w1, w2 = params
        z = jax.nn.sigmoid(jax.nn.sigmoid(x @ w1) @ w2)
        return 0.5 * jnp.sum((z - d) ** 2), z

    @jax.jit
    def step(params, opt_state, x, d):
        (error, z), grads = jax.value_and_grad(error_fn, has_aux=True)(params, x, d)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, error, z

    opt_state = optimizer.init(params)
    timer = EpochTimer()
    reset_peak_rss()
    with timer:
        start = time.perf_counter()
        params, opt_state, error, z = step(params, opt_state, x, d)
        jax.block_until_ready(error)
        first = time.perf_counter() - start
        for _ in range(10_000 - 1):
            params, opt_state, error, z = step(params, opt_state, x, d)
        jax.block_until_ready((params, error, z))
    correct = float(((np.asarray(z) > 0.5) == (d_np > 0.5)).mean())
    return Result("jax", "W5", timer.times, correct, float(error), peak_rss_mb(),
                  f"the total includes the first call (tracing + jit compilation + one "
                  f"step): {first:.3f} s")
