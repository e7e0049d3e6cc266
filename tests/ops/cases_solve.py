"""Registry entries for ``somanet.ops.solve`` (a differentiable linear solve). The matrix is
made ``a a^T + 3 I`` from the sampled ``a``: symmetric positive definite, so every sample
(integer-valued ones too) is well conditioned."""
import numpy as np

import somanet as sn
from somanet.ops import solve as S

from .registry import OpCase, x


def _system(a, b):
    eye = sn.eye(a.shape[0], dtype=a.dtype if a.dtype.kind == "f" else None, device=a.device)
    return S.solve(a @ a.T + eye * 3.0, b)


def _system_reference(a, b):
    return np.linalg.solve(a @ a.T + 3.0 * np.eye(a.shape[0]), b)


CASES = [
    OpCase("solve", _system, _system_reference,
           [[x((3, 3)), x((3,))], [x((4, 4)), x((4, 2))], [x((1, 1)), x((1, 3))]],
           covers=[S.Solve], atol=1e-4),
]
