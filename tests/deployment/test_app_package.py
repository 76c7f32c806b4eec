"""The Teams app package: built from deployment/appPackage, valid against the official manifest
schema, with the right icons, and listing only commands the running bot really answers."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from PIL import Image

from bot.teams_bot import HELP
from scripts.build_app_package import PackageError, build, check_domain, check_guid, main
from testkit.chat import PEOPLE, Chat, running, settings_with
from testkit.walk import Walk, person

BOT_ID = "3f2a1c9e-5b7d-4e11-9a0c-1234567890ab"
DOMAIN = "sab-bot.azurewebsites.net"
# The official Teams manifest schema v1.25, as shipped in the npm package
# @microsoft/app-manifest 1.1.2 (MIT), build/json-schemas/teams/v1.25/MicrosoftTeams.schema.json.
SCHEMA = Path(__file__).parent / "schemas" / "MicrosoftTeams.v1.25.schema.json"
# What the bot's first answer to a listed command says (any other command: not the help text).
ANSWERS = {
    "raise": "Which agency is the other professional in?",
    "cases": "You have no open cases.",
    "profile": "Which agency do you work for?",
    "set channel": "This channel now gets the business manager's copies for RSAB.",
}


@pytest.fixture
def package(tmp_path: Path) -> zipfile.ZipFile:
    out = build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "out" / "appPackage.zip")
    return zipfile.ZipFile(out)


def manifest_of(package: zipfile.ZipFile) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(package.read("manifest.json"))
    return loaded


def commands(manifest: dict[str, Any], scope: str) -> list[str]:
    return [
        command["title"]
        for listed in manifest["bots"][0]["commandLists"]
        if scope in listed["scopes"]
        for command in listed["commands"]
    ]


def test_the_zip_holds_the_manifest_and_icons_at_its_root(package: zipfile.ZipFile) -> None:
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert package.testzip() is None


def test_the_manifest_is_valid_against_the_official_schema(package: zipfile.ZipFile) -> None:
    manifest = manifest_of(package)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"]
    assert manifest["$schema"].endswith(
        f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json"
    )
    jsonschema.Draft4Validator(schema).validate(manifest)


def test_the_schema_check_catches_a_bad_manifest(package: zipfile.ZipFile) -> None:
    manifest = manifest_of(package)
    del manifest["developer"]["privacyUrl"]
    manifest["bots"][0]["scopes"].append("everywhere")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(manifest))
    assert len(errors) == 2


def test_the_bot_id_domain_and_scopes_are_filled_in(package: zipfile.ZipFile) -> None:
    manifest = manifest_of(package)
    for field in ("manifestVersion", "version", "id", "developer", "name", "description"):
        assert manifest[field], field
    assert manifest["id"] == BOT_ID
    assert manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["bots"][0]["scopes"] == ["personal", "team"]
    assert manifest["validDomains"] == [DOMAIN]
    assert manifest["developer"]["privacyUrl"].startswith("https://")
    assert commands(manifest, "personal") == ["raise", "cases", "profile", "help"]
    assert commands(manifest, "team") == ["set channel", "help"]
    text = package.read("manifest.json").decode("utf-8")
    assert "${{" not in text
    assert "}}" not in text


def rgba_at(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    """A pixel of an RGBA image: (red, green, blue, alpha)."""
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    return tuple(int(v) for v in pixel)


def test_the_icons_are_the_sizes_teams_wants(package: zipfile.ZipFile) -> None:
    color = Image.open(io.BytesIO(package.read("color.png")))
    outline = Image.open(io.BytesIO(package.read("outline.png")))
    assert color.format == outline.format == "PNG"
    assert color.size == (192, 192)
    assert outline.size == (32, 32)
    # The IHDR chunk says the same (what Teams reads).
    width, height = struct.unpack(">II", package.read("outline.png")[16:24])
    assert (width, height) == (32, 32)
    # The outline icon is white on transparent: every visible pixel is white.
    rgba = outline.convert("RGBA")
    visible = [rgba_at(rgba, x, y) for x in range(32) for y in range(32) if rgba_at(rgba, x, y)[3]]
    assert visible, "the outline icon is empty"
    assert {pixel[:3] for pixel in visible} == {(255, 255, 255)}
    assert any(rgba_at(rgba, x, 0)[3] == 0 for x in range(32))
    assert rgba_at(color.convert("RGBA"), 0, 0)[3] == 255


def test_a_wrong_sized_icon_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    real = Path(__file__).resolve().parents[2] / "deployment" / "appPackage"
    (source / "manifest.json").write_text((real / "manifest.json").read_text())
    (source / "color.png").write_bytes((real / "color.png").read_bytes())
    Image.new("RGBA", (64, 64)).save(source / "outline.png")
    with pytest.raises(PackageError, match=r"outline icon outline\.png is 64x64"):
        build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "p.zip", source=source)
    assert not (tmp_path / "p.zip").exists()


def test_a_placeholder_without_a_value_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    real = Path(__file__).resolve().parents[2] / "deployment" / "appPackage"
    source.mkdir()
    for name in ("color.png", "outline.png"):
        (source / name).write_bytes((real / name).read_bytes())
    text = (
        (real / "manifest.json")
        .read_text()
        .replace('"${{DEVELOPER_NAME}}"', '"${{BOARD_SHORT_NAME}}"')
    )
    (source / "manifest.json").write_text(text)
    with pytest.raises(PackageError, match="BOARD_SHORT_NAME"):
        build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "p.zip", source=source)


@pytest.mark.parametrize(
    "value",
    ["", "not-a-guid", "3f2a1c9e5b7d4e119a0c1234567890ab", "00000000-0000-0000-0000-000000000000"],
)
def test_a_bot_id_that_is_not_a_guid_is_refused(value: str) -> None:
    with pytest.raises(PackageError, match="GUID"):
        check_guid(value)


@pytest.mark.parametrize(
    "value",
    [
        "https://sab.example.org",
        "sab.example.org/api",
        "sab.example.org:443",
        "localhost",
        "*.x.org",
        "-bad.example.org",
        "10.0.0.1",
        "",
    ],
)
def test_a_domain_that_is_not_a_host_name_is_refused(value: str) -> None:
    with pytest.raises(PackageError, match="domain"):
        check_domain(value)


def test_a_guid_and_domain_are_normalised() -> None:
    assert check_guid(BOT_ID.upper()) == BOT_ID
    assert check_domain(" SAB-Bot.AzureWebsites.net. ") == DOMAIN


def test_the_app_id_and_version_are_the_teams_apps_own(tmp_path: Path) -> None:
    """The manifest's id is the Teams app's (TEAMS_APP_ID, as the Agents Toolkit's teamsApp/create
    writes it), by hand the bot id unless given; the version is the board's to raise."""
    default = manifest_of(zipfile.ZipFile(build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "a")))
    assert (default["id"], default["version"]) == (BOT_ID, "1.0.0")
    app_id = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
    out = build(
        bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "b", app_id=app_id, app_version="1.2.0"
    )
    manifest = manifest_of(zipfile.ZipFile(out))
    assert (manifest["id"], manifest["version"]) == (app_id, "1.2.0")
    assert manifest["bots"][0]["botId"] == BOT_ID
    env = {"MicrosoftAppId": BOT_ID, "BOT_DOMAIN": DOMAIN, "TEAMS_APP_ID": app_id}
    env["APP_VERSION"] = "2.0.1"
    assert main(["--out", str(tmp_path / "c.zip")], env) == 0
    manifest = manifest_of(zipfile.ZipFile(tmp_path / "c.zip"))
    assert (manifest["id"], manifest["version"]) == (app_id, "2.0.1")
    with pytest.raises(PackageError, match=r"like 1\.0\.3"):
        build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "d", app_version="v2")


def test_the_command_line_reads_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "env.zip"
    env = {"MicrosoftAppId": BOT_ID, "BOT_DOMAIN": DOMAIN, "DEVELOPER_NAME": "Redbridge SAB"}
    assert main(["--out", str(out), "--privacy-url", "https://rsab.example.org/privacy"], env) == 0
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["id"] == BOT_ID
    assert manifest["developer"]["name"] == "Redbridge SAB"
    assert manifest["developer"]["privacyUrl"] == "https://rsab.example.org/privacy"
    assert main(["--out", str(tmp_path / "bad.zip"), "--bot-id", "x"], env) == 2
    assert "GUID" in capsys.readouterr().err
    assert not (tmp_path / "bad.zip").exists()
    with pytest.raises(SystemExit):
        main(["--out", str(out)], {"BOT_DOMAIN": DOMAIN})


# -- every command listed is one the bot answers ---------------------------------------------


def package_manifest(tmp_path: Path) -> dict[str, Any]:
    out = build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "cmd.zip")
    return manifest_of(zipfile.ZipFile(out))


async def test_every_personal_command_is_answered_by_the_running_bot(tmp_path: Path) -> None:
    listed = commands(package_manifest(tmp_path), "personal")
    assert listed
    async with running(await settings_with(tmp_path, PEOPLE), Chat) as chat:
        for command in listed:
            replies = await chat.say("amara", command)
            assert replies, command
            if command == "help":
                assert replies == [HELP]
            else:
                assert HELP not in replies, f"{command!r} got the generic help"
                assert ANSWERS.get(command, "") in "\n".join(replies), (command, replies)
            await chat.say("amara", "cancel")  # leave any question the command asked
        # The check can fail: an unknown word gets the generic help.
        assert await chat.say("amara", "frobnicate") == [HELP]


async def test_every_team_command_is_answered_in_a_channel(tmp_path: Path) -> None:
    listed = commands(package_manifest(tmp_path), "team")
    assert listed
    people = [
        *PEOPLE,
        person("bm", "Bea Marsh", "redbridge-asc", board=("redbridge:business_manager",)),
    ]
    async with running(await settings_with(tmp_path, people), Walk) as walk:
        for command in listed:
            replies = await walk.in_channel("bm", command)
            assert replies, command
            if command == "help":
                assert replies == [HELP]
            else:
                assert HELP not in replies, f"{command!r} got the generic help"
                assert ANSWERS.get(command, "") in "\n".join(replies), (command, replies)
        assert await walk.in_channel("bm", "frobnicate") == [HELP]


TAB_APP = "7c0d2e41-9a3b-4f6e-8d15-2b4c6a8e0f13"


def test_the_tabs_are_in_the_package_and_the_app_serves_them(tmp_path: Path) -> None:
    """A personal "My cases" tab, a channel tab for the board's figures, Teams' sign-in for the
    tabs' own app registration (webApplicationInfo), on the bot's domain; and the app answers
    each of those pages."""
    out = build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "p.zip", tab_app_id=TAB_APP)
    manifest = manifest_of(zipfile.ZipFile(out))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(manifest)
    [mine, chat, about] = manifest["staticTabs"]
    assert mine["contentUrl"] == f"https://{DOMAIN}/tabs/my-cases"
    assert mine["scopes"] == ["personal"] and mine["name"] == "My cases"
    assert (chat["entityId"], about["entityId"]) == ("conversations", "about")  # the bot's chat
    [board] = manifest["configurableTabs"]
    assert board["configurationUrl"] == f"https://{DOMAIN}/tabs/board/config"
    assert board["scopes"] == ["team"]
    assert manifest["webApplicationInfo"] == {
        "id": TAB_APP,
        "resource": f"api://{DOMAIN}/{TAB_APP}",
    }
    assert manifest["validDomains"] == [DOMAIN]
    # Without a tab app id the bot's own registration stands in (a registration-backed bot).
    fallback = manifest_of(
        zipfile.ZipFile(build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "q.zip"))
    )
    assert fallback["webApplicationInfo"]["id"] == BOT_ID
    with pytest.raises(PackageError, match="tab app id"):
        build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "r.zip", tab_app_id="nope")


async def test_the_app_answers_every_tab_page_the_manifest_names(tmp_path: Path) -> None:
    from urllib.parse import urlsplit

    import aiohttp

    from app import create_app
    from bot.settings import AppSettings
    from storage.settings import StorageSettings
    from testkit.connector import serve

    out = build(bot_id=BOT_ID, domain=DOMAIN, out=tmp_path / "p.zip", tab_app_id=TAB_APP)
    manifest = manifest_of(zipfile.ZipFile(out))
    urls = [t["contentUrl"] for t in manifest["staticTabs"] if "contentUrl" in t]
    urls += [t["configurationUrl"] for t in manifest["configurableTabs"]]
    settings = AppSettings(storage=StorageSettings(None, tmp_path / "data"))
    async with serve(create_app(settings)) as base, aiohttp.ClientSession() as http:
        for url in urls:
            parts = urlsplit(url)
            async with http.get(
                base + parts.path + (f"?{parts.query}" if parts.query else "")
            ) as r:
                assert r.status == 200, url
                assert "frame-ancestors" in r.headers["Content-Security-Policy"]
