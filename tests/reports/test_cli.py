"""`escalation sample` then `escalation report`, on the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

from storage.settings import StorageSettings
from testkit.cli import run_cli


def run(settings: StorageSettings, *argv: str) -> tuple[int, str, str]:
    return run_cli(*argv, settings=settings)


def test_sample_then_report_in_every_format(tmp_path: Path) -> None:
    settings = StorageSettings(connection_string=None, data_dir=tmp_path / "data")
    code, out, _ = run(settings, "sample", "--cases", "40", "--seed", "3")
    assert code == 0 and "40 SYNTHETIC cases" in out
    period = ("--policy", "harrow", "--from", "2024-01-01", "--to", "2027-12-31")
    code, out, _ = run(settings, "report", *period, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["synthetic"] and 0 < data["raised"] < 40
    code, out, _ = run(settings, "report", *period, "--format", "md")
    assert code == 0 and out.startswith("# Harrow Safeguarding Adults Board")
    code, out, _ = run(settings, "report", *period, "--out", str(tmp_path / "r.html"))
    assert code == 0 and (tmp_path / "r-charts" / "monthly-trend.png").exists()
    code, _, err = run(settings, "report", *period)
    assert code == 2 and "needs --out" in err
    code, _, err = run(
        settings, "report", "--policy", "harrow", "--from", "2026-02-01", "--to", "2026-01-01"
    )
    assert code == 2 and "before" in err


def test_report_as_csv_and_filtered_as_the_board_tab_filters(tmp_path: Path) -> None:
    settings = StorageSettings(connection_string=None, data_dir=tmp_path / "data")
    assert run(settings, "sample", "--cases", "30", "--seed", "5")[0] == 0
    period = ("--policy", "redbridge", "--from", "2024-01-01", "--to", "2027-12-31")
    code, out, _ = run(settings, "report", *period, "--format", "csv")
    assert code == 0 and out.startswith("Redbridge Safeguarding Adults Board")
    assert "\r\nCases raised," in out
    code, everything, _ = run(settings, "report", *period, "--format", "json")
    code, filtered, _ = run(settings, "report", *period, "--format", "json", "--stage", "2")
    assert code == 0
    assert json.loads(filtered)["raised"] <= json.loads(everything)["raised"]
    assert json.loads(filtered)["notes"][-1] == "Only the cases that reached stage 2."
    code, _, err = run(settings, "report", *period, "--format", "json", "--agency", "nowhere")
    assert code == 2 and "no agency 'nowhere'" in err
