"""The people picker's typeahead: a search at each keystroke, over an agency's people.

    .venv/bin/python -m benchmarks.people_search [--people 1000,4000] [--repeat 50]

Teams sends an `application/search` invoke as a raiser types the other professional's name, and
the bot answers from its directory snapshot (`DirectoryStore.search`: the agency's people who
may be named, then those matching every word typed). For each size of directory (its people
spread over four agencies), on the embedded store, the median time and event loop CPU of each
keystroke's search as "amara okafor" is typed, against the baseline of the same run: the first
search after the directory changed, which reads it whole and builds the new snapshot's indexes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.directory_options import bounded, directory_parser
from bootstrap.build import open_storage
from storage.directory_store import DirectoryStore
from storage.settings import StorageSettings

AGENCIES = ("redbridge-asc", "nelft", "met-police", "redbridge-housing")
FIRST = ("Amara", "Noah", "Bola", "Chen", "Dana", "Eve", "Femi", "Gita", "Hugo", "Ines", "Jo")
LAST = ("Okafor", "Smith", "Patel", "Jones", "Brown", "Ali", "Khan", "Evans", "Osei", "Taylor")
TYPED = "amara okafor"
RAISER = "raiser"


def records(count: int) -> list[dict[str, Any]]:
    pick = random.Random(7)  # the same directory every run
    people: list[dict[str, Any]] = [{"id": RAISER, "name": "Rae Iser", "agency": AGENCIES[0]}]
    for n in range(count):
        first, last = pick.choice(FIRST), pick.choice(LAST)
        people.append(
            {
                "id": f"p{n:05d}",
                "name": f"{first} {last}",
                "agency": AGENCIES[n % len(AGENCIES)],
                "job_title": pick.choice(("Social Worker", "Community Nurse", "Housing Officer")),
                "email": f"{first}.{last}.{n}@example.org".lower(),
            }
        )
    return people


def keystrokes(typed: str) -> list[str]:
    """What the box holds after each key: "a", "am", ..., "amara okafor" (not the lone space)."""
    return [typed[: n + 1] for n in range(len(typed)) if not typed[: n + 1].endswith(" ")]


async def timed_search(directory: DirectoryStore, query: str) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.thread_time()
    found = await directory.search(
        query, board_id="redbridge", agency_id=AGENCIES[1], raiser_id=RAISER
    )
    return time.perf_counter() - wall, time.thread_time() - cpu, len(found)


async def measure(people: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage = await open_storage(StorageSettings(None, Path(tmp) / "data"))
        try:
            directory = storage.directory
            await directory.import_records(records(people))
            first: list[tuple[float, float]] = []
            keys: list[tuple[float, float]] = []
            answers: list[int] = []
            for _ in range(repeat):
                directory.invalidate()  # as after a change: the next search reads it whole
                wall, cpu, _n = await timed_search(directory, "")
                first.append((wall, cpu))
                for query in keystrokes(TYPED):
                    wall, cpu, answered = await timed_search(directory, query)
                    keys.append((wall, cpu))
                    answers.append(answered)
        finally:
            await storage.close()
    key_wall = statistics.median(w for w, _ in keys)
    key_cpu = statistics.median(c for _, c in keys)
    first_wall = statistics.median(w for w, _ in first)
    print(
        f"{people:>6} people: a keystroke's search {key_wall * 1000:6.3f} ms "
        f"(loop CPU {key_cpu * 1000:6.3f}, answers of {min(answers)} to {max(answers)}); "
        f"the first after a change {first_wall * 1000:7.2f} ms: "
        f"a keystroke is {key_wall / first_wall:.4f} of it"
    )


async def main(args: argparse.Namespace) -> None:
    print(f'the embedded store, "{TYPED}" typed into the picker:')
    for people in args.people:
        await measure(people, args.repeat)


if __name__ == "__main__":
    options = directory_parser(__doc__, repeat=50)
    asyncio.run(main(bounded(options.parse_args(), most_repeat=500)))
