"""``somanet train --model gan|dcgan|rbm|dbn|cdbn|autoencoder|dae|vae|dsn|lamstar``, then
``sample`` and ``evaluate``, in-process on tiny runs (64 digits, one epoch)."""
import json

import numpy as np
import pytest

import somanet as sn
from somanet import cli
from somanet.cli import architectures

from .test_cli import check_error, run

TINY = ["--epochs", "1", "--limit", "64", "--verbose", "0", "--no-plot"]
EVALUATES = {"gan": "D(G(z))", "dcgan": "D(G(z))", "rbm": "reconstruction error",
             "dbn": "accuracy", "cdbn": "accuracy", "autoencoder": "binary cross-entropy",
             "dae": "binary cross-entropy", "vae": "ELBO", "dsn": "after each module",
             "lamstar": "accuracy"}


def test_every_architecture_is_a_model_choice(capsys):
    assert set(EVALUATES) == set(architectures.NAMES)
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0 and "lamstar" in out and "dcgan" in out
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "sample" in out


@pytest.mark.parametrize("model", sorted(EVALUATES))
def test_train_sample_evaluate(model, tmp_path, capsys):
    out = tmp_path / model
    status, text, err = run(capsys, "train", "--model", model, "--out", out, *TINY)
    assert status == 0, err
    assert text.startswith(f"somanet train: {model} (") and "(64 train / 64 test)" in text
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == model and config["options"] == architectures.get(model).options
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["train_samples"] == 64
    assert all(np.isfinite(values).all() for values in metrics["history"].values())
    assert (out / "model.safetensors").is_file()

    status, text, _ = run(capsys, "evaluate", out)
    assert status == 0 and text.startswith(f"{out}: {model} on mnist-small (test, 64 samples)")
    assert EVALUATES[model] in text

    grid = tmp_path / "grid.png"
    if model in architectures.GENERATIVE:
        status, text, _ = run(capsys, "sample", out, "--n", "6", "--out", grid, "--steps", "3")
        assert status == 0 and text.startswith(f"{grid}: 6 samples from the {model}")
        assert grid.stat().st_size > 200
        array = tmp_path / "samples.npy"
        assert run(capsys, "sample", out, "--n", "3", "--out", array, "--steps", "3")[0] == 0
        images = np.load(array)
        assert images.shape == (3, 28, 28) and 0 <= images.min() <= images.max() <= 1
    else:
        check_error(capsys, ["sample", out, "--out", grid], "does not generate images")
        assert not grid.exists()


def test_gan_samples_repeat_with_a_seed_and_differ_without(tmp_path, capsys):
    out = tmp_path / "vae"
    assert cli.main(["train", "--model", "vae", "--out", str(out), *TINY]) == 0
    paths = [tmp_path / name for name in ("a.npy", "b.npy", "c.npy")]
    for path, seed in zip(paths, ("1", "1", "2")):
        assert run(capsys, "sample", out, "--n", "4", "--out", path, "--seed", seed)[0] == 0
    first, again, other = (np.load(path) for path in paths)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_figures_are_written_into_the_run_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(architectures, "SAMPLE_STEPS", 5)  # the Gibbs samples' (1,000)
    out = tmp_path / "rbm"
    status, text, _ = run(capsys, "train", "--model", "rbm", "--out", out, *TINY[:-1])
    assert status == 0
    for name in ("filters.png", "reconstructions.png", "samples.png", "history.png"):
        assert (out / name).stat().st_size > 1000, name
        assert name in text
    out = tmp_path / "gan"
    assert run(capsys, "train", "--model", "gan", "--out", out, *TINY[:-1])[0] == 0
    assert (out / "samples.png").is_file() and (out / "samples" / "samples_epoch_001.png").is_file()


def test_a_judge_scores_the_gan_samples(tmp_path, capsys):
    gan, judge = tmp_path / "gan", tmp_path / "judge"
    assert cli.main(["train", "--model", "gan", "--out", str(gan), *TINY]) == 0
    assert cli.main(["train", "--out", str(judge), "--epochs", "1", "--limit", "256",
                     "--verbose", "0", "--no-plot"]) == 0
    status, text, _ = run(capsys, "evaluate", gan, "--judge", judge)
    assert status == 0 and "with confidence >= 0.9, covering" in text
    assert f"mlp of {judge} labels" in text
    check_error(capsys, ["evaluate", judge, "--judge", judge],
                "--judge scores a gan's or dcgan's samples")
    check_error(capsys, ["evaluate", gan, "--judge", gan], "the judge must be an image classifier")
    check_error(capsys, ["predict", gan, tmp_path / "x.npy"], "predict and export take classifiers")


def _weights(path):
    return sn.io.read_weights(path / "model.safetensors")


def _same_weights(first, second):
    first, second = _weights(first), _weights(second)
    assert sorted(first) == sorted(second)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_resume_continues_a_run_bit_for_bit(tmp_path, capsys):
    whole, part = tmp_path / "whole", tmp_path / "part"
    options = ["--model", "rbm", "--limit", "64", "--verbose", "0", "--no-plot"]
    assert cli.main(["train", "--out", str(whole), "--epochs", "2", *options]) == 0
    assert cli.main(["train", "--out", str(part), "--epochs", "1", *options]) == 0
    status, _, _ = run(capsys, "train", "--resume", "--out", part, "--epochs", "2",
                       "--verbose", "0", "--no-plot")
    assert status == 0
    _same_weights(whole, part)
    assert json.loads((part / "config.json").read_text())["epochs"] == 2
    history = json.loads((part / "metrics.json").read_text())["history"]
    assert history == json.loads((whole / "metrics.json").read_text())["history"]


def test_resume_a_run_trained_in_stages(tmp_path, capsys):
    # A DBN killed during fine-tuning: its pre-trained layers come back from their
    # checkpoints, the fine-tuning starts again, and the weights end as an unbroken run's.
    whole = tmp_path / "whole"
    assert cli.main(["train", "--model", "dbn", "--out", str(whole), *TINY]) == 0
    status, text, _ = run(capsys, "train", "--resume", "--out", whole, "--verbose", "0")
    assert status == 0 and "nothing to do" in text
    check_error(capsys, ["train", "--resume", "--out", whole, "--epochs", "2"],
                "--epochs 1 for each of its stages")
    killed = tmp_path / "killed"
    assert cli.main(["train", "--model", "dbn", "--out", str(killed), *TINY]) == 0
    for name in ("model.safetensors", "metrics.json"):
        (killed / name).unlink()
    finetune = killed / "checkpoint" / "finetune"
    for item in finetune.iterdir():
        item.unlink()
    finetune.rmdir()
    status, _, err = run(capsys, "train", "--resume", "--out", killed, "--verbose", "0",
                         "--no-plot")
    assert status == 0, err
    _same_weights(whole, killed)


def test_user_errors_are_one_line(tmp_path, capsys):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n" + "\n".join(f"{i},{i % 2}" for i in range(20)) + "\n")
    check_error(capsys, ["train", "--model", "gan", "--dataset", f"csv:{csv}", "--target", "b",
                         "--out", tmp_path / "csv", *TINY], "--model gan takes images")
    assert not (tmp_path / "csv").exists()
    check_error(capsys, ["train", "--model", "lamstar", "--optimizer", "sgd",
                         "--out", tmp_path / "l"], "--model lamstar learns without an optimizer")
    check_error(capsys, ["train", "--model", "vae", "--jit", "--out", tmp_path / "v"],
                "--jit compiles the steps of mlp, lenet and lstm")
    check_error(capsys, ["train", "--model", "gann", "--out", tmp_path / "g"],
                "unknown model 'gann'; the known models are char-lstm, lenet, lstm, mlp, gan, dcgan")
    check_error(capsys, ["sample", tmp_path / "none", "--out", tmp_path / "g.png"],
                "does not exist")
    check_error(capsys, ["sample", tmp_path, "--n", "0", "--out", tmp_path / "g.png"],
                "--n must be at least 1, got 0")
    check_error(capsys, ["sample", tmp_path, "--out", tmp_path / "g.jpg"],
                "write a .png grid or a .npy array")
