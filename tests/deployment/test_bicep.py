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
import yaml
from pycep import BicepParser

from bot.settings import AppSettings
from storage.cases import TableNames

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = ROOT / "deployment"
BICEP = DEPLOYMENT / "infra" / "main.bicep"
PARAMETERS = DEPLOYMENT / "infra" / "main.parameters.json"
PLACEHOLDER = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
# Variables the Agents Toolkit itself provides (it asks for the subscription and the group).
TOOLKIT_BUILTINS = {"TEAMSFX_ENV", "AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP_NAME"}
# Secrets a board keeps in env/.env.<environment>.user (never committed), as deployment/README.md
# says how to make them.
USER_SECRETS = {"SECRET_REPORT_LINK_SECRET"}
# App Service plan sizes and the most instances each allows.
PLAN_LIMITS = {"B": 3, "S": 10, "P": 30}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cast(dict[str, Any], BicepParser().parse(file_path=BICEP))


def resource(template: dict[str, Any], type_: str) -> dict[str, Any]:
    found = [r for r in template["resources"].values() if r["type"] == type_]
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    config: dict[str, Any] = found[0]["config"]
    return config


def resources(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r["config"] for r in template["resources"].values() if r["type"] == type_]


def app_settings(template: dict[str, Any]) -> dict[str, Any]:
    return {s["name"]: s["value"] for s in template["variables"]["baseSettings"]["value"]}


def env_file(path: Path) -> dict[str, str]:
    """A dotenv file as the toolkit reads it: NAME=value, a value's quotes taken off."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[name.strip()] = value
    return values


def decorator(param: dict[str, Any], kind: str) -> Any:
    found = [d["argument"] for d in param["decorators"] if d["type"] == kind]
    return found[0] if found else None


def project(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOYMENT / name).read_text(encoding="utf-8"))
    return loaded


def test_the_parser_refuses_what_is_not_bicep() -> None:
    with pytest.raises(Exception, match="Unexpected"):
        BicepParser().parse(text="param x string =\nresource ??? {")


def test_every_parameter_without_a_default_has_a_value(template: dict[str, Any]) -> None:
    params = template["parameters"]
    given = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    required = {name for name, p in params.items() if p.get("default") is None}
    assert required == {
        "resourceBaseName",
        "allowedTenants",
        "adminGroupObjectId",
        "reportLinkSecret",
        "tabAppId",
    }
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
    roles = {
        r["properties"]["principalType"]: r
        for r in resources(template, "Microsoft.Authorization/roleAssignments")
    }
    assert set(roles) == {"ServicePrincipal", "Group"}
    assert all(r["scope"] == "storage" for r in roles.values())
    assert all("tableDataContributorRoleId" in json.dumps(r) for r in roles.values())
    assert "identity" in json.dumps(roles["ServicePrincipal"]["properties"]["principalId"])


def test_the_administrators_group_may_use_the_tables_without_a_key(
    template: dict[str, Any],
) -> None:
    """With shared keys off, the directory import, backup and restore run as an administrator
    signed in with the Azure CLI: the group named by its object id holds the table role."""
    [admin] = [
        r
        for r in resources(template, "Microsoft.Authorization/roleAssignments")
        if r["properties"]["principalType"] == "Group"
    ]
    assert admin["properties"]["principalId"] == "adminGroupObjectId"
    param = template["parameters"]["adminGroupObjectId"]
    assert decorator(param, "min_length") == decorator(param, "max_length") == 36  # a GUID
    assert "STORAGE_TABLE_ENDPOINT" in template["outputs"]
    storage = resource(template, "Microsoft.Storage/storageAccounts")["properties"]
    assert storage["allowSharedKeyAccess"] == "useKey"


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
        "gunicorn --bind 0.0.0.0:8000 --worker-class aiohttp.GunicornUVLoopWebWorker --workers 2 "
        "--timeout 600 'app:create_app()'"
    )
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["httpsOnly"] is True
    assert config["healthCheckPath"] == "/healthz"
    plan = resource(template, "Microsoft.Web/serverfarms")
    assert plan["kind"] == "linux"
    assert plan["properties"]["reserved"] is True


def test_the_app_settings_are_the_ones_the_app_reads(template: dict[str, Any]) -> None:
    settings = app_settings(template)
    assert settings["MicrosoftAppType"] == "botAppType"
    assert settings["MicrosoftAppId"] == "botId"
    assert template["parameters"]["botAppType"]["default"] == "UserAssignedMSI"
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
        "MicrosoftAppType": "UserAssignedMSI",
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
    # union(the bot's properties, the identity's resource id when it is the bot), as the
    # toolkit's templates write it.
    merged = bot["properties"]["function"]
    assert merged["type"] == "union"
    props = merged["parameters"]["arg_1"]
    assert props["msaAppType"] == "botAppType"
    assert props["msaAppId"] == "botId"
    managed = merged["parameters"]["arg_2"]["operator"]["operands"]
    assert managed["condition"] == "managedBotIdentity"
    assert "identity" in json.dumps(managed["true_value"]["msaAppMSIResourceId"])
    assert managed["false_value"] == {}
    # By default the managed identity is the bot: no password anywhere.
    bot_id = template["variables"]["botId"]["value"]["operator"]["operands"]
    assert bot_id["condition"] == "managedBotIdentity"
    assert "clientId" in json.dumps(bot_id["true_value"])
    assert bot_id["false_value"] == "registeredBotId"
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
    assert outputs["BOT_ID"]["value"] == "botId"


def test_a_registered_app_can_be_the_bot_instead_of_the_identity(template: dict[str, Any]) -> None:
    """Where partner tenants cannot reach a managed-identity bot, an Entra app registration of
    the board's (SingleTenant; MultiTenant only for one that already is) with its secret."""
    param = template["parameters"]["botAppType"]
    assert decorator(param, "allowed") == ["UserAssignedMSI", "SingleTenant", "MultiTenant"]
    assert {"type": "secure"} in template["parameters"]["botAppPassword"]["decorators"]
    for guard in ("registeredBotId", "registeredBotPassword"):
        assert '"type": "fail"' in json.dumps(template["variables"][guard])
    passwords = json.dumps(template["variables"]["passwordSettings"]["value"])
    assert "MicrosoftAppPassword" in passwords and "registeredBotPassword" in passwords
    site = resource(template, "Microsoft.Web/sites")
    assert "passwordSettings" in json.dumps(site["properties"]["siteConfig"]["appSettings"])
    # The app accepts what the template would set for a registered app.
    env = {
        "MicrosoftAppType": "SingleTenant",
        "MicrosoftAppId": "3f2a1c9e-5b7d-4e11-9a0c-1234567890ab",
        "MicrosoftAppPassword": "from-the-registration",
        "MicrosoftAppTenantId": "11111111-2222-3333-4444-555555555555",
        "ALLOWED_TENANTS": "11111111-2222-3333-4444-555555555555",
    }
    assert AppSettings.from_env(env).app_type == "SingleTenant"


def step_placeholders(step: dict[str, Any]) -> set[str]:
    """The variables a toolkit step reads: in its own fields, and in the files it fills in."""
    used = set(PLACEHOLDER.findall(json.dumps(step.get("with", {}))))
    if step["uses"] in ("teamsApp/validateManifest", "teamsApp/zipAppPackage"):
        used |= set(PLACEHOLDER.findall((DEPLOYMENT / "appPackage" / "manifest.json").read_text()))
    if step["uses"] == "arm/deploy":
        used |= set(PLACEHOLDER.findall(PARAMETERS.read_text()))
    return used


def step_writes(step: dict[str, Any], template: dict[str, Any]) -> set[str]:
    written = set((step.get("writeToEnvironmentFile") or {}).values())
    if step["uses"] == "arm/deploy":
        written |= set(template["outputs"])
    return written


@pytest.mark.parametrize(
    ("name", "env"),
    [("m365agents.yml", ".env.dev"), ("m365agents.local.yml", ".env.local")],
)
def test_every_toolkit_variable_has_a_value_when_it_is_read(
    template: dict[str, Any], name: str, env: str
) -> None:
    """The toolkit passes an empty variable on as its placeholder's text: each one a step reads
    has a value in the environment file, or an earlier step of the same stage (or provision)
    wrote it, or it is the toolkit's own, or a secret the README has the board keep in the
    .user file."""
    values = env_file(DEPLOYMENT / "env" / env)
    given = {k for k, v in values.items() if v} | TOOLKIT_BUILTINS | USER_SECRETS
    stages = project(name)
    provisioned: set[str] = set()
    for stage in ("provision", "deploy", "publish"):
        known = given | (provisioned if stage != "provision" else set())
        for step in stages.get(stage) or []:
            missing = step_placeholders(step) - known
            assert not missing, f"{name} {stage} {step['uses']}: no value yet for {sorted(missing)}"
            known |= step_writes(step, template)
        if stage == "provision":
            provisioned = known
    # Whatever provision writes is listed in the environment file, empty until then.
    for stage in ("provision", "deploy", "publish"):
        for step in stages.get(stage) or []:
            for written in step_writes(step, template):
                if not written.startswith("SECRET_"):
                    assert written in values, f"{env} does not list {written}"
    for variable in USER_SECRETS:
        assert variable in (DEPLOYMENT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["m365agents.yml", "m365agents.local.yml"])
def test_the_teams_app_is_registered_first_under_the_manifests_id(name: str) -> None:
    """As the toolkit's templates do: teamsApp/create first writes TEAMS_APP_ID, the manifest's
    id, so teamsApp/update finds the registration it updates (it looks the app up by the
    manifest's id)."""
    steps = project(name)["provision"]
    assert steps[0]["uses"] == "teamsApp/create"
    assert steps[0]["writeToEnvironmentFile"] == {"teamsAppId": "TEAMS_APP_ID"}
    assert steps[-1]["uses"] == "teamsApp/update"
    manifest = json.loads((DEPLOYMENT / "appPackage" / "manifest.json").read_text())
    assert manifest["id"] == "${{TEAMS_APP_ID}}"
    assert manifest["bots"][0]["botId"] == "${{BOT_ID}}"


def test_no_bicep_output_sets_the_teams_app_id(template: dict[str, Any]) -> None:
    assert "TEAMS_APP_ID" not in template["outputs"]


def test_publish_submits_the_package_provision_built() -> None:
    steps = project("m365agents.yml")["publish"]
    assert [s["uses"] for s in steps] == [
        "teamsApp/validateManifest",
        "teamsApp/zipAppPackage",
        "teamsApp/validateAppPackage",
        "teamsApp/update",
        "teamsApp/publishAppPackage",
    ]
    zipped = steps[1]["with"]["outputZipPath"]
    assert zipped == "./appPackage/build/appPackage.${{TEAMSFX_ENV}}.zip"
    assert all(s["with"].get("appPackagePath", zipped) == zipped for s in steps)
    assert steps[-1]["writeToEnvironmentFile"] == {"publishedAppId": "TEAMS_APP_PUBLISHED_APP_ID"}


def test_a_placeholder_left_unfilled_is_refused_by_the_template(template: dict[str, Any]) -> None:
    """Every parameter the toolkit fills refuses its own placeholder's text, so an empty
    variable stops the provision with its name instead of reaching Azure: by its length, or a
    check that fails the deployment."""
    given = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    guards = json.dumps(template["variables"])
    for name, entry in given.items():
        placeholder = str(entry["value"])
        if not PLACEHOLDER.fullmatch(placeholder):
            continue
        param = template["parameters"][name]
        shortest, longest = decorator(param, "min_length"), decorator(param, "max_length")
        by_length = (shortest is not None and len(placeholder) < shortest) or (
            longest is not None and len(placeholder) > longest
        )
        by_check = re.search(
            rf'"condition": .{{0,200}}"contains", "parameters": {{"container": "{name}", '
            r'"item_to_find": "\{\{"',
            guards,
        )
        assert by_length or by_check, f"{name} would take {placeholder!r} as its value"
    # Those checks fail the deployment with a message naming the variable to set.
    for variable, setting in (("tenants", "ALLOWED_TENANTS"), ("policies", "ESCALATION_POLICIES")):
        text = json.dumps(template["variables"][variable])
        assert '"type": "fail"' in text and setting in text
    assert app_settings(template)["ALLOWED_TENANTS"] == "tenants"
    assert app_settings(template)["ESCALATION_POLICIES"] == "policies"


def test_the_report_link_secret_is_kept_not_made_anew(template: dict[str, Any]) -> None:
    """A secret made at each deployment (newGuid()) would end every report link at the next
    provision: it is a parameter the board keeps, passed the same each time."""
    param = template["parameters"]["reportLinkSecret"]
    assert param["default"] is None
    assert {"type": "secure"} in param["decorators"]
    assert decorator(param, "min_length") == 32
    assert "new_guid" not in json.dumps(template)
    given = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    assert given["reportLinkSecret"]["value"] == "${{SECRET_REPORT_LINK_SECRET}}"
    assert app_settings(template)["REPORT_LINK_SECRET"] == "reportLinkSecret"


def test_names_that_must_be_unique_across_azure_have_a_suffix(template: dict[str, Any]) -> None:
    suffix = json.dumps(template["variables"]["suffix"]["value"])
    assert "unique_string" in suffix and "resource_group" in suffix
    bot = resource(template, "Microsoft.BotService/botServices")
    assert bot["name"] == "botName"
    assert "${suffix}" in template["variables"]["botName"]["value"]
    assert "${suffix}" in template["variables"]["webAppName"]["value"]
    assert "${suffix}" in json.dumps(template["variables"]["storageAccountName"]["value"])
    # Azure Bot names are 4 to 42 characters: the longest base name still fits.
    longest = "x" * 20 + "-bot-" + "y" * 13
    assert 4 <= len(longest) <= 42


def test_the_instance_count_is_limited_by_the_plan(template: dict[str, Any]) -> None:
    skus = decorator(template["parameters"]["appServiceSku"], "allowed")
    limits = template["variables"]["maxInstances"]["value"]
    assert set(limits) == set(skus)
    assert all(limits[sku] == PLAN_LIMITS[sku[0]] for sku in skus)
    assert decorator(template["parameters"]["instanceCount"], "max_value") == max(limits.values())
    plan = resource(template, "Microsoft.Web/serverfarms")
    assert plan["sku"]["capacity"] == "capacity"
    capacity = template["variables"]["capacity"]["value"]["operator"]
    assert capacity["type"] == "conditional"
    condition = capacity["operands"]["condition"]["operator"]
    assert condition["type"] == "less_than_or_equals"
    assert condition["operands"]["operand_1"] == "instanceCount"
    assert "maxInstances" in json.dumps(condition["operands"]["operand_2"])
    assert capacity["operands"]["true_value"] == "instanceCount"
    assert capacity["operands"]["false_value"]["function"]["type"] == "fail"
    given = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    assert given["instanceCount"]["value"] <= limits[given["appServiceSku"]["value"]]


def test_start_up_has_the_time_the_templates_give_it(template: dict[str, Any]) -> None:
    settings = app_settings(template)
    assert settings["WEBSITES_CONTAINER_START_TIME_LIMIT"] == "600"
    wait = float(settings["STORAGE_START_WAIT_SECONDS"])
    assert 0 < wait < 600  # storage is waited for within App Service's start-up limit
    env = {"STORAGE_START_WAIT_SECONDS": settings["STORAGE_START_WAIT_SECONDS"]}
    env |= {"STORAGE_TABLE_ENDPOINT": "https://acct.table.core.windows.net/"}
    assert AppSettings.from_env(env).storage.start_wait_seconds == wait


def test_the_environment_files_can_be_read_by_a_shell_too(tmp_path: Path) -> None:
    """The by-hand steps in deployment/README.md read env/.env.dev with the shell's `.`: each
    value reads the same there as the toolkit reads it."""
    for path in (DEPLOYMENT / "env").glob(".env.*"):
        values = env_file(path)
        script = f"set -a; . {path}; " + "; ".join(
            f'printf "%s=%s\\n" {name} "${{{name}}}"' for name in values
        )
        done = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, check=True, timeout=30
        )
        assert env_file_text(done.stdout) == values, path.name


def env_file_text(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


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


# The Microsoft 365 clients Teams' documentation lists for a tab's single sign-on ("Configure your
# tab app in Microsoft Entra ID": Teams, Microsoft 365 and Outlook, on the web, desktop and mobile).
TEAMS_CLIENTS = {
    "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
    "4765445b-32c6-49b0-83e6-1d93765276ca",
    "0ec893e0-5785-4de6-99da-4ed124e5296c",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c",
    "bc59ab01-8403-45c6-8796-ac3ef710b3e3",
    "27922004-5251-4030-b22d-91ecd9a37ea4",
}


def test_the_tabs_registration_exposes_the_api_the_app_checks_tokens_for(
    template: dict[str, Any],
) -> None:
    """The toolkit's Entra manifest and the by-hand Graph bodies say the same: the Application
    ID URI api://<domain>/<tab app id> (the manifest's webApplicationInfo.resource, and the
    audience tabs.auth accepts), the access_as_user scope, v2 tokens, and Teams' clients
    pre-authorised for that scope."""
    from tabs.auth import SCOPE, api_audiences

    aad = json.loads((DEPLOYMENT / "aad.manifest.json").read_text(encoding="utf-8"))
    [scope] = aad["oauth2Permissions"]
    assert scope["value"] == SCOPE and scope["type"] == "User" and scope["isEnabled"]
    assert aad["identifierUris"] == ["api://${{BOT_DOMAIN}}/${{TAB_APP_ID}}"]
    assert aad["accessTokenAcceptedVersion"] == 2
    assert aad["signInAudience"] == "AzureADMultipleOrgs"  # the agencies' tenants sign in too
    assert {p["appId"] for p in aad["preAuthorizedApplications"]} == TEAMS_CLIENTS
    assert all(p["permissionIds"] == [scope["id"]] for p in aad["preAuthorizedApplications"])
    manifest = json.loads((DEPLOYMENT / "appPackage" / "manifest.json").read_text())
    assert manifest["webApplicationInfo"] == {
        "id": "${{TAB_APP_ID}}",
        "resource": aad["identifierUris"][0],
    }
    assert "api://domain/id" in api_audiences("domain", "id")
    graph = json.loads((DEPLOYMENT / "tab-app" / "pre-authorised.json").read_text())["api"]
    assert graph["oauth2PermissionScopes"] == [scope]
    assert graph["requestedAccessTokenVersion"] == 2
    assert {p["appId"] for p in graph["preAuthorizedApplications"]} == TEAMS_CLIENTS
    first = json.loads((DEPLOYMENT / "tab-app" / "api-scope.json").read_text())["api"]
    assert first["oauth2PermissionScopes"] == [scope]
    # The template gives the app the registration's id, and names the URI it must expose.
    assert app_settings(template)["TAB_APP_ID"] == "tabAppId"
    assert "api://" in json.dumps(template["outputs"]["TAB_APP_ID_URI"])
    # Provision makes the registration before the template needs its id, and sets its API
    # once the Web App's domain is known, before the package that names it is built.
    steps = [s["uses"] for s in project("m365agents.yml")["provision"]]
    create = next(
        i
        for i, s in enumerate(project("m365agents.yml")["provision"])
        if (s.get("writeToEnvironmentFile") or {}).get("clientId") == "TAB_APP_ID"
    )
    assert create < steps.index("arm/deploy") < steps.index("aadApp/update")
    assert steps.index("aadApp/update") < steps.index("teamsApp/zipAppPackage")
