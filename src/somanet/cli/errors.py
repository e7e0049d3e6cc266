"""The one kind of error the command reports: a mistake the user can fix, in one line.

Under MPI every rank runs the command: a mistake is found alike on every rank (each reads
the same command line and files) and reported once, by rank 0; what rank 0 alone does
(the run folder) goes through ``on_main``, which hands its error to every rank.
"""
from .. import distributed


class CommandError(Exception):
    """A mistake the user can fix: printed as one line, exit status 2, no traceback."""


def on_main(action, elsewhere=None):
    """Run ``action()`` on rank 0 only and return its result (``elsewhere`` on the other
    ranks). A ``CommandError`` it raises is raised on every rank, so that the whole job
    stops with that error and status 2 (rather than the other ranks waiting for rank 0,
    then failing with a message about it). Without MPI: ``action()``."""
    if distributed.world_size() == 1:
        return action()
    result, error = elsewhere, None
    if distributed.is_main():
        try:
            result = action()
        except CommandError as raised:
            error = str(raised)
    error = distributed.broadcast_object(error)
    if error is not None:
        raise CommandError(error)
    return result


def one_line(error):
    """An exception's message on one line (some loaders explain themselves over several)."""
    text = str(error.args[0]) if len(getattr(error, "args", ())) == 1 else str(error)
    return " ".join(text.split())
