"""deployment/infra/main.bicep and the files around it, checked without Azure.

No Bicep compiler installs here from a registry the project reaches (it ships as a binary on
GitHub and NuGet), so the template is parsed with pycep-parser (a Bicep grammar in Python, from
PyPI) and checked for what the app needs: the tables it opens, the settings it reads, the
startup command, the bot's identity and endpoint, and that every parameter has a value. Where a
`bicep` binary is on PATH, the template is also compiled to ARM JSON.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from pycep import BicepParser

from bot.settings import AppSettings
from storage.cases import TableNames

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = ROOT / "deployment"
BICEP = DEPLOYMENT / "infra" / "main.bicep"
PARAMETERS = DEPLOYMENT / "infra" / "main.parameters.json"
PLACEHOLDER = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
# Variables the Agents Toolkit itself provides.
TOOLKIT_BUILTINS = {"TEAMSFX_ENV", "AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP_NAME"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cast(dict[str, Any], BicepParser().parse(file_path=BICEP))


def resource(template: dict[str, Any], type_: str) -> dict[str, Any]:
    found = [r for r in template["resources"].values() if r["type"] == type_]
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    config: dict[str, Any] = found[0]["config"]
    return config


def app_settings(template: dict[str, Any]) -> dict[str, Any]:
    return {s["name"]: s["value"] for s in template["variables"]["baseSettings"]["value"]}


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_the_parser_refuses_what_is_not_bicep() -> None:
    with pytest.raises(Exception, match="Unexpected"):
        BicepParser().parse(text="param x string =\nresource ??? {")


def test_every_parameter_without_a_default_has_a_value(template: dict[str, Any]) -> None:
    params = template["parameters"]
    given = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    required = {name for name, p in params.items() if p.get("default") is None}
    assert required == {"resourceBaseName", "allowedTenants"}
    assert required <= set(given), f"no value for {required - set(given)}"
    assert set(given) <= set(params), f"unknown parameters {set(given) - set(params)}"
    for name, entry in given.items():
        allowed = [d["argument"] for d in params[name]["decorators"] if d["type"] == "allowed"]
        if allowed and not PLACEHOLDER.search(str(entry["value"])):
            assert entry["value"] in allowed[0], name


def test_the_tables_are_the_ones_the_app_opens(template: dict[str, Any]) -> None:
    names = TableNames("")
    used = {
        getattr(names, attr)
        for attr, value in vars(TableNames).items()
        if isinstance(value, property)
    }
    assert set(template["variables"]["tableNames"]["value"]) == used
    assert len(used) == 10
    tables = template["resources"]["tables"]
    assert tables["type"] == "Microsoft.Storage/storageAccounts/tableServices/tables"


def test_storage_is_locked_down_and_the_identity_may_use_its_tables(
    template: dict[str, Any],
) -> None:
    storage = resource(template, "Microsoft.Storage/storageAccounts")["properties"]
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["allowBlobPublicAccess"] is False
    assert storage["supportsHttpsTrafficOnly"] is True
    assert template["variables"]["tableDataContributorRoleId"]["value"] == TABLE_DATA_CONTRIBUTOR
    role = resource(template, "Microsoft.Authorization/roleAssignments")
    assert role["scope"] == "storage"
    assert role["properties"]["principalType"] == "ServicePrincipal"


def test_the_web_app_runs_gunicorns_aiohttp_worker_on_python_311(
    template: dict[str, Any],
) -> None:
    site = resource(template, "Microsoft.Web/sites")
    config = site["properties"]["siteConfig"]
    assert config["linuxFxVersion"] == "PYTHON|3.11"
    assert config["appCommandLine"] == "startupCommand"
    # The parser keeps Bicep's escapes: \' is a quote.
    command = template["variables"]["startupCommand"]["value"].replace("\\'", "'")
    assert command == (
        "gunicorn --bind 0.0.0.0:8000 --worker-class aiohttp.GunicornWebWorker --workers 2 "
        "'app:create_app()'"
    )
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["httpsOnly"] is True
    assert config["healthCheckPath"] == "/healthz"
    plan = resource(template, "Microsoft.Web/serverfarms")
    assert plan["kind"] == "linux"
    assert plan["properties"]["reserved"] is True


def test_the_app_settings_are_the_ones_the_app_reads(template: dict[str, Any]) -> None:
    settings = app_settings(template)
    assert settings["MicrosoftAppType"] == "UserAssignedMSI"
    assert settings["SCM_DO_BUILD_DURING_DEPLOYMENT"] == "true"
    assert settings["HOST"] == "0.0.0.0"
    assert settings["PORT"] == settings["WEBSITES_PORT"] == "8000"
    for name in (
        "MicrosoftAppId",
        "MicrosoftAppTenantId",
        "ALLOWED_TENANTS",
        "ESCALATION_POLICIES",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "PUBLIC_BASE_URL",  # where report links point
        "REPORT_LINK_SECRET",  # shared by every instance, so any instance accepts a link
    ):
        assert name in settings, name
    assert "MicrosoftAppPassword" not in settings  # the identity has no password
    # With those settings filled in (and the connection string the template adds), the app's
    # own settings check passes.
    env = {name: str(value) for name, value in settings.items()}
    env |= {
        "MicrosoftAppId": "3f2a1c9e-5b7d-4e11-9a0c-1234567890ab",
        "MicrosoftAppTenantId": "11111111-2222-3333-4444-555555555555",
        "ALLOWED_TENANTS": "11111111-2222-3333-4444-555555555555",
        "ESCALATION_POLICIES": "redbridge",
        "ESCALATION_TABLE_PREFIX": "",
        "STORAGE_TABLE_ENDPOINT": "https://sabescstore.table.core.windows.net/",
        "AZURE_CLIENT_ID": "3f2a1c9e-5b7d-4e11-9a0c-1234567890ab",
    }
    parsed = AppSettings.from_env(env)
    assert parsed.app_type == "UserAssignedMSI"
    # By default the app reaches its tables with the managed identity: no key in any setting.
    assert parsed.storage.engine == "azure" and parsed.storage.connection_string is None
    assert parsed.storage.describe().endswith("(managed identity)")
    keyed = template["variables"]["keySettings"]["value"]
    assert "STORAGE_CONNECTION_STRING" in json.dumps(keyed)


def test_the_bot_uses_the_identity_and_the_teams_channel(template: dict[str, Any]) -> None:
    bot = resource(template, "Microsoft.BotService/botServices")
    assert bot["location"] == "global"
    assert bot["kind"] == "azurebot"
    props = bot["properties"]
    assert props["msaAppType"] == "UserAssignedMSI"
    assert "identity" in json.dumps(props["msaAppId"])
    assert "identity" in json.dumps(props["msaAppMSIResourceId"])
    assert BICEP.read_text().count("/api/messages'") == 1
    assert "/api/messages" in json.dumps(props["endpoint"])
    channel = resource(template, "Microsoft.BotService/botServices/channels")
    assert channel["name"] == "MsTeamsChannel"
    assert channel["properties"]["channelName"] == "MsTeamsChannel"
    assert channel["properties"]["properties"]["isEnabled"] is True


def test_application_insights_is_workspace_based(template: dict[str, Any]) -> None:
    insights = resource(template, "Microsoft.Insights/components")
    assert "workspace" in json.dumps(insights["properties"]["WorkspaceResourceId"])
    resource(template, "Microsoft.OperationalInsights/workspaces")


def test_the_outputs_give_the_bot_id_and_endpoint(template: dict[str, Any]) -> None:
    outputs = template["outputs"]
    for name in ("BOT_ID", "BOT_ENDPOINT", "BOT_DOMAIN", "BOT_AZURE_APP_SERVICE_RESOURCE_ID"):
        assert name in outputs, name
    assert "clientId" in json.dumps(outputs["BOT_ID"])


@pytest.mark.parametrize(
    ("project", "env"),
    [("m365agents.yml", ".env.dev"), ("m365agents.local.yml", ".env.local")],
)
def test_every_toolkit_variable_has_a_source(project: str, env: str) -> None:
    """Each ${{VAR}} in the toolkit's files is in the environment file, a Bicep output, written
    by an earlier action, or the toolkit's own."""
    text = (DEPLOYMENT / project).read_text(encoding="utf-8")
    used = set(PLACEHOLDER.findall(text))
    used |= set(PLACEHOLDER.findall((DEPLOYMENT / "appPackage" / "manifest.json").read_text()))
    if project == "m365agents.yml":
        used |= set(PLACEHOLDER.findall(PARAMETERS.read_text()))
    written = set(re.findall(r"^\s+\w+: ([A-Z][A-Z0-9_]+)$", text, flags=re.MULTILINE))
    defined = set(env_file(DEPLOYMENT / "env" / env))
    missing = used - defined - written - TOOLKIT_BUILTINS - {"SECRET_BOT_PASSWORD"}
    assert not missing, f"{project}: no value for {sorted(missing)}"
    for name, value in env_file(DEPLOYMENT / "env" / env).items():
        assert "SECRET" not in name and "PASSWORD" not in name, name
        assert "AccountKey" not in value


def test_the_environment_files_hold_no_secret() -> None:
    for path in (DEPLOYMENT / "env").iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?i)(password|secret|accountkey)\s*=\s*\S", text), path.name


@pytest.mark.skipif(shutil.which("bicep") is None, reason="no bicep binary on PATH")
def test_the_template_compiles_to_arm_json(tmp_path: Path) -> None:  # pragma: no cover
    out = tmp_path / "main.json"
    subprocess.run(["bicep", "build", str(BICEP), "--outfile", str(out)], check=True, timeout=120)
    arm = json.loads(out.read_text())
    assert {"resourceBaseName", "allowedTenants"} <= set(arm["parameters"])
