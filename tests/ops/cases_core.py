"""Registry entries for the core ops (issue 2): elementwise, activations,
reductions, shape, linear algebra, indexing, casts."""
import math

import numpy as np

import somanet as sn
from somanet.ops import activation as A
from somanet.ops import conversion as C
from somanet.ops import elementwise as E
from somanet.ops import indexing as I
from somanet.ops import linalg as L
from somanet.ops import reduction as R
from somanet.ops import shape as S

from .registry import OpCase, const, x

# Shapes every elementwise op is tried on: plain, 0-d, empty.
UNARY = [[x((3, 4))], [x(())], [x((0, 3))]]
# Broadcasting pairs: same shape, a row against a matrix, a scalar against a 3-d tensor, empty.
BINARY = [[x((2, 3)), x((2, 3))], [x((4, 3)), x((3,))], [x(()), x((2, 1, 3))],
          [x((2, 1)), x((1, 3))], [x((0, 3)), x((3,))]]
POSITIVE = dict(low=0.5, high=2.0)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _gelu_tanh(a):
    return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))


_ERF = np.vectorize(math.erf, otypes=[np.float64])


def _gelu(a):
    return 0.5 * a * (1 + _ERF(a / math.sqrt(2)))


def _softplus(a, beta=1.0, threshold=20.0):
    a = a.astype(np.float64)
    return np.where(beta * a > threshold, a, np.logaddexp(beta * a, 0) / beta)


def _logsumexp(a, axis=None, keepdims=False):
    peak = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - peak).sum(axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


CASES = [
    # -- elementwise ---------------------------------------------------------------------------
    OpCase("add", sn.add, np.add, BINARY, covers=[E.Add]),
    OpCase("sub", sn.sub, np.subtract, BINARY, covers=[E.Sub]),
    OpCase("mul", sn.mul, np.multiply, BINARY, covers=[E.Mul]),
    OpCase("div", sn.div, np.divide,
           [[x((2, 3)), x((2, 3), **POSITIVE)], [x((4, 3)), x((3,), **POSITIVE)],
            [x(()), x((2, 2), **POSITIVE)]], covers=[E.Div]),
    OpCase("pow", sn.pow, np.power,
           [[x((2, 3), **POSITIVE), x((2, 3))], [x((3, 2), **POSITIVE), x(())]],
           covers=[E.Pow]),
    OpCase("pow_constant", lambda a, p: a ** p, lambda a, p: a ** p,
           [[x((3, 4)), 2], [x((3, 4)), 3], [x((2, 2), **POSITIVE), 0.5],
            [x((2, 2), **POSITIVE), -1.5], [x(()), 2]],
           covers=[E.PowConstant]),
    OpCase("neg", sn.neg, np.negative, UNARY, covers=[E.Neg]),
    OpCase("exp", sn.exp, np.exp, UNARY, covers=[E.Exp]),
    OpCase("log", sn.log, np.log, [[x((3, 4), **POSITIVE)], [x((), **POSITIVE)],
                                   [x((0, 2), **POSITIVE)]], covers=[E.Log]),
    OpCase("sqrt", sn.sqrt, np.sqrt, [[x((3, 4), **POSITIVE)], [x((), **POSITIVE)]],
           covers=[E.Sqrt]),
    OpCase("abs", sn.abs, np.abs, [[x((3, 4), avoid=(0,))], [x((), avoid=(0,))]],
           covers=[E.Abs]),
    OpCase("maximum", sn.maximum, np.maximum, BINARY, covers=[E.Maximum]),
    OpCase("minimum", sn.minimum, np.minimum, BINARY, covers=[E.Minimum]),
    OpCase("clip", sn.clip, lambda a, lo, hi: np.clip(a, lo, hi),
           [[x((4, 5), avoid=(-0.5, 0.5)), -0.5, 0.5], [x((3,), avoid=(0.0,)), 0.0, None],
            [x((), avoid=(1.0,)), None, 1.0], [x((2, 3)), None, None], [x((0, 2)), 0.0, 1.0]],
           covers=[E.Clip]),
    OpCase("where", sn.where, np.where,
           [[const(np.array([[True, False, True], [False, True, False]])), x((2, 3)),
             x((2, 3))],
            [const(np.array([True, False, True])), x((2, 3)), x(())]],
           covers=[E.Where]),
    # -- activations ---------------------------------------------------------------------------
    OpCase("step", sn.step, lambda a: (a > 0).astype(a.dtype),
           [[x((3, 4), avoid=(0,))], [x(())]], covers=[A.Step]),
    OpCase("sigmoid", sn.sigmoid, _sigmoid, UNARY + [[x((5,), low=-30, high=30)]],
           covers=[A.Sigmoid]),
    OpCase("tanh", sn.tanh, np.tanh, UNARY, covers=[A.Tanh]),
    OpCase("relu", sn.relu, lambda a: np.maximum(a, 0), [[x((3, 4), avoid=(0,))], [x(())]],
           covers=[A.ReLU]),
    OpCase("leaky_relu", lambda a: sn.leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a),
           [[x((3, 4), avoid=(0,))]], covers=[A.LeakyReLU]),
    OpCase("elu", lambda a: sn.elu(a, 1.5), lambda a: np.where(a > 0, a, 1.5 * np.expm1(a)),
           [[x((3, 4), avoid=(0,))]], covers=[A.ELU]),
    OpCase("gelu", sn.gelu, _gelu, UNARY + [[x((6,), low=-9, high=9)]], covers=[A.GELU]),
    OpCase("gelu_tanh", lambda a: sn.gelu(a, approximate="tanh"), _gelu_tanh, UNARY,
           covers=[A.GELUTanh]),
    OpCase("softplus", sn.softplus, _softplus,
           UNARY + [[x((4,), low=-40, high=40, avoid=(20,))]], covers=[A.Softplus]),
    OpCase("softplus_beta_threshold", sn.softplus, _softplus,
           [[x((3, 4), low=-4, high=4, avoid=(1.5,)), 2.0, 3.0],
            [x((5,), low=-30, high=30, avoid=(4.0,)), 0.5, 2.0],
            [x((4,), low=-3, high=3), 1.0, float("inf")]], covers=[A.Softplus]),
    OpCase("softmax", sn.softmax, _softmax,
           [[x((3, 5))], [x((2, 3, 4)), 1], [x((4,))], [x((0, 3))]], covers=[A.Softmax]),
    OpCase("log_softmax", sn.log_softmax, lambda a, axis=-1: np.log(_softmax(a, axis)),
           [[x((3, 5))], [x((2, 3, 4)), 0], [x((4,), low=-50, high=50)]],
           covers=[A.LogSoftmax]),
    # -- reductions ----------------------------------------------------------------------------
    OpCase("sum", sn.sum, lambda a, axis=None, k=False: np.sum(a, axis=axis, keepdims=k),
           [[x((3, 4))], [x((3, 4)), 0], [x((2, 3, 4)), (0, 2)], [x((2, 3)), 1, True], [x(())],
            [x((0, 3)), 0]], covers=[R.Sum]),
    OpCase("prod", sn.prod, lambda a, axis=None, k=False: np.prod(a, axis=axis, keepdims=k),
           [[x((3, 4), low=0.5, high=1.5)], [x((3, 4)), 0], [x((2, 3, 4)), (0, 2)],
            [x((2, 3)), 1, True], [x(())], [x((0, 3)), 0], [x((2, 0)), 1, True], [x((4, 1)), 1],
            [x((2, 5)), -1]], covers=[R.Prod]),
    OpCase("prod_with_zeros", lambda a, z, axis: sn.prod(a * z, axis=axis),
           lambda a, z, axis: np.prod(a * z, axis=axis),
           [[x((3, 4)), const(np.array([[1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 1]])), 1],
            [x((3, 4)), const(np.array([[1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 1]])), 0]],
           covers=[R.Prod]),
    OpCase("sum_empty_axis", sn.sum, lambda a, axis=None, k=False: np.sum(a, axis=axis,
                                                                          keepdims=k),
           [[x((3, 0)), 1], [x((0, 2)), None], [x((2, 0, 3)), (1, 2), True]], covers=[R.Sum]),
    OpCase("logsumexp_empty_axis", sn.logsumexp,
           lambda a, axis=None, k=False: np.full(np.sum(a, axis=axis, keepdims=k).shape, -np.inf,
                                                 a.dtype),
           [[x((3, 0)), 1], [x((0, 2)), 0, True]], covers=[R.LogSumExp]),
    OpCase("max_non_empty_axis_of_empty", sn.max,
           lambda a, axis=None, k=False: np.max(a, axis=axis, keepdims=k),
           [[x((3, 0)), 0], [x((0, 2, 0)), 1, True]], covers=[R.Max]),
    OpCase("mean", sn.mean, lambda a, axis=None, k=False: np.mean(a, axis=axis, keepdims=k),
           [[x((3, 4))], [x((3, 4)), -1], [x((2, 3, 4)), (1, 2), True], [x(())]],
           covers=[R.Mean]),
    OpCase("max", sn.max, lambda a, axis=None, k=False: np.max(a, axis=axis, keepdims=k), [[x((3, 4))], [x((3, 4)), 1], [x((2, 3, 4)), 0, True]],
           covers=[R.Max], distinct=True),
    OpCase("min", sn.min, lambda a, axis=None, k=False: np.min(a, axis=axis, keepdims=k), [[x((3, 4))], [x((3, 4)), 0], [x((2, 3)), -1, True]],
           covers=[R.Min], distinct=True),
    OpCase("var", sn.var,
           lambda a, axis=None, k=False, ddof=0: np.var(a, axis=axis, keepdims=k, ddof=ddof),
           [[x((3, 4))], [x((3, 4)), 0], [x((2, 3, 4)), (0, 2), True], [x((5,)), 0, False, 1]],
           covers=[R.Var]),
    OpCase("std", sn.std, np.std, [[x((3, 4))], [x((4, 5)), 1]], covers=[]),
    OpCase("logsumexp", sn.logsumexp, _logsumexp,
           [[x((3, 4))], [x((3, 4)), 1], [x((2, 3)), 0, True], [x((3,), low=100, high=200)]],
           covers=[R.LogSumExp]),
    # -- shape -----------------------------------------------------------------------------
    OpCase("reshape", sn.reshape, np.reshape,
           [[x((3, 4)), (2, 6)], [x((2, 3, 4)), (-1, 4)], [x(()), (1, 1)], [x((0, 4)), (4, 0)]],
           covers=[S.Reshape]),
    OpCase("transpose", sn.transpose, np.transpose,
           [[x((3, 4))], [x((2, 3, 4)), (1, 2, 0)], [x((5,))]], covers=[S.Transpose]),
    OpCase("flatten", sn.flatten, lambda a, s=0, e=-1: a.reshape(a.shape[:s] + (-1,)),
           [[x((2, 3, 4))], [x((2, 3, 4)), 1]], covers=[]),
    OpCase("squeeze", sn.squeeze, np.squeeze, [[x((1, 3, 1))], [x((1, 3, 1)), 0]], covers=[]),
    OpCase("unsqueeze", sn.unsqueeze, np.expand_dims, [[x((3, 4)), 1], [x((3,)), -1]],
           covers=[]),
    OpCase("broadcast_to", sn.broadcast_to, np.broadcast_to,
           [[x((3, 1)), (2, 3, 4)], [x(()), (2, 2)], [x((4,)), (3, 4)]],
           covers=[S.BroadcastTo]),
    OpCase("concatenate", lambda a, b, axis: sn.concatenate([a, b], axis),
           lambda a, b, axis: np.concatenate([a, b], axis),
           [[x((2, 3)), x((4, 3)), 0], [x((2, 3)), x((2, 1)), 1], [x((0, 3)), x((2, 3)), 0]],
           covers=[S.Concatenate]),
    OpCase("stack", lambda a, b, axis: sn.stack([a, b], axis),
           lambda a, b, axis: np.stack([a, b], axis),
           [[x((2, 3)), x((2, 3)), 0], [x((2, 3)), x((2, 3)), -1], [x(()), x(()), 0]],
           covers=[S.Stack]),
    OpCase("split", sn.split, lambda a, s, axis=0: np.split(
        a, s if isinstance(s, int) else np.cumsum(s)[:-1], axis=axis),
           [[x((6, 2)), 3], [x((2, 5)), [1, 4], 1]], covers=[S.Split]),
    OpCase("split_one_piece_used", lambda a: sn.split(a, 2)[1] * 2,
           lambda a: np.split(a, 2)[1] * 2, [[x((4, 3))]], covers=[S.Split]),
    OpCase("pad", sn.pad, lambda a, w, value=0.0: np.pad(a, w, constant_values=value),
           [[x((2, 3)), ((1, 0), (2, 1))], [x((2, 3)), 1, 5.0]], covers=[S.Pad]),
    # -- linear algebra ------------------------------------------------------------------------
    OpCase("matmul", sn.matmul, np.matmul,
           [[x((3, 4)), x((4, 5))], [x((2, 3, 4)), x((4, 2))], [x((4,)), x((4, 3))],
            [x((3, 4)), x((4,))], [x((4,)), x((4,))], [x((2, 1, 3, 4)), x((5, 4, 2))],
            [x((0, 4)), x((4, 2))]], covers=[L.MatMul]),
    OpCase("outer", sn.outer, np.outer, [[x((3,)), x((4,))]], covers=[]),
    OpCase("linear", sn.linear, lambda a, w, b=None: a @ w + (0 if b is None else b),
           [[x((5, 3)), x((3, 4)), x((4,))], [x((2, 5, 3)), x((3, 4)), x((4,))],
            [x((5, 3)), x((3, 2))]], covers=[L.Linear]),
    # -- indexing and casts --------------------------------------------------------------------
    OpCase("getitem", sn.getitem, lambda a, i: a[i],
           [[x((4, 5)), (slice(1, 3), 2)], [x((4, 5)), (Ellipsis, None, slice(None, None, 2))],
            [x((4, 5)), np.array([0, 2, 2])], [x((4, 5)), (np.array([0, 3]), np.array([1, 1]))],
            [x((4, 5)), np.arange(20).reshape(4, 5) % 3 == 0], [x((3,)), 1]],
           covers=[I.GetItem]),
    OpCase("astype", lambda a: sn.astype(a, "float16"), lambda a: a.astype(np.float16),
           [[x((3, 2))]], covers=[C.AsType], grad=False, keeps_dtype=False, atol=1e-2,
           rtol=1e-2),
    # float64 -> float32 -> float64: a coarse step, so float32 rounding stays small.
    OpCase("astype_grad", lambda a: sn.astype(a, "float32").astype(a.dtype) * 3,
           lambda a: a * 3, [[x((3, 2))]], covers=[C.AsType], eps=1e-2),
    OpCase("to_device", lambda a: sn.to_device(a, sn.cpu()), lambda a: a, [[x((2,))]],
           covers=[C.ToDevice]),
]
