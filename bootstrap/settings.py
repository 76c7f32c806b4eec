"""Every setting the app and the command line take from the environment: read here, and only
here, and checked once at start-up. A bad value is one message naming the variable and what it
must be (never a traceback: bot.settings.startup_problem, admin.runner).

bot/settings.py holds the app's settings (AppSettings) and storage/settings.py the store's
(StorageSettings); `AppSettings.from_env` and `StorageSettings.from_env` read them through here.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

from bot.settings import AppSettings, SettingsError, is_loopback, local_only_problem
from storage.factory import AZURE_CLI, CREDENTIALS, MANAGED_IDENTITY
from storage.settings import (
    CLIENT_ID_ENV,
    CONNECTION_STRING_ENV,
    CREDENTIAL_ENV,
    DATA_DIR_ENV,
    DEFAULT_START_WAIT_SECONDS,
    START_WAIT_ENV,
    TABLE_ENDPOINT_ENV,
    TABLE_PREFIX_ENV,
    StorageSettings,
)

APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
DEFAULTS = AppSettings()

# Every environment variable the app reads (bot, storage, telemetry, tunables).
SETTING_NAMES = (
    "MicrosoftAppId",
    "MicrosoftAppPassword",
    "MicrosoftAppType",
    "MicrosoftAppTenantId",
    "ALLOWED_TENANTS",
    "PORT",
    "HOST",
    "ESCALATION_POLICIES",
    "ESCALATION_POLICY_DIR",
    DATA_DIR_ENV,
    TABLE_PREFIX_ENV,
    CONNECTION_STRING_ENV,
    TABLE_ENDPOINT_ENV,
    CREDENTIAL_ENV,
    START_WAIT_ENV,
    CLIENT_ID_ENV,
    "PUBLIC_BASE_URL",
    "REPORT_LINK_SECRET",
    "TAB_APP_ID",
    "TAB_APP_ID_URI",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "LOG_FORMAT",
    "DISPATCH_INTERVAL_SECONDS",
    "SWEEP_INTERVAL_SECONDS",
    "MAX_BODY_BYTES",
)
# The Microsoft 365 Agents Toolkit writes ${{NAME}} through unchanged when NAME has no value.
TOOLKIT_PLACEHOLDER = re.compile(r"\$\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")


class _Reader:
    """Reads variables from `env`, collecting every problem rather than stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str, default: str = "") -> str:
        return (self.env.get(name) or "").strip() or default

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list."""
        return tuple(part.strip() for part in self.text(name).split(",") if part.strip())

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def seconds(self, name: str, default: float, low: float, high: float) -> float:
        text = self.text(name)
        try:
            value = float(text) if text else default
        except ValueError:
            value = math.nan
        if not low <= value <= high:  # NaN too
            self.problems.append(
                f"{name} must be a number of seconds from {low:g} to {high:g}, not {text!r}"
            )
            return default
        return value

    def whole(self, name: str, default: int, low: int, high: int, what: str = "a number") -> int:
        text = self.text(name, str(default))
        if not text.isdigit() or not low <= int(text) <= high:
            self.problems.append(f"{name} must be {what} from {low} to {high}, not {text!r}")
            return default
        return int(text)


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def storage_settings(environ: Mapping[str, str] | None = None) -> StorageSettings:
    """Where the data lives. Raises SettingsError naming what is wrong."""
    read = _Reader(_environ(environ))
    settings = _storage(read)
    if read.problems:
        raise SettingsError("; ".join(read.problems))
    return settings


def _storage(read: _Reader) -> StorageSettings:
    prefix = read.env.get(TABLE_PREFIX_ENV, "")
    read.check(
        not prefix or re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,20}", prefix) is not None,
        f"{TABLE_PREFIX_ENV} must be letters and digits, starting with a letter "
        f"(at most 21): {prefix!r}",
    )
    endpoint = read.text(TABLE_ENDPOINT_ENV) or None
    read.check(
        not endpoint or re.fullmatch(r"https://[^/\s]+/?", endpoint) is not None,
        f"{TABLE_ENDPOINT_ENV} must be an https:// table endpoint: {endpoint!r}",
    )
    credential = read.text(CREDENTIAL_ENV).lower() or MANAGED_IDENTITY
    read.check(
        credential in CREDENTIALS,
        f"{CREDENTIAL_ENV} must be {MANAGED_IDENTITY} (the app's identity) or "
        f"{AZURE_CLI} (the administrator signed in with `az login`), not {credential!r}",
    )
    return StorageSettings(
        connection_string=read.text(CONNECTION_STRING_ENV) or None,
        data_dir=Path(read.env.get(DATA_DIR_ENV) or "data"),
        table_prefix=prefix,
        table_endpoint=endpoint,
        managed_identity_client_id=read.text(CLIENT_ID_ENV) or None,
        credential=credential if credential in CREDENTIALS else MANAGED_IDENTITY,
        start_wait_seconds=read.seconds(START_WAIT_ENV, DEFAULT_START_WAIT_SECONDS, 0, 1800),
    )


def pack_choice(environ: Mapping[str, str] | None = None) -> tuple[tuple[str, ...], Path | None]:
    """The packs to run (ESCALATION_POLICIES: board ids or paths; none: every pack) and the
    folder they are read from (ESCALATION_POLICY_DIR; None: the installed packs)."""
    return _pack_choice(_Reader(_environ(environ)))


def _pack_choice(read: _Reader) -> tuple[tuple[str, ...], Path | None]:
    folder = read.text("ESCALATION_POLICY_DIR")
    return read.items("ESCALATION_POLICIES"), Path(folder) if folder else None


def unfilled_placeholders(env: Mapping[str, str]) -> None:
    """Refuse a setting that still holds a Microsoft 365 Agents Toolkit placeholder: the toolkit
    passes `${{NAME}}` on as it is when NAME is empty in the environment file, and the app would
    otherwise run with that text as a tenant id, a board id or a secret."""
    found = [
        (name, TOOLKIT_PLACEHOLDER.search(env[name]))
        for name in SETTING_NAMES
        if name in env and "${{" in env[name]
    ]
    if not found:
        return
    named = ", ".join(f"{name} ({match.group(0)})" if match else name for name, match in found)
    raise SettingsError(
        f"settings hold Microsoft 365 Agents Toolkit placeholders that were never filled in: "
        f"{named}; give each a value in deployment/env/.env.<environment> (a secret in "
        ".env.<environment>.user) and provision again"
    )


def app_settings(environ: Mapping[str, str] | None = None) -> AppSettings:
    """The app's settings. Raises SettingsError listing every problem, one a line."""
    env = _environ(environ)
    unfilled_placeholders(env)
    read = _Reader(env)

    app_id = read.text("MicrosoftAppId")
    app_password = read.text("MicrosoftAppPassword")
    app_type = read.text("MicrosoftAppType", "MultiTenant")
    tenant = read.text("MicrosoftAppTenantId")
    read.check(
        app_type in APP_TYPES,
        f"MicrosoftAppType must be one of {', '.join(APP_TYPES)}, not {app_type!r}",
    )
    read.check(
        not (app_id and app_type != "UserAssignedMSI" and not app_password),
        "MicrosoftAppPassword is required when MicrosoftAppId is set",
    )
    read.check(
        not (app_id and app_type in ("SingleTenant", "UserAssignedMSI") and not tenant),
        f"MicrosoftAppTenantId is required for MicrosoftAppType={app_type}",
    )
    read.check(
        bool(app_id) or not app_password, "MicrosoftAppPassword is set but MicrosoftAppId is not"
    )
    port = read.whole("PORT", DEFAULTS.port, 1, 65535)
    host = read.text("HOST", DEFAULTS.host)
    read.check(bool(app_id) or is_loopback(host), local_only_problem("HOST", host))
    tenants = frozenset(read.items("ALLOWED_TENANTS"))
    read.check(
        not app_id or bool(tenants),
        "ALLOWED_TENANTS is required when MicrosoftAppId is set: the Microsoft Entra "
        "tenant ids of the board's partner agencies, comma-separated",
    )
    policies, policy_dir = _pack_choice(read)
    storage = _storage(read)
    public_url = read.text("PUBLIC_BASE_URL")
    read.check(
        not public_url
        or public_url.startswith(("https://", "http://127.0.0.1", "http://localhost")),
        f"PUBLIC_BASE_URL must be an https:// address, not {public_url!r}",
    )
    tab_app_id_uri = read.text("TAB_APP_ID_URI")
    read.check(
        not tab_app_id_uri or tab_app_id_uri.startswith("api://"),
        f"TAB_APP_ID_URI must be an api:// address, not {tab_app_id_uri!r}",
    )
    # Tunables: how often the outbox is sent again and clocks are swept, and the largest request
    # body accepted (Teams' activities are far smaller than the default; a card's form included).
    dispatch = read.seconds(
        "DISPATCH_INTERVAL_SECONDS", DEFAULTS.dispatch_interval_seconds, 0.1, 3600
    )
    sweep = read.seconds("SWEEP_INTERVAL_SECONDS", DEFAULTS.sweep_interval_seconds, 1, 86400)
    body = read.whole(
        "MAX_BODY_BYTES", DEFAULTS.max_body_bytes, 16 * 1024, 16 * 1024 * 1024, "a number of bytes"
    )
    if read.problems:
        raise SettingsError("settings are not valid:\n  - " + "\n  - ".join(read.problems))
    return AppSettings(
        app_id=app_id,
        app_password=app_password,
        app_type=app_type,
        app_tenant_id=tenant,
        host=host,
        port=port,
        allowed_tenants=tenants,
        policies=policies,
        policy_dir=policy_dir,
        storage=storage,
        max_body_bytes=body,
        public_base_url=public_url,
        report_link_secret=env.get("REPORT_LINK_SECRET", "").encode(),
        tab_app_id=read.text("TAB_APP_ID"),
        tab_app_id_uri=tab_app_id_uri,
        telemetry_connection_string=read.text("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        dispatch_interval_seconds=dispatch,
        sweep_interval_seconds=sweep,
    )
