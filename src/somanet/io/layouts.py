"""PyTorch's tensor layout, converted layer by layer, explicitly.

somanet names every parameter as PyTorch does (``weight``, ``bias``,
``running_mean``, ``weight_ih_l0``...), and most layers lay their tensors out as
PyTorch does too. Two kinds differ, and are converted when a file is read with
``layout="torch"`` (and written back with ``save_weights(..., layout="torch")``):

==================== ======================================= ==========================
layer                PyTorch                                 somanet
==================== ======================================= ==========================
Linear / Dense       ``weight`` (out, in)                    ``weight`` (in, out): the
                                                             transpose
RNN, LSTM, GRU       ``weight_ih_l{k}`` (G*H, in),           the transposes, (in, G*H)
                     ``weight_hh_l{k}`` (G*H, H)             and (H, G*H)
RNN, LSTM            ``bias_ih_l{k}`` + ``bias_hh_l{k}``      one ``bias_l{k}``: their
                                                             sum (the gates only see it)
GRU                  ``bias_ih_l{k}``, ``bias_hh_l{k}``       the same two (the reset
                                                             gate multiplies b_hn)
==================== ======================================= ==========================

(``_reverse`` names of a bidirectional layer alike.) The gates are in PyTorch's
order in both (LSTM i f g o, GRU r z n), so no gate block moves: only ONNX, whose
orders differ, reorders them (``somanet.onnx.converters``). Conv1D/Conv2D
(out, in/groups, k...), ConvTranspose2D (in, out/groups, k...), BatchNorm, LayerNorm
and Embedding are PyTorch's layout already and are read as they are. A BatchNorm's
``num_batches_tracked`` is read when the somanet layer keeps one (``momentum=None``,
where it weighs the running averages) and skipped otherwise, where it changes nothing.

Which tensors a rule applies to is decided by the somanet model's layers, never
by a tensor's name or shape alone: a square Linear converts like any other.
"""
import numpy

from ..nn import GRU, LSTM, RNN, BatchNorm1D, BatchNorm2D, Linear


def _recurrent_names(module, dot):
    """``(weight names, [(torch bias ih, torch bias hh, somanet bias)])`` of a recurrent
    layer's every layer and direction."""
    weights, biases = [], []
    for layer in range(module.num_layers):
        for direction in range(module.num_directions):
            suffix = f"_l{layer}{'_reverse' if direction else ''}"
            weights += [f"{dot}weight_ih{suffix}", f"{dot}weight_hh{suffix}"]
            if module.use_bias and not isinstance(module, GRU):
                biases.append((f"{dot}bias_ih{suffix}", f"{dot}bias_hh{suffix}",
                               f"{dot}bias{suffix}"))
    return weights, biases


def _rules(model):
    """``(transposed names, summed biases)`` for the layers of ``model``."""
    transposed, summed = [], []
    for name, module in model.named_modules():
        dot = name + "." if name else ""
        if isinstance(module, Linear):
            transposed.append(f"{dot}weight")
        elif isinstance(module, (RNN, LSTM, GRU)):
            weights, biases = _recurrent_names(module, dot)
            transposed += weights
            summed += biases
    return transposed, summed


def _skipped(model):
    """PyTorch's tensors that ``model`` has no place for and does not need: the batch
    counts of BatchNorm layers with a momentum (somanet keeps none there)."""
    return {f"{name + '.' if name else ''}num_batches_tracked"
            for name, module in model.named_modules()
            if isinstance(module, (BatchNorm1D, BatchNorm2D))
            and "num_batches_tracked" not in module._buffers}


def layout_dependent(model, names):
    """The names among ``names`` (a file's tensors) whose layout differs between somanet
    and PyTorch for ``model``'s layers."""
    transposed, summed = _rules(model)
    concerned = set(transposed) | {name for triple in summed for name in triple}
    return [name for name in names if name in concerned]


def from_torch_plan(model, names):
    """How to make each of ``model``'s tensors from a PyTorch file's ``names``:
    ``{somanet name: (source names, "same" | "transpose" | "sum")}`` (PyTorch tensors
    somanet has no use for, see ``_skipped``, are left out)."""
    transposed, summed = _rules(model)
    transposed = set(transposed)
    plan, used = {}, set(_skipped(model))
    for ih, hh, ours in summed:
        if ih in names or hh in names:
            plan[ours] = ((ih, hh), "sum")
            used.update((ih, hh))
    for name in names:
        if name in used:
            continue
        plan[name] = ((name,), "transpose" if name in transposed else "same")
    return plan


def planned_shapes(plan, infos, who, path):
    """The shape each planned tensor will have (checked against the sources first)."""
    shapes = {}
    for target, (sources, how) in plan.items():
        missing = [source for source in sources if source not in infos]
        if missing:
            raise ValueError(f"{who}: {path}: {target!r} is the sum of PyTorch's "
                             f"{sources[0]!r} and {sources[1]!r}, but the file has no "
                             f"{missing[0]!r}")
        shape = tuple(infos[sources[0]].shape)
        if how == "transpose":
            if len(shape) != 2:
                raise ValueError(f"{who}: {path}: {target!r} has shape {shape} in the file; "
                                 f"a PyTorch (out, in) matrix was expected")
            shape = shape[::-1]
        elif how == "sum" and tuple(infos[sources[1]].shape) != shape:
            raise ValueError(f"{who}: {path}: {sources[0]!r} and {sources[1]!r} have shapes "
                             f"{shape} and {tuple(infos[sources[1]].shape)}; they must match")
        shapes[target] = shape
    return shapes


def combine(step, arrays):
    """One planned tensor from the source arrays read."""
    sources, how = step
    if how == "transpose":
        return numpy.ascontiguousarray(arrays[sources[0]].T)
    if how == "sum":
        return arrays[sources[0]] + arrays[sources[1]]
    return arrays[sources[0]]


def to_torch(model, arrays):
    """``{name: array}`` of ``model``'s state in PyTorch's names and layout (RNN/LSTM
    biases as ``bias_ih`` = the bias, ``bias_hh`` = zeros: the same sum)."""
    transposed, summed = _rules(model)
    transposed = set(transposed)
    out = {}
    by_ours = {ours: (ih, hh) for ih, hh, ours in summed}
    for name, array in arrays.items():
        if name in by_ours:
            ih, hh = by_ours[name]
            out[ih] = array
            out[hh] = numpy.zeros_like(array)
        elif name in transposed:
            out[name] = numpy.ascontiguousarray(array.T)
        else:
            out[name] = array
    return out
