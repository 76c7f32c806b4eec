"""A setting that still holds a Microsoft 365 Agents Toolkit placeholder is refused at start.

The toolkit writes `${{NAME}}` through unchanged when NAME is empty in the environment file, so
an app setting (or ../.localConfigs) can hold the placeholder's text: a board id that names no
pack, a tenant nobody signs in from, a secret everybody can read. The app stops with one line
naming the setting, and exit status 2, however it is started.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bootstrap.settings import SETTING_NAMES
from bot.settings import AppSettings, SettingsError, startup_problem
from tests.deployment.processes import GUNICORN, environment, free_port, start

APP_ID = "3f2a1c9e-5b7d-4e11-9a0c-1234567890ab"
TENANT = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(
    "name",
    [
        "ESCALATION_POLICIES",
        "ALLOWED_TENANTS",
        "MicrosoftAppTenantId",
        "REPORT_LINK_SECRET",
        "STORAGE_TABLE_ENDPOINT",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
    ],
)
def test_a_placeholder_in_a_setting_is_refused(name: str) -> None:
    env = {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppType": "UserAssignedMSI",
        "MicrosoftAppTenantId": TENANT,
        "ALLOWED_TENANTS": TENANT,
        name: f"${{{{{name}}}}}",
    }
    with pytest.raises(SettingsError) as raised:
        AppSettings.from_env(env)
    message = startup_problem(raised.value)
    assert message.startswith("error: ") and "\n" not in message
    assert f"{name} (${{{{{name}}}}})" in message
    assert "Agents Toolkit" in message and "deployment/env/.env." in message


def test_only_the_placeholder_is_repeated_never_the_rest_of_a_value() -> None:
    secret = "part-of-a-real-secret"
    env = {"REPORT_LINK_SECRET": f"{secret}${{{{ SECRET_REPORT_LINK_SECRET }}}}"}
    with pytest.raises(SettingsError) as raised:
        AppSettings.from_env(env)
    assert secret not in str(raised.value)
    assert "${{ SECRET_REPORT_LINK_SECRET }}" in str(raised.value)


def test_every_placeholder_is_named_at_once() -> None:
    env = {"ESCALATION_POLICIES": "${{ESCALATION_POLICIES}}", "ALLOWED_TENANTS": "${{X}}"}
    with pytest.raises(SettingsError, match=r"ALLOWED_TENANTS \(\$\{\{X\}\}\), ESCALATION_POL"):
        AppSettings.from_env(env)


def test_a_value_with_no_placeholder_passes_and_other_variables_are_not_read() -> None:
    assert AppSettings.from_env({"ESCALATION_POLICIES": "redbridge"}).policies == ("redbridge",)
    # Only the app's own settings are checked: the machine's other variables are not its own.
    assert AppSettings.from_env({"SOMETHING_ELSE": "${{NOT_OURS}}"}).anonymous
    assert "ESCALATION_POLICIES" in SETTING_NAMES and "REPORT_LINK_SECRET" in SETTING_NAMES


PLACEHOLDER_START = {"ESCALATION_POLICIES": "${{ESCALATION_POLICIES}}"}
MESSAGE = "ESCALATION_POLICIES (${{ESCALATION_POLICIES}})"


def test_python_app_py_refuses_a_placeholder(tmp_path: Path) -> None:
    done = start([sys.executable, "app.py"], environment(tmp_path, PLACEHOLDER_START))
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and MESSAGE in done.stderr
    assert done.stderr.count("\n") == 1


def test_gunicorn_refuses_a_placeholder_before_any_worker(tmp_path: Path) -> None:
    argv = [str(GUNICORN), "app:create_app()", "--worker-class", "aiohttp.GunicornUVLoopWebWorker"]
    env = environment(tmp_path, PLACEHOLDER_START)
    done = start([*argv, "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"], env)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert MESSAGE in done.stderr
    assert "Booting worker" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.startswith("error: ")]) == 1
