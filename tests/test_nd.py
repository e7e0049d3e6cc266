"""somanet.nd: MXNet's NDArray tour runs as written, on the CPU and on a GPU-like device."""
import numpy as np
import pytest

import somanet as sn
from somanet import nd


def test_the_ndarray_tour():
    x = nd.empty((4, 5))
    assert isinstance(x, nd.NDArray) and x.shape == (4, 5) and x.dtype == np.float32
    zeros = nd.zeros((4, 5))
    assert zeros.asnumpy().tolist() == [[0.0] * 5] * 4
    x = nd.empty((2, 7))
    assert x.shape == (2, 7) and x.size == 14
    y = nd.ones((2, 7)).asnumpy()
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    z = nd.array(y)
    assert z.context is nd.cpu() and (z == 1).all().item()
    a = nd.zeros(shape=(5, 5), ctx=nd.cpu())
    b = a.copyto(nd.cpu())
    assert b is not a and b.context is sn.cpu()
    b[0, 0] = 3.0
    assert a.asnumpy()[0, 0] == 0.0  # a copy, not a view
    DataCtx, ModelCtx = nd.cpu(), "cpu"  # noqa: N806  (the tour's names)
    assert nd.arange(3, ctx=DataCtx).tolist() == [0.0, 1.0, 2.0]
    assert nd.full(2, 7, ctx=ModelCtx).tolist() == [7.0, 7.0]


def test_asnumpy_copies_and_ops_and_autograd_work():
    x = nd.array([[1, 2], [3, 4]])
    assert x.dtype == np.float32  # MXNet's default, integers too
    host = x.asnumpy()
    host[0, 0] = 100
    assert x.tolist()[0][0] == 1.0
    assert nd.array(x).dtype == np.float32 and nd.array(x.long()).dtype == np.int64
    assert nd.array([1, 2], dtype="int32").dtype == np.int32
    w = nd.ones((2, 2))
    w.requires_grad = True
    (sn.matmul(x, w) ** 2).sum().backward()
    assert w.grad.shape == (2, 2)
    assert x.as_in_context(nd.cpu()) is x


def test_copyto_an_ndarray_copies_into_it():
    source = nd.array([[1.5, 2.5]])
    target = nd.zeros((1, 2), dtype="float64")
    assert source.copyto(target) is target
    assert target.tolist() == [[1.5, 2.5]] and target.dtype == np.float64
    with pytest.raises(ValueError, match=r"copyto: the target has shape \(2,\), the source "
                                         r"\(1, 2\)"):
        source.copyto(nd.zeros(2))
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        source.copyto("tpu")


def test_bad_contexts_are_named():
    with pytest.raises(TypeError, match=r"nd: ctx is a device \(nd.cpu\(\), nd.gpu\(0\), "
                                        r"'gpu:0'\), got int"):
        nd.zeros((2, 2), ctx=0)
    if sn.gpu_count() == 0:
        with pytest.raises(RuntimeError, match="GPU|gpu"):
            nd.zeros((2, 2), ctx=nd.gpu(0))


def test_contexts_on_a_gpu_like_device(strict):
    a = nd.zeros((3, 2), ctx=strict)
    assert a.context is strict and type(a.data) is strict.xp.ndarray
    b = nd.array([[1, 2], [3, 4], [5, 6]], ctx=strict)
    c = b.copyto(nd.cpu())
    assert c.context is sn.cpu() and c.tolist() == [[1, 2], [3, 4], [5, 6]]
    back = c.copyto(strict)
    assert back.context is strict
    c.copyto(a)  # into an array on the other device
    assert a.asnumpy().tolist() == [[1, 2], [3, 4], [5, 6]]
    assert isinstance(a.asnumpy(), np.ndarray)
    assert b.as_in_context(strict) is b and b.as_in_context("cpu").context is sn.cpu()


def test_the_module_docstring_runs():
    import doctest
    assert doctest.testmod(nd).failed == 0
