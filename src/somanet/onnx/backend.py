"""somanet as an ONNX backend: ``onnx.backend.base.Backend``'s interface, so ONNX's own
test suite (``onnx.backend.test``) and other tools that drive backends run models on
somanet.

    >>> import numpy, somanet as sn
    >>> from somanet.onnx import backend
    >>> model = sn.onnx.export(sn.nn.Linear(3, 2), sn.ones(1, 3))
    >>> rep = backend.prepare(model)
    >>> [out.shape for out in rep.run([numpy.ones((4, 3), numpy.float32)])]
    [(4, 2)]

A model runs through ``somanet.onnx.load`` (``OnnxModule``), on the CPU, without
recording gradients; the outputs come back as NumPy arrays.
"""
import numpy

from ..autograd import no_grad
from ..tensor import Tensor
from ._proto import onnx
from .importers import UnsupportedOnnxError
from .load import OnnxModule

onnx()  # the clear ImportError when the onnx package is missing
import onnx.backend.base as _base  # noqa: E402


class SomanetRep(_base.BackendRep):
    """A prepared model: ``run(inputs)`` with a list (in the graph's input order) or a dict
    of arrays; returns a tuple of arrays, one per graph output."""

    def __init__(self, module):
        self.module = module

    def run(self, inputs, **kwargs):
        names = self.module.input_names
        if isinstance(inputs, dict):
            missing = [name for name in names if name not in inputs]
            if missing:
                raise ValueError(f"no value for the input(s) {', '.join(missing)}")
            inputs = [inputs[name] for name in names]
        elif not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        tensors = []
        for value in inputs:
            if isinstance(value, onnx().TensorProto):
                value = onnx().numpy_helper.to_array(value)
            array = numpy.asarray(value)
            tensors.append(Tensor(array, dtype=array.dtype))
        with no_grad():
            results = self.module(*tensors)
        results = results if isinstance(results, tuple) else (results,)
        return tuple(numpy.asarray(result.numpy()) for result in results)


class SomanetBackend(_base.Backend):
    """ONNX's backend interface over ``somanet.onnx.load``."""

    @classmethod
    def is_compatible(cls, model, device="CPU", **kwargs):
        try:
            OnnxModule(model)
        except UnsupportedOnnxError:
            return False
        return cls.supports_device(device)

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        if not cls.supports_device(device):
            raise ValueError(f"somanet's ONNX backend runs on the CPU, not {device!r}")
        super().prepare(model, device, **kwargs)  # onnx.checker
        return SomanetRep(OnnxModule(model))

    @classmethod
    def run_model(cls, model, inputs, device="CPU", **kwargs):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node, inputs, device="CPU", outputs_info=None, **kwargs):
        """Run one node on ``inputs`` (arrays, in the node's input order)."""
        super().run_node(node, inputs, device=device, outputs_info=outputs_info, **kwargs)
        helper = onnx().helper
        names = [name for name in node.input if name]
        values = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(
            numpy.asarray(value).dtype), numpy.asarray(value).shape)
            for name, value in zip(names, inputs)]
        outputs = [helper.make_empty_tensor_value_info(name) for name in node.output]
        graph = helper.make_graph([node], "run_node", values, outputs)
        opset = kwargs.get("opset_version", onnx().defs.onnx_opset_version())
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return SomanetRep(OnnxModule(model)).run(list(inputs))

    @classmethod
    def supports_device(cls, device):
        return str(device).upper().startswith("CPU")


prepare = SomanetBackend.prepare
run_model = SomanetBackend.run_model
run_node = SomanetBackend.run_node
supports_device = SomanetBackend.supports_device
is_compatible = SomanetBackend.is_compatible
