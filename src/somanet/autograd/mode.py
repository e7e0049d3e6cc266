"""The switches every op reads: is gradient recording on, is anomaly detection on.

Both are process-wide (not per thread): somanet's background threads load
data and never record graphs.
"""
import functools


class mode:
    """The current switches. Read them; change them with the context managers below.

    ``recorder`` is the graph layer's hook (``somanet.graph``): when set, every
    ``Function.apply`` hands ``recorder.op(cls, inputs, params, result)`` its op and
    returns what that returns, and every function marked ``@recordable`` (backward,
    optimiser steps, ``zero_grad``, gradient clipping) runs through
    ``recorder.call(fn, args, kwargs)``, so a graph can record the very ops and state
    changes eager mode runs. ``None`` (the default) costs one attribute read per op."""

    grad_enabled = True
    detect_anomaly = False
    recorder = None


def recordable(fn):
    """Mark ``fn`` as a change of state a captured training step replays (see
    ``mode.recorder``): with no recorder it is called directly."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        recorder = mode.recorder
        if recorder is None:
            return fn(*args, **kwargs)
        return recorder.call(fn, args, kwargs)
    wrapper.recorded = fn
    return wrapper


def is_grad_enabled():
    """True when ops record the graph that ``backward()`` walks."""
    return mode.grad_enabled


class set_grad_enabled:
    """Turn gradient recording on or off inside a ``with`` block or a decorated function.

    Args:
        enabled: ``True`` to record, ``False`` not to.
    """

    def __init__(self, enabled):
        self.enabled = bool(enabled)
        self.previous = []

    def __enter__(self):
        self.previous.append(mode.grad_enabled)
        mode.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        mode.grad_enabled = self.previous.pop()
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with type(self)(self.enabled) if type(self) is set_grad_enabled else type(self)():
                return function(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """Context manager and decorator: ops inside record no graph (inference, updates).

        >>> import somanet as sn
        >>> w = sn.ones(2, requires_grad=True)
        >>> with sn.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Context manager and decorator: record the graph again inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)
