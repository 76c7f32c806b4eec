"""Application Insights telemetry (bot.telemetry): nothing without
APPLICATIONINSIGHTS_CONNECTION_STRING; with it, spans for requests and outgoing calls that carry
the case and activity ids, and no query string, entity key or exception message.

With the setting, the app runs in a child process (OpenTelemetry's providers and the
instrumentations are process-wide), with the Azure Monitor exporters swapped for in-memory
ones and every connection that does not stay on this machine refused: nothing leaves it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from opentelemetry import trace

from app import create_app
from bot.settings import AppSettings
from bot.telemetry import (
    scrub_span,
    stacktrace_without_messages,
    telemetry_configured,
    without_query,
)

ROOT = Path(__file__).resolve().parents[2]
DUMMY = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
    "IngestionEndpoint=https://ingest.invalid/;LiveEndpoint=https://live.invalid/"
)

CHILD = r"""
import asyncio, itertools, json, logging, os, socket, sys
from pathlib import Path

refused = []
_connect = socket.socket.connect


def loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else str(address)
    if host not in ("127.0.0.1", "::1", "localhost"):
        refused.append(host)
        raise OSError("this test keeps every connection on this machine")
    return _connect(self, address)


socket.socket.connect = loopback_only

from opentelemetry.sdk._logs.export import InMemoryLogExporter
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import azure.monitor.opentelemetry._configure as distro
import azure.monitor.opentelemetry.exporter as exporters

logs = InMemoryLogExporter()


class NoMetrics(MetricExporter):
    def __init__(self, **_):
        super().__init__()

    def export(self, metrics_data, timeout_millis=10_000, **_):
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis=10_000):
        return True

    def shutdown(self, timeout_millis=30_000, **_):
        return None


distro.AzureMonitorMetricExporter = NoMetrics
exporters.AzureMonitorLogExporter = lambda **_: logs

import aiohttp
import requests
from aiohttp import web
from botframework.connector.auth import ManagedIdentityAppCredentials
from opentelemetry import trace
from opentelemetry._logs import get_logger_provider

from bot.settings import AppSettings
from bot.telemetry import configure_telemetry
from bootstrap.build import open_storage
from storage.settings import StorageSettings
from testkit.connector import connector, serve
from testkit.chat import eventually
from testkit.walk import PEOPLE, Walk, raise_case
from testkit.clocks import RunningClock
from testkit.people import agencies_for

spans = InMemorySpanExporter()
configure_telemetry(sys.argv[2], span_exporter=spans)


async def token(request):
    # App Service's managed-identity endpoint, as MSAL calls it for botbuilder.
    assert request.headers.get("X-IDENTITY-HEADER") == "local"
    return web.json_response(
        {"access_token": "t", "expires_on": "4102444800", "resource": "r", "token_type": "Bearer"}
    )


async def main():
    from app import create_app

    data = sys.argv[1]
    storage_settings = StorageSettings(None, Path(data))
    storage = await open_storage(storage_settings)
    await storage.directory.import_records(PEOPLE, agencies_for(PEOPLE, "tenant-1"))
    await storage.close()
    settings = AppSettings(
        storage=storage_settings,
        dispatch_interval_seconds=0.05,
        telemetry_connection_string=sys.argv[2],
        report_link_secret=b"k" * 32,
    )
    clock = RunningClock()
    identity = web.Application()
    identity.router.add_get("/msi/token", token)
    async with (
        connector() as stand_in,
        serve(create_app(settings, clock=clock)) as url,
        serve(identity) as identity_url,
        aiohttp.ClientSession() as http,
    ):
        w = Walk(url, stand_in, http, itertools.count(1), storage_settings, clock)
        for who in ("amara", "noah"):
            await w.say(who, "hello")
        case_id = await raise_case(w)
        await w.act(
            "noah", "record", case_id,
            held_date=clock.day(), held_time="09:00", method="phone",
            participants="Amara Osei, Noah Okafor", summary="Spoke about the falls",
            points_of_difference="Timing", outcome="not_resolved",
        )
        # A signed report link: its signature is in the query.
        async with http.get(url + "/reports/redbridge/2026-04-01/2026-10-31?expires=1&sig=SECRETSIG") as r:
            await r.read()
        # botbuilder's managed-identity token: MSAL over requests, blocking.
        os.environ["IDENTITY_ENDPOINT"] = identity_url + "/msi/token"
        os.environ["IDENTITY_HEADER"] = "local"
        credentials = ManagedIdentityAppCredentials("3f2a1c9e-5b7d-4e11-9a0c-1234567890ab")
        await asyncio.to_thread(credentials.get_access_token)
        await asyncio.sleep(0.3)  # the dispatcher's last sends
    app_log = logging.getLogger("escalation.app")
    try:
        raise ValueError("Mrs Example, 12 Any Street")
    except ValueError:
        app_log.exception("a failure, as the app logs one")
    trace.get_tracer_provider().force_flush()
    get_logger_provider().force_flush()
    print(json.dumps({
        "case_id": case_id,
        "refused": refused,
        "spans": [json.loads(s.to_json()) for s in spans.get_finished_spans()],
        "logs": [json.loads(l.to_json()) for l in logs.get_finished_logs()],
    }))


asyncio.run(main())
"""


def test_without_the_setting_nothing_is_configured(tmp_path: Path) -> None:
    settings = AppSettings.from_env({"ESCALATION_DATA_DIR": str(tmp_path / "data")})
    assert settings.telemetry_connection_string == ""
    original = web.Application
    app = create_app(settings)
    assert type(app) is original and web.Application is original
    assert not telemetry_configured()
    # No SDK tracer provider was installed: the API's default proxy is still in place.
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
    from azure.core.settings import settings as azure_core_settings

    assert azure_core_settings.tracing_implementation() is None


def test_a_connection_string_is_read_from_the_environment() -> None:
    settings = AppSettings.from_env({"APPLICATIONINSIGHTS_CONNECTION_STRING": f" {DUMMY} "})
    assert settings.telemetry_connection_string == DUMMY


@pytest.fixture(scope="module")
def telemetry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("telemetry") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS", "OTEL"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        # No Azure Monitor control plane and no SDK statistics: both would call out.
        "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), DUMMY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = span.get("attributes") or {}
    return found


def test_nothing_leaves_the_machine(telemetry: dict[str, Any]) -> None:
    assert telemetry["refused"] == []


def test_a_card_action_is_a_request_span_with_its_case_and_activity_ids(
    telemetry: dict[str, Any],
) -> None:
    requests = [
        s
        for s in telemetry["spans"]
        if s["kind"] == "SpanKind.SERVER" and s["name"] == "POST /api/messages"
    ]
    assert requests, [s["name"] for s in telemetry["spans"]]
    with_case = [s for s in requests if attributes(s).get("case_id") == telemetry["case_id"]]
    assert with_case, "no request span carries the case id"
    assert all(attributes(s).get("activity_id", "").startswith("in-") for s in with_case)
    assert all(attributes(s).get("http.status_code") == 200 for s in with_case)


def test_the_report_link_span_has_no_query_string(telemetry: dict[str, Any]) -> None:
    [report] = [s for s in telemetry["spans"] if s["name"] == "GET /reports/{board}/{start}/{end}"]
    assert attributes(report)["http.target"] == "/reports/redbridge/2026-04-01/2026-10-31"
    text = json.dumps(telemetry["spans"])
    assert "SECRETSIG" not in text and "sig=" not in text and "expires=" not in text


def test_calls_to_the_connector_and_the_token_endpoint_are_dependencies(
    telemetry: dict[str, Any],
) -> None:
    clients = [s for s in telemetry["spans"] if s["kind"] == "SpanKind.CLIENT"]
    urls = [str(attributes(s).get("http.url", "")) for s in clients]
    sends = [
        s
        for s, u in zip(clients, urls, strict=True)
        if "/v3/conversations/" in u and "/activities" in u
    ]
    assert sends, urls
    # A message the dispatcher sends about a case carries its id.
    assert any(attributes(s).get("case_id") == telemetry["case_id"] for s in sends)
    [token] = [u for u in urls if u.endswith("/msi/token")]
    assert "?" not in token  # the resource and client id were in its query
    assert not any("?" in u for u in urls)


def test_logs_carry_the_ids_and_no_exception_message(telemetry: dict[str, Any]) -> None:
    logs = telemetry["logs"]
    assert logs
    text = json.dumps(logs)
    assert "Any Street" not in text and "Mrs Example" not in text
    [failure] = [entry for entry in logs if entry.get("body") == "a failure, as the app logs one"]
    assert failure["attributes"]["exception.type"] == "ValueError"
    assert "ValueError" in failure["attributes"]["exception.stacktrace"]


def test_urls_lose_their_query_and_entity_keys() -> None:
    assert without_query("https://h/reports/a/b?expires=1&sig=x#top") == "https://h/reports/a/b"
    assert (
        without_query(
            "https://acct.table.core.windows.net/Directory(PartitionKey='person',RowKey='amara')"
        )
        == "https://acct.table.core.windows.net/Directory(…)"
    )
    assert without_query("/api/messages") == "/api/messages"


def test_a_stacktrace_keeps_its_frames_and_types_only() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "app.py", line 3, in f\n'
        "    raise KeyError(name)\n"
        "KeyError: 'Mrs Example'\n"
        "\nDuring handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "app.py", line 5, in g\n'
        "builtins.ValueError: Mrs Example again\n"
    )
    clean = stacktrace_without_messages(text)
    assert "Mrs Example" not in clean
    assert "KeyError" in clean and "builtins.ValueError" in clean and 'File "app.py"' in clean


def test_a_span_is_scrubbed_whatever_set_its_attributes() -> None:
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Status, StatusCode

    span = ReadableSpan(
        name="GET",
        attributes={
            "url.full": "https://h/p?sig=x",
            "url.query": "sig=x",
            "http.route": "/p",
        },
        events=[
            Event(
                "exception",
                {
                    "exception.type": "ValueError",
                    "exception.message": "Mrs Example",
                    "exception.stacktrace": "ValueError: Mrs Example",
                },
            )
        ],
        status=Status(StatusCode.ERROR, "Mrs Example"),
    )
    clean = scrub_span(span)
    assert dict(clean.attributes or {}) == {"url.full": "https://h/p", "http.route": "/p"}
    assert "Mrs Example" not in clean.to_json()
    assert clean.status.status_code == StatusCode.ERROR
