"""The command line as a test runs it: in a thread, as from a shell (a command that reads
storage starts its own event loop, which must not be the test's), its output captured."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

from admin.cli import main
from storage.settings import StorageSettings


def run_cli(*argv: str, settings: StorageSettings | None = None) -> tuple[int, str, str]:
    """`escalation ARGV…`: the exit code, the standard output and the standard error."""
    out, err = io.StringIO(), io.StringIO()
    with ThreadPoolExecutor(max_workers=1) as pool:
        code = pool.submit(lambda: main(list(argv), out=out, err=err, settings=settings)).result()
    return code, out.getvalue(), err.getvalue()
