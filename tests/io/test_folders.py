"""Folders training writes into (somanet.io.check_writable, is_checkpoint)."""
import os

import pytest

from somanet import io, nn


def test_check_writable_creates_the_folder(tmp_path):
    folder = tmp_path / "run" / "checkpoint"
    assert io.check_writable(folder) == str(folder)
    assert folder.is_dir() and os.listdir(folder) == []  # the probe file is gone


def test_check_writable_names_the_folder_and_leaves_nothing_behind(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match=r"^fit: cannot write checkpoints to '.*a_file/run/deep' "
                                      r"\(.*\); choose another$"):
        io.check_writable(blocker / "run" / "deep", who="fit", what="checkpoints",
                          hint="choose another")
    with pytest.raises(NotADirectoryError, match="it is a file, not a folder") as raised:
        io.check_writable(blocker)
    assert raised.value.reason == "it is a file, not a folder"
    assert sorted(os.listdir(tmp_path)) == ["a_file"]


def test_check_writable_removes_only_the_folders_it_created(tmp_path):
    os.chmod(tmp_path, 0o500)
    try:
        if os.access(tmp_path, os.W_OK):  # root ignores permissions
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(PermissionError, match="cannot write files to"):
            io.check_writable(tmp_path / "new")
    finally:
        os.chmod(tmp_path, 0o700)
    assert os.listdir(tmp_path) == []


def test_is_checkpoint(tmp_path):
    assert not io.is_checkpoint(tmp_path / "missing")
    assert not io.is_checkpoint(tmp_path)
    io.save_checkpoint(tmp_path / "ckpt", nn.Linear(2, 1), epoch=1)
    assert io.is_checkpoint(tmp_path / "ckpt")


def test_lock_folder_is_exclusive_and_leaves_nothing_behind(tmp_path):
    lock = io.lock_folder(tmp_path, who="somanet train")
    assert lock.held
    with pytest.raises(io.FolderLockedError, match=r"^somanet train: '.*' is in use by another "
                                                   r"process"):
        io.lock_folder(tmp_path, who="somanet train")
    lock.release()
    with io.lock_folder(tmp_path) as again:
        assert again.held
    assert not again.held and os.listdir(tmp_path) == []
