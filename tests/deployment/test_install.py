"""The project installs anywhere, as App Service installs it: a wheel built from exactly the files zip
deploy uploads (.webappignore), installed (not editable) into a fresh virtual environment, answers
from another folder with the packs it carries, every package and pack inside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

from deployment.make_zip import ROOT, deployed_files
from escalation.packs import PackRegistry

BUILD_WITHIN = 180.0  # seconds: the wheel, from the files App Service gets, without a download
INSTALL_WITHIN = 120.0
RUN_WITHIN = 60.0


def run(argv: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    # Nothing of this checkout may leak in: no path, no policy folder, no editable install.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ESCALATION_POLICY_DIR")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result


def shipped_names(files: list[str]) -> set[str]:
    """What the wheel must hold of the deployed files: every module of the app's packages, every
    pack with its clause table and guide, the tabs' static files; under their packages' names."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    folders = {setuptools["package-dir"].get(p, p): p for p in setuptools["packages"]}
    names: set[str] = set()
    for name in files:
        folder, _, rest = name.partition("/")
        if not rest:
            continue  # app.py, gunicorn.conf.py and the install's own files stay beside it
        shipped = name.endswith(".py") or folder == "policies" or name.startswith("tabs/static/")
        if shipped:
            assert folder in folders, f"{name}: its folder is no package in pyproject.toml"
            names.add(f"{folders[folder]}/{rest}")
    return names


def test_the_wheel_installs_and_finds_its_packs_from_anywhere(tmp_path: Path) -> None:
    files = deployed_files()
    source = tmp_path / "source"
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)

    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    run([*build, "--wheel-dir", str(dist), str(source)], cwd=tmp_path, timeout=BUILD_WITHIN)
    [wheel] = dist.glob("sab_escalation-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        held = set(archive.namelist())
    assert sorted(shipped_names(files) - held) == [], "files the wheel leaves out"

    # A fresh environment: the wheel alone, and beside it (after the install, so that pip sees
    # nothing installed) this environment's site-packages for its dependencies, read as a plain
    # folder: the editable install's finder there is never started.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, timeout=60)
    python = venv / "bin" / "python"
    install = [*pip, "--python", str(python), "install", "--no-deps", "--no-index", "--quiet"]
    run([*install, str(wheel)], cwd=tmp_path, timeout=INSTALL_WITHIN)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert (site / "escalation_policies" / "redbridge.yaml").is_file()
    ours = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (site / "zz-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shown = run(
        [str(venv / "bin" / "escalation"), "policy", "show", "redbridge"],
        cwd=elsewhere,
        timeout=RUN_WITHIN,
    )
    assert shown.stdout.startswith("Redbridge Safeguarding Adults Board (RSAB, id redbridge)")
    assert "Stage 1:" in shown.stdout

    # Every package imports from the installed copy, and the packs are the installed ones.
    probe = (
        "import admin, bot, cards, dialogs, escalation, reports, storage, tabs\n"
        "from escalation.packs import PackRegistry, default_policy_dir\n"
        "folder = default_policy_dir()\n"
        "print(folder)\n"
        "print(' '.join(PackRegistry.from_directory(folder).board_ids()))\n"
        "print(escalation.__file__)\n"
    )
    folder, boards, module = run(
        [str(python), "-c", probe], cwd=elsewhere, timeout=RUN_WITHIN
    ).stdout.splitlines()
    assert Path(folder) == site / "escalation_policies"
    assert Path(module) == site / "escalation" / "__init__.py"
    assert boards.split() == PackRegistry.from_directory(ROOT / "policies").board_ids()
