"""A warning for graphs kept alive across training steps (the commonest memory leak).

``losses.append(loss)`` instead of ``losses.append(loss.item())`` keeps every step's
graph alive: the loss references its node, the node its inputs' nodes, down to the
first op of the step. Memory grows step after step without an error. somanet
watches for it at almost no cost, and warns once (``GraphGrowthWarning``).

How: each ``backward()`` remembers, by weak reference, two nodes of the graph it ran
through: the root (the loss's node) and the last node it reached (the first op of
the step, which every tensor computed in the step keeps alive). A weak reference does
not keep its node alive; in a normal loop those of earlier steps die as soon as the
next step's tensors replace them. The number of distinct ones still alive is counted
every ``CHECK_STEPS`` calls of ``optimizer.step()`` (or, in a loop without an
optimiser, every ``SAMPLE_EVERY`` backward calls); when it has grown at ``RISES``
checks in a row and reached ``THRESHOLD``, earlier steps' graphs are piling up: the
warning says which tensor to detach. The cost: two weak references per backward and a short count every
few steps, about 2 microseconds a step (measured on a busy 2-core machine, against about
500 microseconds for one SGD step of a 20-64-1 MLP on a batch of 32).

Silence it with ``warnings.simplefilter("ignore", GraphGrowthWarning)``.
"""
import warnings
import weakref

THRESHOLD = 64  # graphs of earlier steps alive at once before it counts as a leak
RISES = 4  # checks in a row at which the count grew
SAMPLE_EVERY = 16  # backward calls between checks in a loop without optimizer.step()
CHECK_STEPS = 4  # optimizer.step() calls between checks


class GraphGrowthWarning(UserWarning):
    """Issued once, when the autograd graphs of earlier training steps keep piling up in
    memory: some tensor computed in each step, with its graph, is kept across steps
    (``losses.append(loss)``, a running ``total += loss``, outputs stored for later). Keep
    a number (``loss.item()``) or a detached tensor (``output.detach()``) instead."""


class _Monitor:
    """The weak references of recent backward calls and the counts at the last checks."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.enabled = True
        self.warned = False
        self.roots = {}  # id -> weak reference: the node each backward started from
        self.sources = {}  # and the last node it reached (one entry per node)
        self.counts = []  # distinct nodes alive at the last checks
        self.backwards = 0
        self.steps = 0
        self.stepping = False  # an optimiser steps: check there, not at backward
        self.stepped_at = 0  # the backward count at the last optimizer.step()

    def backward_ran(self, root, source):
        """One backward ran through ``root`` .. ``source`` (nodes; ``None`` for none)."""
        if self.warned or not self.enabled or root is None:
            return
        _remember(self.roots, root)
        _remember(self.sources, source)
        self.backwards += 1
        if self.stepping and self.backwards - self.stepped_at > RISES * SAMPLE_EVERY:
            self.stepping = False  # no optimizer.step() for a while: a plain loop again
        if not self.stepping and self.backwards % SAMPLE_EVERY == 0:
            self.check(stacklevel=5)

    def optimizer_stepped(self):
        if self.warned or not self.enabled:
            return
        self.stepping = True
        self.stepped_at = self.backwards
        self.steps += 1
        if self.steps % CHECK_STEPS == 0:
            self.check(stacklevel=4)

    def check(self, stacklevel):
        """Count the distinct nodes of earlier backward calls still alive; warn when that
        keeps growing."""
        self.roots = {key: ref for key, ref in self.roots.items() if ref() is not None}
        self.sources = {key: ref for key, ref in self.sources.items() if ref() is not None}
        alive_roots = len(self.roots)
        alive = len(self.roots.keys() | self.sources.keys())
        counts = self.counts
        counts.append(alive)
        if len(counts) > RISES + 1:
            del counts[0]
        rising = len(counts) == RISES + 1 and all(
            later > earlier for earlier, later in zip(counts, counts[1:]))
        if rising and alive >= THRESHOLD:
            self.warned = True
            warnings.warn(_message(alive_roots, len(self.sources)), GraphGrowthWarning,
                          stacklevel=stacklevel)
            self.roots, self.sources, self.counts = {}, {}, []


def _remember(refs, node):
    """Add a weak reference to ``node`` under its id, once (a node in many backward calls,
    such as one computed before the loop, is one entry; a dead one's id may be reused)."""
    if node is None:
        return
    known = refs.get(id(node))
    if known is None or known() is not node:
        refs[id(node)] = weakref.ref(node)


def _message(roots, sources):
    if roots >= sources // 2:
        what = ("the loss of every step is kept with its graph (e.g. losses.append(loss), or "
                "total += loss): keep a number instead, losses.append(loss.item()) or total "
                "+= loss.item()")
    else:
        what = ("a tensor computed in every step (an output, a prediction, a hidden state, "
                "a running sum) is kept with its graph: keep tensor.detach() (or .item(), "
                ".numpy()) instead, e.g. outputs.append(out.detach())")
    return (f"the autograd graphs of earlier training steps are piling up in memory "
            f"({max(roots, sources)} steps' graphs are still alive, more at every step): "
            f"{what}. Said once per process (somanet.autograd.GraphGrowthWarning).")


monitor = _Monitor()
