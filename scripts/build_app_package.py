"""Build the Teams app package: deployment/appPackage filled in, zipped for upload.

    .venv/bin/python scripts/build_app_package.py --bot-id GUID --domain HOST [--out PATH]

`--bot-id` defaults to $MicrosoftAppId (the Azure Bot's app id: with a managed identity, the
identity's client id) and `--domain` to $BOT_DOMAIN (the Web App's host name, no scheme).
`--tab-app-id`, the client id of the tabs' Microsoft Entra app registration (the one whose API,
`api://DOMAIN/ID` with the `access_as_user` scope, Teams asks a token for: webApplicationInfo),
defaults to $TAB_APP_ID, else to the bot id (a bot that is itself such a registration).
`--app-id`, the Teams app's own id, defaults to $TEAMS_APP_ID, else to the bot id: keep it the
same for every version, so that a new package replaces the old one. `--app-version` defaults to
$APP_VERSION, else 1.0.0: raise it for every new package. The developer fields default to the
bot's domain; a board should set its own ($DEVELOPER_NAME, $DEVELOPER_WEBSITE_URL,
$DEVELOPER_PRIVACY_URL, $DEVELOPER_TERMS_URL, or the options).
Writes manifest.json, color.png and outline.png at the root of the zip (default
build/appPackage.zip), after checking the ids, the domain, the icons' sizes and that no
placeholder is left. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "deployment" / "appPackage"
DEFAULT_OUT = ROOT / "build" / "appPackage.zip"
ICON_SIZES = {"color": (192, 192), "outline": (32, 32)}
PLACEHOLDER = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A fixed time for every zip entry: the same inputs give the same bytes.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


class PackageError(ValueError):
    """An input or a file that would make a package Teams refuses; the message says which."""


def check_guid(value: str, what: str = "bot id") -> str:
    text = value.strip()
    if not GUID.fullmatch(text) or uuid.UUID(text).int == 0:
        raise PackageError(
            f"the {what} must be a GUID such as 00000000-0000-0000-0000-000000000001, not {value!r}"
        )
    return text.lower()


def check_domain(value: str) -> str:
    """A public host name: no scheme, path, port or wildcard."""
    text = value.strip().lower().rstrip(".")
    if "://" in text or "/" in text or ":" in text:
        raise PackageError(
            f"the domain is a host name only (such as sab-bot.azurewebsites.net), not {value!r}"
        )
    labels = text.split(".")
    if (
        len(text) > 253
        or len(labels) < 2
        or not all(LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise PackageError(
            f"the domain must be a public host name such as sab-bot.azurewebsites.net, not {value!r}"
        )
    return text


def png_size(data: bytes, name: str) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise PackageError(f"{name} is not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace every ${{NAME}}; refuse if any is left without a value."""
    missing = sorted({m.group(1) for m in PLACEHOLDER.finditer(text)} - set(values))
    if missing:
        raise PackageError(f"manifest.json has placeholders without a value: {', '.join(missing)}")
    # Values go into JSON strings: escape them as JSON would.
    return PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)])[1:-1], text)


def render_manifest(
    template: str,
    *,
    bot_id: str,
    domain: str,
    developer: Mapping[str, str] | None = None,
    app_version: str | None = None,
    app_id: str | None = None,
    tab_app_id: str | None = None,
) -> dict[str, Any]:
    bot_id = check_guid(bot_id)
    domain = check_domain(domain)
    version = app_version or "1.0.0"
    if not re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", version):
        raise PackageError(f"the app version is like 1.0.3, not {version!r}")
    values = {
        "TEAMS_APP_ID": check_guid(app_id, "Teams app id") if app_id else bot_id,
        "APP_VERSION": version,
        "BOT_ID": bot_id,
        "BOT_DOMAIN": domain,
        "TAB_APP_ID": check_guid(tab_app_id, "tab app id") if tab_app_id else bot_id,
        "DEVELOPER_NAME": "Safeguarding Adults Board",
        "DEVELOPER_WEBSITE_URL": f"https://{domain}/",
        "DEVELOPER_PRIVACY_URL": f"https://{domain}/privacy",
        "DEVELOPER_TERMS_URL": f"https://{domain}/terms",
    }
    values.update({k: v for k, v in (developer or {}).items() if v})
    for key in ("DEVELOPER_WEBSITE_URL", "DEVELOPER_PRIVACY_URL", "DEVELOPER_TERMS_URL"):
        if not values[key].startswith("https://"):
            raise PackageError(f"{key} must be an https:// address, not {values[key]!r}")
    if len(values["DEVELOPER_NAME"]) > 32:
        raise PackageError("DEVELOPER_NAME is at most 32 characters (Teams' limit)")
    manifest: dict[str, Any] = json.loads(fill(template, values))
    return manifest


def icons(manifest: Mapping[str, Any], source: Path) -> dict[str, bytes]:
    """The icon files the manifest names, checked for Teams' sizes."""
    found: dict[str, bytes] = {}
    for kind, expected in ICON_SIZES.items():
        name = manifest["icons"][kind]
        path = source / name
        if not path.is_file():
            raise PackageError(f"the {kind} icon {path} is missing")
        data = path.read_bytes()
        size = png_size(data, name)
        if size != expected:
            raise PackageError(
                f"the {kind} icon {name} is {size[0]}x{size[1]}; Teams wants "
                f"{expected[0]}x{expected[1]}"
            )
        found[name] = data
    return found


def build(
    *,
    bot_id: str,
    domain: str,
    out: Path = DEFAULT_OUT,
    source: Path = PACKAGE_DIR,
    developer: Mapping[str, str] | None = None,
    app_version: str | None = None,
    app_id: str | None = None,
    tab_app_id: str | None = None,
) -> Path:
    template = (source / "manifest.json").read_text(encoding="utf-8")
    manifest = render_manifest(
        template,
        bot_id=bot_id,
        domain=domain,
        developer=developer,
        app_version=app_version,
        app_id=app_id,
        tab_app_id=tab_app_id,
    )
    files = {"manifest.json": (json.dumps(manifest, indent=2) + "\n").encode("utf-8")}
    files.update(icons(manifest, source))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    partial.replace(out)
    return out


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bot-id",
        default=environ.get("MicrosoftAppId") or environ.get("BOT_ID"),
        help="the Azure Bot's app id (default: $MicrosoftAppId, then $BOT_ID)",
    )
    parser.add_argument(
        "--domain",
        default=environ.get("BOT_DOMAIN"),
        help="the bot's host name, e.g. sab-bot.azurewebsites.net (default: $BOT_DOMAIN)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the zip to write")
    parser.add_argument("--source", type=Path, default=PACKAGE_DIR, help=argparse.SUPPRESS)
    parser.add_argument(
        "--app-version",
        default=environ.get("APP_VERSION"),
        help="like 1.0.3; raise it for every new package (default: $APP_VERSION, else 1.0.0)",
    )
    parser.add_argument(
        "--app-id",
        default=environ.get("TEAMS_APP_ID"),
        help="the Teams app's id, the same for every version (default: $TEAMS_APP_ID, "
        "else the bot id)",
    )
    parser.add_argument(
        "--tab-app-id",
        default=environ.get("TAB_APP_ID"),
        help="the tabs' Entra app registration's client id (default: $TAB_APP_ID, else the bot id)",
    )
    for option, key in (
        ("--developer-name", "DEVELOPER_NAME"),
        ("--website-url", "DEVELOPER_WEBSITE_URL"),
        ("--privacy-url", "DEVELOPER_PRIVACY_URL"),
        ("--terms-url", "DEVELOPER_TERMS_URL"),
    ):
        parser.add_argument(option, dest=key, default=environ.get(key), help=f"(default: ${key})")
    args = parser.parse_args(argv)
    if not args.bot_id:
        parser.error("--bot-id (or $MicrosoftAppId) is required")
    if not args.domain:
        parser.error("--domain (or $BOT_DOMAIN) is required")
    return args


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    args = parse_args(argv, env)
    developer = {
        key: getattr(args, key)
        for key in (
            "DEVELOPER_NAME",
            "DEVELOPER_WEBSITE_URL",
            "DEVELOPER_PRIVACY_URL",
            "DEVELOPER_TERMS_URL",
        )
        if getattr(args, key)
    }
    try:
        out = build(
            bot_id=args.bot_id,
            domain=args.domain,
            out=args.out,
            source=args.source,
            developer=developer,
            app_version=args.app_version,
            app_id=args.app_id,
            tab_app_id=args.tab_app_id,
        )
    except PackageError as exc:
        print(f"build_app_package: {exc}", file=sys.stderr)
        return 2
    if "DEVELOPER_PRIVACY_URL" not in developer:
        print(
            "note: the privacy and terms addresses default to pages on the bot's domain; set "
            "the board's own with --privacy-url and --terms-url",
            file=sys.stderr,
        )
    if not args.tab_app_id:
        print(
            "note: no --tab-app-id: the tabs sign in with the bot's own app registration; give "
            "the tabs' registration (deployment/README.md, section 3a) with --tab-app-id",
            file=sys.stderr,
        )
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
