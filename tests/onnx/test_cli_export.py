"""``somanet export RUN_DIR --onnx FILE``: a run folder made by ``somanet train`` as an ONNX
file that onnxruntime runs, matching the run's model at two batch sizes."""
import argparse

import numpy
import pytest

import somanet as sn
from somanet import cli
from somanet.cli import export as export_command
from somanet.cli.errors import CommandError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TINY = ["--epochs", "1", "--limit", "128", "--verbose", "0", "--no-plot"]


def export_main(argv):
    """The export command parsed and run as ``somanet export`` would (its parser, its
    handler), whether or not the main parser has registered it yet."""
    parser = argparse.ArgumentParser(prog="somanet")
    export_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args([str(arg) for arg in argv])
    return args.handler(args)


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lenet"
    assert cli.main(["train", "--model", "lenet", "--out", str(out), *TINY]) == 0
    return out


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_export_a_run_and_run_it_in_onnxruntime(lenet_run, tmp_path, capsys):
    path = tmp_path / "lenet.onnx"
    assert export_main(["export", lenet_run, "--onnx", path]) == 0
    out = capsys.readouterr().out
    assert "input x (batch, 28, 28) -> logits (batch, 10)" in out
    _, model = cli.load_run(str(lenet_run))
    images = sn.datasets.mnist_small("test")[0][:7].astype(numpy.float32)
    for batch in (1, 7):
        expected = model(sn.tensor(images[:batch])).numpy()
        numpy.testing.assert_allclose(run_onnx(path, images[:batch]), expected, rtol=1e-4,
                                      atol=1e-5)


def test_export_probabilities_with_a_fixed_batch(lenet_run, tmp_path, capsys):
    path = tmp_path / "p.onnx"
    assert export_main(["export", lenet_run, "--onnx", path, "--softmax",
                        "--fixed-batch", "3"]) == 0
    assert "probabilities (3, 10)" in capsys.readouterr().out
    probabilities = run_onnx(path, numpy.zeros((3, 28, 28), numpy.float32))
    numpy.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_export_errors_are_one_line(tmp_path, lenet_run):
    with pytest.raises(CommandError, match="does not exist"):
        export_main(["export", tmp_path / "missing", "--onnx", tmp_path / "m.onnx"])
    with pytest.raises(CommandError, match="the folder"):
        export_main(["export", lenet_run, "--onnx", tmp_path / "no" / "m.onnx"])
