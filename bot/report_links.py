"""Links to a board's full report that only the bot can make, and that stop working after a while.

The link goes to the board role who asked, in their own chat; it carries the board, the period
and an expiry, signed with the app's secret, so it cannot be altered or guessed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import date, datetime, timedelta
from urllib.parse import urlencode


class ReportLinks:
    def __init__(self, secret: bytes, base_url: str, now: Callable[[], datetime]) -> None:
        self._secret = secret
        self._base = base_url.rstrip("/")
        self._now = now

    def _signature(self, board_id: str, start: date, end: date, expires: int) -> str:
        message = f"{board_id}|{start.isoformat()}|{end.isoformat()}|{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def make(
        self, board_id: str, start: date, end: date, *, ttl: timedelta = timedelta(hours=24)
    ) -> str:
        expires = int((self._now() + ttl).timestamp())
        query = urlencode(
            {"expires": expires, "sig": self._signature(board_id, start, end, expires)}
        )
        return f"{self._base}/reports/{board_id}/{start.isoformat()}/{end.isoformat()}?{query}"

    def check(self, board_id: str, start: date, end: date, expires: str, signature: str) -> bool:
        try:
            expiry = int(expires)
        except ValueError:
            return False
        if expiry < self._now().timestamp():
            return False
        expected = self._signature(board_id, start, end, expiry)
        return hmac.compare_digest(expected, signature)
