"""``somanet train --model char-lstm`` and ``somanet generate``: a character language model
from the shell; every user error is one line and exit status 2."""
import json

import pytest

from somanet import cli

from .test_cli import check_error, run

TINY = ["--epochs", "1", "--limit", "4", "--verbose", "0", "--no-plot"]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "sonnet.txt"
    verse = ("Shall I compare thee to a summer's day?\n"
             "Thou art more lovely and more temperate.\n")
    path.write_text(verse * 30)  # 2,460 characters: enough to hold out windows of 100
    return path


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, text_file):
    out = tmp_path_factory.mktemp("runs") / "sonnet"
    assert cli.main(["train", "--dataset", f"text:{text_file}", "--out", str(out),
                     *TINY]) == 0
    return out


def test_train_on_a_text_file_picks_the_char_lstm(text_run):
    config = json.loads((text_run / "config.json").read_text())
    assert config["model"] == "char-lstm"
    assert config["preprocessing"]["kind"] == "text"
    chars = config["preprocessing"]["vocabulary"]
    assert chars == "".join(sorted(set(chars))) and "\n" in chars and len(chars) == 24
    assert config["num_classes"] == len(chars) == len(config["class_names"])
    metrics = json.loads((text_run / "metrics.json").read_text())
    assert 0 < metrics["test_bits_per_character"] < 8 and metrics["train_samples"] == 4


def test_char_lstm_defaults_to_the_bundled_text(tmp_path, capsys):
    status, out, err = run(capsys, "train", "--model", "char-lstm", "--out", tmp_path / "r",
                           *TINY)
    assert status == 0, err
    assert "char-lstm" in out and "on shakespeare" in out and "bits per character" in out
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["dataset"] == "shakespeare" and config["num_classes"] == 73


def test_generate_writes_reproducible_text(text_run, capsys):
    argv = ["generate", text_run, "--prime", "Shall I", "--length", "40",
            "--temperature", "0.8", "--seed", "3"]
    status, out, err = run(capsys, *argv)
    assert status == 0, err
    text = out[:-1]  # print's newline
    assert text.startswith("Shall I") and len(text) == 47
    assert run(capsys, *argv)[1] == out
    status, greedy, _ = run(capsys, "generate", text_run, "--prime", "S", "--length", "10",
                            "--temperature", "0", "--top-k", "3")
    assert status == 0 and len(greedy) == 12


def test_evaluate_a_text_run(text_run, capsys):
    status, out, err = run(capsys, "evaluate", text_run)
    assert status == 0, err
    assert "bits per character on the held-out text" in out


def test_text_errors(text_run, text_file, tmp_path, capsys):
    check_error(capsys, ["generate", text_run, "--prime", "Zebra"],
                "--prime holds 'Z', 'b', not among the 24 characters")
    check_error(capsys, ["generate", text_run, "--prime", ""], "--prime is empty")
    check_error(capsys, ["generate", text_run, "--length", "-1"], "--length must be at least 0")
    check_error(capsys, ["generate", text_run, "--temperature", "-1"], "--temperature")
    check_error(capsys, ["generate", text_run, "--top-k", "0"], "--top-k must be at least 1")
    check_error(capsys, ["generate", tmp_path / "none"], "does not exist")
    check_error(capsys, ["predict", text_run, text_file], "somanet generate")
    check_error(capsys, ["train", "--dataset", "text:" + str(tmp_path / "missing.txt"),
                         "--out", tmp_path / "a", *TINY], "missing")
    check_error(capsys, ["train", "--dataset", "text", "--out", tmp_path / "b", *TINY],
                "needs a path: text:FILE")
    check_error(capsys, ["train", "--dataset", "shakespeare:x", "--out", tmp_path / "c",
                         *TINY], "takes no path")
    short = tmp_path / "short.txt"
    short.write_text("too short")
    check_error(capsys, ["train", "--dataset", f"text:{short}", "--out", tmp_path / "d", *TINY],
                "holds 9 characters; a text to train on needs at least 1,011")
    check_error(capsys, ["train", "--model", "lenet", "--dataset", "shakespeare", "--out",
                         tmp_path / "e", *TINY], "text datasets train --model char-lstm")
    check_error(capsys, ["train", "--model", "char-lstm", "--dataset", "mnist-small", "--out",
                         tmp_path / "f", *TINY], "--model char-lstm learns from text")
    assert not (tmp_path / "d").exists() and not (tmp_path / "e").exists()


def test_generate_needs_a_text_run(tmp_path, capsys):
    out = tmp_path / "mlp"
    assert cli.main(["train", "--out", str(out), "--epochs", "1", "--limit", "64",
                     "--verbose", "0", "--no-plot"]) == 0
    capsys.readouterr()
    check_error(capsys, ["generate", out, "--prime", "a"],
                "generate needs a run of somanet train --model char-lstm")


def test_resume_a_text_run_and_refuse_a_changed_text(tmp_path, text_file, capsys):
    path = tmp_path / "verse.txt"
    path.write_text(text_file.read_text())
    out = tmp_path / "run"
    argv = ["train", "--dataset", f"text:{path}", "--out", out, "--limit", "4", "--verbose",
            "0", "--no-plot"]
    assert run(capsys, *argv, "--epochs", "1")[0] == 0
    status, _, err = run(capsys, "train", "--resume", "--out", out, "--epochs", "2",
                         "--verbose", "0", "--no-plot")
    assert status == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]["loss"]) == 2
    path.write_text(text_file.read_text() + "Zounds!\n")
    check_error(capsys, ["train", "--resume", "--out", out, "--epochs", "3", "--verbose", "0",
                         "--no-plot"], "changed since the run started")
