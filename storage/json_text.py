"""Reading the JSON that storage holds (event data, entity properties, references, dialog
state): `json.loads`, by orjson where it gives the very same values, about three times faster.

orjson reads a number past 64 bits as a float, where `json` keeps an exact int: text holding a
run of 19 digits is read by `json`. orjson refuses NaN, the infinities and a lone surrogate's
escape, all of which `json` reads: those too are read by `json`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import orjson

# 19 digits reach past what orjson keeps exact (an int from -2**63 to 2**64 - 1): a false alarm
# (a long reference in a string, say) costs only the slower read.
_LONG_NUMBER: Final = re.compile(r"\d{19}")


def read_json(text: str) -> Any:
    """`json.loads(text)`."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity, a lone surrogate, or not JSON: json says which
    return json.loads(text)
