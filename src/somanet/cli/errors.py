"""The one kind of error the command reports: a mistake the user can fix, in one line."""


class CommandError(Exception):
    """A mistake the user can fix: printed as one line, exit status 2, no traceback."""


def one_line(error):
    """An exception's message on one line (some loaders explain themselves over several)."""
    text = str(error.args[0]) if len(getattr(error, "args", ())) == 1 else str(error)
    return " ".join(text.split())
