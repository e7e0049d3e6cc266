"""``Model.summary()``: a table of the layers, their output shapes and parameter counts.

    >>> import somanet as sn
    >>> from somanet import nn
    >>> model = sn.Sequential([sn.Input(shape=(3,)), nn.Dense(4, activation="sigmoid"),
    ...                        nn.Dense(1)])
    >>> print(summarize(model))
    Model: Sequential
    ____________________________________________
     Layer (type)    Output Shape    Param #
    ============================================
     0 (Linear)      (None, 4)       16
     1 (Linear)      (None, 1)       5
    ============================================
    Total params: 21 (84 B)
    Trainable params: 21 (84 B)
    Non-trainable params: 0 (0 B)
    ____________________________________________

Output shapes come from running the model once on a sample of zeros (in
evaluation mode, without gradients) when the input shape is known; a
functional model knows them from its construction. Rows are the model's direct
sub-modules (for a functional model, each layer call). Non-trainable counts
frozen parameters and float buffers (BatchNorm's running statistics), as Keras.
"""
from ..tensor import Tensor

UNKNOWN = "?"


def _shape_text(value):
    if isinstance(value, Tensor) or hasattr(value, "example"):
        value = (None,) + tuple(value.shape[1:])
    if isinstance(value, tuple) and all(s is None or isinstance(s, int) for s in value):
        return "(" + ", ".join("None" if s is None else str(s) for s in value) + \
            ("," if len(value) == 1 else "") + ")"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shape_text(item) for item in value) + "]"
    return UNKNOWN if value is None else type(value).__name__


def _counts(module):
    """(trainable, non-trainable, trainable bytes, non-trainable bytes) of a module's
    parameters and float buffers, each tensor counted once."""
    seen = set()
    trainable = frozen = trainable_bytes = frozen_bytes = 0
    for sub in module.modules():
        for param in sub._parameters.values():
            if param is None or id(param) in seen:
                continue
            seen.add(id(param))
            if param.requires_grad:
                trainable += param.size
                trainable_bytes += param.data.nbytes
            else:
                frozen += param.size
                frozen_bytes += param.data.nbytes
        for name, buffer in sub._buffers.items():
            if buffer is None or id(buffer) in seen or buffer.dtype.kind != "f" \
                    or name in sub._non_persistent:
                continue
            seen.add(id(buffer))
            frozen += buffer.size
            frozen_bytes += buffer.data.nbytes
    return trainable, frozen, trainable_bytes, frozen_bytes


def _bytes_text(count):
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "B" else f"{count:.2f} {unit}"
        count /= 1024
    return f"{count:.2f} GB"


def _input_specs(model, input_shape):
    if input_shape is not None:
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        return [(shape, None)]
    return model.input_specs


def _traced_shapes(model, specs):
    """Run the model on zeros (``Model.build``), recording each direct child's first
    output's shape (``_shape_of``). A size the input leaves open (``None``, e.g. the
    timesteps of ``LSTM(input_shape=(None, 3))``) is run as 1 and again as 2: an output
    size that follows it is shown as ``None``."""
    first = _trace(model, specs, 1)
    if not any(size is None for shape, _ in specs for size in shape):
        return first
    second = _trace(model, specs, 2)
    return {name: _open_sizes(shape, second.get(name)) for name, shape in first.items()}


def _trace(model, specs, open_size):
    shapes = {}
    handles = []
    for name, child in model.named_children():
        def hook(module, inputs, output, name=name):
            shapes.setdefault(name, _shape_of(output))
        handles.append(child.register_forward_hook(hook))
    try:
        model.build([(None,) + tuple(open_size if size is None else size for size in shape)
                     for shape, _ in specs], dtype=[dtype for _, dtype in specs])
    finally:
        for handle in handles:
            handle.remove()
    if open_size != 1:  # build recorded the sizes it ran; the model's inputs leave them open
        model._input_specs = [(tuple(shape), dtype) for shape, dtype in specs]
    return shapes


def _shape_of(value):
    """An output's shape with the batch axis as ``None``: a tuple, a list of them for
    several outputs, or the output itself when it has no shape."""
    if isinstance(value, Tensor):
        return (None,) + tuple(value.shape[1:])
    if isinstance(value, (list, tuple)):
        return [_shape_of(item) for item in value]
    return value


def _open_sizes(first, second):
    """``first`` with ``None`` where the run with the open input sizes as 2 differed."""
    if isinstance(first, tuple) and isinstance(second, tuple) and len(first) == len(second):
        return tuple(a if a == b else None for a, b in zip(first, second))
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        return [_open_sizes(a, b) for a, b in zip(first, second)]
    return first


def summarize(model, input_shape=None):
    """The summary table of ``model`` as text (see the module docstring).

    Args:
        model: a ``Model`` (or any Module).
        input_shape: the shape of one sample, when the model does not know it yet.
    """
    from .functional import Functional
    notes = []
    if isinstance(model, Functional):
        rows = _functional_rows(model)
        columns = ("Layer (type)", "Output Shape", "Param #", "Connected to")
    else:
        specs = _input_specs(model, input_shape) if hasattr(model, "input_specs") else None
        shapes = _traced_shapes(model, specs) if specs else {}
        if not specs:
            notes.append("Output shapes are unknown: the input shape is not known yet. Give "
                         "it (summary(input_shape=(28, 28)), Input(shape) / input_shape= on "
                         "the first layer, or model.build((None, 28, 28))), or call or fit "
                         "the model once.")
        rows = []
        for name, child in model.named_children():
            trainable, frozen, _, _ = _counts(child)
            built = child.is_built
            count = f"{trainable + frozen:,}" if built else "0 (unbuilt)"
            shape = _shape_text(shapes.get(name)) if name in shapes else UNKNOWN
            rows.append((f"{name} ({type(child).__name__})", shape, count))
        columns = ("Layer (type)", "Output Shape", "Param #")
        if not model.is_built:
            notes.append("Layers marked 'unbuilt' learn their input size on their first "
                         "input; their parameters are not counted yet.")
    trainable, frozen, trainable_bytes, frozen_bytes = _counts(model)
    widths = [max(len(column), *(len(row[i]) for row in rows)) + 4 if rows else len(column) + 4
              for i, column in enumerate(columns)]
    line = sum(widths) + 1

    def format_row(cells):
        return " " + "".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    title = type(model).__name__ + (f" ({model.name})" if getattr(model, "name", None) else "")
    lines = [f"Model: {title}", "_" * line, format_row(columns), "=" * line]
    lines += [format_row(row) for row in rows]
    lines += ["=" * line,
              f"Total params: {trainable + frozen:,} "
              f"({_bytes_text(trainable_bytes + frozen_bytes)})",
              f"Trainable params: {trainable:,} ({_bytes_text(trainable_bytes)})",
              f"Non-trainable params: {frozen:,} ({_bytes_text(frozen_bytes)})",
              "_" * line]
    lines += notes
    return "\n".join(lines)


def _functional_rows(model):
    rows = []
    names = {}
    layer_names = {id(module): name for name, module in model.named_children()}
    for number, tensor in enumerate(model.inputs):
        name = tensor.node.name or f"input_{number}"
        names[id(tensor.node)] = name
        rows.append((f"{name} (Input)", _shape_text(tensor), "0", ""))
    calls = {}  # id(module) -> how many nodes call it (a shared layer: more than one)
    for node in model.nodes:
        calls[id(node.module)] = calls.get(id(node.module), 0) + 1
    seen_calls = {}
    counted = set()
    for node in model.nodes:
        module = node.module
        name = layer_names[id(module)]
        call = seen_calls.get(id(module), 0)
        seen_calls[id(module)] = call + 1
        names[id(node)] = f"{name}[{call}]" if calls[id(module)] > 1 else name
        if id(module) in counted:
            count = "0 (shared)"
        else:
            counted.add(id(module))
            trainable, frozen, _, _ = _counts(module)
            count = f"{trainable + frozen:,}"
        parents = ", ".join(dict.fromkeys(names[id(parent.node)] for parent in node.parents))
        rows.append((f"{name} ({type(module).__name__})", _shape_text(node.outputs), count,
                     parents))
    return rows
