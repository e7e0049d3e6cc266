"""The command line's one-line promise, swept: every bad input through every subcommand
(missing, empty, truncated and wrong-format files; bad numbers; folders that are files
and files that are folders; damaged run folders) ends in exactly one line
``somanet: error: ...`` and exit status 2, never a traceback."""
import json
import re
import shutil

import numpy as np
import pytest

import somanet as sn
from somanet import cli

TINY = ["--epochs", "1", "--limit", "64", "--verbose", "0", "--no-plot"]
ROWS = "\n".join(f"{i % 2},{300 + i},{i % 4 + 1}" for i in range(40))


@pytest.fixture(scope="module")
def where(tmp_path_factory):
    """A folder of bad inputs, and two good runs to spoil: ``img`` (mnist-small) and
    ``tab`` (a CSV file)."""
    root = tmp_path_factory.mktemp("bad")

    def write(name, data):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)

    write("good.csv", "admit,gre,rank\n" + ROWS + "\n")
    assert cli.main(["train", "--out", str(root / "img"), *TINY]) == 0
    assert cli.main(["train", "--out", str(root / "tab"), "--dataset",
                     f"csv:{root / 'good.csv'}", "--target", "admit", *TINY]) == 0
    (root / "folder").mkdir()
    write("empty", "")
    write("garbage", bytes(range(256)) * 2)
    write("header.csv", "admit,gre,rank\n")
    write("onerow.csv", "admit,gre,rank\n1,300,2\n")
    write("tworows.csv", "admit,gre,rank\n1,300,2\n0,400,3\n")
    write("ragged.csv", "admit,gre,rank\n1,300\n" + ROWS)
    write("hole.csv", "admit,gre,rank\n" + ROWS + "\n1,,2\n")
    write("ids.csv", "admit,gre\n" + "\n".join(f"{i * 10 ** 9},{i}" for i in range(40)))
    write("fraction.csv", "admit,gre\n" + "\n".join(f"{i / 3},{i}" for i in range(40)))
    write("single.csv", "admit,gre\n" + "\n".join(f"yes,{i}" for i in range(40)))
    for folder in ("idx_cut", "idx_small", "idx_unequal"):
        (root / folder).mkdir()
    images = np.zeros((10, 28, 28), np.uint8)
    labels = np.arange(10, dtype=np.uint8)
    for folder, cut, shape in (("idx_cut", True, (28, 28)), ("idx_small", False, (8, 8))):
        for stem in ("train", "t10k"):
            sn.datasets.write_idx(root / folder / f"{stem}-images-idx3-ubyte",
                                  np.zeros((10,) + shape, np.uint8))
            sn.datasets.write_idx(root / folder / f"{stem}-labels-idx1-ubyte", labels)
        if cut:
            path = root / folder / "train-images-idx3-ubyte"
            path.write_bytes(path.read_bytes()[:500])
    for stem in ("train", "t10k"):
        for kind in ("images-idx3", "labels-idx1"):
            write(f"idx_garbage/{stem}-{kind}-ubyte", bytes(range(100)))
            write(f"idx_badgz/{stem}-{kind}-ubyte.gz", b"\x1f\x8b" + bytes(range(100)))
        sn.datasets.write_idx(root / "idx_unequal" / f"{stem}-images-idx3-ubyte", images)
        sn.datasets.write_idx(root / "idx_unequal" / f"{stem}-labels-idx1-ubyte", labels[:5])
    np.save(root / "nan.npy", np.full((28, 28), np.nan, np.float32))
    np.save(root / "none.npy", np.zeros((0, 28, 28), np.float32))
    np.save(root / "text.npy", np.array(["a", "b"]))
    np.save(root / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(root / "negative.npy", np.full((28, 28), -5, np.int16))
    np.save(root / "norows.npy", np.zeros((0, 2)))
    np.save(root / "cube.npy", np.zeros((2, 2, 2)))
    write("cut.npy", (root / "nan.npy").read_bytes()[:100])
    write("fake.png", b"\x89PNG\r\n\x1a\n" + bytes(range(50)))
    write("notes.txt", "hello")
    write("rows_text.csv", "gre,rank\nabc,2\n")
    write("rows_blank.csv", "gre,rank\n,2\n")

    def spoil(name, change, run="img"):
        shutil.copytree(root / run, root / name)
        change(root / name)

    def edit(**entries):
        def change(folder):
            config = json.loads((folder / "config.json").read_text())
            config.update(entries)
            (folder / "config.json").write_text(json.dumps(config))
        return change

    def replace(name, data):
        def change(folder):
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            if data is None:
                path.mkdir()
            else:
                path.write_bytes(data)
        return change

    text = (root / "img" / "config.json").read_bytes()
    weights = (root / "img" / "model.safetensors").read_bytes()
    spoil("config_empty", replace("config.json", b""))
    spoil("config_cut", replace("config.json", text[:len(text) // 2]))
    spoil("config_list", replace("config.json", b"[1, 2]"))
    spoil("config_folder", replace("config.json", None))
    spoil("config_model", edit(model="resnet"))
    spoil("config_classes", edit(num_classes="ten"))
    spoil("config_names", edit(class_names=[]))
    spoil("config_kind", edit(preprocessing="image"))
    spoil("config_batch", edit(batch_size=0))
    spoil("config_seed", edit(seed=-3))
    spoil("config_encoder", edit(preprocessing={"kind": "tabular", "encoder": {"x": 1}}),
          run="tab")
    spoil("weights_empty", replace("model.safetensors", b""))
    spoil("weights_cut", replace("model.safetensors", weights[:len(weights) // 2]))
    spoil("weights_folder", replace("model.safetensors", None))
    spoil("checkpoint_file", replace("checkpoint", b"not a folder"))
    return root


def expect_one_line(capsys, argv, match):
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert status == 2, (argv, out, err)
    assert len(lines) == 1 and lines[0].startswith("somanet: error: "), (argv, err)
    assert "Traceback" not in err
    assert match in lines[0], (argv, lines[0])


def new_out(where):
    new_out.count = getattr(new_out, "count", 0) + 1
    return where / f"new{new_out.count}"


# (argv after the command, with {name} for a path in the folder of bad inputs; what the
# line must say)
TRAIN = [
    (["--epochs", "abc"], "train: argument --epochs: invalid int value: 'abc' (see somanet "
                          "train --help)"),
    (["--epochs", "nan"], "invalid int value: 'nan'"),
    (["--epochs", "-1"], "--epochs must be at least 1, got -1"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--batch-size", "1e3"], "invalid int value: '1e3'"),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--lr", "0"], "--lr must be positive and finite, got 0.0"),
    (["--lr", "nan"], "--lr must be positive and finite, got nan"),
    (["--lr", "inf"], "--lr must be positive and finite, got inf"),
    (["--lr", "fast"], "invalid float value: 'fast'"),
    (["--lr", "-inf"], "argument --lr: expected one argument"),
    (["--seed", "-1"], "--seed must be a non-negative int, got -1"),
    (["--seed", "1.5"], "invalid int value: '1.5'"),
    (["--validation-split", "1"], "--validation-split must be a fraction in [0, 1)"),
    (["--validation-split", "-0.1"], "--validation-split must be a fraction in [0, 1)"),
    (["--validation-split", "nan"], "--validation-split must be a fraction in [0, 1)"),
    (["--verbose", "5"], "argument --verbose: invalid choice: 5"),
    (["--device", "tpu"], "--device tpu"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--dataset", "csv:{nothing.csv}", "--target", "admit"], "does not exist"),
    (["--dataset", "csv:{folder}", "--target", "admit"], "is not a file; --dataset csv:FILE "
                                                         "needs a CSV file"),
    (["--dataset", "csv:{empty}", "--target", "admit"], "empty"),
    (["--dataset", "csv:{garbage}", "--target", "admit"], "garbage"),
    (["--dataset", "csv:{header.csv}", "--target", "admit"], "has a header but no data rows"),
    (["--dataset", "csv:{onerow.csv}", "--target", "admit"],
     "has 1 data row(s): too few to hold out a test set"),
    (["--dataset", "csv:{tworows.csv}", "--target", "admit"],
     "has 2 data row(s): too few to hold out a test set (20% of them rounds to none)"),
    (["--dataset", "csv:{ragged.csv}", "--target", "admit"], "ragged.csv"),
    (["--dataset", "csv:{hole.csv}", "--target", "admit"], "missing value"),
    (["--dataset", "csv:{ids.csv}", "--target", "admit"],
     "holds whole numbers up to 39000000000"),
    (["--dataset", "csv:{fraction.csv}", "--target", "admit"], "holds fractional numbers"),
    (["--dataset", "csv:{single.csv}", "--target", "admit"], "holds a single class"),
    (["--dataset", "csv:{good.csv}", "--target", "admit", "--validation-split", "0.5",
      "--limit", "1"], "--validation-split 0.5 of 1 training sample(s) leaves 0 to train on"),
    (["--dataset", "mnist:{empty}"], "is a file; --dataset mnist:DIR needs a folder"),
    (["--dataset", "mnist:{nothing}"], "is missing"),
    (["--dataset", "mnist:{idx_cut}"], "train-images-idx3-ubyte"),
    (["--dataset", "mnist:{idx_garbage}"], "idx"),
    (["--dataset", "mnist:{idx_badgz}"], "gz"),
    (["--dataset", "mnist:{idx_unequal}"], "labels"),
    (["--dataset", "mnist:{idx_small}"], "holds images of shape (8, 8); the models expect "
                                         "(28, 28)"),
    (["--tensorboard", "{empty}"], "is a file, not a folder"),
    (["--tensorboard", "{empty}/logs"], "cannot write to --tensorboard"),
]


def fill(argv, where):
    """``{name}`` in ``argv`` made the path of ``name`` in the folder of bad inputs."""
    return [re.sub(r"\{([^}]*)\}", lambda found: str(where / found.group(1)), str(arg))
            for arg in argv]


@pytest.mark.parametrize("argv, match", TRAIN, ids=[" ".join(a) for a, _ in TRAIN])
def test_train(where, capsys, argv, match):
    out = new_out(where)
    expect_one_line(capsys, ["train", "--out", out, *TINY, *fill(argv, where)],
                    match.replace("{", "").replace("}", ""))
    assert not out.exists()  # nothing left behind


RUNS = {"nothing": "does not exist", "empty": "is a file, not a run folder",
        "folder": "holds no config.json",
        "config_empty": "cannot read", "config_cut": "cannot read",
        "config_list": "is not a somanet run configuration",
        "config_folder": "holds no config.json", "config_model": "resnet",
        "config_classes": "num_classes is \"ten\", expected an int >= 2",
        "config_names": "class_names has 0 names for num_classes 10",
        "config_kind": "preprocessing is \"image\", expected",
        "config_batch": "batch_size is 0, expected an int >= 1",
        "config_seed": "seed is -3, expected an int >= 0",
        "config_encoder": "the CSV encoding in config.json is damaged"}
WEIGHTS = {"weights_empty": "model.safetensors", "weights_cut": "model.safetensors",
           "weights_folder": "holds no model.safetensors"}


@pytest.mark.parametrize("run", sorted(RUNS) + sorted(WEIGHTS))
def test_damaged_run_folders(where, capsys, run):
    match = {**RUNS, **WEIGHTS}[run]
    expect_one_line(capsys, ["evaluate", where / run], match)
    expect_one_line(capsys, ["predict", where / run, where / "nan.npy"], match)
    expect_one_line(capsys, ["export", where / run, "--onnx", where / "x.onnx"], match)
    if run in RUNS:
        expect_one_line(capsys, ["train", "--resume", "--out", where / run, "--epochs", "3",
                                 "--verbose", "0", "--no-plot"],
                        "cannot resume" if run == "config_encoder" else match)


def test_files_where_a_run_folder_writes(where, capsys):
    expect_one_line(capsys, ["train", "--resume", "--out", where / "weights_folder",
                             "--epochs", "3"], "model.safetensors' is a folder; somanet "
                                               "train writes a file of that name there")
    expect_one_line(capsys, ["train", "--resume", "--out", where / "checkpoint_file",
                             "--epochs", "3"], "checkpoint' is a file; somanet train keeps "
                                               "its checkpoint in a folder")
    expect_one_line(capsys, ["train", "--out", where / "empty", *TINY],
                    "is a file, not a folder")


PREDICT_IMAGES = [("nothing.npy", "does not exist"), ("folder", "is not a file"),
                  ("empty", "cannot read"), ("none.npy", "holds no images"),
                  ("nan.npy", "holds NaN or infinite values"),
                  ("text.npy", "holds <U1 values; expected images"),
                  ("objects.npy", "as a .npy file"), ("cut.npy", "as a .npy file"),
                  ("negative.npy", "holds integers in [-5, -5]; expected pixels 0-255"),
                  ("garbage", "as an image"), ("notes.txt", "as an image"),
                  ("fake.png", "as an image"), ("good.csv", "as an image")]
PREDICT_ROWS = [("empty", "a CSV run predicts from .csv or .npy rows"),
                ("garbage", "a CSV run predicts from .csv or .npy"),
                ("rows_text.csv", "rows_text.csv"), ("rows_blank.csv", "rows_blank.csv"),
                ("norows.npy", "holds no rows"), ("cube.npy", "holds an array of shape "
                                                              "(2, 2, 2)"),
                ("text.npy", "column 'gre' holds 'a' in row 1, which is not a number"),
                ("header.csv", "has a header but no data rows")]


@pytest.mark.parametrize("run, name, match", [("img",) + case for case in PREDICT_IMAGES]
                         + [("tab",) + case for case in PREDICT_ROWS])
def test_predict(where, capsys, run, name, match):
    expect_one_line(capsys, ["predict", where / run, where / name], match)


def test_the_other_commands(where, capsys):
    expect_one_line(capsys, [], "the following arguments are required: COMMAND (see somanet "
                                "--help)")
    expect_one_line(capsys, ["bogus"], "argument COMMAND: invalid choice: 'bogus'")
    expect_one_line(capsys, ["info", "extra"], "unrecognized arguments: extra")
    expect_one_line(capsys, ["evaluate"], "evaluate: the following arguments are required: "
                                          "RUN_DIR")
    expect_one_line(capsys, ["predict", where / "img"], "the following arguments are "
                                                        "required: FILE")
    expect_one_line(capsys, ["evaluate", where / "img", "--dataset", "mnist:{}".format(
        where / "idx_small")], "holds images of shape (8, 8)")
    expect_one_line(capsys, ["evaluate", where / "img", "--device", "nope"], "--device nope")
    expect_one_line(capsys, ["evaluate", where / "tab", "--dataset", "mnist-small"],
                    "--dataset cannot change the data of a CSV run")
    expect_one_line(capsys, ["export", where / "img"], "the following arguments are "
                                                       "required: --onnx")
    expect_one_line(capsys, ["export", where / "img", "--onnx", where / "x.onnx",
                             "--fixed-batch", "0"], "--fixed-batch must be a positive int")
    expect_one_line(capsys, ["export", where / "img", "--onnx", where / "x.onnx",
                             "--fixed-batch", "abc"], "invalid int value: 'abc'")
    pytest.importorskip("onnx")
    expect_one_line(capsys, ["export", where / "img", "--onnx", where / "folder"],
                    "cannot write")
    expect_one_line(capsys, ["export", where / "img", "--onnx", where / "empty" / "x.onnx"],
                    "does not exist")
