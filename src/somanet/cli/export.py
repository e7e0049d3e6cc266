"""``somanet export RUN_DIR --onnx model.onnx``: a trained run's model as an ONNX file.

The model is rebuilt from the run folder (``runs.load_run``), traced on one example
input of the run's shape (a 28x28 image, or a row of the CSV run's feature columns)
and written by ``somanet.onnx.export`` with a symbolic batch axis: onnxruntime,
TensorRT, OpenVINO or a browser then run it on any batch size. The file outputs the
model's logits (``--softmax``: the class probabilities, as ``somanet predict`` prints).
"""
import os

import numpy

from .. import nn
from ..train import Sequential
from .data import IMAGE_SHAPE
from .architectures import check_classifier
from .errors import CommandError, one_line
from .help import DefaultsOnceFormatter
from .runs import load_run, tabular_encoder


def add_parser(commands):
    """Add ``export`` and its options to the ``commands`` subparsers."""
    export = commands.add_parser(
        "export", help="write a trained run's model as an ONNX file",
        description="Rebuild a run's model from RUN_DIR and write it as an ONNX file "
                    "(opset 18, any batch size) that onnxruntime and other runtimes run. "
                    "Needs the onnx package: pip install 'somanet[onnx]'.",
        formatter_class=DefaultsOnceFormatter)
    export.add_argument("run_dir", metavar="RUN_DIR")
    export.add_argument("--onnx", required=True, metavar="FILE",
                        help="the .onnx file to write")
    export.add_argument("--softmax", action="store_true",
                        help="output class probabilities instead of logits")
    export.add_argument("--fixed-batch", type=int, metavar="N",
                        help="fix the batch size to N instead of leaving it free")
    export.set_defaults(handler=cmd_export)
    return export


def cmd_export(args):
    """``somanet export RUN_DIR --onnx FILE``: write the run's model as ONNX."""
    from .. import onnx as somanet_onnx
    from ..onnx._proto import onnx as require_onnx
    try:
        require_onnx()
    except ImportError:
        raise CommandError("somanet export needs the onnx package: pip install "
                           "'somanet[onnx]' (or pip install onnx)") from None
    if args.fixed_batch is not None and args.fixed_batch < 1:
        raise CommandError(f"--fixed-batch must be a positive int, got {args.fixed_batch}")
    config, model = load_run(args.run_dir)
    check_classifier(args.run_dir, config)
    if args.softmax:
        model = Sequential([model, nn.Softmax()])
        model.eval()
    batch = args.fixed_batch or 1
    if config["preprocessing"]["kind"] == "tabular":
        shape = (batch, len(tabular_encoder(config).feature_names))
    else:
        shape = (batch,) + IMAGE_SHAPE
    example = numpy.zeros(shape, dtype=numpy.float32)
    folder = os.path.dirname(os.path.abspath(args.onnx))
    if not os.path.isdir(folder):
        raise CommandError(f"--onnx {args.onnx!r}: the folder {folder!r} does not exist")
    try:
        proto = somanet_onnx.export(model, example, args.onnx,
                                    dynamic_batch=args.fixed_batch is None,
                                    input_names=["x"],
                                    output_names=["probabilities" if args.softmax else "logits"])
    except somanet_onnx.UnsupportedOpError as error:
        raise CommandError(f"{args.run_dir}: {one_line(error)}") from None
    except OSError as error:
        raise CommandError(f"cannot write {args.onnx}: {one_line(error)}") from None
    rows = "batch" if args.fixed_batch is None else str(batch)
    print(f"{args.onnx}: {config['model']} from {args.run_dir}, ONNX opset "
          f"{proto.opset_import[0].version}, input x ({rows}, "
          f"{', '.join(map(str, shape[1:]))}) -> "
          f"{'probabilities' if args.softmax else 'logits'} ({rows}, {config['num_classes']}), "
          f"{len(proto.graph.node)} nodes")
    return 0
