"""The event loop the app runs on, wherever it is started (`python app.py`, gunicorn's uvloop
worker, the benchmark): uvloop's where it is installed, as it is on Linux (App Service, CI),
asyncio's own elsewhere. On uvloop the same turns cost the process less CPU and are answered
sooner (benchmarks/README.md, "The event loop").
"""

from __future__ import annotations

import asyncio
import importlib.util


def new_event_loop() -> asyncio.AbstractEventLoop:
    if importlib.util.find_spec("uvloop") is None:  # Windows: uvloop is not built for it
        return asyncio.new_event_loop()
    import uvloop

    return uvloop.new_event_loop()
