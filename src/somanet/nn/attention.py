"""Attention over a sequence: ``Attention`` (Luong's dot and general scores) and
``AdditiveAttention`` (Bahdanau's), the layers an encoder-decoder uses to look back at
the source.

For each query ``q_i`` (a decoder step) and the values ``v_j`` (the encoder's outputs,
keys ``k_j = v_j`` unless given), a layer scores every source step, turns the scores
into weights with a softmax over the source steps that are real (padded steps get
weight 0), and returns the weighted mean of the values, the context::

    e_ij = score(q_i, k_j)
    a_ij = exp(e_ij) / sum_{j' real} exp(e_ij')        (0 at padded steps j)
    c_i  = sum_j a_ij v_j

=================== ======================================== ===========================
score               ``score(q, k)``                          paper
=================== ======================================== ===========================
``"dot"``           ``q . k``                                Luong, Pham & Manning 2015
``"general"``       ``q W k``,  W (Dq, Dk)                   Luong, Pham & Manning 2015
``"scaled_dot"``    ``q . k / sqrt(Dk)``                     Vaswani et al. 2017
additive            ``v . tanh(q W_q + k W_k + b)``          Bahdanau, Cho & Bengio 2015
=================== ======================================== ===========================

Both layers are called as Keras's are, ``layer(query, value, key=None, mask=...)``
(or ``layer([query, value])``), with the padded source steps given by ``mask`` (B, Tv)
or ``lengths`` (B,), and ``return_attention_scores=True`` for the weights ``a``.
"""
import math

from .. import ops
from .._checks import check_choice
from ..tensor import Tensor
from . import init as _init
from ._build import check_size, device_and_dtype, new_parameter, shape_of
from .module import Module


class _Attention(Module):
    """What the two layers share: the call, the checks, the masked softmax and the
    context. A subclass gives ``_scores(query, key) -> (B, Tq, Tv)``."""

    def forward(self, query, value=None, key=None, *, mask=None, lengths=None,
                query_mask=None, return_attention_scores=False):
        if value is None and isinstance(query, (list, tuple)):  # Keras: layer([q, v(, k)])
            if len(query) not in (2, 3):
                raise ValueError(f"expected [query, value] or [query, value, key], got a "
                                 f"list of {len(query)}")
            query, value, key = (list(query) + [None])[:3]
        if value is None:
            raise TypeError("attention needs the query and the values: layer(query, value)")
        single = _check_inputs(query, value, key)
        if single:  # one query step (B, Dq): attend as a sequence of one
            query = ops.unsqueeze(query, 1)
        key = value if key is None else key
        value_mask = _value_mask(mask, lengths, value)
        scores = self._scores(query, key)
        if value_mask is not None:
            # The lowest finite number, not -inf: exp() makes it exactly 0 next to any real
            # score, and a row with no real step gets uniform weights instead of NaN.
            fill = float(value.device.xp.finfo(scores.dtype).min)
            scores = ops.where(value_mask, scores, fill)
        weights = ops.softmax(scores, axis=-1)
        context = ops.matmul(weights, value)
        if query_mask is not None:  # Keras: outputs at padded query steps are zero
            context = context * _query_mask(query_mask, query, single)
        if single:
            context, weights = context[:, 0], weights[:, 0]
        return (context, weights) if return_attention_scores else context


def _check_inputs(query, value, key):
    """Check the three inputs; True for a one-step (2-D) query."""
    for role, tensor in (("query", query), ("value", value), ("key", key)):
        if tensor is None:
            continue
        if not isinstance(tensor, Tensor):
            raise TypeError(f"the {role} must be a Tensor, got {type(tensor).__name__}")
        if tensor.dtype.kind != "f":
            raise TypeError(f"the {role} must hold floats, got {tensor.dtype}; embed token "
                            f"ids first (nn.Embedding)")
    if value.ndim != 3:
        raise ValueError(f"the value must be (batch, source steps, features), got shape "
                         f"{value.shape}")
    if query.ndim not in (2, 3):
        raise ValueError(f"the query must be (batch, target steps, features) or one step "
                         f"(batch, features), got shape {query.shape}")
    if query.shape[0] != value.shape[0]:
        raise ValueError(f"the query has batch size {query.shape[0]} but the value "
                         f"{value.shape[0]} (shapes {query.shape} and {value.shape})")
    if key is not None and (key.ndim != 3 or key.shape[:2] != value.shape[:2]):
        raise ValueError(f"the key must have the value's batch and steps, ({value.shape[0]}, "
                         f"{value.shape[1]}, features), got shape {shape_of(key)}")
    for role, tensor in (("value", value), ("key", key)):
        if tensor is not None and (tensor.dtype != query.dtype
                                   or tensor.device != query.device):
            raise TypeError(f"the query is {query.dtype} on {query.device} but the {role} "
                            f"{tensor.dtype} on {tensor.device}")
    return query.ndim == 2


def _value_mask(mask, lengths, value):
    """The real source steps as a (B, 1, Tv) bool Tensor, from ``mask`` or ``lengths``;
    ``None`` for neither."""
    if mask is None and lengths is None:
        return None
    if mask is not None and lengths is not None:
        raise TypeError("give mask= or lengths=, not both")
    batch, steps = value.shape[0], value.shape[1]
    xp = value.device.xp
    if lengths is not None:
        values = xp.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
        if values.dtype.kind not in "iu" or values.shape != (batch,):
            raise ValueError(f"lengths must be one int per sequence, shape ({batch},), got "
                             f"{values.dtype} of shape {values.shape}")
        if values.size and (int(values.min()) < 0 or int(values.max()) > steps):
            raise ValueError(f"lengths must lie in [0, {steps}] (the value has {steps} "
                             f"steps), got {values.tolist()}")
        real = xp.arange(steps)[None, :] < values[:, None]
    else:
        real = _bool_mask("mask", mask, (batch, steps), xp, "(batch, source steps)")
    return Tensor(real[:, None, :])


def _query_mask(mask, query, single):
    """Keras's query mask as a (B, Tq, 1) float Tensor (1 at real target steps)."""
    batch, steps = query.shape[0], query.shape[1]
    shape, names = ((batch,), "(batch,)") if single else ((batch, steps),
                                                          "(batch, target steps)")
    real = _bool_mask("query_mask", mask, shape, query.device.xp, names)
    return Tensor(real.reshape(batch, steps, 1).astype(query.dtype))


def _bool_mask(role, mask, shape, xp, names):
    values = xp.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if values.shape != shape:
        raise ValueError(f"{role} must have shape {names} = {shape}, got {values.shape}")
    if values.dtype.kind != "b":
        if values.dtype.kind not in "iuf" or bool(((values != 0) & (values != 1)).any()):
            raise ValueError(f"{role} must hold booleans (True, or 1, at real steps), got "
                             f"dtype {values.dtype}")
        values = values != 0
    return values


class Attention(_Attention):
    """Luong-style (multiplicative) attention: dot-product scores between each query
    step and every key, a softmax over the real source steps, and the weighted sum of
    the values::

        e_ij = q_i . k_j                 score_mode="dot"         (Luong et al. 2015)
        e_ij = q_i W k_j                 score_mode="general"     (Luong et al. 2015)
        e_ij = q_i . k_j / sqrt(Dk)      score_mode="scaled_dot"  (Vaswani et al. 2017)
        a_ij = softmax_j(e_ij)  over the real steps j (0 at padded ones)
        c_i  = sum_j a_ij v_j

    Luong, Pham & Manning, "Effective Approaches to Attention-based Neural Machine
    Translation" (EMNLP 2015), section 3.1, global attention. Keras's ``Attention`` is
    the ``"dot"`` form; ``"general"`` learns ``W`` (PyTorch's ``nn.Bilinear`` without
    bias, applied to every pair), so the query and key sizes may differ.

    Args:
        score_mode: ``"dot"`` (default; needs Dq == Dk), ``"general"`` or
            ``"scaled_dot"``.
        use_scale: (Keras's) multiply the scores by a learned scalar, initially 1.
        kernel_initializer: for ``W`` of ``"general"``; default Glorot uniform.

    Call: ``layer(query, value, key=None, *, mask=None, lengths=None, query_mask=None,
    return_attention_scores=False)``, or Keras's ``layer([query, value(, key)])``.
        query: (B, Tq, Dq), or one step (B, Dq).
        value: (B, Tv, Dv); key: (B, Tv, Dk), default the value.
        mask: (B, Tv) booleans, True at the real source steps (Keras's value mask);
            or lengths: (B,) ints, the real length of each right-padded source. A
            source with no real step attends uniformly to all its steps (as Keras).
        query_mask: (B, Tq) booleans (Keras's query mask): the outputs at padded target
            steps are zero.
        return_attention_scores: also return the weights ``a``.

    Shape:
        (B, Tq, Dq), (B, Tv, Dv) -> context (B, Tq, Dv) [, weights (B, Tq, Tv), each row
        summing to 1]; a 2-D query (B, Dq) gives (B, Dv) [, (B, Tv)].

        >>> import somanet as sn
        >>> from somanet import nn
        >>> attention = nn.Attention("general")
        >>> decoder, encoder = sn.randn(2, 5, 8), sn.randn(2, 7, 6)
        >>> context, weights = attention(decoder, encoder, lengths=[7, 4],
        ...                              return_attention_scores=True)
        >>> context.shape, weights.shape, float(weights[1, :, 4:].sum())
        ((2, 5, 6), (2, 5, 7), 0.0)
    """

    MODES = ("dot", "general", "scaled_dot")

    def __init__(self, score_mode="dot", use_scale=False, kernel_initializer="glorot_uniform"):
        super().__init__()
        self.score_mode = check_choice(self, "score_mode", score_mode, self.MODES)
        self.use_scale = bool(use_scale)
        self.kernel_initializer = _init.get(kernel_initializer)
        if self.score_mode == "general":
            self.register_parameter("weight", None)  # W (Dq, Dk), made on the first call
        if self.use_scale:
            self.scale = new_parameter(_init.create("ones", (), None, None))

    def _built(self):
        return self.score_mode != "general" or self.weight is not None

    def _scores(self, query, key):
        if self.score_mode == "general":
            if self.weight is None:
                device, dtype = device_and_dtype(query)
                self.weight = new_parameter(_init.create(
                    self.kernel_initializer, (query.shape[-1], key.shape[-1]), dtype, device))
            expected = tuple(self.weight.shape)
            if (query.shape[-1], key.shape[-1]) != expected:
                raise ValueError(f"W is {expected} (query features, key "
                                 f"features), got a query with {query.shape[-1]} and a key "
                                 f"with {key.shape[-1]}")
            query = ops.matmul(query, self.weight)
        elif query.shape[-1] != key.shape[-1]:
            raise ValueError(f"score_mode={self.score_mode!r}: the query has "
                             f"{query.shape[-1]} features and the key {key.shape[-1]}; dot "
                             f"scores need the same size (score_mode='general' learns a "
                             f"map between them)")
        scores = ops.matmul(query, ops.swapaxes(key, 1, 2))
        if self.score_mode == "scaled_dot":
            scores = scores * (1.0 / math.sqrt(key.shape[-1]))
        if self.use_scale:
            scores = scores * self.scale
        return scores

    def extra_repr(self):
        text = repr(self.score_mode)
        return text + (", use_scale=True" if self.use_scale else "")


class AdditiveAttention(_Attention):
    """Bahdanau-style (additive) attention: a one-hidden-layer network scores each pair of
    a query step and a key, a softmax over the real source steps gives the weights, and
    the context is the weighted sum of the values::

        e_ij = v . tanh(q_i W_q + k_j W_k + b)      W_q (Dq, U), W_k (Dk, U), b, v (U,)
        a_ij = softmax_j(e_ij)  over the real steps j (0 at padded ones)
        c_i  = sum_j a_ij v_j

    Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning to Align and
    Translate" (ICLR 2015), appendix A.1.2 (Luong et al. call it the "concat" score).
    Keras's ``AdditiveAttention`` is this without ``W_q``, ``W_k`` and ``b`` (it expects
    projected inputs); here they are learned, sized on the first call.

    Args:
        units: U, the hidden size of the scoring network; default the key's feature size.
        kernel_initializer: for ``W_q``, ``W_k`` and ``v``; default Glorot uniform.

    Call and shapes: as ``Attention`` (mask / lengths, a 2-D query for one step,
    ``return_attention_scores``). Memory: the scoring network runs on every (query,
    key) pair, (B, Tq, Tv, U) numbers.

        >>> import somanet as sn
        >>> from somanet import nn
        >>> attention = nn.AdditiveAttention(16)
        >>> context, weights = attention(sn.randn(2, 8), sn.randn(2, 7, 6),
        ...                              return_attention_scores=True)   # one decoder step
        >>> context.shape, weights.shape, attention.query_kernel.shape
        ((2, 6), (2, 7), (8, 16))
    """

    def __init__(self, units=None, kernel_initializer="glorot_uniform"):
        super().__init__()
        self.units = check_size(self, "units", units, allow_none=True)
        self.kernel_initializer = _init.get(kernel_initializer)
        for role in ("query_kernel", "key_kernel", "bias", "score_vector"):
            self.register_parameter(role, None)

    def _built(self):
        return self.query_kernel is not None

    def _after_load(self):
        self.units = self.key_kernel.shape[1]

    def _build(self, query, key):
        device, dtype = device_and_dtype(query)
        units = self.units or key.shape[-1]
        self.units = units
        create = self.kernel_initializer
        self.query_kernel = new_parameter(_init.create(create, (query.shape[-1], units), dtype,
                                                       device))
        self.key_kernel = new_parameter(_init.create(create, (key.shape[-1], units), dtype,
                                                     device))
        self.bias = new_parameter(_init.create("zeros", (units,), dtype, device))
        self.score_vector = new_parameter(_init.create(create, (units, 1), dtype, device))

    def _scores(self, query, key):
        if self.query_kernel is None:
            self._build(query, key)
        for role, tensor, kernel in (("query", query, self.query_kernel),
                                     ("key", key, self.key_kernel)):
            if tensor.shape[-1] != kernel.shape[0]:
                raise ValueError(f"W_{role[0]} is {tuple(kernel.shape)}, "
                                 f"built for a {role} with {kernel.shape[0]} features, got "
                                 f"{tensor.shape[-1]}")
        projected_query = ops.unsqueeze(ops.linear(query, self.query_kernel, self.bias), 2)
        projected_key = ops.unsqueeze(ops.matmul(key, self.key_kernel), 1)
        hidden = ops.tanh(projected_query + projected_key)  # (B, Tq, Tv, U)
        return ops.squeeze(ops.matmul(hidden, self.score_vector), -1)

    def extra_repr(self):
        return "" if self.units is None else str(self.units)
