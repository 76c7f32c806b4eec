"""The report tests draw with matplotlib, which keeps a font cache: a private folder keeps it
from warning about a read-only home."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "sab-matplotlib"))
