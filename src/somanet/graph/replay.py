"""What the generated functions of compiled steps share (``graph.compiled``'s Python
programs and ``graph.native``'s wrappers): the markers of step tensors among a recorded
call's arguments, and the tensors a step returns."""
from ..tensor import Tensor
from .structure import rebuild


class Slot:
    """A step tensor among the arguments of a recorded state change."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


def returned_source(output_slots, output_spec, name, names):
    """The ``return`` line of a step's function: the step's result rebuilt around new
    tensors of its output slots, written out for tuples and lists of tensors (the usual
    ``return loss`` or ``return loss, logits``), else through ``rebuild``. ``name(value)``
    binds a value in the function's namespace ``names``."""
    names.update(tensor_of=tensor_of, rebuild=rebuild)
    if not output_slots and output_spec is None:
        return "return None"  # the step returned nothing
    tensors = [f"tensor_of(v{slot})" for slot in output_slots]
    if output_spec is None:
        return f"return {tensors[0]}"
    kind, items = output_spec
    if kind in (tuple, list) and all(item is None for item in items):
        inside = ", ".join(tensors) + ("," if kind is tuple and len(tensors) == 1 else "")
        return f"return ({inside})" if kind is tuple else f"return [{inside}]"
    return f"return rebuild({name(output_spec)}, [{', '.join(tensors)}])"


def slots(value):
    """The slots of the step tensors among a state change's arguments."""
    if isinstance(value, Slot):
        return {value.index}
    if isinstance(value, (list, tuple)):
        return set().union(*(slots(item) for item in value))
    if isinstance(value, dict):
        return slots(list(value.values()))
    return set()


def tensor_of(array):
    tensor = Tensor.__new__(Tensor)
    tensor.data = array
    return tensor


def has_slots(value):
    if isinstance(value, Slot):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_slots(item) for item in value)
    if isinstance(value, dict):
        return any(has_slots(item) for item in value.values())
    return False


def values_of(value, values):
    if isinstance(value, Slot):
        tensor = Tensor.__new__(Tensor)
        tensor.data = values[value.index]
        return tensor
    if isinstance(value, (list, tuple)):
        return type(value)(values_of(item, values) for item in value)
    if isinstance(value, dict):
        return {key: values_of(item, values) for key, item in value.items()}
    return value
