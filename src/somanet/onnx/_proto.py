"""The ``onnx`` package, imported on first use (it is the optional extra ``somanet[onnx]``),
and the dtype tables between NumPy and ONNX's ``TensorProto``."""
import numpy

OPSET = 18  # the opset export writes (2022; onnxruntime >= 1.14, TensorRT 8.6 and later)
IR_VERSION = 8  # the IR version that goes with opset 18


def onnx():
    """The ``onnx`` module, or an ImportError that says how to install it."""
    try:
        import onnx as found
    except ImportError:
        raise ImportError("somanet.onnx needs the onnx package: pip install 'somanet[onnx]' "
                          "(or pip install onnx)") from None
    return found


def tensor_type(dtype):
    """The ``TensorProto`` element type of a NumPy dtype."""
    return onnx().helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))


def numpy_dtype(element_type):
    """The NumPy dtype of a ``TensorProto`` element type."""
    return numpy.dtype(onnx().helper.tensor_dtype_to_np_dtype(element_type))
