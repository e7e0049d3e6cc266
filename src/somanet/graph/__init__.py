"""Layer 3: the graph layer. A program recorded as the ops eager mode runs, then run again.

Two ways to make a graph, one set of ops under both (a graph records the very
``Function``s of ``somanet.ops`` that eager code runs, and runs them again):

- capture an eager program: ``g = trace(fn, *example_inputs)``, or the decorator
  ``@function``, which traces once per input signature and then runs the graph;
- build one TensorFlow-style: ``placeholder``, ``constant``, ``Variable`` and
  ordinary somanet maths on them (the functions below, ``somanet``'s own, or the
  operators), run by a ``Session`` with a ``feed_dict``; ``optimizer.minimize(loss)``
  trains in it.

    >>> import somanet as sn
    >>> from somanet import graph as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     x = tf.subtract(tf.cast(tf.constant(2.0), "int32"), tf.constant(1))
    >>> with tf.Session(g) as sess:
    ...     int(sess.run(x))
    1

Branching and looping are graph nodes too (``cond``, ``while_loop``); ``g.to_dot()`` and
``g.render(path)`` draw a graph, ``print(g)`` lists its nodes.

A whole training step (forward, ``backward()``, ``optimizer.step()``) compiles with
``compile(train_step)``: captured once per input signature, then replayed as array
code with eager's results bit for bit (``Model.compile(jit=True)`` uses it in ``fit``).
"""
from .. import ops as _ops
from . import nn
from .capture import function, trace
from .compiled import CompiledStep, CompileWarning, compile
from .control import cond, while_loop
from .dot import autograd_to_dot, graph_to_dot
from .graph import Graph, Node
from .session import Session
from .state import (Operation, Variable, assign, assign_add, constant, get_default_graph,
                    global_variables_initializer, minimize, ones, placeholder, random_normal,
                    reset_default_graph, truncated_normal, variables_initializer, zeros)
from .tensor import STRING, GraphCaptureError, SymbolicTensor

string = STRING  # the dtype of text placeholders and constants (TensorFlow's tf.string)

# TensorFlow's names for somanet's maths: the same functions, recorded on graph tensors.
add, subtract, multiply, divide = _ops.add, _ops.sub, _ops.mul, _ops.div
matmul, exp, log, sqrt, abs, maximum, minimum = (_ops.matmul, _ops.exp, _ops.log, _ops.sqrt,
                                                 _ops.abs, _ops.maximum, _ops.minimum)
equal, not_equal, less, greater = _ops.equal, _ops.not_equal, _ops.less, _ops.greater
reshape, transpose, concat = _ops.reshape, _ops.transpose, _ops.concatenate
argmax, argmin = _ops.argmax, _ops.argmin
cast = _ops.astype


def reduce_sum(x, axis=None, keepdims=False):
    """The sum over ``axis`` (all axes when ``None``)."""
    return _ops.sum(x, axis=axis, keepdims=keepdims)


def reduce_mean(x, axis=None, keepdims=False):
    """The mean over ``axis`` (all axes when ``None``)."""
    return _ops.mean(x, axis=axis, keepdims=keepdims)


def reduce_max(x, axis=None, keepdims=False):
    """The maximum over ``axis`` (all axes when ``None``)."""
    return _ops.max(x, axis=axis, keepdims=keepdims)


def square(x):
    """``x * x``."""
    return x * x
