"""Capturing eager programs: trace, @function, what a graph cannot hold."""
import numpy as np
import pytest

import somanet as sn
from somanet import graph, nn
from somanet.graph import GraphCaptureError


def small_model():
    sn.manual_seed(0)
    model = sn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)])
    model(sn.ones(1, 4))
    return model.eval()


def test_trace_records_the_same_functions_eager_mode_runs():
    model = small_model()
    g = graph.trace(model, sn.ones(5, 4))
    assert [node.op.__name__ for node in g.ops] == ["Linear", "ReLU", "Linear"]
    assert [v.name for v in g.variables] == ["0.weight:0", "0.bias:0", "1.weight:0",
                                             "1.bias:0"]
    assert [p.name for p in g.inputs] == ["x:0"] and len(g.outputs) == 1
    x = sn.randn(5, 4)
    np.testing.assert_array_equal(g(x).numpy(), model(x).numpy())  # the same ops: bitwise


def test_variables_are_captured_by_reference_and_get_gradients():
    model = small_model()
    g = graph.trace(model, sn.ones(2, 4))
    x = sn.randn(2, 4)
    with sn.no_grad():
        model[1].bias.data += 1.0  # a training update after the trace is seen
    np.testing.assert_allclose(g(x).numpy(), model(x).numpy(), rtol=1e-6)
    g(x).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    model(x).sum().backward()
    for ours, eager in zip(grads, [p.grad.numpy() for p in model.parameters()]):
        np.testing.assert_allclose(ours, eager, rtol=1e-6)


def test_trace_of_several_outputs_keeps_their_structure():
    def fn(a, b):
        return {"sum": a + b, "pair": (a * b, sn.relu(a - b))}
    g = graph.trace(fn, sn.ones(3), sn.ones(3))
    out = g(sn.tensor([1.0, 2.0, 3.0]), sn.tensor([3.0, 2.0, 1.0]))
    assert out["sum"].tolist() == [4.0, 4.0, 4.0]
    assert out["pair"][0].tolist() == [3.0, 4.0, 3.0]
    assert out["pair"][1].tolist() == [0.0, 0.0, 2.0]


def test_inputs_gradient_flows_through_a_graph():
    g = graph.trace(lambda x: (x * x).sum(), sn.ones(3))
    x = sn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    g(x).backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_comparisons_and_argmax_are_recorded_not_baked():
    g = graph.trace(lambda x: (sn.argmax(x, axis=1), (x > 0).astype("float32").sum()),
                    sn.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    index, positive = g(sn.tensor([[0.0, 5.0], [5.0, 0.0], [1.0, 2.0]]))
    assert index.tolist() == [1, 0, 1] and float(positive) == 4.0


def test_integer_inputs_meeting_floats_are_recorded():
    g = graph.trace(lambda labels, x: x * labels, sn.tensor([1, 2]), sn.ones(2))
    assert g(sn.tensor([3, 4]), sn.ones(2)).tolist() == [3.0, 4.0]


def test_dropout_draws_anew_at_every_run():
    sn.manual_seed(1)
    g = graph.trace(lambda x: sn.dropout(x, p=0.5), sn.ones(1000))
    first, second = g(sn.ones(1000)).numpy(), g(sn.ones(1000)).numpy()
    assert not np.array_equal(first, second)
    assert 400 < (first == 0).sum() < 600


@pytest.mark.parametrize("decide, what", [
    (lambda x: x * 2 if x.sum() > 0 else x, r"bool\(\) of the graph tensor 'compare:0' "
                                            r"\(made by compare \(Compare, test=gt\)\)"),
    (lambda x: x * x.sum().item(), r"item\(\) of the graph tensor 'sum:0' \(made by sum "
                                   r"\(Sum, axes=None, keepdims=False\)\)"),
    (lambda x: x * float(x.sum()), r"float\(\) of the graph tensor 'sum:0'.*"),
    (lambda x: sn.tensor(x.numpy()), r"numpy\(\) of the graph tensor 'x:0' \(made by x "
                                     r"\(placeholder\)\)"),
])
def test_python_decisions_on_values_are_errors_naming_the_op_and_line(decide, what):
    with pytest.raises(GraphCaptureError, match=what + r" at .*test_trace.py:\d+: .*"
                                                r"somanet.graph.cond"):
        graph.trace(decide, sn.ones(3))


def test_writes_in_place_and_backward_are_errors():
    def writes(x):
        y = x * 2
        y += 1
        return y

    with pytest.raises(GraphCaptureError, match=r"\+= into the graph tensor 'mul:0'"):
        graph.trace(writes, sn.ones(2))
    with pytest.raises(GraphCaptureError, match="backward"):
        graph.trace(lambda x: (x * 2).sum().backward(), sn.ones(2))


def test_the_graph_checks_its_inputs():
    g = graph.trace(lambda x: x * 2, sn.ones(2, 3))
    with pytest.raises(ValueError, match=r"takes shape \(2, 3\).* got a value of shape "
                                         r"\(4, 3\)"):
        g(sn.ones(4, 3))
    with pytest.raises(TypeError, match="takes 1 input"):
        g(sn.ones(2, 3), sn.ones(2, 3))
    with pytest.raises(TypeError, match="traced with dtype float32; got int32"):
        g(sn.ones(2, 3, dtype="int32"))
    assert g(np.ones((2, 3))).dtype == np.float32  # NumPy's float64 takes the dtype policy


def test_function_caches_one_graph_per_signature():
    calls = []

    @graph.function
    def f(x, scale):
        calls.append(1)
        return x * scale

    assert f(sn.ones(3), 2.0).tolist() == [2.0, 2.0, 2.0]
    assert f(sn.ones(3) * 2, 2.0).tolist() == [4.0, 4.0, 4.0]
    assert len(calls) == 1  # traced once, run twice
    f(sn.ones(4), 2.0)
    f(sn.ones(3), 3.0)
    f(sn.ones(3, dtype="float64"), 2.0)
    assert len(f.graphs) == 4 and len(calls) == 4


def test_function_retraces_when_the_mode_changes():
    model = sn.Sequential([nn.Dense(4), nn.Dropout(0.5)])
    model(sn.ones(1, 2))
    step = graph.function(model)
    model.train()
    assert "Dropout" in [node.op.__name__ for node in step.graph_for(sn.ones(8, 2)).ops]
    model.eval()
    assert "Dropout" not in [node.op.__name__ for node in step.graph_for(sn.ones(8, 2)).ops]
    assert len(step.graphs) == 2


def test_function_on_a_method_keeps_one_cache_per_object():
    class Scaler(nn.Module):
        def __init__(self, scale):
            super().__init__()
            self.scale = nn.Parameter(sn.tensor([scale]))

        @graph.function
        def forward(self, x):
            return x * self.scale

    a, b = Scaler(2.0), Scaler(3.0)
    assert a(sn.ones(2)).tolist() == [2.0, 2.0] and b(sn.ones(2)).tolist() == [3.0, 3.0]


def test_functions_calling_functions_are_inlined():
    inner = graph.function(lambda x: x * 3)
    g = graph.trace(lambda x: inner(x) + 1, sn.ones(2))
    assert [node.op.__name__ for node in g.ops] == ["Mul", "Add"]
    assert g(sn.tensor([1.0, 2.0])).tolist() == [4.0, 7.0]


def test_non_hashable_static_arguments_are_an_error():
    with pytest.raises(TypeError, match="must be hashable; got a list"):
        graph.function(lambda x, options: x)(sn.ones(2), [1])


def test_print_lists_the_nodes_with_shapes_and_dtypes():
    model = small_model()
    text = str(graph.trace(model, sn.ones(5, 4)))
    assert "Graph 'Sequential': 8 nodes, outputs linear_1:0" in text
    assert "linear    Linear       x:0, 0.weight:0, 0.bias:0" in text
    assert "(5, 3)" in text and "float32" in text


def test_eager_code_is_untouched_after_tracing():
    graph.trace(lambda x: x * 2, sn.ones(2))
    y = sn.ones(2) * 2
    assert type(y) is sn.Tensor and y.tolist() == [2.0, 2.0]
