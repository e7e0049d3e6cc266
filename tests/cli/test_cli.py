"""The ``somanet`` command: train / evaluate / predict / info, in-process through
``main([...])`` (fast) and as a subprocess; every user error is one line and exit status 2."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import somanet as sn
from somanet import cli

TINY = ["--epochs", "1", "--limit", "256", "--verbose", "0", "--no-plot"]


def run(capsys, *argv):
    """``main(argv)`` -> (exit status, stdout, stderr)."""
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def check_error(capsys, argv, match):
    """The command fails with status 2 and exactly one line ``somanet: error: ...``."""
    status, out, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert status == 2, (out, err)
    assert len(lines) == 1 and lines[0].startswith("somanet: error: "), err
    assert match in lines[0], lines[0]
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """A run folder from a tiny `somanet train` (1 epoch on 256 images)."""
    out = tmp_path_factory.mktemp("runs") / "mlp"
    assert cli.main(["train", "--out", str(out), *TINY[:-1]]) == 0  # with history.png
    return out


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Test images: the first five of the held-out split, as .npy files."""
    folder = tmp_path_factory.mktemp("digits")
    images, labels = sn.datasets.mnist_small("test", normalize=False)
    np.save(folder / "one.npy", images[0])
    np.save(folder / "batch.npy", images[:5])
    np.save(folder / "floats.npy", images[:2].astype(np.float32) / 255)
    return folder, labels[:5]


# -- help ----------------------------------------------------------------------------------


def test_help_lists_the_commands(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in ("train", "evaluate", "predict", "info"):
        assert command in out


def test_train_help_lists_the_options(capsys):
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0
    for option in ("--model", "--dataset", "--target", "--epochs", "--batch-size",
                   "--optimizer", "--lr", "--seed", "--out", "--resume", "--device", "--limit"):
        assert option in out
    assert "lenet" in out and "mnist-small" in out


def test_no_command_is_a_usage_error(capsys):
    status, _, err = run(capsys)
    assert status == 2 and "required: COMMAND" in err


# -- train, evaluate, predict --------------------------------------------------------------


RUN_FILES = ["checkpoint", "config.json", "confusion_matrix.png", "history.png",
             "metrics.json", "misclassified.png", "model.safetensors"]


def test_train_writes_the_run_folder(mlp_run):
    names = sorted(os.listdir(mlp_run))
    assert names == RUN_FILES
    config = json.loads((mlp_run / "config.json").read_text())
    assert config["format"] == cli.RUN_FORMAT
    assert {key: config[key] for key in ("model", "dataset", "epochs", "batch_size",
                                         "optimizer", "lr", "seed", "limit",
                                         "validation_split")} == {
        "model": "mlp", "dataset": "mnist-small", "epochs": 1, "batch_size": 32,
        "optimizer": "adam", "lr": 0.001, "seed": 0, "limit": 256, "validation_split": 0.1}
    assert config["preprocessing"]["kind"] == "image" and config["num_classes"] == 10
    metrics = json.loads((mlp_run / "metrics.json").read_text())
    # --limit 256, of which the last 10% (as Keras's validation_split) validate
    assert metrics["test_samples"] == 256 and metrics["train_samples"] == 230
    assert metrics["validation_samples"] == 26
    assert 0.3 < metrics["test_accuracy"] <= 1 and len(metrics["history"]["loss"]) == 1
    assert len(metrics["history"]["val_loss"]) == len(metrics["history"]["val_accuracy"]) == 1
    confusion = np.array(metrics["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == 256
    assert np.trace(confusion) / 256 == pytest.approx(metrics["test_accuracy"])
    assert os.listdir(mlp_run / "checkpoint")
    matplotlib_image = pytest.importorskip("matplotlib.image")
    for name in ("history.png", "confusion_matrix.png", "misclassified.png"):
        assert matplotlib_image.imread(mlp_run / name).shape[0] > 100, name


def test_the_validation_split_is_the_last_fraction_and_0_turns_it_off(tmp_path, capsys):
    status, out, _ = run(capsys, "train", "--out", tmp_path / "half", "--validation-split",
                         "0.5", *TINY)
    assert status == 0 and "(128 train / 128 validation / 256 test)" in out
    status, out, _ = run(capsys, "train", "--out", tmp_path / "none", "--validation-split",
                         "0", *TINY)
    assert status == 0 and "(256 train / 256 test)" in out
    metrics = json.loads((tmp_path / "none" / "metrics.json").read_text())
    assert metrics["validation_samples"] == 0 and "val_loss" not in metrics["history"]
    # The held-out digits are the last half: Keras's fit(validation_split=0.5) on the same
    # data, seed and model gives the same validation loss, bit for bit.
    from somanet.cli.model import compile_model
    sn.manual_seed(0)
    fresh = sn.models.get("mlp", num_classes=10)
    compile_model(fresh)
    x, y = sn.datasets.mnist_small("train")
    history = fresh.fit(x[:256], y[:256], epochs=1, validation_split=0.5, verbose=0, seed=0)
    metrics = json.loads((tmp_path / "half" / "metrics.json").read_text())
    assert metrics["history"]["val_loss"] == history.history["val_loss"]
    check_error(capsys, ["train", "--out", tmp_path / "r", "--validation-split", "1"],
                "--validation-split must be a fraction in [0, 1)")
    check_error(capsys, ["train", "--out", tmp_path / "r", "--validation-split", "nan"],
                "--validation-split must be a fraction in [0, 1)")
    check_error(capsys, ["train", "--out", tmp_path / "r", "--validation-split", "0.5",
                         "--limit", "1"],
                "--validation-split 0.5 of 1 training sample(s) leaves 0 to train on and "
                "1 to validate on")
    assert not (tmp_path / "r").exists()


def test_train_tensorboard_logs_change_nothing_and_resume(tmp_path, mlp_run, capsys):
    out = tmp_path / "tb"
    status, text, _ = run(capsys, "train", "--out", out, "--tensorboard", *TINY)
    assert status == 0 and f"TensorBoard logs in {out / 'tensorboard'}" in text
    assert (out / "model.safetensors").read_bytes() == \
        (mlp_run / "model.safetensors").read_bytes()  # the same training, bit for bit
    train = sn.io.events.read_scalars(out / "tensorboard" / "train")
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [step for step, _ in train["batch_loss"]] == list(range(1, 9))  # 230 rows / 32
    assert train["epoch_loss"][0][1] == pytest.approx(history["loss"][0], rel=1e-6)
    validation = sn.io.events.read_scalars(out / "tensorboard" / "validation")
    assert validation["epoch_loss"][0][1] == pytest.approx(history["val_loss"][0], rel=1e-6)
    # resumed with --tensorboard DIR elsewhere: the steps go on; the run is still bit for bit
    logs = tmp_path / "logs"
    status, _, _ = run(capsys, "train", "--resume", "--out", out, "--epochs", "2",
                       "--tensorboard", logs, "--verbose", "0", "--no-plot")
    assert status == 0
    assert [step for step, _ in sn.io.events.read_scalars(logs / "train")["batch_loss"]] == \
        list(range(9, 17))
    whole = tmp_path / "whole"
    assert cli.main(["train", "--out", str(whole), *TINY[:1], "2", *TINY[2:]]) == 0
    assert (out / "model.safetensors").read_bytes() == \
        (whole / "model.safetensors").read_bytes()
    (tmp_path / "file").write_text("")
    check_error(capsys, ["train", "--out", tmp_path / "r", "--tensorboard", tmp_path / "file"],
                "--tensorboard '" + str(tmp_path / "file") + "' is a file, not a folder")
    assert not (tmp_path / "r").exists()


def test_train_prints_progress_and_the_test_scores(tmp_path, capsys):
    status, out, _ = run(capsys, "train", "--out", tmp_path / "r", "--epochs", "2",
                         "--limit", "128", "--verbose", "2", "--batch-size", "64", "--no-plot")
    assert status == 0
    assert ("mlp (101,770 parameters) on mnist-small (115 train / 13 validation / 128 test), "
            "2 epochs") in out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "test loss " in out and "test accuracy " in out


def test_train_is_reproducible_with_a_seed(tmp_path, mlp_run):
    assert cli.main(["train", "--out", str(tmp_path / "again"), *TINY]) == 0
    first = sn.io.read_weights(mlp_run / "model.safetensors")
    second = sn.io.read_weights(tmp_path / "again" / "model.safetensors")
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    # The files themselves are equal, byte for byte: one checksum for two seeded runs.
    assert (mlp_run / "model.safetensors").read_bytes() == \
        (tmp_path / "again" / "model.safetensors").read_bytes()


def test_train_with_jit_writes_the_same_weights(tmp_path, mlp_run):
    assert cli.main(["train", "--out", str(tmp_path / "jit"), "--jit", *TINY]) == 0
    assert (mlp_run / "model.safetensors").read_bytes() == \
        (tmp_path / "jit" / "model.safetensors").read_bytes()


def test_evaluate_rebuilds_the_model_from_the_run_folder(mlp_run, capsys):
    status, out, _ = run(capsys, "evaluate", mlp_run)
    assert status == 0
    metrics = json.loads((mlp_run / "metrics.json").read_text())
    assert f"accuracy {metrics['test_accuracy']:.4f}" in out
    assert f"loss {metrics['test_loss']:.4f}" in out


def test_predict_npy_one_image_and_a_batch(mlp_run, digits, capsys):
    folder, _ = digits
    status, out, _ = run(capsys, "predict", mlp_run, folder / "one.npy", folder / "batch.npy",
                         folder / "floats.npy")
    assert status == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1 + 5 + 2
    assert lines[0].startswith("one.npy: ") and lines[1].startswith("batch.npy[0]: ")
    assert lines[0].split(":", 1)[1] == lines[1].split(":", 1)[1]  # the same image
    assert lines[6].split(":", 1)[1] == lines[1].split(":", 1)[1]  # uint8 = floats / 255
    # the class and probability are the model's, through a softmax on its logits
    config, model = cli.load_run(str(mlp_run))
    images = np.load(folder / "batch.npy").astype(np.float32) / 255
    logits = model.predict(images)
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    for line, row in zip(lines[1:6], probabilities):
        label, p = line.split(":", 1)[1].split()
        assert int(label) == row.argmax() and float(p[2:]) == pytest.approx(row.max(), abs=1e-4)


def test_predict_png(mlp_run, digits, tmp_path, capsys):
    plt = pytest.importorskip("matplotlib.pyplot")
    folder, _ = digits
    image = np.load(folder / "one.npy")
    plt.imsave(tmp_path / "digit.png", image, cmap="gray", vmin=0, vmax=255)  # RGBA file
    status, out, _ = run(capsys, "predict", mlp_run, tmp_path / "digit.png",
                         folder / "one.npy")
    assert status == 0
    png, npy = [line.split(":", 1)[1].split() for line in out.strip().splitlines()]
    assert png[0] == npy[0]  # the same class; the colour map's rounding moves p a little
    assert float(png[1][2:]) == pytest.approx(float(npy[1][2:]), abs=0.01)
    status, out, _ = run(capsys, "predict", mlp_run, "--invert", tmp_path / "digit.png")
    assert status == 0 and out.startswith("digit.png: ")


def test_resume_continues_a_run(tmp_path, capsys):
    out = tmp_path / "r"
    whole = tmp_path / "whole"
    assert cli.main(["train", "--out", str(whole), "--epochs", "2", "--limit", "128",
                     "--verbose", "0", "--no-plot"]) == 0
    assert cli.main(["train", "--out", str(out), "--epochs", "1", "--limit", "128",
                     "--verbose", "0", "--no-plot"]) == 0
    status, _, _ = run(capsys, "train", "--resume", "--out", out, "--epochs", "2",
                       "--verbose", "0", "--no-plot")
    assert status == 0
    resumed = json.loads((out / "metrics.json").read_text())["history"]["loss"]
    expected = json.loads((whole / "metrics.json").read_text())["history"]["loss"]
    assert resumed == expected  # 1 + 1 epochs = 2 epochs, bit for bit
    assert json.loads((out / "config.json").read_text())["epochs"] == 2
    first = sn.io.read_weights(out / "model.safetensors")
    second = sn.io.read_weights(whole / "model.safetensors")
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_train_evaluate_predict_on_a_csv_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    gre = rng.integers(300, 800, 200)
    rank = rng.integers(1, 5, 200)
    admit = np.where(gre / 800 - rank / 8 + rng.normal(0, 0.1, 200) > 0.4, "yes", "no")
    rows = [f"{a},{g},{r}" for a, g, r in zip(admit, gre, rank)]
    (tmp_path / "admissions.csv").write_text("admit,gre,rank\n" + "\n".join(rows) + "\n")
    out = tmp_path / "run"
    status, text, _ = run(capsys, "train", "--dataset", f"csv:{tmp_path / 'admissions.csv'}",
                          "--target", "admit", "--categorical", "rank", "--epochs", "3",
                          "--out", out, "--verbose", "0", "--no-plot")
    assert status == 0 and "(144 train / 16 validation / 40 test)" in text
    assert sorted(os.listdir(out)) == [name for name in RUN_FILES if name not in (
        "confusion_matrix.png", "history.png", "misclassified.png")]  # --no-plot
    config = json.loads((out / "config.json").read_text())
    assert config["class_names"] == ["no", "yes"]
    assert config["preprocessing"]["encoder"]["categories"] == {"rank": ["1", "2", "3", "4"]}
    status, text, _ = run(capsys, "evaluate", out)
    assert status == 0 and "(test, 40 samples)" in text
    (tmp_path / "new.csv").write_text("gre,rank\n790,1\n310,4\n")
    np.save(tmp_path / "new.npy", np.array([[790, 1], [310, 4]]))
    status, text, _ = run(capsys, "predict", out, tmp_path / "new.csv", tmp_path / "new.npy")
    assert status == 0
    lines = text.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["new.csv[0]", "new.csv[1]",
                                                      "new.npy[0]", "new.npy[1]"]
    assert lines[0].split(":")[1] == lines[2].split(":")[1]
    assert lines[1].split(":")[1] == lines[3].split(":")[1]
    (tmp_path / "partial.csv").write_text("gre\n790\n")
    check_error(capsys, ["predict", out, tmp_path / "partial.csv"],
                "partial.csv lacks the feature column(s) rank; the model reads gre, rank")
    np.save(tmp_path / "wide.npy", np.zeros((2, 5)))
    check_error(capsys, ["predict", out, tmp_path / "wide.npy"],
                "holds an array of shape (2, 5); expected rows of the 2 feature columns "
                "(gre, rank)")
    (tmp_path / "level.csv").write_text("gre,rank\n700,9\n")
    check_error(capsys, ["predict", out, tmp_path / "level.csv"], "has level '9', unseen")
    check_error(capsys, ["train", "--dataset", f"csv:{tmp_path / 'admissions.csv'}",
                         "--target", "admit", "--model", "lenet", "--out", tmp_path / "x"],
                "--model lenet takes images; CSV data trains --model mlp")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("kind", ["mnist", "fashion-mnist"])
def test_train_on_idx_files(kind, tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "idx"
    folder.mkdir()
    for stem, count in (("train", 64), ("t10k", 32)):
        sn.datasets.write_idx(folder / f"{stem}-images-idx3-ubyte.gz",
                              rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        sn.datasets.write_idx(folder / f"{stem}-labels-idx1-ubyte",
                              (np.arange(count) % 10).astype(np.uint8))
    out = tmp_path / "run"
    status, text, _ = run(capsys, "train", "--dataset", f"{kind}:{folder}", "--out", out,
                          "--epochs", "1", "--verbose", "0", "--no-plot")
    assert status == 0 and "(57 train / 7 validation / 32 test)" in text
    np.save(tmp_path / "x.npy", rng.random((2, 28, 28)))
    status, text, _ = run(capsys, "predict", out, tmp_path / "x.npy")
    names = json.loads((out / "config.json").read_text())["class_names"]
    assert names == (list(sn.datasets.FASHION_MNIST_CLASSES) if kind == "fashion-mnist"
                     else [str(i) for i in range(10)])
    assert status == 0 and all(line.split(": ")[1].strip().rsplit("  p=", 1)[0].strip()
                               in names for line in text.strip().splitlines())


@pytest.mark.parametrize("model", ["lenet", "lstm"])
def test_train_the_other_models(model, tmp_path, digits, capsys):
    out = tmp_path / model
    status, text, _ = run(capsys, "train", "--model", model, "--out", out, "--epochs", "1",
                          "--limit", "64", "--verbose", "0", "--no-plot")
    assert status == 0 and f"somanet train: {model} (" in text
    assert json.loads((out / "config.json").read_text())["model"] == model
    status, text, _ = run(capsys, "predict", out, digits[0] / "batch.npy")
    assert status == 0 and len(text.strip().splitlines()) == 5


# -- errors: one line, exit status 2, nothing left behind ------------------------------------


def test_missing_dataset_folder(tmp_path, capsys):
    check_error(capsys, ["train", "--dataset", f"mnist:{tmp_path / 'nowhere'}",
                         "--out", tmp_path / "r"],
                f"dataset folder '{tmp_path / 'nowhere'}' is missing")
    assert not (tmp_path / "r").exists()


def test_dataset_folder_without_the_idx_files(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    line = check_error(capsys, ["train", "--dataset", f"fashion-mnist:{tmp_path / 'empty'}",
                                "--out", tmp_path / "r"],
                       "lacks 4 of the Fashion-MNIST IDX files")
    assert "t10k-labels-idx1-ubyte.gz" in line
    assert not (tmp_path / "r").exists()


def test_unknown_model_optimizer_dataset(tmp_path, capsys):
    out = ["--out", tmp_path / "r"]
    check_error(capsys, ["train", "--model", "resnet", *out],
                "unknown model 'resnet'; the known models are char-lstm, lenet, lstm, mlp")
    check_error(capsys, ["train", "--optimizer", "adamx", *out],
                "unknown optimizer 'adamx'; the known optimizers are adagrad, adam")
    check_error(capsys, ["train", "--dataset", "cifar", *out],
                "unknown dataset 'cifar'; expected mnist-small, mnist:DIR, "
                "fashion-mnist:DIR, csv:FILE, shakespeare or text:FILE")
    check_error(capsys, ["train", "--dataset", "mnist", *out], "--dataset mnist needs a path")
    check_error(capsys, ["train", "--target", "label", *out],
                "--target and --categorical are for csv:FILE datasets")
    check_error(capsys, ["train", "--epochs", "0", *out], "--epochs must be at least 1")
    check_error(capsys, ["train", "--lr", "-1", *out], "--lr must be positive")
    assert not (tmp_path / "r").exists()


def test_bad_csv_column(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,0,x\n")
    check_error(capsys, ["train", "--dataset", f"csv:{path}", "--target", "lable",
                         "--out", tmp_path / "r"],
                "target column ['lable'] not in the file; the columns are "
                "['a', 'b', 'label']")
    check_error(capsys, ["train", "--dataset", f"csv:{path}", "--target", "label",
                         "--categorical", "c", "--out", tmp_path / "r"],
                "categorical columns ['c'] not in the file")
    check_error(capsys, ["train", "--dataset", f"csv:{path}", "--out", tmp_path / "r"],
                "needs --target COLUMN, the column to predict; the columns are a, b, label")
    check_error(capsys, ["train", "--dataset", f"csv:{tmp_path / 'none.csv'}", "--target",
                         "label", "--out", tmp_path / "r"], "does not exist")
    assert not (tmp_path / "r").exists()


def test_unwritable_out_is_reported_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    started = time.perf_counter()
    check_error(capsys, ["train", "--out", tmp_path / "file" / "run"],
                f"cannot write to --out '{tmp_path / 'file' / 'run'}'")
    check_error(capsys, ["train", "--out", tmp_path / "file"], "is a file, not a folder")
    assert time.perf_counter() - started < 5  # no training happened


def test_out_holding_a_run_and_resume_errors(mlp_run, tmp_path, capsys):
    check_error(capsys, ["train", "--out", mlp_run], "already holds a run; continue it with "
                                                     "--resume")
    check_error(capsys, ["train", "--resume"], "--resume needs the run folder")
    check_error(capsys, ["train", "--resume", "--out", tmp_path],
                "holds no config.json; is it a folder made by somanet train?")
    check_error(capsys, ["train", "--resume", "--out", mlp_run, "--lr", "0.1"],
                "with --lr 0.001; drop --lr 0.1")


def test_diverging_loss_is_one_line(tmp_path, capsys):
    with np.errstate(all="ignore"):
        line = check_error(capsys, ["train", "--out", tmp_path / "r", "--optimizer", "sgd",
                                    "--lr", "1e30", *TINY],
                           "the loss is nan at epoch 1")
    assert "lower --lr" in line
    assert not (tmp_path / "r").exists()


def test_predict_errors(mlp_run, digits, tmp_path, capsys):
    folder, _ = digits
    np.save(tmp_path / "wrong.npy", np.zeros((2, 32, 32), dtype=np.uint8))
    check_error(capsys, ["predict", mlp_run, tmp_path / "wrong.npy"],
                "holds an array of shape (2, 32, 32); expected one image (28, 28) or a batch "
                "(N, 28, 28)")
    np.save(tmp_path / "range.npy", np.full((28, 28), 200.0))
    check_error(capsys, ["predict", mlp_run, tmp_path / "range.npy"],
                "expected pixels in [0, 1] as in training")
    check_error(capsys, ["predict", mlp_run, tmp_path / "missing.npy"], "does not exist")
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    check_error(capsys, ["predict", mlp_run, tmp_path / "broken.npy"],
                "cannot read " + str(tmp_path / "broken.npy") + " as a .npy file")
    check_error(capsys, ["predict", tmp_path / "nope", folder / "one.npy"],
                "does not exist")
    check_error(capsys, ["evaluate", tmp_path], "holds no config.json")


def test_predict_image_file_errors(mlp_run, tmp_path, capsys):
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.imsave(tmp_path / "big.png", np.zeros((32, 40)), cmap="gray")
    check_error(capsys, ["predict", mlp_run, tmp_path / "big.png"],
                "big.png is 40x32 pixels; expected 28x28 (resize it first)")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    check_error(capsys, ["predict", mlp_run, tmp_path / "bad.png"],
                "cannot read " + str(tmp_path / "bad.png") + " as an image")


def test_evaluate_errors(mlp_run, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    check_error(capsys, ["evaluate", broken], "cannot read")
    (broken / "config.json").write_text((mlp_run / "config.json").read_text())
    check_error(capsys, ["evaluate", broken], "holds no model.safetensors: the run did not "
                                              "finish")
    (broken / "model.safetensors").write_bytes(b"\x00" * 10)
    check_error(capsys, ["evaluate", broken], "model.safetensors")


# -- info, and the real command in a subprocess ----------------------------------------------


def test_info(capsys):
    status, out, _ = run(capsys, "info")
    assert status == 0
    for key in ("somanet", "numpy", "CPUs", "BLAS", "devices", "extras"):
        assert any(line.startswith(key) for line in out.splitlines()), out
    assert sn.__version__ in out and np.__version__ in out and "cpu" in out


def _somanet(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "somanet", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_info_subprocess():
    done = _somanet("info")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("somanet ") and "BLAS" in done.stdout
    script = os.path.join(os.path.dirname(sys.executable), "somanet")
    if os.path.exists(script):  # the console script pip installed
        done = subprocess.run([script, "info"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.startswith("somanet "), done.stderr


def test_error_exit_subprocess(tmp_path):
    done = _somanet("train", "--dataset", f"mnist:{tmp_path / 'nowhere'}", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("somanet: error: dataset folder")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_the_main_job(tmp_path):
    """`somanet train` with no arguments: the Keras quickstart MLP on mnist_small, 5 epochs of
    Adam, test accuracy >= 0.90 (it takes well under a minute on an idle machine: the time
    is printed, not asserted)."""
    started = time.perf_counter()
    done = _somanet("train", cwd=tmp_path)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert sorted(os.listdir(run_dir)) == RUN_FILES
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.90 and len(metrics["history"]["loss"]) == 5
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in done.stdout
    print(f"somanet train: {seconds:.1f} s, test accuracy {metrics['test_accuracy']:.4f}")


@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    """Kill a real `somanet train` with SIGKILL after its first checkpoint; `--resume` ends
    with the same weights, bit for bit, as a run never interrupted."""
    args = [sys.executable, "-m", "somanet", "train", "--model", "lenet", "--epochs", "3",
            "--limit", "1000", "--verbose", "0", "--no-plot", "--out"]
    killed = tmp_path / "killed"
    process = subprocess.Popen(args + [str(killed)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    marker = killed / "checkpoint" / "checkpoint.json"
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert marker.exists(), process.stderr.read()
    assert not (killed / "model.safetensors").exists()  # killed part-way, not after the end
    resumed = subprocess.run(args + [str(killed), "--resume"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run(args + [str(tmp_path / "whole")], capture_output=True, text=True,
                           timeout=300)
    assert whole.returncode == 0, whole.stderr
    first = sn.io.read_weights(killed / "model.safetensors")
    second = sn.io.read_weights(tmp_path / "whole" / "model.safetensors")
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    losses = [json.loads((folder / "metrics.json").read_text())["history"]["loss"]
              for folder in (killed, tmp_path / "whole")]
    assert losses[0] == losses[1] and len(losses[0]) == 3


@pytest.mark.slow
def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "somanet", "train", "--model", "lenet",
                                "--epochs", "3", "--limit", "1000", "--verbose", "0",
                                "--no-plot", "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    marker = out / "checkpoint" / "checkpoint.json"
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == (f"somanet: interrupted; the last checkpoint is intact: somanet "
                           f"train --resume --out {out}")
    assert _somanet("train", "--resume", "--out", out, "--verbose", "0",
                    "--no-plot").returncode == 0
    assert len(json.loads((out / "metrics.json").read_text())["history"]["loss"]) == 3


# -- resume checks everything before it writes; run folders are never damaged ----------------


def snapshot(folder):
    """Every file under ``folder``: {relative path: bytes}."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, folder)] = handle.read()
    return files


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "two"
    assert cli.main(["train", "--out", str(out), "--epochs", "2", "--limit", "128",
                     "--verbose", "0", "--no-plot"]) == 0
    return out


@pytest.fixture
def run_copy(two_epoch_run, tmp_path):
    """A copy of the finished two-epoch run, to damage."""
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(two_epoch_run, copy)
    return copy


def test_resume_with_fewer_epochs_says_so_and_changes_nothing(run_copy, capsys):
    before = snapshot(run_copy)
    check_error(capsys, ["train", "--resume", "--out", run_copy, "--epochs", "1"],
                "has already trained 2 epoch(s), past --epochs 1; give --epochs 3 or more")
    assert snapshot(run_copy) == before


def test_resuming_a_finished_run_does_nothing(run_copy, capsys):
    before = snapshot(run_copy)
    status, out, _ = run(capsys, "train", "--resume", "--out", run_copy, "--verbose", "0",
                         "--no-plot")
    assert status == 0 and "has finished its 2 epoch(s); nothing to do" in out
    assert snapshot(run_copy) == before


def _checkpoint_file(run_dir, prefix):
    (name,) = [name for name in os.listdir(run_dir / "checkpoint") if name.startswith(prefix)]
    return run_dir / "checkpoint" / name


def _edit_index(run_dir, change):
    path = run_dir / "checkpoint" / "checkpoint.json"
    index = json.loads(path.read_text())
    change(index)
    path.write_text(json.dumps(index))


DAMAGES = {
    "truncated weights": (lambda d: _checkpoint_file(d, "model-").write_bytes(
        _checkpoint_file(d, "model-").read_bytes()[:-9]), "is not a readable safetensors"),
    "truncated state": (lambda d: _checkpoint_file(d, "state-").write_bytes(
        _checkpoint_file(d, "state-").read_bytes()[:200]), "is not a readable safetensors"),
    "bad JSON": (lambda d: (d / "checkpoint" / "checkpoint.json").write_text('{"format": "so'),
                 "checkpoint.json is not valid JSON"),
    "missing file": (lambda d: os.remove(_checkpoint_file(d, "model-")), "no file"),
    "bad RNG state": (lambda d: _edit_index(d, lambda i: i["rng"]["cpu"].update(
        bit_generator="nope")), "damaged RNG state"),
    "epoch of the wrong type": (lambda d: _edit_index(d, lambda i: i.update(epoch="1")),
                                "the entry 'epoch' is \"1\", expected a non-negative int"),
    "a path outside the folder": (lambda d: _edit_index(d, lambda i: i.update(
        model="../../x/model.safetensors")), "the entry 'model' is"),
    "flipped bit": (lambda d: _flip(_checkpoint_file(d, "model-")), "is damaged (its checksum"),
}


def _flip(path):
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_checkpoint_is_one_line_and_changes_nothing(run_copy, capsys, damage):
    make, match = DAMAGES[damage]
    make(run_copy)
    before = snapshot(run_copy)
    line = check_error(capsys, ["train", "--resume", "--out", run_copy, "--epochs", "3"], match)
    assert f"cannot resume {run_copy}" in line
    assert snapshot(run_copy) == before


def test_resume_on_a_changed_csv_is_refused_before_writing(tmp_path, capsys):
    rng = np.random.default_rng(1)
    rows = [f"{a},{g},{r}" for a, g, r in zip(rng.integers(0, 2, 60), rng.integers(300, 800, 60),
                                              rng.integers(1, 5, 60))]
    data = tmp_path / "data.csv"
    data.write_text("admit,gre,rank\n" + "\n".join(rows) + "\n")
    out = tmp_path / "run"
    assert cli.main(["train", "--dataset", f"csv:{data}", "--target", "admit", "--out", str(out),
                     "--epochs", "1", "--verbose", "0", "--no-plot"]) == 0
    before = snapshot(out)
    data.write_text("admit,gre,rank\n" + "\n".join(rows + ["1,500,2", "0,640,3"]) + "\n")
    check_error(capsys, ["train", "--resume", "--out", out, "--epochs", "2"],
                "changed since the run started (the mean of column 'gre' is now")
    assert snapshot(out) == before
    data.write_text("admit,gre,rank,gpa\n" + "\n".join(row + ",3.5" for row in rows) + "\n")
    check_error(capsys, ["train", "--resume", "--out", out, "--epochs", "2"],
                "(the feature columns are now ['gre', 'rank', 'gpa'], the run's were "
                "['gre', 'rank'])")
    assert snapshot(out) == before


def test_one_run_per_folder_at_a_time(tmp_path, mlp_run, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    with sn.io.lock_folder(out):  # another `somanet train` writing it
        check_error(capsys, ["train", "--out", out, *TINY],
                    f"'{out}' is in use by another process")
        assert os.listdir(out) == []
    with sn.io.lock_folder(mlp_run):
        check_error(capsys, ["train", "--resume", "--out", mlp_run, "--epochs", "2"],
                    "is in use by another process (it holds the folder's lock); wait for that "
                    "run to end")


@pytest.mark.slow
def test_two_trains_started_together_on_one_folder(tmp_path):
    """Both start; one gets the folder, the other says it is in use (or, if it came
    second, that the folder holds a run); the folder holds one run's files."""
    out = tmp_path / "shared"
    jobs = [subprocess.Popen([sys.executable, "-m", "somanet", "train", "--out", str(out),
                              *TINY], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [(job.wait(timeout=120), job.stderr.read()) for job in jobs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    (error,) = [err for code, err in results if code == 2]
    assert "is in use by another process" in error or "already holds a run" in error
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 1 and (out / "model.safetensors").exists()


def test_resume_removes_what_killed_writes_left(tmp_path, capsys):
    out = tmp_path / "r"
    assert cli.main(["train", "--out", str(out), *TINY]) == 0
    leftovers = [out / ".config.json.a1b2c3d4.tmp", out / ".model.safetensors.q9w8e7r6.tmp",
                 out / "checkpoint" / ".checkpoint.json.zz11yy22.tmp",
                 out / "checkpoint" / "model-99-deadbeef.safetensors"]
    for path in leftovers:
        path.write_bytes(b"partial")
    (out / "notes.txt").write_text("kept")
    status, _, _ = run(capsys, "train", "--resume", "--out", out, "--epochs", "2",
                       "--verbose", "0", "--no-plot")
    assert status == 0
    assert not any(path.exists() for path in leftovers)
    assert (out / "notes.txt").read_text() == "kept"


def test_evaluate_refuses_nan_weights(mlp_run, tmp_path, capsys):
    import shutil
    broken = tmp_path / "nan"
    shutil.copytree(mlp_run, broken)
    weights = sn.io.read_weights(broken / "model.safetensors")
    weights["0.bias" if "0.bias" in weights else sorted(weights)[0]][...] = np.nan
    sn.io.save_weights(broken / "model.safetensors", weights)
    check_error(capsys, ["evaluate", broken], "NaN")
