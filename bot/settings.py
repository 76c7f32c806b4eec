"""The app's settings (read from the environment by bootstrap/settings.py, checked once at
start-up), and what start-up does when they, or anything else, stop it."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO

from escalation.packs import PackError
from storage.settings import StorageSettings
from storage.tables import StorageError

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
        """Read from the environment, and checked, by the one reader (bootstrap/settings.py)."""
        from bootstrap.settings import app_settings  # it builds this class

        return app_settings(environ)
