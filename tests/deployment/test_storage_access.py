"""How the app and its administrators reach Azure Table Storage with shared keys off, and how
start-up waits for a table role that a deployment has only just assigned."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bootstrap.build import when_storage_answers
from storage.azure_engine import AzureTableStore
from storage.settings import StorageSettings
from storage.tables import StorageError

ENDPOINT = "https://acct.table.core.windows.net/"


async def test_the_app_uses_its_managed_identity_and_an_administrator_the_azure_cli() -> None:
    from azure.identity.aio import AzureCliCredential, ManagedIdentityCredential

    app = StorageSettings.from_env({"STORAGE_TABLE_ENDPOINT": ENDPOINT, "AZURE_CLIENT_ID": "cid"})
    admin = StorageSettings.from_env(
        {"STORAGE_TABLE_ENDPOINT": ENDPOINT, "STORAGE_CREDENTIAL": "azure-cli"}
    )
    assert app.describe().endswith("(managed identity)")
    assert admin.describe().endswith("(Azure CLI sign-in)")
    for settings, kind in ((app, ManagedIdentityCredential), (admin, AzureCliCredential)):
        store = settings.open_store()  # nothing is connected until it is used
        try:
            assert isinstance(store, AzureTableStore)
            assert isinstance(store._credential, kind)
        finally:
            await store.close()


def test_an_unknown_credential_is_refused() -> None:
    with pytest.raises(ValueError, match="STORAGE_CREDENTIAL must be managed-identity"):
        StorageSettings.from_env({"STORAGE_CREDENTIAL": "password"})


@pytest.mark.parametrize("text", ["-1", "many", "3600"])
def test_a_start_wait_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="STORAGE_START_WAIT_SECONDS"):
        StorageSettings.from_env({"STORAGE_START_WAIT_SECONDS": text})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def failing(times: int, error: Exception) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "opened"

    return calls, attempt


async def test_azure_storage_is_tried_again_with_backoff_until_it_answers() -> None:
    """A role assignment made by the same deployment takes minutes to reach the account: every
    call is refused (403) until then."""
    clock = Clock()
    settings = StorageSettings(None, Path("x"), table_endpoint=ENDPOINT, start_wait_seconds=300)
    calls, attempt = failing(6, StorageError("table '(ping)': AuthorizationPermissionMismatch"))
    opened = await when_storage_answers(settings, attempt, sleep=clock.sleep, clock=clock)
    assert opened == "opened" and len(calls) == 7
    assert clock.slept == [1, 2, 4, 8, 16, 30]


async def test_start_up_gives_up_after_its_wait() -> None:
    clock = Clock()
    settings = StorageSettings(None, Path("x"), table_endpoint=ENDPOINT, start_wait_seconds=20)
    _, attempt = failing(100, StorageError("unreachable"))
    with pytest.raises(StorageError, match="unreachable"):
        await when_storage_answers(settings, attempt, sleep=clock.sleep, clock=clock)
    assert sum(clock.slept) == 20 and clock.slept[-1] == 5  # 1 + 2 + 4 + 8, then what is left


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        # The embedded store: waiting would not change a folder that cannot be opened.
        (StorageSettings(None, Path("x")), StorageError("SQLite table store")),
        # A setting that is wrong, such as a malformed connection string.
        (StorageSettings(None, Path("x"), table_endpoint=ENDPOINT), ValueError("malformed")),
        # No wait asked for.
        (
            StorageSettings(None, Path("x"), table_endpoint=ENDPOINT, start_wait_seconds=0),
            StorageError("unreachable"),
        ),
    ],
)
async def test_what_waiting_cannot_mend_fails_at_once(
    settings: StorageSettings, error: Exception
) -> None:
    clock = Clock()
    calls, attempt = failing(1, error)
    with pytest.raises(type(error)):
        await when_storage_answers(settings, attempt, sleep=clock.sleep, clock=clock)
    assert len(calls) == 1 and clock.slept == []
