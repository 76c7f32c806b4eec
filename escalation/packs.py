"""Loading policy packs from YAML, with errors that name the file, the field and the problem."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import ValidationError

from escalation.policy import PROBLEM_SEPARATOR, PolicyPack
from escalation.strict_yaml import YamlError, load_strict

POLICY_DIR_ENV = "ESCALATION_POLICY_DIR"


class PackError(Exception):
    """A policy pack that cannot be used. `problems` are (field path, message) pairs."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = [
            f"{self.path}: {field}: {message}" if field else f"{self.path}: {message}"
            for field, message in problems
        ]
        super().__init__("\n".join(lines))


def load_pack(path: Path | str) -> PolicyPack:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackError(path, [("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(path, [("", f"cannot be read: {exc}")]) from None
    return parse_pack(text, source=path)


def parse_pack(text: str, *, source: Path | str = "<pack>") -> PolicyPack:
    try:
        data = load_strict(text)
    except YamlError as exc:
        raise PackError(source, [(exc.where, exc.problem)]) from None
    if not isinstance(data, dict):
        raise PackError(source, [("", "a pack must be a YAML mapping at the top level")])
    try:
        return PolicyPack.model_validate(data)
    except ValidationError as exc:
        raise PackError(source, _problems(exc)) from None


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if not field:
            # A whole-pack check: each line already names its field.
            for line in message.split(PROBLEM_SEPARATOR):
                where, _, what = line.partition(": ")
                problems.append((where, what) if what else ("(pack)", line))
            continue
        if error["type"] == "missing":
            message = "is required but missing"
        elif error["type"] == "extra_forbidden":
            message = "is not a field here (misspelt?)"
        problems.append((field, message))
    return problems


def default_policy_dir() -> Path:
    """Where packs live: $ESCALATION_POLICY_DIR, else the repository's `policies/` folder."""
    configured = os.environ.get(POLICY_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "policies"


class PackRegistry:
    """The packs a deployment runs, by board id."""

    def __init__(self, packs: Iterable[PolicyPack]) -> None:
        self._packs: dict[str, PolicyPack] = {}
        for pack in packs:
            if pack.board.id in self._packs:
                raise ValueError(f"two packs claim board {pack.board.id!r}")
            self._packs[pack.board.id] = pack

    @classmethod
    def from_paths(cls, paths: Iterable[Path | str]) -> PackRegistry:
        return cls(load_pack(p) for p in paths)

    @classmethod
    def from_directory(cls, directory: Path | str) -> PackRegistry:
        return cls.from_paths(sorted(Path(directory).glob("*.yaml")))

    def get(self, board_id: str) -> PolicyPack:
        try:
            return self._packs[board_id]
        except KeyError:
            known = ", ".join(sorted(self._packs)) or "none"
            raise KeyError(f"no policy pack for board {board_id!r} (loaded: {known})") from None

    def __iter__(self) -> Iterator[PolicyPack]:
        return iter(self._packs.values())

    def __len__(self) -> int:
        return len(self._packs)

    def board_ids(self) -> list[str]:
        return sorted(self._packs)


def resolve_pack(name_or_path: str, policy_dir: Path | None = None) -> PolicyPack:
    """A pack by board id (looked up in the policy folder) or by file path."""
    candidate = Path(name_or_path)
    # A board id is a bare name; anything that looks like a file path is read as one.
    if candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1:
        return load_pack(candidate)
    directory = policy_dir or default_policy_dir()
    path = directory / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in directory.glob("*.yaml"))
        raise PackError(path, [("", f"no pack named {name_or_path!r}; known: {known}")])
    return load_pack(path)
