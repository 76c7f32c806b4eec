"""The app's settings, read from the environment and checked once at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO

from escalation.packs import PackError
from storage.settings import StorageSettings
from storage.tables import StorageError

APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")

# Every environment variable the app reads (bot, storage, telemetry).
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
    "ESCALATION_DATA_DIR",
    "ESCALATION_TABLE_PREFIX",
    "STORAGE_CONNECTION_STRING",
    "STORAGE_TABLE_ENDPOINT",
    "STORAGE_CREDENTIAL",
    "STORAGE_START_WAIT_SECONDS",
    "AZURE_CLIENT_ID",
    "PUBLIC_BASE_URL",
    "REPORT_LINK_SECRET",
    "TAB_APP_ID",
    "TAB_APP_ID_URI",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "LOG_FORMAT",
)
# The Microsoft 365 Agents Toolkit writes ${{NAME}} through unchanged when NAME has no value.
TOOLKIT_PLACEHOLDER = re.compile(r"\$\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")

# The exit status when the app cannot start, as for a command-line error: the operator must
# change something (a setting, a pack, the port, the storage) before trying again.
EXIT_CANNOT_START = 2


class SettingsError(ValueError):
    """A setting that is missing or malformed; the message names it and says what is wanted."""


def is_loopback(host: str) -> bool:
    """Whether a host to listen on is this machine only (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_only_problem(setting: str, host: str) -> str:
    return (
        f"{setting} must be a loopback address (127.0.0.1, ::1 or localhost) when MicrosoftAppId "
        f"is not set, not {host!r}: without an app id nothing proves who sends an activity, so "
        "the bot listens on this machine only. To serve Teams, set MicrosoftAppId, "
        "MicrosoftAppPassword and ALLOWED_TENANTS."
    )


def _bind_host(bind: str) -> str:
    """The host of a gunicorn bind: "127.0.0.1:8000", "[::1]:8000" or "localhost"."""
    if bind.startswith("["):
        return bind[1:].split("]", 1)[0]
    host, sep, port = bind.rpartition(":")
    return host if sep and port.isdigit() else bind


def check_binds(settings: AppSettings, binds: Iterable[str]) -> None:
    """gunicorn's --bind addresses: without an app id, this machine only (a Unix socket is)."""
    if not settings.anonymous:
        return
    for bind in binds:
        if bind.startswith(("unix:", "fd://")):
            continue
        host = _bind_host(bind)
        if not is_loopback(host):
            raise SettingsError(
                "settings are not valid:\n  - " + local_only_problem("the --bind address", host)
            )


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


def startup_problem(error: BaseException) -> str:
    """Why the app could not start, as the one message an operator reads (no traceback)."""
    if isinstance(error, SettingsError | PackError):
        return f"error: {error}"
    if isinstance(error, StorageError):
        return f"error: storage: {error}"
    if isinstance(error, OSError):  # e.g. the port is already in use
        return f"error: {error}"
    lines = str(error).strip().splitlines()
    detail = f": {lines[0][:300]}" if lines else ""
    return f"error: the app could not start: {type(error).__name__}{detail}"


def exit_cannot_start(error: BaseException, stream: TextIO | None = None) -> NoReturn:
    print(startup_problem(error), file=stream or sys.stderr, flush=True)
    raise SystemExit(EXIT_CANNOT_START) from None


@dataclass(frozen=True)
class AppSettings:
    app_id: str = ""
    app_password: str = ""
    app_type: str = "MultiTenant"
    app_tenant_id: str = ""
    host: str = "127.0.0.1"
    port: int = 3978
    allowed_tenants: frozenset[str] = frozenset()
    policies: tuple[str, ...] = ()  # board ids or pack paths; empty: every pack in the folder
    policy_dir: Path | None = None
    storage: StorageSettings = field(default_factory=lambda: StorageSettings(None, Path("data")))
    max_body_bytes: int = 256 * 1024
    public_base_url: str = ""  # where Teams users reach the app (report links); default: local
    report_link_secret: bytes = b""  # signs report links; empty: a new one at each start
    # The Teams tabs' Microsoft Entra app registration (webApplicationInfo): its client id, and
    # its Application ID URI when it is not api://<PUBLIC_BASE_URL's host>/<TAB_APP_ID>. Without
    # an app id (local use) the tabs sign sample people in with a key of their own (tabs.auth).
    tab_app_id: str = ""
    tab_app_id_uri: str = ""
    # Application Insights; empty: no telemetry is configured (bot.telemetry).
    telemetry_connection_string: str = ""
    dispatch_interval_seconds: float = 2.0
    sweep_interval_seconds: float = 60.0

    @property
    def anonymous(self) -> bool:
        """No app id: local use only (the Playground); requests carry no token."""
        return not self.app_id

    # Botbuilder's configuration object reads these names.
    @property
    def APP_ID(self) -> str:
        return self.app_id

    @property
    def APP_PASSWORD(self) -> str:
        return self.app_password

    @property
    def APP_TYPE(self) -> str:
        return self.app_type

    @property
    def APP_TENANTID(self) -> str:
        return self.app_tenant_id

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppSettings:
        env = dict(os.environ if environ is None else environ)
        unfilled_placeholders(env)
        problems: list[str] = []

        app_id = env.get("MicrosoftAppId", "").strip()
        app_password = env.get("MicrosoftAppPassword", "").strip()
        app_type = env.get("MicrosoftAppType", "").strip() or "MultiTenant"
        tenant = env.get("MicrosoftAppTenantId", "").strip()
        if app_type not in APP_TYPES:
            problems.append(
                f"MicrosoftAppType must be one of {', '.join(APP_TYPES)}, not {app_type!r}"
            )
        if app_id and app_type != "UserAssignedMSI" and not app_password:
            problems.append("MicrosoftAppPassword is required when MicrosoftAppId is set")
        if app_id and app_type in ("SingleTenant", "UserAssignedMSI") and not tenant:
            problems.append(f"MicrosoftAppTenantId is required for MicrosoftAppType={app_type}")
        if not app_id and app_password:
            problems.append("MicrosoftAppPassword is set but MicrosoftAppId is not")

        port_text = env.get("PORT", "").strip() or "3978"
        port = 0
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            problems.append(f"PORT must be a number from 1 to 65535, not {port_text!r}")
        else:
            port = int(port_text)
        host = env.get("HOST", "").strip() or "127.0.0.1"
        if not app_id and not is_loopback(host):
            problems.append(local_only_problem("HOST", host))

        tenants = frozenset(
            t.strip() for t in env.get("ALLOWED_TENANTS", "").split(",") if t.strip()
        )
        if app_id and not tenants:
            problems.append(
                "ALLOWED_TENANTS is required when MicrosoftAppId is set: the Microsoft Entra "
                "tenant ids of the board's partner agencies, comma-separated"
            )
        policies = tuple(
            p.strip() for p in env.get("ESCALATION_POLICIES", "").split(",") if p.strip()
        )
        policy_dir_text = env.get("ESCALATION_POLICY_DIR", "").strip()
        try:
            storage = StorageSettings.from_env(env)
        except ValueError as exc:
            problems.append(str(exc))
            storage = StorageSettings(None, Path("data"))
        public_url = env.get("PUBLIC_BASE_URL", "").strip()
        if public_url and not public_url.startswith(
            ("https://", "http://127.0.0.1", "http://localhost")
        ):
            problems.append(f"PUBLIC_BASE_URL must be an https:// address, not {public_url!r}")
        tab_app_id = env.get("TAB_APP_ID", "").strip()
        tab_app_id_uri = env.get("TAB_APP_ID_URI", "").strip()
        if tab_app_id_uri and not tab_app_id_uri.startswith("api://"):
            problems.append(f"TAB_APP_ID_URI must be an api:// address, not {tab_app_id_uri!r}")
        if problems:
            raise SettingsError("settings are not valid:\n  - " + "\n  - ".join(problems))
        return cls(
            app_id=app_id,
            app_password=app_password,
            app_type=app_type,
            app_tenant_id=tenant,
            host=host,
            port=port,
            allowed_tenants=tenants,
            policies=policies,
            policy_dir=Path(policy_dir_text) if policy_dir_text else None,
            storage=storage,
            public_base_url=public_url,
            report_link_secret=env.get("REPORT_LINK_SECRET", "").encode(),
            tab_app_id=tab_app_id,
            tab_app_id_uri=tab_app_id_uri,
            telemetry_connection_string=env.get(
                "APPLICATIONINSIGHTS_CONNECTION_STRING", ""
            ).strip(),
        )
