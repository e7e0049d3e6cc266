"""Shared by the example tests: ``examples/`` on ``sys.path`` (so a test does
``import perceptron_travel``) and a check that a saved figure is a real PNG."""
import os
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples")
sys.path.insert(0, os.path.abspath(EXAMPLES))


@pytest.fixture
def check_png():
    """``check_png(path, min_kb=5, min_side=200)``: the PNG exists, is at least ``min_kb``
    kilobytes, opens with matplotlib, is at least ``min_side`` pixels each way and not blank;
    returns its ``(height, width)``."""

    def check(path, min_kb=5, min_side=200):
        assert os.path.isfile(path), f"no figure at {path}"
        size = os.path.getsize(path)
        assert size > min_kb * 1024, f"{path} is only {size} bytes"
        from matplotlib import image
        pixels = image.imread(path)
        assert pixels.ndim == 3 and min(pixels.shape[:2]) >= min_side, \
            f"{path} has shape {pixels.shape}"
        assert pixels.std() > 0.01, f"{path} is blank"
        return pixels.shape[:2]

    return check
