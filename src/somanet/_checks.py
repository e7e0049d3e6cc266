"""Argument checks shared by every layer: one message shape, one notion of "an int".

Each check returns the value in its plain Python form (``int``, ``float``, ``bool``)
or raises an error of the form::

    <owner>: <name> must be <what was expected>, got <what was given>

``owner`` names who checks (``"fit"``, ``"DataLoader"``, an optimiser object: its
class name is used). NumPy integers count as ints and NumPy floats as reals,
``bool`` never does (``True`` is not a batch size).

A value of the wrong type raises ``ArgumentTypeError``, which is both a
``TypeError`` and a ``ValueError``, so callers may catch either; a value of the
right type outside its range raises ``ValueError``.

    >>> check_int("fit", "epochs", 3, minimum=1)
    3
    >>> check_int("fit", "epochs", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: fit: epochs must be an int >= 1, got 0
    >>> lookup("compile", "optimizer", "adma", {"adam": 1, "sgd": 2})
    Traceback (most recent call last):
    ...
    ValueError: compile: unknown optimizer 'adma'. Did you mean 'adam'? Known optimizers: adam, sgd
"""
import difflib
import math
from numbers import Integral, Real


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type: catchable as ``TypeError`` or ``ValueError``."""


def owner_name(owner):
    """``owner`` as text: a string as it is, an object by its class name."""
    return owner if isinstance(owner, str) else type(owner).__name__


def _shown(value):
    return f"{value!r:.60}"


def _fail_type(owner, name, expected, value):
    raise ArgumentTypeError(f"{owner_name(owner)}: {name} must be {expected}, got "
                            f"{type(value).__name__} {_shown(value)}")


def is_int(value):
    """Whether ``value`` is an integer (Python or NumPy), not a bool."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_real(value):
    """Whether ``value`` is a real number (Python or NumPy), not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


def _bounds_text(minimum, maximum, min_open=False, max_open=False):
    if minimum is not None and maximum is not None:
        return ("(" if min_open else "[") + f"{minimum:g}, {maximum:g}" + (
            ")" if max_open else "]")
    if minimum is not None:
        return (">" if min_open else ">=") + f" {minimum:g}"
    if maximum is not None:
        return ("<" if max_open else "<=") + f" {maximum:g}"
    return ""


def check_int(owner, name, value, minimum=None, maximum=None, what=None):
    """``value`` as an ``int``, if it is an integer in ``[minimum, maximum]``.

    Args:
        owner: who checks (a name, or an object: its class name).
        name: the argument's name, as the user wrote it.
        minimum, maximum: inclusive bounds (``None``: unbounded).
        what: words for the expected value in the message (default "an int").
    """
    if not is_int(value):
        bounds = _bounds_text(minimum, maximum)
        _fail_type(owner, name, what or ("an int" + (f" {bounds}" if minimum is not None
                                                     and maximum is None else
                                                     f" in {bounds}" if bounds else "")),
                   value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = _bounds_text(minimum, maximum)
        expected = what or ("an int " + (bounds if maximum is None or minimum is None
                                         else f"in {bounds}"))
        raise ValueError(f"{owner_name(owner)}: {name} must be {expected}, got {value!r}")
    return value


def check_positive_int(owner, name, value, what=None):
    """``value`` as an ``int`` >= 1 (a count, a size, a number of epochs)."""
    return check_int(owner, name, value, minimum=1, what=what)


def check_non_negative_int(owner, name, value, what=None):
    """``value`` as an ``int`` >= 0 (a position, an epoch counted from 0)."""
    return check_int(owner, name, value, minimum=0, what=what)


def check_real(owner, name, value, minimum=None, maximum=None, min_open=False,
               max_open=False, finite=True, what=None):
    """``value`` as a ``float``, if it is a real number in the interval.

    Args:
        minimum, maximum: the bounds (``None``: unbounded); ``min_open`` / ``max_open``
            exclude them.
        finite: reject ``nan`` and the infinities (nan is always rejected).
        what: words for the expected value (default "a number").
    """
    if hasattr(value, "item") and getattr(value, "size", None) == 1 \
            and not isinstance(value, Real):
        value = value.item()  # a 0-d array or one-element Tensor
    if not is_real(value):
        _fail_type(owner, name, what or "a number", value)
    value = float(value)
    too_low = minimum is not None and (value <= minimum if min_open else value < minimum)
    too_high = maximum is not None and (value >= maximum if max_open else value > maximum)
    if math.isnan(value) or too_low or too_high or (finite and math.isinf(value)):
        bounds = _bounds_text(minimum, maximum, min_open, max_open)
        expected = what
        if expected is None:
            expected = "a finite number" if finite else "a number"
            if bounds:
                expected += f" {bounds}" if minimum is None or maximum is None else \
                    f" in {bounds}"
        raise ValueError(f"{owner_name(owner)}: {name} must be {expected}, got {value!r}")
    return value


def check_non_negative(owner, name, value, what=None):
    """``value`` as a finite ``float`` >= 0."""
    return check_real(owner, name, value, minimum=0.0, what=what)


def check_fraction(owner, name, value, inclusive=False, what=None):
    """``value`` as a ``float`` in ``[0, 1)`` (``inclusive``: ``[0, 1]``): a dropout
    rate, a validation split, a momentum."""
    return check_real(owner, name, value, minimum=0.0, maximum=1.0, max_open=not inclusive,
                      what=what)


def check_flag(owner, name, value):
    """``value`` if it is ``True`` or ``False`` (NumPy bools included), as a ``bool``."""
    if not isinstance(value, bool):
        if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
            return bool(value)  # numpy.bool_, without importing NumPy at layer 0's root
        _fail_type(owner, name, "True or False", value)
    return value


def check_choice(owner, name, value, choices):
    """``value`` if it is one of ``choices``; the message lists them."""
    if value not in choices:
        listed = ", ".join(repr(choice) for choice in choices)
        hint = suggestion(value, choices)
        raise ValueError(f"{owner_name(owner)}: {name} must be one of {listed}, got "
                         f"{_shown(value)}" + (f".{hint}" if hint else ""))
    return value


def suggestion(name, known):
    """``" Did you mean 'x'?"`` for the closest of ``known`` to ``name``, or ``""``."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, [str(key) for key in known], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def lookup(owner, kind, name, table, normalize=str.lower, hint=""):
    """``table[normalize(name)]``, or a ``ValueError`` naming the unknown ``kind``, the
    closest known name and all of them::

        <owner>: unknown <kind> 'adma'. Did you mean 'adam'? Known <kind>s: adam, sgd<hint>

    Args:
        owner: who looks it up (``None``: the message starts with "unknown").
        kind: what the table holds ("optimizer", "loss", "metric").
        name: the name the user gave (a str; anything else is an ``ArgumentTypeError``).
        table: a dict (or any mapping) from names to values.
        normalize: applied to ``name`` before the lookup (default: lower case).
        hint: appended to the message (e.g. "; or pass an Optimizer object").
    """
    if not isinstance(name, str):
        _fail_type(owner or kind, kind, f"a name ({', '.join(table)})", name)
    key = normalize(name.strip())
    if key in table:
        return table[key]
    prefix = f"{owner_name(owner)}: " if owner is not None else ""
    plural = kind + ("es" if kind.endswith("s") else "s")
    raise ValueError(f"{prefix}unknown {kind} {name!r}.{suggestion(key, table)} Known "
                     f"{plural}: {', '.join(str(known) for known in table)}{hint}")
