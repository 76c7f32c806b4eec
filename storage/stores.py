"""Everything the app keeps, as one object: the stores it needs, on one table store.

Opened by the bootstrap (bootstrap/build.py: `open_storage`), for the app, the command line and
the tests alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.access_log import TableAccessLog
from storage.cases import TableCaseRepository, TableNames
from storage.conversations import ConversationStore
from storage.directory_store import DirectoryStore
from storage.join_requests import JoinRequestStore
from storage.outbox import TableOutbox
from storage.tables import TableStore


@dataclass(frozen=True)
class Storage:
    """Everything the app keeps, opened on one table store."""

    store: TableStore
    tables: TableNames
    cases: TableCaseRepository
    outbox: TableOutbox
    directory: DirectoryStore
    conversations: ConversationStore
    access_log: TableAccessLog  # who has seen each case (escalation.access_log)

    @property
    def requests(self) -> JoinRequestStore:
        """Requests to join an agency and the notices about them: on the directory's table,
        with its clock (storage.join_requests). It holds no state of its own."""
        return JoinRequestStore(
            self.store, self.directory, now=self.directory.clock, table=self.tables.directory
        )

    async def close(self) -> None:
        await self.store.close()
