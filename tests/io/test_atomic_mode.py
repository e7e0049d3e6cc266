import os
import stat

from somanet.io import atomic_write_text


def test_atomic_files_get_the_mode_of_a_plain_open(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "x")
    with open(tmp_path / "b.txt", "w") as handle:
        handle.write("x")
    mode = lambda name: stat.S_IMODE(os.stat(tmp_path / name).st_mode)  # noqa: E731
    assert mode("a.txt") == mode("b.txt")
