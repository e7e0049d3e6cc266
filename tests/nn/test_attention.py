"""Attention and AdditiveAttention: shapes (sequences, one query step, Keras's list form,
a separate key), agreement with a NumPy reference for every score, masking of padded
source steps (zero weight, the same result as the unpadded source), gradient checks
through the layer (inputs and parameters, float64), state dicts, and the errors."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn

MODES = ["dot", "general", "scaled_dot", "additive"]


def _layer(mode, **kwargs):
    return nn.AdditiveAttention(**kwargs) if mode == "additive" else nn.Attention(mode,
                                                                                  **kwargs)


def _softmax(scores):
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _reference(layer, mode, query, value, key=None, lengths=None):
    """The attention in plain NumPy, from the layer's parameters."""
    key = value if key is None else key
    if mode == "additive":
        w_q, w_k = layer.query_kernel.numpy(), layer.key_kernel.numpy()
        bias, v = layer.bias.numpy(), layer.score_vector.numpy()[:, 0]
        hidden = np.tanh((query @ w_q + bias)[:, :, None, :] + (key @ w_k)[:, None, :, :])
        scores = hidden @ v
    else:
        projected = query @ layer.weight.numpy() if mode == "general" else query
        scores = projected @ key.transpose(0, 2, 1)
        if mode == "scaled_dot":
            scores = scores / np.sqrt(key.shape[-1])
    if lengths is not None:
        real = np.arange(value.shape[1])[None, None, :] < np.asarray(lengths)[:, None, None]
        scores = np.where(real, scores, -np.inf)
    weights = _softmax(scores)
    return weights @ value, weights


def _inputs(rng, batch=3, tq=4, tv=6, dq=5, dv=5, dk=None, dtype="float32"):
    query = rng.normal(size=(batch, tq, dq)).astype(dtype)
    value = rng.normal(size=(batch, tv, dv)).astype(dtype)
    key = None if dk is None else rng.normal(size=(batch, tv, dk)).astype(dtype)
    return query, value, key


# -- shapes and the reference ------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_matches_the_numpy_reference_with_and_without_padding(mode):
    rng = np.random.default_rng(0)
    query, value, _ = _inputs(rng)
    layer = _layer(mode)
    for lengths in (None, [6, 3, 1]):
        context, weights = layer(sn.tensor(query), sn.tensor(value), lengths=lengths,
                                 return_attention_scores=True)
        expected_context, expected_weights = _reference(layer, mode, query, value,
                                                        lengths=lengths)
        assert context.shape == (3, 4, 5) and weights.shape == (3, 4, 6)
        assert context.dtype == sn.float32 and weights.dtype == sn.float32
        np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(context.numpy(), expected_context, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(weights.numpy().sum(axis=-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("mode", ["general", "additive"])
def test_a_separate_key_and_different_sizes(mode):
    rng = np.random.default_rng(1)
    query, value, key = _inputs(rng, dq=7, dv=3, dk=4)
    layer = _layer(mode)
    context, weights = layer(sn.tensor(query), sn.tensor(value), sn.tensor(key),
                             return_attention_scores=True)
    expected_context, expected_weights = _reference(layer, mode, query, value, key)
    assert context.shape == (3, 4, 3)
    np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context.numpy(), expected_context, rtol=1e-5, atol=1e-5)
    if mode == "general":
        assert layer.weight.shape == (7, 4)
    else:
        assert (layer.query_kernel.shape, layer.key_kernel.shape) == ((7, 4), (4, 4))


@pytest.mark.parametrize("mode", MODES)
def test_one_query_step_is_a_sequence_of_one(mode):
    rng = np.random.default_rng(2)
    query, value, _ = _inputs(rng, tq=1)
    layer = _layer(mode)
    full, full_weights = layer(sn.tensor(query), sn.tensor(value), lengths=[6, 2, 4],
                               return_attention_scores=True)
    step, step_weights = layer(sn.tensor(query[:, 0]), sn.tensor(value), lengths=[6, 2, 4],
                               return_attention_scores=True)
    assert step.shape == (3, 5) and step_weights.shape == (3, 6)
    np.testing.assert_allclose(step.numpy(), full.numpy()[:, 0], rtol=1e-6)
    np.testing.assert_allclose(step_weights.numpy(), full_weights.numpy()[:, 0], rtol=1e-6)


def test_keras_list_form_and_the_context_alone():
    rng = np.random.default_rng(3)
    query, value, _ = _inputs(rng)
    layer = nn.Attention()
    listed = layer([sn.tensor(query), sn.tensor(value)])
    assert isinstance(listed, sn.Tensor)
    np.testing.assert_allclose(listed.numpy(), layer(sn.tensor(query), sn.tensor(value)).numpy())


def test_use_scale_multiplies_the_scores_by_a_learned_scalar():
    rng = np.random.default_rng(4)
    query, value, _ = _inputs(rng)
    layer = nn.Attention(use_scale=True)
    assert [name for name, _ in layer.named_parameters()] == ["scale"]
    layer.scale.data[...] = 0.5
    _, weights = layer(sn.tensor(query), sn.tensor(value), return_attention_scores=True)
    expected = _softmax(0.5 * (query @ value.transpose(0, 2, 1)))
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-5, atol=1e-6)


# -- masking -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_padded_steps_get_no_weight_and_do_not_change_the_result(mode):
    rng = np.random.default_rng(5)
    query, value, _ = _inputs(rng, batch=2, tv=7)
    layer = _layer(mode)
    lengths = [4, 7]
    garbage = value.copy()
    garbage[0, 4:] = rng.normal(size=(3, 5)) * 100  # whatever sits in the padding
    context, weights = layer(sn.tensor(query), sn.tensor(garbage), lengths=lengths,
                             return_attention_scores=True)
    assert np.all(weights.numpy()[0, :, 4:] == 0.0)
    alone, alone_weights = layer(sn.tensor(query[:1]), sn.tensor(value[:1, :4]),
                                 return_attention_scores=True)
    np.testing.assert_allclose(context.numpy()[0], alone.numpy()[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights.numpy()[0, :, :4], alone_weights.numpy()[0], rtol=1e-5)
    # mask= says the same as lengths=, as booleans or 0/1
    mask = np.arange(7)[None, :] < np.array(lengths)[:, None]
    for given in (mask, mask.astype("int64"), sn.tensor(mask)):
        again = layer(sn.tensor(query), sn.tensor(garbage), mask=given)
        np.testing.assert_array_equal(again.numpy(), context.numpy())


def test_the_query_mask_zeroes_padded_target_steps():
    rng = np.random.default_rng(6)
    query, value, _ = _inputs(rng, batch=2)
    layer = nn.Attention()
    query_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool)
    plain = layer(sn.tensor(query), sn.tensor(value)).numpy()
    masked = layer(sn.tensor(query), sn.tensor(value), query_mask=query_mask).numpy()
    np.testing.assert_array_equal(masked[0, 2:], 0.0)
    np.testing.assert_allclose(masked[query_mask], plain[query_mask])


def test_a_source_with_no_real_step_attends_uniformly():
    rng = np.random.default_rng(7)
    query, value, _ = _inputs(rng, batch=2)
    _, weights = nn.Attention()(sn.tensor(query), sn.tensor(value), lengths=[0, 6],
                                return_attention_scores=True)
    assert np.all(np.isfinite(weights.numpy()))
    np.testing.assert_allclose(weights.numpy()[0], 1 / 6, rtol=1e-6)


# -- gradients -----------------------------------------------------------------------------

def _check_parameter_gradients(layer, fn, eps=1e-6, atol=1e-6, rtol=1e-4):
    """Finite differences on each (float64) parameter of ``layer`` against backward."""
    rng = np.random.default_rng(0)
    output = fn()
    projection = rng.normal(size=output.shape)
    layer.zero_grad()
    (output * sn.tensor(projection, dtype="float64")).sum().backward()
    for name, param in layer.named_parameters():
        analytic = param.grad.numpy().reshape(-1)
        flat = param.data.reshape(-1)
        for element in range(flat.size):
            original = flat[element]
            flat[element] = original + eps
            with sn.no_grad():
                plus = float((fn().numpy() * projection).sum())
            flat[element] = original - eps
            with sn.no_grad():
                minus = float((fn().numpy() * projection).sum())
            flat[element] = original
            numeric = (plus - minus) / (2 * eps)
            assert abs(numeric - analytic[element]) <= atol + rtol * abs(numeric), \
                f"{name}[{element}]: autograd {analytic[element]}, finite differences {numeric}"


@pytest.mark.parametrize("mode", MODES)
def test_gradients_through_the_layer_float64(mode):
    rng = np.random.default_rng(8)
    query, value, key = _inputs(rng, batch=2, tq=3, tv=4, dq=3, dv=2, dk=3,
                                dtype="float64")
    if mode in ("dot", "scaled_dot"):
        query = query[..., :3]
    layer = _layer(mode, units=3) if mode == "additive" else _layer(mode)
    lengths = [4, 2]
    q, v, k = (sn.tensor(a, requires_grad=True) for a in (query, value, key))
    assert sn.gradcheck(lambda q, v, k: layer(q, v, k, lengths=lengths,
                                              return_attention_scores=True), [q, v, k])
    one_step = sn.tensor(query[:, 0], requires_grad=True)
    assert sn.gradcheck(lambda q, v, k: layer(q, v, k, lengths=lengths), [one_step, v, k])
    if mode in ("general", "additive"):
        assert all(p.dtype == sn.float64 for p in layer.parameters())
        q, v, k = (sn.tensor(a, dtype="float64") for a in (query, value, key))
        _check_parameter_gradients(layer, lambda: layer(q, v, k, lengths=lengths))


def test_padded_steps_get_no_gradient():
    rng = np.random.default_rng(9)
    query, value, _ = _inputs(rng, batch=2, dtype="float64")
    v = sn.tensor(value, dtype="float64", requires_grad=True)
    nn.Attention()(sn.tensor(query, dtype="float64"), v, lengths=[3, 6]).sum().backward()
    assert np.all(v.grad.numpy()[0, 3:] == 0.0) and np.any(v.grad.numpy()[0, :3] != 0.0)


# -- state and repr -------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["general", "additive"])
def test_a_lazy_layer_loads_a_state_dict(mode):
    rng = np.random.default_rng(10)
    query, value, _ = _inputs(rng)
    trained = _layer(mode)
    expected = trained(sn.tensor(query), sn.tensor(value)).numpy()
    fresh = _layer(mode)
    assert not fresh.is_built
    fresh.load_state_dict(trained.state_dict())
    assert fresh.is_built
    np.testing.assert_allclose(fresh(sn.tensor(query), sn.tensor(value)).numpy(), expected,
                               rtol=1e-6)
    assert repr(fresh).startswith(type(fresh).__name__)


# -- errors --------------------------------------------------------------------------------

def test_errors_name_what_was_wrong():
    rng = np.random.default_rng(11)
    query, value, _ = _inputs(rng)
    q, v = sn.tensor(query), sn.tensor(value)
    with pytest.raises(ValueError, match="score_mode must be one of 'dot', 'general'"):
        nn.Attention("concat")
    with pytest.raises(ValueError, match="5 features and the key 4.*'general'"):
        nn.Attention()(q, sn.tensor(value[..., :4]))
    with pytest.raises(ValueError, match=r"value must be \(batch, source steps, features\)"):
        nn.Attention()(q, sn.tensor(value[0]))
    with pytest.raises(ValueError, match="batch size 3 but the value 2"):
        nn.Attention()(q, sn.tensor(value[:2]))
    with pytest.raises(TypeError, match="must hold floats"):
        nn.Attention()(sn.tensor(np.ones((3, 4), dtype="int64")), v)
    with pytest.raises(TypeError, match="must be a Tensor"):
        nn.Attention()(query, v)
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, source steps\) = "
                                         r"\(3, 6\), got \(6, 3\)"):
        nn.Attention()(q, v, mask=np.ones((6, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 6\]"):
        nn.Attention()(q, v, lengths=[1, 7, 2])
    with pytest.raises(ValueError, match=r"one int per sequence, shape \(3,\)"):
        nn.Attention()(q, v, lengths=[1, 2])
    with pytest.raises(TypeError, match="mask= or lengths=, not both"):
        nn.Attention()(q, v, lengths=[1, 2, 3], mask=np.ones((3, 6), dtype=bool))
    with pytest.raises(ValueError, match="mask must hold booleans"):
        nn.Attention()(q, v, mask=np.full((3, 6), 2))
    layer = nn.Attention("general")
    layer(q, v)
    with pytest.raises(ValueError, match=r"W is \(5, 5\).*a query with 4"):
        layer(sn.tensor(query[..., :4]), v)
    with pytest.raises(ValueError, match=r"\[query, value\] or \[query, value, key\]"):
        nn.Attention()([q])
    with pytest.raises(ValueError, match="units must be a positive int"):
        nn.AdditiveAttention(0)
