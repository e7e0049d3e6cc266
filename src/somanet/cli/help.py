"""How the subcommands' ``--help`` shows defaults: each one once."""
import argparse


class DefaultsOnceFormatter(argparse.HelpFormatter):
    """``argparse``'s help, with ``(default: X)`` added to an option whose help does not
    already say its default and whose default means something (not ``None``, ``False``
    or suppressed): an option resolved later (``--epochs``, default ``None`` until the
    run's configuration fills it) words its default in its own help instead.

    ``ArgumentDefaultsHelpFormatter`` appends ``(default: ...)`` to every option, so a
    help text that names the default showed it twice, or as ``None``."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "default" in text.lower() or default is None or default is False \
                or default is argparse.SUPPRESS or action.option_strings == [] \
                or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"
