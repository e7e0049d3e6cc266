"""The data files shipped inside the package, read and checked against their SHA-256."""
import hashlib
from importlib import resources


def bundled_bytes(name, sha256):
    """The bytes of ``data/<name>`` (beside this module), checked against ``sha256``.

    Raises:
        ValueError: the file's digest differs (a damaged install), naming both digests.
    """
    raw = (resources.files(__package__) / "data" / name).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise ValueError(f"the bundled {name} is damaged: its SHA-256 is {digest}, expected "
                         f"{sha256}; reinstall somanet")
    return raw
