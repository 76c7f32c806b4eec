"""The Microsoft 365 Agents SDK's echo agent, set up as its Python quickstart sets it up, anonymous,
on 127.0.0.1: a baseline for benchmarks/turns.py. It runs in a virtualenv of its own, since the
SDK is not one of this project's dependencies:

    python3 -m venv .venv-agents
    .venv-agents/bin/pip install microsoft-agents-hosting-aiohttp==1.9.0 \
        microsoft-agents-authentication-msal==1.9.0
    CONNECTIONS__SERVICE_CONNECTION__SETTINGS__ANONYMOUS_ALLOWED=true \
        .venv-agents/bin/python benchmarks/agents_echo.py

Prints {"port": N} once it listens; stops when its standard input closes, or on SIGTERM.
"""

import asyncio
import json
import os
import signal
import sys

from aiohttp.web import Application, AppRunner, Request, Response, TCPSite
from microsoft_agents.activity import load_configuration_from_env
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import (
    CloudAdapter,
    jwt_authorization_middleware,
    start_agent_process,
)
from microsoft_agents.hosting.core import (
    AgentApplication,
    Authorization,
    MemoryStorage,
    TurnContext,
    TurnState,
)

CONFIG = load_configuration_from_env(os.environ)
STORAGE = MemoryStorage()
CONNECTION_MANAGER = MsalConnectionManager(**CONFIG)
ADAPTER = CloudAdapter(connection_manager=CONNECTION_MANAGER)
AUTHORIZATION = Authorization(STORAGE, CONNECTION_MANAGER, **CONFIG)
AGENT_APP = AgentApplication[TurnState](
    storage=STORAGE, adapter=ADAPTER, authorization=AUTHORIZATION, **CONFIG
)


@AGENT_APP.activity("message")
async def on_message(context: TurnContext, _state: TurnState) -> None:
    await context.send_activity(f"Echo: {context.activity.text}")


async def entry_point(request: Request) -> Response:
    return await start_agent_process(request, request.app["agent_app"], request.app["adapter"])


async def main() -> None:
    app = Application(middlewares=[jwt_authorization_middleware])
    app.router.add_post("/api/messages", entry_point)
    app["agent_configuration"] = CONNECTION_MANAGER.get_default_connection_configuration()
    app["agent_app"] = AGENT_APP
    app["adapter"] = ADAPTER
    runner = AppRunner(app, access_log=None)
    await runner.setup()
    site = TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(json.dumps({"port": site._server.sockets[0].getsockname()[1]}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
