"""examples/gan_digits.py: a DCGAN on mnist_small, judged by a LeNet."""
import gan_digits


def test_gan_digits_fast(tmp_path, check_png):
    # A small subset and one epoch: the pipeline end to end (training, the per-epoch grid,
    # LeNet's judgement, the figures), not the digits' quality; the figure of merit needs
    # the full run (minutes: measured in the example's docstring, not in CI).
    # Grids of 9 digits (two rows): plot_image_grid draws one Axes per image, ~0.1 s each.
    result = gan_digits.main(out=str(tmp_path), model="gan", epochs=1, train_size=512,
                             samples=200, classifier_epochs=1, grid=9, verbose=0)
    assert set(result["history"]) == {"d_loss", "g_loss", "d_real", "d_fake", "d_accuracy"}
    assert all(len(values) == 1 for values in result["history"].values())
    assert result["classifier_accuracy"] > 0.8
    assert 0 <= result["confident"] <= 1 and sum(result["counts"]) <= 200
    assert len(result["counts"]) == 10 and result["classes"] == sum(
        count > 0 for count in result["counts"])
    assert len(result["sample_grids"]) == 1
    samples, losses = result["figures"]
    check_png(samples, min_kb=5, min_side=200)
    check_png(losses, min_kb=10, min_side=300)
    check_png(result["sample_grids"][-1], min_kb=5, min_side=200)
