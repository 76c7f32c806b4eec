"""The Teams JavaScript client library the tabs serve is the npm package's, at the version
package.json pins: a copy in tabs/static/vendor (App Service gets no node_modules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "tabs" / "static" / "vendor" / "MicrosoftTeams.min.js"
PACKAGE = ROOT / "node_modules" / "@microsoft" / "teams-js"


def test_the_version_is_pinned_exactly() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    assert pinned["@microsoft/teams-js"].replace(".", "").isdigit()
    assert pinned["axe-core"].replace(".", "").isdigit()


def test_the_served_copy_is_the_pinned_packages_file() -> None:
    if not PACKAGE.exists():
        pytest.skip("node_modules not installed (npm ci)")
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    installed = json.loads((PACKAGE / "package.json").read_text())["version"]
    assert installed == pinned["@microsoft/teams-js"]
    assert (
        VENDORED.read_bytes() == (PACKAGE / "dist" / "umd" / "MicrosoftTeams.min.js").read_bytes()
    )
    assert (VENDORED.parent / "MicrosoftTeams.LICENSE.txt").read_text() == (
        PACKAGE / "LICENSE"
    ).read_text()
