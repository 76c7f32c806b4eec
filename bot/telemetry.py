"""Telemetry to Application Insights (Azure Monitor OpenTelemetry), only when
APPLICATIONINSIGHTS_CONNECTION_STRING is set: without it nothing is configured or patched.

What is sent: a span for each request the app answers (method, route, path, status, time), one
for each call it makes (the Bot Connector and storage over aiohttp, the Azure SDK's own, and the
managed identity's token endpoint, which botbuilder calls with `requests`, blocking, on the
event loop), the app's own log lines (the `escalation` loggers), and Azure Monitor's standard
metrics. Every span and log line carries the `case_id` and `activity_id` the JSON logs carry.

What is never sent: a query string (a report link's signature is in one) or a URL fragment, the
keys of a table entity in a storage URL (person and case ids), an exception's message or the
description of a span's status (either may repeat what someone wrote), and no request or
response body is read, so no message text and no names.

The spans are exported through `QueryFreeExporter`, which takes these out of every span whatever
set them and whenever: the instrumentations set some attributes after a span starts.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status
from opentelemetry.util.types import AttributeValue

from bot.logs import activity_id_var, case_id_var

log = logging.getLogger("escalation.telemetry")

CONNECTION_STRING_ENV: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
SERVICE: Final = "sab-escalation"
RESOURCE_DETECTORS_ENV: Final = "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS"
CASE_ID: Final = "case_id"
ACTIVITY_ID: Final = "activity_id"
# Attributes that hold a whole URL or a path with its query (old and new HTTP conventions).
URL_ATTRIBUTES: Final = frozenset({"http.url", "url.full", "http.target", "url.path"})
DROPPED_ATTRIBUTES: Final = frozenset({"url.query", "exception.message"})
# An Azure Table entity's keys in a URL path: Table(PartitionKey='…',RowKey='…').
_ENTITY_KEYS = re.compile(r"\(([^)/]*)\)")
# A traceback's exception lines ("ValueError: what was sent"): the type is kept, not the message.
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(: .*)?$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
P = ParamSpec("P")
T = TypeVar("T")


def without_query(url: str) -> str:
    """A URL or path with no query string or fragment, and no table entity keys in its path."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0]
    path = _ENTITY_KEYS.sub("(…)", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def stacktrace_without_messages(text: str) -> str:
    """A formatted traceback with each exception's message taken out: the frames and the
    exception types stay (the same rule as the JSON logs, bot.logs.trace_without_messages)."""
    kept: list[str] = []
    for line in text.splitlines():
        if line.startswith((" ", "\t", "Traceback ")) or not line.strip():
            kept.append(line)
            continue
        if line.startswith(("During handling of", "The above exception")):
            kept.append(line)
            continue
        match = _EXCEPTION_LINE.match(line)
        kept.append(match.group(1) if match else "(message left out)")
    return "\n".join(kept)


def _scrubbed(attributes: Mapping[str, AttributeValue] | None) -> dict[str, AttributeValue]:
    clean: dict[str, AttributeValue] = {}
    for key, value in (attributes or {}).items():
        if key in DROPPED_ATTRIBUTES:
            continue
        if key in URL_ATTRIBUTES and isinstance(value, str):
            clean[key] = without_query(value)
        elif key == "exception.stacktrace" and isinstance(value, str):
            clean[key] = stacktrace_without_messages(value)
        else:
            clean[key] = value
    return clean


def scrub_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of the span as it may leave the app (see the module's docstring)."""
    events = [
        Event(event.name, _scrubbed(event.attributes), event.timestamp) for event in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_scrubbed(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),  # the description may hold an error's text
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class QueryFreeExporter(SpanExporter):
    """Exports each span through `scrub_span`."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([scrub_span(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _ids() -> dict[str, str]:
    ids = {CASE_ID: case_id_var.get(), ACTIVITY_ID: activity_id_var.get()}
    return {key: value for key, value in ids.items() if value}


class CaseIdsOnSpans(SpanProcessor):
    """A span started while a case or an activity is being handled carries their ids."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for key, value in _ids().items():
            span.set_attribute(key, value)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class CaseIdsOnLogs(LogRecordProcessor):
    """Each log line carries the ids the JSON line carries, and no exception message."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = log_record.log_record
        attributes: Any = record.attributes
        if attributes is None:
            return
        for key, value in _ids().items():
            attributes[key] = value
        attributes.pop("exception.message", None)
        stacktrace = attributes.get("exception.stacktrace")
        if isinstance(stacktrace, str):
            attributes["exception.stacktrace"] = stacktrace_without_messages(stacktrace)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@web.middleware
async def ids_on_request_span(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Inside the request's span: the ids the request came to concern, once it is answered
    (the activity id is known only after the edge has checked the activity, the case id only
    during the turn). aiohttp runs each request in a task of its own, so the ids of one
    request never reach another's span."""
    try:
        return await handler(request)
    finally:
        span = trace.get_current_span()
        for key, value in _ids().items():
            span.set_attribute(key, value)


class ContextCopyingExecutor(ThreadPoolExecutor):
    """The event loop's default executor, carrying each caller's context into the thread.

    botbuilder's Bot Connector client sends with `requests` through `loop.run_in_executor`,
    which (unlike asyncio.to_thread) runs the call without the caller's context: its spans
    would lose their parent request and the case and activity ids."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        context = contextvars.copy_context()

        def in_context() -> T:
            return context.run(fn, *args, **kwargs)

        return super().submit(in_context)


async def carry_context_into_threads(_: web.Application) -> None:
    """An on_startup hook: the app's event loop runs executor calls in the caller's context."""
    asyncio.get_running_loop().set_default_executor(
        ContextCopyingExecutor(thread_name_prefix="escalation")
    )


def telemetry_configured() -> bool:
    """Whether this process already sends telemetry (configure_telemetry ran)."""
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

    return bool(AioHttpServerInstrumentor().is_instrumented_by_opentelemetry)


def configure_telemetry(
    connection_string: str,
    *,
    span_exporter: SpanExporter | None = None,
    live_metrics: bool = False,
) -> None:
    """Send telemetry to the Application Insights resource of `connection_string`, once per
    process (each gunicorn worker, after its fork). `span_exporter` replaces Azure Monitor's
    trace exporter (tests). Call it before the app's web.Application is made: the aiohttp
    server instrumentation wraps every application made after it."""
    if not connection_string or telemetry_configured():
        return
    # Imported here: the Azure Monitor distro and the instrumentations are loaded only when
    # telemetry is wanted.
    from azure.core.settings import settings as azure_core_settings
    from azure.core.tracing.ext.opentelemetry_span import OpenTelemetrySpan
    from azure.monitor.opentelemetry import configure_azure_monitor
    from azure.monitor.opentelemetry.exporter import (
        ApplicationInsightsSampler,
        AzureMonitorTraceExporter,
    )
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

    # The app runs on App Service: its resource attributes come from there, and there is no
    # Azure VM metadata endpoint to ask (the distro's default asks both).
    os.environ.setdefault(RESOURCE_DETECTORS_ENV, "azure_app_service")
    resource = Resource.create({SERVICE_NAME: SERVICE})
    # Spans: this app's own pipeline, so that every span leaves through QueryFreeExporter.
    tracer_provider = TracerProvider(
        resource=resource, sampler=ApplicationInsightsSampler(sampling_ratio=1.0)
    )
    tracer_provider.add_span_processor(CaseIdsOnSpans())
    exporter = span_exporter or AzureMonitorTraceExporter(connection_string=connection_string)
    tracer_provider.add_span_processor(BatchSpanProcessor(QueryFreeExporter(exporter)))
    trace.set_tracer_provider(tracer_provider)
    azure_core_settings.tracing_implementation = OpenTelemetrySpan  # the Azure SDK's spans
    # Logs (the app's loggers only), metrics, and the distro's instrumentations (requests,
    # urllib3, urllib: the managed identity's token requests), on the tracer provider above.
    configure_azure_monitor(
        connection_string=connection_string,
        resource=resource,
        disable_tracing=True,
        logger_name="escalation",
        log_record_processors=[CaseIdsOnLogs()],
        enable_live_metrics=live_metrics,
    )
    AioHttpServerInstrumentor().instrument(tracer_provider=tracer_provider)
    AioHttpClientInstrumentor().instrument(tracer_provider=tracer_provider)
    log.info("telemetry: Application Insights")
