"""Sequential, ModuleList, ModuleDict, ParameterList."""
from collections import OrderedDict

import numpy as np
import pytest

import somanet as sn
from somanet import nn


def test_sequential_from_layers_list_or_ordered_dict():
    layers = [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)]
    for model in (nn.Sequential(*layers), nn.Sequential(layers)):
        assert len(model) == 3 and list(model) == layers
        assert model(sn.ones(5, 3)).shape == (5, 2)
    named = nn.Sequential(OrderedDict([("hidden", layers[0]), ("act", layers[1])]))
    assert list(named.state_dict()) == ["hidden.weight", "hidden.bias"]
    assert named[0] is layers[0] and named.hidden is layers[0]


def test_sequential_indexing_slicing_append_insert_delete():
    a, b, c = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)
    model = nn.Sequential(a, b)
    assert model[-1] is b
    assert model.append(c) is model and model[2] is c
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    assert head(sn.ones(1, 2)).shape == (1, 2)
    model.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "ReLU", "Linear"]
    del model[1]
    assert list(model) == [a, b, c]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model[1] = nn.Sigmoid()
    assert isinstance(model[1], nn.Sigmoid)
    with pytest.raises(IndexError, match="index 3 is out of range for Sequential of length 3"):
        model[3]


def test_sequential_rejects_non_modules_with_a_hint():
    with pytest.raises(TypeError, match=r"call the class: nn\.ReLU\(\)"):
        nn.Sequential(nn.ReLU)
    with pytest.raises(TypeError, match="expected a Module, got int"):
        nn.Sequential(nn.ReLU()).append(3)


def test_sequential_converts_array_input():
    model = nn.Sequential(nn.Linear(2, 1))
    out = model(np.ones((3, 2)))  # float64 NumPy in: float32 by the dtype policy
    assert out.shape == (3, 1) and out.dtype == np.float32


def test_module_list_and_dict():
    blocks = nn.ModuleList([nn.Linear(2, 2)])
    blocks.extend([nn.Linear(2, 2), nn.ReLU()])
    assert len(blocks) == 3 and len(list(blocks.parameters())) == 4
    with pytest.raises(NotImplementedError, match="iterate over it"):
        blocks(sn.ones(1, 2))
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    heads["b"] = nn.Linear(2, 3)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert [name for name, _ in heads.named_parameters()] == ["a.weight", "a.bias",
                                                             "b.weight", "b.bias"]
    del heads["a"]
    assert list(heads.keys()) == ["b"]


def test_parameter_list():
    params = nn.ParameterList([nn.Parameter(sn.zeros(2))])
    params.append(nn.Parameter(sn.ones(3)))
    assert len(params) == 2 and params[1].shape == (3,)
    with pytest.raises(TypeError, match="expected a Parameter"):
        params.append(sn.zeros(1))
