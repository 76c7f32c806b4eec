"""The command-line options of the benchmarks that time a directory of people at several sizes
(benchmarks.directory_refresh, benchmarks.people_search), and the bounds every load keeps."""

from __future__ import annotations

import argparse

DEFAULT_SIZES = [1_000, 4_000]
MOST_PEOPLE = 20_000


def _sizes(text: str) -> list[int]:
    return [int(n) for n in text.split(",")]


def directory_parser(description: str | None, *, repeat: int) -> argparse.ArgumentParser:
    """`--people` (sizes, comma-separated) and `--repeat`; add the benchmark's own to it."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=_sizes, default=DEFAULT_SIZES)
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser


def bounded(parsed: argparse.Namespace, *, most_repeat: int) -> argparse.Namespace:
    """The options as given, each size and the repeat count kept within bounds."""
    parsed.repeat = max(1, min(parsed.repeat, most_repeat))
    parsed.people = [max(1, min(n, MOST_PEOPLE)) for n in parsed.people]
    return parsed
