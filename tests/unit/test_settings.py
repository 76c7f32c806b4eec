"""The one reader of the environment (bootstrap/settings.py): the tunables, and one clear
message for every bad value."""

from __future__ import annotations

import pytest

from bootstrap.settings import SETTING_NAMES, app_settings, pack_choice, storage_settings
from bot.settings import AppSettings, SettingsError


def test_the_tunables_default_to_what_the_app_always_used() -> None:
    settings = app_settings({})
    assert (
        settings.dispatch_interval_seconds,
        settings.sweep_interval_seconds,
        settings.max_body_bytes,
    ) == (2.0, 60.0, 256 * 1024)


def test_the_tunables_are_read_from_the_environment() -> None:
    settings = app_settings(
        {
            "DISPATCH_INTERVAL_SECONDS": "0.5",
            "SWEEP_INTERVAL_SECONDS": " 300 ",
            "MAX_BODY_BYTES": "1048576",
        }
    )
    assert (
        settings.dispatch_interval_seconds,
        settings.sweep_interval_seconds,
        settings.max_body_bytes,
    ) == (0.5, 300.0, 1048576)
    assert {"DISPATCH_INTERVAL_SECONDS", "SWEEP_INTERVAL_SECONDS", "MAX_BODY_BYTES"} <= set(
        SETTING_NAMES
    )


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("DISPATCH_INTERVAL_SECONDS", "0", "a number of seconds from 0.1 to 3600, not '0'"),
        ("DISPATCH_INTERVAL_SECONDS", "nan", "a number of seconds from 0.1 to 3600, not 'nan'"),
        ("SWEEP_INTERVAL_SECONDS", "hourly", "a number of seconds from 1 to 86400, not 'hourly'"),
        ("SWEEP_INTERVAL_SECONDS", "1e9", "a number of seconds from 1 to 86400, not '1e9'"),
        ("MAX_BODY_BYTES", "1KB", "a number of bytes from 16384 to 16777216, not '1KB'"),
        ("MAX_BODY_BYTES", "-5", "a number of bytes from 16384 to 16777216, not '-5'"),
    ],
)
def test_a_bad_tunable_is_one_line_naming_it(name: str, text: str, problem: str) -> None:
    with pytest.raises(SettingsError) as refused:
        app_settings({name: text})
    assert str(refused.value) == f"settings are not valid:\n  - {name} must be {problem}"


def test_every_problem_is_told_at_once_the_store_s_with_the_app_s() -> None:
    with pytest.raises(SettingsError) as refused:
        app_settings(
            {"PORT": "http", "ESCALATION_TABLE_PREFIX": "9x", "STORAGE_CREDENTIAL": "password"}
        )
    lines = str(refused.value).splitlines()
    assert lines[0] == "settings are not valid:"
    assert [line.split(" ", 4)[3] for line in lines[1:]] == [
        "PORT",
        "ESCALATION_TABLE_PREFIX",
        "STORAGE_CREDENTIAL",
    ]


def test_the_store_alone_is_read_the_same_way_for_the_command_line() -> None:
    with pytest.raises(SettingsError) as refused:
        storage_settings({"STORAGE_START_WAIT_SECONDS": "forever"})
    assert str(refused.value) == (
        "STORAGE_START_WAIT_SECONDS must be a number of seconds from 0 to 1800, not 'forever'"
    )
    assert (
        storage_settings({"ESCALATION_DATA_DIR": "/tmp/x"})
        == app_settings({"ESCALATION_DATA_DIR": "/tmp/x"}).storage
    )


def test_the_classes_read_through_the_one_reader() -> None:
    env = {"ESCALATION_POLICIES": " redbridge , harrow ", "ESCALATION_POLICY_DIR": "packs"}
    assert AppSettings.from_env(env) == app_settings(env)
    policies, folder = pack_choice(env)
    assert (policies, str(folder)) == (("redbridge", "harrow"), "packs")
