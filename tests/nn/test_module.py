"""Module: registration, traversal, state_dict, modes, devices, hooks, the error path."""
import warnings

import numpy as np
import pytest

import somanet as sn
from somanet import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.scale = nn.Parameter(sn.ones(3))
        self.register_buffer("count", sn.zeros(1))

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Block()
        self.heads = [nn.Linear(3, 2), nn.Linear(3, 1)]  # a plain list: converted
        self.by_name = {"a": nn.ReLU(), "b": nn.Tanh()}  # a plain dict: converted

    def forward(self, x):
        h = self.by_name["a"](self.encoder(x))
        return [head(h) for head in self.heads]


def test_registration_by_assignment():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["encoder.scale", "encoder.fc.weight", "encoder.fc.bias",
                     "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"]
    assert isinstance(net.heads, nn.ModuleList) and isinstance(net.by_name, nn.ModuleDict)
    assert len(list(net.parameters())) == 7
    assert [name for name, _ in net.named_buffers()] == ["encoder.count"]
    assert [name for name, _ in net.named_modules()] == [
        "", "encoder", "encoder.fc", "heads", "heads.0", "heads.1", "by_name", "by_name.a",
        "by_name.b"]
    assert [type(m).__name__ for m in net.children()] == ["Block", "ModuleList", "ModuleDict"]
    outputs = net(sn.ones(5, 4))
    assert [o.shape for o in outputs] == [(5, 2), (5, 1)]


def test_parameter_counts_and_trainable():
    net = Net()
    total = (4 * 3 + 3 + 3) + (3 * 2 + 2) + (3 * 1 + 1)
    assert net.num_parameters() == total
    net.encoder.requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == total - 18
    assert net.num_parameters() == total


def test_shared_parameter_listed_once():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert model.num_parameters() == 12


def test_list_filled_later_is_warned_about():
    class Late(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = []
            self.layers.append(nn.Linear(2, 2))

    with pytest.warns(UserWarning, match=r"Late\.layers is a plain list .* not registered"):
        list(Late().parameters())


def test_mixed_list_is_warned_about():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.stuff = [nn.Linear(2, 2), "not a module"]

    with pytest.warns(UserWarning, match=r"Mixed\.stuff: a list mixing Modules"):
        Mixed()


def test_list_of_parameters_becomes_parameter_list():
    class P(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = [nn.Parameter(sn.zeros(2)), nn.Parameter(sn.zeros(3))]

    p = P()
    assert isinstance(p.ws, nn.ParameterList)
    assert [name for name, _ in p.named_parameters()] == ["ws.0", "ws.1"]


def test_assignment_before_super_init_is_registered():
    class Early(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
            super().__init__()

    assert len(list(Early().parameters())) == 2


def test_wrong_assignments_are_type_errors():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'weight'"):
        layer.weight = sn.zeros(2, 2)
    layer.bias = None  # a parameter slot can be emptied
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="expected a Parameter or None"):
        layer.register_parameter("w", sn.zeros(2))
    with pytest.raises(TypeError, match="expected a Tensor or None"):
        layer.register_buffer("b", np.zeros(2))


def test_deleting_an_attribute_unregisters_it():
    block = Block()
    del block.fc
    assert [name for name, _ in block.named_parameters()] == ["scale"]


def test_state_dict_round_trip():
    sn.manual_seed(0)
    source = Net()
    source.encoder.count += 5
    state = source.state_dict()
    assert list(state) == ["encoder.scale", "encoder.count", "encoder.fc.weight",
                           "encoder.fc.bias", "heads.0.weight", "heads.0.bias",
                           "heads.1.weight", "heads.1.bias"]
    sn.manual_seed(1)
    target = Net()
    weight_object = target.encoder.fc.weight
    result = target.load_state_dict({k: v.numpy().copy() for k, v in state.items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.encoder.fc.weight is weight_object  # loaded in place
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].numpy())
    x = sn.randn(2, 4)
    for a, b in zip(source(x), target(x)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_shares_memory_and_keep_vars():
    layer = nn.Linear(2, 2)
    assert np.shares_memory(layer.state_dict()["weight"].data, layer.weight.data)
    assert not isinstance(layer.state_dict()["weight"], nn.Parameter)
    assert layer.state_dict(keep_vars=True)["weight"] is layer.weight


def test_load_state_dict_casts_to_parameter_dtype():
    layer = nn.Linear(2, 2)
    layer.load_state_dict({"weight": np.eye(2), "bias": np.zeros(2)})  # float64 in
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.numpy(), np.eye(2))


def test_load_state_dict_strict_names_every_problem():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    state = model.state_dict()
    del state["1.bias"]
    state["2.weight"] = sn.zeros(3)
    with pytest.raises(ValueError, match=r"missing keys: \['1\.bias'\].*unexpected keys: "
                                         r"\['2\.weight'\]"):
        model.load_state_dict(state)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["2.weight"]


def test_load_state_dict_shape_mismatch_is_always_an_error():
    model = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(ValueError, match=r"'0\.weight' has shape \(4, 2\) in the state dict "
                                         r"but \(4, 3\) in the model"):
        model.load_state_dict({"0.weight": sn.zeros(4, 2), "0.bias": sn.zeros(3)},
                              strict=False)


def test_load_state_dict_builds_lazy_layers():
    source = nn.Sequential(nn.Dense(3), nn.Dense(2))
    source(sn.ones(1, 5))
    target = nn.Sequential(nn.Dense(3), nn.Dense(2))
    target.load_state_dict(source.state_dict())
    assert target[0].in_features == 5 and target.is_built
    x = sn.randn(4, 5)
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())


def test_non_persistent_buffer_not_in_state_dict():
    module = nn.Module()
    module.register_buffer("kept", sn.zeros(1))
    module.register_buffer("scratch", sn.zeros(1), persistent=False)
    assert list(module.state_dict()) == ["kept"]
    assert [name for name, _ in module.named_buffers()] == ["kept", "scratch"]


def test_train_eval_reach_every_module():
    net = Net()
    assert net.training and net.heads[0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad():
    layer = nn.Linear(3, 1)
    layer(sn.ones(2, 3)).sum().backward()
    assert layer.weight.grad is not None
    layer.zero_grad(set_to_none=False)
    assert not layer.weight.grad.numpy().any()
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_to_dtype_keeps_parameter_objects_and_int_buffers():
    module = Block()
    module.register_buffer("steps", sn.zeros(1, dtype="int64"))
    weight = module.fc.weight
    module.to("float64")
    assert module.fc.weight is weight and weight.dtype == np.float64
    assert module.count.dtype == np.float64 and module.steps.dtype == np.int64
    module.float()
    assert weight.dtype == np.float32
    with pytest.raises(TypeError, match="float dtype"):
        module.to("int32")


def test_to_cpu_is_a_no_op_on_cpu():
    layer = nn.Linear(2, 2)
    data = layer.weight.data
    assert layer.to("cpu") is layer and layer.weight.data is data


@pytest.mark.gpu
@pytest.mark.skipif(sn.gpu_count() == 0, reason="needs a GPU")
def test_to_gpu_moves_parameters_buffers_and_grads():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1D(4))
    model(sn.randn(5, 3)).sum().backward()
    model.to("gpu")
    for tensor in list(model.parameters()) + list(model.buffers()):
        assert str(tensor.device) == "gpu:0"
    assert str(model[0].weight.grad.device) == "gpu:0"
    lazy = nn.Sequential(nn.Dense(2))
    out = lazy(sn.randn(3, 4).to("gpu"))
    assert str(out.device) == "gpu:0" and str(lazy[0].weight.device) == "gpu:0"


def test_apply_visits_every_module():
    net = Net()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 3


def test_repr_tree():
    model = nn.Sequential(nn.Linear(784, 128, activation="relu"), nn.Dropout(0.2),
                          nn.Sequential(nn.Linear(128, 10)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=128, activation=relu)\n"
        "  (1): Dropout(p=0.2)\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=128, out_features=10)\n"
        "  )\n"
        ")")


def test_forward_hook_sees_output_and_can_be_removed():
    layer = nn.Linear(3, 2)
    shapes = []
    handle = layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
    layer(sn.ones(4, 3))
    handle.remove()
    layer(sn.ones(4, 3))
    assert shapes == [(4, 2)]


def test_forward_missing_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        nn.Module()(sn.ones(1))


def test_unbuilt_lazy_layers_warn_when_parameters_are_listed():
    model = nn.Sequential(nn.Dense(4))
    with pytest.warns(UserWarning, match=r"input size is not known yet.*0 \(Linear\)"):
        assert list(model.parameters()) == []
    assert not model.is_built and model.num_parameters() == 0
    model(sn.ones(1, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(model.parameters())) == 2


# -- the module path in errors -----------------------------------------------------------------

def test_wrong_input_size_names_the_layer_in_a_sequential():
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(64, 10))
    with pytest.raises(ValueError, match=r"^Sequential\[2\] \(Linear\): expected input of "
                                         r"shape \(\.\.\., 64\), got shape \(8, 128\)$"):
        model(sn.ones(8, 784))


def test_nested_path_uses_attribute_names():
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 3)

        def forward(self, x):
            return self.fc(x)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()

        def forward(self, x):
            return self.encoder(x)

    with pytest.raises(ValueError, match=r"^Model\.encoder\.fc \(Linear\): expected input"):
        Model()(sn.ones(2, 4))


def test_error_deep_inside_an_op_keeps_type_and_message():
    class Bad(nn.Module):
        def forward(self, x):
            return x @ sn.ones(7, 2)

    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), Bad()))
    with pytest.raises(ValueError, match=r"^Sequential\[1\]\[1\] \(Bad\): matmul: shapes "
                                         r"\(2, 4\) and \(7, 2\)") as info:
        model(sn.ones(2, 3))
    assert type(info.value) is ValueError
    assert str(info.value).count("Sequential") == 1  # the path is added once


def test_nan_from_detect_anomaly_carries_the_path():
    class Log(nn.Module):
        def forward(self, x):
            return sn.log(x)

    model = nn.Sequential(nn.Identity(), Log())
    with sn.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError, match=r"^Sequential\[1\] \(Log\): .*-inf"):
            model(sn.zeros(3))


def test_error_in_the_root_module_names_it():
    with pytest.raises(ValueError, match=r"^Linear: expected input of shape \(\.\.\., 3\)"):
        nn.Linear(3, 2)(sn.ones(2, 2))


def test_exception_with_custom_str_gets_a_note():
    class Lookup(nn.Module):
        def forward(self, x):
            return {}["missing"]

    with pytest.raises(KeyError) as info:
        nn.Sequential(Lookup())(sn.ones(1))
    assert info.value.__notes__ == ["in module Sequential[0] (Lookup)"]


def test_module_called_past_its_parent_still_gets_a_full_path():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nn.Sequential(nn.Linear(2, 2))

        def forward(self, x):
            return self.block[0](x)  # bypasses block's own __call__

    with pytest.raises(ValueError, match=r"^Skip\.block\[0\] \(Linear\)"):
        Skip()(sn.ones(1, 5))
