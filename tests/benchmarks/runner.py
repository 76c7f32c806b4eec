"""Running a benchmark as anyone would: `python -m benchmarks.NAME ...` from the checkout."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.harness import REPO


def run_benchmark(
    module: str, *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """`python -m module args` from the checkout, its output captured as text, its exit status
    left to the test."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
