"""Reading JSON back (event data as `append` round-trips it; what storage holds: entity
properties, references, dialog state): `json.loads`, by orjson where it gives the very same
values, about three times faster.

orjson reads a number past 64 bits as a float, where `json` keeps an exact int: text holding a
run of 19 digits that could be a number (one not starting just after a quote) is read by
`json`. orjson refuses NaN, the infinities and a lone surrogate's
escape, all of which `json` reads: those too are read by `json`.
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

# 19 digits reach past what orjson keeps exact (an int from -2**63 to 2**64 - 1): a false alarm
# (a long reference in a string, say) costs only the slower read. Found by mapping every byte to
# "0" (a digit), "q" (a quote) or " " (anything else) and finding runs: several times faster
# than a regular expression, which took longer than the parse itself.
_DIGITS: Final = bytes(
    0x30 if 0x30 <= byte <= 0x39 else 0x71 if byte == 0x22 else 0x20 for byte in range(256)
)
_LONG_RUN: Final = b"0" * 19
_QUOTE: Final = 0x71


def _long_number_in(text: str | bytes) -> bool:
    # surrogatepass: a lone surrogate (which orjson refuses anyway) must not stop the look.
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    marks = raw.translate(_DIGITS)
    start = marks.find(_LONG_RUN)
    while start != -1:
        # JSON never puts a number straight after a quote, so a run that starts there is text:
        # the genesis hash every case's first event links to ("0" * 64) sent each case's first
        # read to json. Any other run may be a number.
        if start == 0 or marks[start - 1] != _QUOTE:
            return True
        ends = [i for i in (marks.find(b" ", start), marks.find(b"q", start)) if i != -1]
        if not ends:
            return False  # the run goes on to the end
        start = marks.find(_LONG_RUN, min(ends))
    return False


class NotQuick(Exception):
    """orjson might not read this as `json` would: read it with `json`."""


def read_json_quickly(text: str | bytes) -> Any:
    """`json.loads(text)` by orjson, where orjson gives the very same value (valid UTF-8,
    then, with no lone surrogate in it); `NotQuick` where it might not, or where it is not
    JSON at all: `json` then says which."""
    if _long_number_in(text):
        raise NotQuick
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise NotQuick from None  # NaN, Infinity, a lone surrogate, or not JSON


def read_json(text: str) -> Any:
    """`json.loads(text)`."""
    try:
        return read_json_quickly(text)
    except NotQuick:
        return json.loads(text)
