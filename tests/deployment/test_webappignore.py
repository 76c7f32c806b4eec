"""What zip deploy uploads (.webappignore): the app and what installs it, and never a secret, an
environment file, local data or a development file, whatever else lies in the working tree."""

from __future__ import annotations

import zipfile
from pathlib import Path

import yaml

from deployment.make_zip import IGNORE_FILE, ROOT, build, deployed_files

DEPLOYMENT = ROOT / "deployment"
# Files a developer's working tree holds that must never reach App Service.
NEVER = {
    ".localConfigs": "MicrosoftAppPassword=local-bot-secret\n",  # m365agents.local.yml's deploy
    ".env": "SECRET=x\n",
    "deployment/env/.env.dev": "ALLOWED_TENANTS=x\n",
    "deployment/env/.env.dev.user": "SECRET_REPORT_LINK_SECRET=x\n",
    "deployment/env/.env.local.user": "SECRET_BOT_PASSWORD=x\n",
    "deployment/appPackage/build/appPackage.dev.zip": "zip",
    "deployment/infra/main.bicep": "bicep",
    "data/escalation.sqlite3": "case records",
    "build/appPackage.zip": "zip",
    "artifacts/report.html": "report",
    "tests/test_x.py": "test",
    "testkit/fakes.py": "test support",
    "sample/directory.yaml": "invented people",
    "scripts/run_local.py": "tool",
    "benchmarks/turns.py": "benchmark",
    ".venv/bin/python": "python",
    "node_modules/azurite/index.js": "node",
    ".git/config": "git",
    ".mypy_cache/x": "cache",
    "bot/__pycache__/settings.cpython-311.pyc": "bytecode",
    "bot/.env.local": "SECRET=x\n",
    "storage/.localConfigs": "SECRET=x\n",
    "dev": "#!/bin/sh\n",
    "package.json": "{}",
    ".m365agentsplayground.yml": "playground",
    "sab_escalation.egg-info/PKG-INFO": "metadata",
}
# What App Service needs: the startup command's app, gunicorn's settings, and what
# requirements.txt installs: the locked versions (requirements.lock) and the project
# (pyproject.toml, its readme, its packages, the policy packs).
NEEDED = {
    "app.py": "",
    "gunicorn.conf.py": "",
    "pyproject.toml": "",
    "requirements.txt": "-r requirements.lock\n.\n",
    "requirements.lock": "",
    "README.md": "",
    "admin/cli.py": "",
    "bootstrap/build.py": "",
    "bot/settings.py": "",
    "cards/case_card.py": "",
    "dialogs/raise_dialog.py": "",
    "escalation/rules/verbs.py": "",
    "policies/redbridge.yaml": "",
    "reports/render.py": "",
    "storage/settings.py": "",
    "tabs/web.py": "",
    "tabs/static/tab.js": "",
    "tabs/static/vendor/MicrosoftTeams.min.js": "",
}


def tree(root: Path, files: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / IGNORE_FILE).write_text((ROOT / IGNORE_FILE).read_text(encoding="utf-8"))
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_working_tree_gives_the_app_and_nothing_else(tmp_path: Path) -> None:
    tree(tmp_path, NEVER | NEEDED)
    assert set(deployed_files(tmp_path)) == set(NEEDED)


def test_the_zip_holds_no_secret(tmp_path: Path) -> None:
    tree(tmp_path / "project", NEVER | NEEDED)
    out = tmp_path / "deploy.zip"
    build(out, tmp_path / "project")
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        text = b"".join(archive.read(name) for name in names)
    assert names == set(NEEDED)
    assert b"SECRET" not in text and b"secret" not in text


def test_this_repository_deploys_its_packages_and_no_development_file() -> None:
    files = deployed_files()
    tops = {name.split("/", 1)[0] for name in files}
    assert tops == {
        "app.py",
        "gunicorn.conf.py",
        "pyproject.toml",
        "requirements.txt",
        "requirements.lock",
        "README.md",
        "admin",
        "bootstrap",
        "bot",
        "cards",
        "dialogs",
        "escalation",
        "policies",
        "reports",
        "storage",
        "tabs",
    }
    assert "bot/settings.py" in files and "policies/redbridge.yaml" in files
    assert "tabs/static/vendor/MicrosoftTeams.min.js" in files  # the tabs serve it themselves
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in files)


def test_the_toolkit_reads_this_ignore_file() -> None:
    """azureAppService/zipDeploy joins workingDirectory and ignoreFile, and zips artifactFolder
    under workingDirectory (the Agents Toolkit's deploy driver)."""
    project = yaml.safe_load((DEPLOYMENT / "m365agents.yml").read_text(encoding="utf-8"))
    [step] = [s for s in project["deploy"] if s["uses"] == "azureAppService/zipDeploy"]
    working = (DEPLOYMENT / step["with"]["workingDirectory"]).resolve()
    assert working == ROOT
    assert (working / step["with"]["artifactFolder"]).resolve() == ROOT
    assert (working / step["with"]["ignoreFile"]).resolve() == ROOT / IGNORE_FILE
