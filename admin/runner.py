"""How every command that reads or changes stored data runs: settings read, the store reached
once, then opened for the command's work and closed whatever happens; a storage fault, or a file
that cannot be written, ends the command with one line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from admin.errors import CliError, os_problem
from bootstrap.build import open_storage, reach_store
from bootstrap.settings import storage_settings as read_storage_settings
from storage.settings import StorageSettings
from storage.stores import Storage
from storage.tables import StorageError


def storage_settings(given: StorageSettings | None) -> StorageSettings:
    if given is not None:
        return given
    try:
        return read_storage_settings()
    except ValueError as exc:
        raise CliError(f"storage settings: {exc}") from None


async def check_reachable(settings: StorageSettings) -> None:
    """Reach the store once, closing it whatever happens, before a command opens it for work:
    an unreachable store then ends the command with one line (and no client left open)."""
    try:
        await reach_store(settings)
    except ValueError as exc:  # a malformed connection string
        raise CliError(f"storage settings: {exc}") from None
    except StorageError as exc:
        raise CliError(f"cannot reach {settings.describe()}: {exc}") from None


Work = Callable[[Storage, StorageSettings], Awaitable[int]]


def run_on_storage(given: StorageSettings | None, work: Work) -> int:
    """Run `work` on the store `given` names (default: the environment's); its exit status."""
    settings = storage_settings(given)

    async def run() -> int:
        await check_reachable(settings)
        storage = await open_storage(settings)
        try:
            return await work(storage, settings)
        finally:
            await storage.close()

    try:
        return asyncio.run(run())
    except StorageError as exc:
        raise CliError(f"storage: {exc}") from None
    except OSError as exc:  # a file that cannot be written
        raise CliError(os_problem(exc)) from None
