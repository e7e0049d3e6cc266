"""examples/image_filter.py: seed 002's Synaptic-style image filter (sepia), learnt pixel by
pixel and applied to an unseen image."""
import image_filter


def test_learns_sepia_and_applies_it_to_an_unseen_image(tmp_path, check_png):
    result = image_filter.main(out=str(tmp_path), train_size=32, test_size=48)
    # The general stopping rule fired: error < 0.005 before the 200-iteration cap.
    assert result["stopped_early"] is True
    assert result["iterations_run"] < 200
    assert result["final_error"] < 0.005
    # The raw cross-entropy could never have reached 0.005: its floor is H(t) ~ 0.5.
    assert result["cross_entropy_floor"] > 0.3
    # The unseen image comes out close to its true sepia version (0-255 units).
    assert result["test_error_255"] < 12
    assert result["train_error_255"] < 12
    for name in ("input", "target", "learned"):  # the unseen image, each pixel drawn 4 x 4
        assert check_png(result["images"][name], min_kb=1, min_side=128) == (48 * 4, 48 * 4)
    for name in ("train_input", "train_target"):
        assert check_png(result["images"][name], min_kb=1, min_side=128) == (32 * 4, 32 * 4)
    check_png(result["figure"], min_kb=30, min_side=500)


def test_cap_on_iterations_when_the_target_is_not_reached(tmp_path):
    result = image_filter.main(out=str(tmp_path), iterations=3, error=0.0, train_size=16,
                               test_size=16)
    assert result["iterations_run"] == 3 and result["stopped_early"] is False
