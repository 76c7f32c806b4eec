"""The zip App Service is given for `az webapp deploy`: the project root less what .webappignore
leaves out, exactly as the Agents Toolkit's zip deploy makes it (deployment/m365agents.yml).

    .venv/bin/python deployment/make_zip.py [--out /tmp/sab-escalation.zip] [--list]

The toolkit walks the folder and leaves out every file or folder the ignore file matches, testing
a folder by its bare name; so does this. It reads the working tree, not git: a file that is not
committed is uploaded too unless .webappignore leaves it out. Needs pathspec (dev extra).
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from pathspec import GitIgnoreSpec

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ".webappignore"
DEFAULT_OUT = Path("/tmp/sab-escalation.zip")


def ignore_spec(root: Path = ROOT) -> GitIgnoreSpec:
    lines = (root / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
    return GitIgnoreSpec.from_lines(line.strip() for line in lines)


def deployed_files(root: Path = ROOT) -> list[str]:
    """Every file zip deploy uploads, relative to `root`, with forward slashes."""
    spec = ignore_spec(root)
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder).relative_to(root)
        dirs[:] = sorted(d for d in dirs if not spec.match_file((here / d).as_posix()))
        for name in sorted(files):
            relative = (here / name).as_posix()
            if not spec.match_file(relative):
                found.append(relative)
    return found


def build(out: Path, root: Path = ROOT) -> list[str]:
    files = deployed_files(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            archive.write(root / relative, relative)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the zip to write")
    parser.add_argument("--list", action="store_true", help="print the files, write no zip")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(deployed_files()))
        return 0
    files = build(args.out)
    print(f"{args.out}: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
