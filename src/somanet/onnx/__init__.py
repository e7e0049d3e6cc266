"""Layer 3: ONNX export and import, on the graph layer's traces.

- ``export(model, example_inputs, path)`` writes a model (or a function of tensors) as
  an ONNX file that onnxruntime and other runtimes run, the batch axis symbolic;
- ``load(path)`` reads one back (somanet's or another framework's) as a somanet
  ``Module`` whose initializers are Parameters: it runs, and it can be fine-tuned;
- ``somanet.onnx.backend`` is ONNX's ``Backend`` interface, so ONNX's own test suite
  (``onnx.backend.test``) runs against somanet.

The ``onnx`` package is the extra ``somanet[onnx]``; it is imported on first use.

    >>> import somanet as sn, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> model = sn.nn.Sequential(sn.nn.Linear(4, 8), sn.nn.Tanh(), sn.nn.Linear(8, 2))
    >>> _ = sn.onnx.export(model, sn.ones(3, 4), path)
    >>> again = sn.onnx.load(path)
    >>> bool(abs(again(sn.ones(5, 4)) - model(sn.ones(5, 4))).max() < 1e-5)
    True
"""
from .converters import UnsupportedOpError
from .export import export
from .load import OnnxModule, load

__all__ = ["export", "load", "OnnxModule", "UnsupportedOpError"]
