"""ONNX's own node test suite (``onnx.backend.test``) against ``somanet.onnx.backend``:
every case of every op type that somanet imports, run by ONNX's runner (its inputs,
expected outputs and tolerances). The cases somanet cannot run are skipped here, each
with its reason."""
import unittest
import warnings

import pytest

onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.slow  # about half a minute: ONNX builds every case's data first
import onnx.backend.test  # noqa: E402
from onnx.backend.test import loader  # noqa: E402

from somanet.onnx import backend  # noqa: E402
from somanet.onnx.importers import IMPORTERS  # noqa: E402

_3D = "3-D pooling and convolution: somanet has 1-D and 2-D"
_RANDOM = ("training-mode Dropout is random: the expected values come from NumPy's "
           "generator, which somanet's does not reproduce")
SKIPS = {
    "test_averagepool_3d_default": _3D,
    "test_averagepool_3d_dilations_small": _3D,
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True": _3D,
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False": _3D,
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True": _3D,
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False": _3D,
    "test_maxpool_3d_default": _3D,
    "test_maxpool_3d_dilations": _3D,
    "test_maxpool_3d_dilations_use_ref_impl": _3D,
    "test_maxpool_3d_dilations_use_ref_impl_large": _3D,
    "test_convtranspose_3d": _3D,
    "test_averagepool_2d_dilations": "somanet's average pooling has no dilation (max "
                                     "pooling has)",
    "test_training_dropout": _RANDOM,
    "test_training_dropout_default": _RANDOM,
    "test_training_dropout_mask": _RANDOM,
    "test_training_dropout_default_mask": _RANDOM,
    "test_identity_opt": "optional values (ONNX's optional type): somanet runs tensors",
    "test_identity_sequence": "sequence values (ONNX's sequence type): somanet runs tensors",
    "test_cast_e8m0_FLOAT_to_FLOAT8E8M0": "casts to FLOAT8E8M0 round up (round_mode); NumPy's "
                                          "cast rounds to nearest",
    "test_cast_e8m0_FLOAT16_to_FLOAT8E8M0": "casts to FLOAT8E8M0 round up (round_mode); "
                                            "NumPy's cast rounds to nearest",
}


def supported_cases():
    """``{test name: op type}``: the node tests of one op type that somanet imports (the
    ``_expanded`` variants, which spell an op as a function of others, are left out)."""
    known = set(IMPORTERS)
    found = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = loader.load_model_tests(kind="node")
    for case in cases:
        if "_expanded" in case.name:
            continue
        op_types = {node.op_type for node in case.model.graph.node} - {"Constant"}
        if len(op_types) == 1 and op_types <= known:
            found[case.name] = op_types.pop()
    return found


CASES = supported_cases()
_suite = onnx.backend.test.BackendTest(backend.SomanetBackend, __name__)
_suite.include("^(" + "|".join(sorted(CASES)) + ")_cpu$")
_test_cases = _suite.test_cases  # (made anew at each access)
for _case in _test_cases.values():
    for _attribute in [name for name in vars(_case) if name.startswith("test_")]:
        _test = _attribute[:-len("_cpu")] if _attribute.endswith("_cpu") else None
        if _test not in CASES:  # another op type, or a device somanet does not run on
            delattr(_case, _attribute)
        elif _test in SKIPS:
            setattr(_case, _attribute, unittest.skip(SKIPS[_test])(getattr(_case, _attribute)))
globals().update(_test_cases)


def test_every_case_is_counted():
    assert len(CASES) > 500
    assert set(SKIPS) <= set(CASES)
