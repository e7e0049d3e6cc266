"""Registry entries for the ops without a gradient (comparisons, argmax/argmin): forward
against NumPy; their outputs never require grad, so the graph layer records them like any
other op."""
import numpy as np

import somanet as sn
from somanet.ops import comparison as K

from .registry import OpCase, x

PAIRS = [[x((2, 3)), x((2, 3))], [x((4, 3)), x((3,))], [x(()), x((2, 2))], [x((0, 3)), x((3,))]]

CASES = [
    OpCase(name, getattr(sn, name), reference, PAIRS, covers=[K.Compare], grad=False,
           keeps_dtype=False)
    for name, reference in (("equal", np.equal), ("not_equal", np.not_equal),
                            ("less", np.less), ("less_equal", np.less_equal),
                            ("greater", np.greater), ("greater_equal", np.greater_equal))
]


from somanet.ops import reduction as R  # noqa: E402

CASES += [
    OpCase("argmax", lambda a: sn.argmax(a, axis=1), lambda a: np.argmax(a, axis=1),
           [[x((3, 4))]], covers=[R.ArgReduce], grad=False, keeps_dtype=False, distinct=True),
    OpCase("argmin_all", sn.argmin, np.argmin, [[x((2, 3))]], covers=[R.ArgReduce],
           grad=False, keeps_dtype=False, distinct=True),
]
