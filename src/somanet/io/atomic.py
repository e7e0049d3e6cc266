"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The bytes go to a temporary file in the destination's folder (same file
system, so the rename is atomic), are flushed to disk, and the temporary file is
renamed over the destination with ``os.replace``. A crash or an exception at
any point leaves the destination as it was. A process killed mid-write (SIGKILL, a
power cut) can leave its temporary file behind: ``remove_orphans`` clears those.
"""
import os
import re
import tempfile

# The temporary files atomic_write_bytes makes: ".<destination's name>.<random>.tmp".
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.[A-Za-z0-9_]{6,}\.tmp$")


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes) to ``path`` atomically.

    Raises:
        FileNotFoundError: the destination's folder does not exist.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                                         suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _sync_folder(folder)


def remove_orphans(folder, targets=None):
    """Remove the temporary files that interrupted atomic writes left in ``folder``.

    Call it where no other write to the folder is in progress (one run per folder).

    Args:
        folder: the folder.
        targets: a function of the destination's file name saying whether its
            temporary files are ours to remove (default: all of them).

    Returns:
        The names removed.
    """
    removed = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name)
        if match is None or (targets is not None and not targets(match.group("target"))):
            continue
        try:
            os.remove(os.path.join(folder, name))
            removed.append(name)
        except OSError:
            pass
    return removed


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _sync_folder(folder):
    """Flush the folder entry, so the rename itself survives a power cut (POSIX only)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
