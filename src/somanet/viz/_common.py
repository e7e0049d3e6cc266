"""What every plot shares: importing matplotlib lazily, a new figure, saving a PNG.

matplotlib is imported inside the functions (``import somanet`` works without it), and
on a machine without a display the Agg backend is chosen so plotting never needs a
window. Figures come from ``matplotlib.pyplot`` so ``plt.show()`` and notebooks show
them; close them with ``plt.close(fig)`` when making many.
"""
import io
import os
import sys

import numpy

from ..backend import device_of, to_numpy
from ..io import atomic_write_bytes
from ..tensor import Tensor

DPI = 100  # pixels per inch of saved figures: a (6, 4) inch figure is a 600 x 400 PNG


def pyplot():
    """``matplotlib.pyplot``, with the Agg backend when there is no display."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("somanet.viz needs matplotlib: pip install 'somanet[viz]' (or pip "
                          "install matplotlib)") from None
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    return plt


def new_figure(width, height, rows=None, columns=None, **options):
    """A pyplot figure of ``width`` x ``height`` inches and its axes: one, or a 2-D array of
    ``rows`` x ``columns`` of them when those are given."""
    plt = pyplot()
    if rows is None and columns is None:
        figure = plt.figure(figsize=(width, height), dpi=DPI)
        return figure, figure.add_subplot(1, 1, 1)
    figure, axes = plt.subplots(rows, columns, figsize=(width, height), dpi=DPI,
                                squeeze=False, **options)
    return figure, axes


def finish(figure, path, who):
    """Save ``figure`` to ``path`` (PNG unless the extension names another format that
    matplotlib writes) atomically, creating its folder; return the figure."""
    if path is None:
        return figure
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{who}: path must be a file path (str or os.PathLike), got "
                        f"{type(path).__name__}") from None
    extension = os.path.splitext(path)[1].lower().lstrip(".") or "png"
    supported = figure.canvas.get_supported_filetypes()
    if extension not in supported:
        raise ValueError(f"{who}: cannot write a .{extension} file; use .png (or one of "
                         f"{', '.join(sorted(supported))})")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=extension, dpi=DPI)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return figure


def host(values, who, what):
    """``values`` (a Tensor, a NumPy / CuPy array or a list) as a host NumPy array."""
    if isinstance(values, Tensor):
        return to_numpy(values.data)
    if device_of(values) is not None:
        return to_numpy(values)
    try:
        return numpy.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{who}: {what} must be an array, a Tensor or a list of numbers, got "
                        f"{type(values).__name__} ({error})") from None
