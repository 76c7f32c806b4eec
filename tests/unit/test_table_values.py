"""Long text is split into chunks a table row can hold, and joined again, whatever the engine."""

from __future__ import annotations

import pytest

from storage.tables import (
    join_text,
    split_text,
)


def test_split_text_never_cuts_a_surrogate_pair() -> None:
    text = "ab\U0001f600cd\U0001f600\U0001f600e"
    for size in range(2, 12):
        props = split_text("t", text, chunk_utf16=size)
        chunks = [props[f"t_{i}"] for i in range(props["t_count"])]
        assert "".join(chunks) == text
        assert all(len(c.encode("utf-16-le")) // 2 <= size for c in chunks)
        assert join_text("t", props) == text
    assert split_text("t", "") == {"t_count": 0}
    assert join_text("t", {"t_count": 0}) == ""
    with pytest.raises(ValueError):
        join_text("t", {"t_count": 2, "t_0": "a"})
    with pytest.raises(ValueError):
        split_text("bad-name", "x")
