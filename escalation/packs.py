"""Loading policy packs from YAML, with errors that name the file, the field and the problem."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from escalation.policy import PROBLEM_SEPARATOR, PolicyPack
from escalation.strict_yaml import YamlError, load_strict

POLICY_DIR_ENV = "ESCALATION_POLICY_DIR"
# The packs that ship with the app (the repository's policies/ folder, by pyproject.toml).
SHIPPED_PACKAGE = "escalation_policies"


class PackError(Exception):
    """A policy pack that cannot be used. `problems` are (field path, message) pairs."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]) -> None:
        self.path = str(path)
        self.problems = problems
        prefix = f"{self.path}: " if self.path else ""
        lines = [
            f"{prefix}{field}: {message}" if field else f"{prefix}{message}"
            for field, message in problems
        ]
        super().__init__("\n".join(lines))


class PackNotFound(PackError):
    """No pack could be read at all (no such file, folder or board): the request was wrong,
    rather than a pack."""


class PackConflict(PackError, ValueError):
    """Packs that are each valid but cannot run together (one board, or one case prefix, twice)."""


def load_pack(path: Path | str) -> PolicyPack:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackNotFound(path, [("", "no such file")]) from None
    except IsADirectoryError:
        raise PackNotFound(path, [("", "is a folder, not a pack file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PackNotFound(path, [("", f"cannot be read: {_reason(exc)}")]) from None
    return parse_pack(text, source=path)


def _reason(exc: Exception) -> str:
    # The OSError's own text repeats the path, which the message already starts with.
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


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
    """Where packs live: $ESCALATION_POLICY_DIR, else the packs installed with the app."""
    configured = os.environ.get(POLICY_DIR_ENV)
    if configured:
        return Path(configured)
    return shipped_policy_dir()


def shipped_policy_dir() -> Path:
    """The packs that ship with the app: the package `escalation_policies`, which is the
    repository's `policies/` folder (pyproject.toml maps it), in a checkout installed for
    development as much as in an installed wheel; in a checkout that is not installed at all,
    the `policies/` folder beside this package."""
    try:
        folder = resources.files(SHIPPED_PACKAGE)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "policies"
    if not isinstance(folder, Path):
        # Installed inside an archive (a zipped app): the packs are not files to read.
        raise PackNotFound(
            SHIPPED_PACKAGE, [("", f"the packs are not in a folder; set {POLICY_DIR_ENV}")]
        )
    return folder


class PackRegistry:
    """The packs a deployment runs, by board id."""

    def __init__(self, packs: Iterable[PolicyPack]) -> None:
        self._packs: dict[str, PolicyPack] = {}
        for pack in packs:
            clash = self._clash(pack)
            if clash is not None:
                raise PackConflict("", [("", clash[1])])
            self._packs[pack.board.id] = pack

    def _clash(self, pack: PolicyPack) -> tuple[PolicyPack, str] | None:
        """The pack already here that `pack` cannot run beside, and why; None if none."""
        for other in self._packs.values():
            if other.board.id == pack.board.id:
                return other, f"two packs claim board {pack.board.id!r}"
            # Case ids carry only the prefix: two boards with one prefix could not tell their
            # cases apart.
            if other.board.case_prefix == pack.board.case_prefix:
                return other, (
                    f"boards {other.board.id!r} and {pack.board.id!r} both use case_prefix "
                    f"{pack.board.case_prefix!r}"
                )
        return None

    @classmethod
    def from_paths(cls, paths: Iterable[Path | str]) -> PackRegistry:
        registry = cls([])
        sources: dict[str, Path] = {}
        for path in map(Path, paths):
            pack = load_pack(path)
            clash = registry._clash(pack)
            if clash is not None:
                other, problem = clash
                raise PackConflict(
                    path, [("board", f"{problem} (the other is {sources[other.board.id]})")]
                )
            registry._packs[pack.board.id] = pack
            sources[pack.board.id] = path
        return registry

    @classmethod
    def from_directory(cls, directory: Path | str) -> PackRegistry:
        """Every `*.yaml` pack in a folder; a folder that is missing or holds none is an error
        (a service with no packs would answer no one)."""
        folder = Path(directory)
        if not folder.is_dir():
            raise PackNotFound(folder, [("", "no such folder of policy packs")])
        paths = sorted(folder.glob("*.yaml"))
        if not paths:
            raise PackNotFound(folder, [("", "holds no policy packs (*.yaml)")])
        return cls.from_paths(paths)

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

    def __contains__(self, board_id: object) -> bool:
        return board_id in self._packs

    def board_ids(self) -> list[str]:
        return sorted(self._packs)

    def channel_names(self) -> dict[str, str]:
        """Every board that may set a business-manager channel, by id, with its short name: the
        boards of the packs, and the partner boards the packs copy (a joint step's other board,
        whose own pack may not run here)."""
        names = {p.board.id: p.board.short_name for p in self._packs.values()}
        for pack in self._packs.values():
            for partner in pack.partners:
                names.setdefault(partner.id, partner.name)
        return names


def resolve_pack(name_or_path: str, policy_dir: Path | None = None) -> PolicyPack:
    """A pack by board id (looked up in the policy folder) or by file path."""
    candidate = Path(name_or_path)
    # A board id is a bare name; anything that looks like a file path is read as one.
    if candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1:
        return load_pack(candidate)
    directory = policy_dir or default_policy_dir()
    path = directory / f"{name_or_path}.yaml"
    if not path.exists():
        if not directory.is_dir():
            raise PackNotFound(directory, [("", "no such folder of policy packs")])
        known = sorted(p.stem for p in directory.glob("*.yaml"))
        raise PackNotFound(path, [("", f"no pack named {name_or_path!r}; known: {known}")])
    return load_pack(path)
