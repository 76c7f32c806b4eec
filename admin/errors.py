"""How a command ends: its exit status, and the one line that says why it could not run.

Exit status: 0 done; 1 the command ran and found a problem (`policy check` on a broken pack,
`audit verify` on a broken chain); 2 the command could not do what was asked (a bad argument,
a file or folder that cannot be read or written, an unknown board or case, storage that cannot
be reached). Every error is one message on stderr, never a traceback.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from escalation.moments import MomentError, parse_moment

EXIT_OK = 0
EXIT_PROBLEM = 1  # the command ran and found a problem in what it checked
EXIT_ERROR = 2  # the command could not do what was asked
EXIT_USAGE = EXIT_ERROR  # argparse's own code for a usage error
EXIT_INTERRUPTED = 130  # the shell's code for Ctrl-C


class CliError(Exception):
    """A command that cannot do what was asked; the message says why, in a line."""


def given_moment(text: str, option: str, *, local: tzinfo | None = None) -> datetime:
    """The date-time given as `option` (escalation.moments), or a CliError naming it."""
    try:
        return parse_moment(text, local=local)
    except MomentError as exc:
        raise CliError(f"{option} {text!r} {exc}") from None


def os_problem(exc: OSError) -> str:
    """An OSError as "path: reason" (its own text repeats the errno)."""
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)
