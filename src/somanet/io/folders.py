"""Folders that training writes into: checked before any work starts, and locked while a
run writes them.

    >>> import os, tempfile
    >>> folder = check_writable(os.path.join(tempfile.mkdtemp(), "run", "checkpoint"))
    >>> os.path.isdir(folder)
    True
    >>> with lock_folder(folder):
    ...     pass  # only one process at a time gets here for this folder
"""
import os
import tempfile

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; folders are not locked there
    fcntl = None


class FolderLockedError(OSError):
    """Another process holds the lock of a folder (``lock_folder``)."""


class FolderLock:
    """An exclusive lock on a folder, held until ``release()`` (or the end of a ``with``
    block, or of the process)."""

    def __init__(self, folder, descriptor):
        self.folder = folder
        self._descriptor = descriptor

    @property
    def held(self):
        return self._descriptor is not None

    def release(self):
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the descriptor drops the lock
            self._descriptor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()

    def __repr__(self):
        return f"FolderLock({self.folder!r}, {'held' if self.held else 'released'})"


def lock_folder(folder, who="somanet", hint="wait for it to finish, or choose another folder"):
    """Take an exclusive lock on the existing ``folder``, without waiting.

    The lock is the operating system's (``flock`` on the folder itself: no lock file is
    left behind, and a killed process's lock goes with it). On a file system without
    locks, and on Windows, the folder is not locked.

    Returns:
        A ``FolderLock``; ``release()`` it (or use ``with``) when done.

    Raises:
        FolderLockedError: another process holds the lock, naming the folder.
    """
    folder = os.fspath(folder)
    if fcntl is None:
        return FolderLock(folder, None)
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise FolderLockedError(f"{who}: {folder!r} is in use by another process (it holds "
                                f"the folder's lock); {hint}") from None
    except OSError:  # a file system without locks: go on unlocked
        os.close(descriptor)
        return FolderLock(folder, None)
    return FolderLock(folder, descriptor)


def check_writable(folder, who="fit", what="files", hint="choose a folder you can write to"):
    """Create ``folder`` (and its parents) if needed and make sure files can be written
    there, so a bad folder fails in a second, not after the first epoch.

    Args:
        folder: the folder (a str or os.PathLike).
        who: names the caller in the message (``"fit"``, ``"somanet train"``).
        what: what will be written there, for the message (``"checkpoints"``).
        hint: what the user can do, appended to the message.

    Returns:
        The folder as a str.

    Raises:
        OSError (of the kind the file system raised, e.g. ``PermissionError``): naming
        the folder and the reason (the file system's words also in its ``reason``
        attribute, e.g. "Permission denied"); the folders this call created are removed
        again.
    """
    folder = os.fspath(folder)
    created, parent = [], os.path.abspath(folder)
    while not os.path.exists(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    try:
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise NotADirectoryError(20, "it is a file, not a folder")
        os.makedirs(folder, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".somanet-write-test-")
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        remove_empty_folders(created)
        reason = error.strerror or str(error)
        raised = type(error)(f"{who}: cannot write {what} to {folder!r} ({reason}); {hint}")
        raised.reason = reason
        raise raised from None
    return folder


def remove_empty_folders(folders):
    """Remove each of ``folders`` (deepest first) while it is empty; stop at the first that
    is not (or cannot be removed)."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            return
