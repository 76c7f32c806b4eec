"""The lock files hold what pyproject.toml asks for, and agree with each other: App Service installs
requirements.lock (through requirements.txt), ./dev and CI requirements-dev.lock, the same versions
of everything the app runs on. After a change to the dependencies, `./dev lock` writes both."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RELOCK = "pyproject.toml changed: run `./dev lock` and commit requirements*.lock"


def pins(name: str) -> dict[str, str]:
    """A lock file's `name==version` lines, by normalized name."""
    found: dict[str, str] = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        # A pin may carry its environment marker: `uvloop==0.23.0 ; sys_platform != "win32"`.
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        assert "==" in line and not line.startswith("-"), f"{name}: not a pin: {line!r}"
        package, version = line.split("==")
        found[canonicalize_name(package)] = version
    return found


def project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"": data["dependencies"], **data["optional-dependencies"]}


def unmet(requirements: list[str], locked: dict[str, str]) -> list[str]:
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{text}: not locked")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{text}: locked at {version}")
    return problems


def test_the_runtime_lock_holds_every_dependency() -> None:
    assert unmet(project()[""], pins("requirements.lock")) == [], RELOCK


def test_the_development_lock_holds_every_dependency_and_tool() -> None:
    groups = project()
    assert unmet(groups[""] + groups["dev"], pins("requirements-dev.lock")) == [], RELOCK


def test_development_runs_on_the_versions_app_service_installs() -> None:
    runtime, development = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: development.get(name) for name in runtime} == runtime


def test_app_service_installs_the_lock_then_the_project() -> None:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line and not line.startswith("#")] == [
        "-r requirements.lock",
        ".",
    ]
