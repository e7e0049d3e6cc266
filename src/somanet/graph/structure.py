"""Nested results (a tensor, or tuples, lists and dicts of them) flattened to a list and
rebuilt: what a traced function returns, what a Session fetches."""


def flatten(value, is_leaf):
    """``(leaves, spec)``: the leaves of ``value`` in order, and what ``rebuild`` needs.

    Args:
        is_leaf: says which values are leaves; tuples, lists and dicts that are not
            are walked (dict values in the dict's order), anything else is a leaf too.
    """
    leaves = []

    def walk(item):
        if is_leaf(item):
            leaves.append(item)
            return None
        if isinstance(item, (tuple, list)):
            return (type(item), [walk(part) for part in item])
        if isinstance(item, dict):
            return (dict, [(key, walk(part)) for key, part in item.items()])
        leaves.append(item)
        return None

    return leaves, walk(value)


def rebuild(spec, leaves):
    """``value`` again, with ``leaves`` (a list, in ``flatten``'s order) in its places."""
    found = iter(leaves)

    def build(part):
        if part is None:
            return next(found)
        kind, items = part
        if kind is dict:
            return {key: build(item) for key, item in items}
        built = [build(item) for item in items]
        return built if kind is list else (kind(*built) if hasattr(kind, "_fields")
                                           else kind(built))

    return build(spec)
