"""Folders that training writes into: checked before any work starts.

    >>> import os, tempfile
    >>> folder = check_writable(os.path.join(tempfile.mkdtemp(), "run", "checkpoint"))
    >>> os.path.isdir(folder)
    True
"""
import os
import tempfile


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
