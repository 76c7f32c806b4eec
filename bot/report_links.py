"""Links to a board's full report that only the bot can make, and that stop working after a while.

The link goes to the board role who asked, in their own chat (or to the board's channel); it
carries the board, the period, who it was made for and an expiry, signed with the app's secret, so
it cannot be altered or guessed, and the board's access log can say who opened a report.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from urllib.parse import urlencode


class ReportLinks:
    def __init__(self, secret: bytes, base_url: str, now: Callable[[], datetime]) -> None:
        self._secret = secret
        self._base = base_url.rstrip("/")
        self._now = now

    def _signature(self, board_id: str, start: date, end: date, expires: int, viewer: str) -> str:
        message = f"{board_id}|{start.isoformat()}|{end.isoformat()}|{expires}|{viewer}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def make(
        self,
        board_id: str,
        start: date,
        end: date,
        *,
        viewer: str,
        ttl: timedelta = timedelta(hours=24),
    ) -> str:
        """A link for `viewer` (a directory person id, or `channel:<board>`)."""
        expires = int((self._now() + ttl).timestamp())
        signature = self._signature(board_id, start, end, expires, viewer)
        query = urlencode({"expires": expires, "by": viewer, "sig": signature})
        return f"{self._base}/reports/{board_id}/{start.isoformat()}/{end.isoformat()}?{query}"

    def check(self, board_id: str, start: date, end: date, query: Mapping[str, str]) -> str | None:
        """Who the link was made for, if it is genuine and still good; None if not."""
        viewer = query.get("by", "")
        try:
            expiry = int(query.get("expires", ""))
        except ValueError:
            return None
        if not viewer or expiry < self._now().timestamp():
            return None
        expected = self._signature(board_id, start, end, expiry, viewer)
        return viewer if hmac.compare_digest(expected, query.get("sig", "")) else None
