"""Trace context on every event: the CloudEvents distributed-tracing extension.

Every CloudEvent the builder makes carries ``traceparent`` (and ``tracestate`` when there is
one), W3C Trace Context values:

- the one that arrived with the event: an HTTP request's ``traceparent``/``tracestate``
  headers, a broker message's headers or properties (NATS, Kafka, AMQP, MQTT 5), or the
  attribute of an incoming CloudEvent, which keeps its own;
- else one started here. Without OpenTelemetry its ids are derived from the event's
  ``source`` and ``id`` (a SHA-256), so a redelivered event stays in its trace, and it is
  marked sampled (``-01``): the gateway is where the trace starts, and a downstream tracer
  with a parent-based sampler then records what the event causes. With OpenTelemetry the
  SDK's span (and its sampler) starts it.

Each delivery to a watcher also carries the W3C ``traceparent``/``tracestate`` HTTP headers
(the hop's context: the ``deliver`` span with OpenTelemetry, else the event's own), besides
the ``ce-traceparent`` attribute header of binary mode or the attribute in structured JSON.

OpenTelemetry spans (``receive``, ``dispatch``, ``deliver`` per watcher) are made only when
the standard environment configures an exporter (``OTEL_TRACES_EXPORTER``, or an
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) and the SDK
imports; otherwise the SDK is never imported and each hook costs one test of ``_tracer``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# version-traceid-parentid-flags; a later version may append fields after another '-'.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_TRACESTATE_MAX = 512  # W3C: a vendor may drop a longer tracestate
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
SAMPLED = "01"

_tracer: Any = None  # an OpenTelemetry Tracer when spans are on, else None
_provider: Any = None  # the TracerProvider this module made (shut down at exit)


@dataclass(frozen=True, slots=True)
class TraceContext:
    """A valid ``traceparent`` and, optionally, its ``tracestate``."""

    traceparent: str
    tracestate: str | None = None

    @property
    def trace_id(self) -> str:
        return self.traceparent[3:35]

    @property
    def parent_id(self) -> str:
        return self.traceparent[36:52]

    def headers(self) -> dict[str, str]:
        """The W3C headers (and CloudEvent attributes) of this context."""
        found = {TRACEPARENT: self.traceparent}
        if self.tracestate:
            found[TRACESTATE] = self.tracestate
        return found


def valid_traceparent(value: object) -> bool:
    """True for a W3C ``traceparent`` this gateway may carry on (lower-case hex, ids not 0)."""
    if not isinstance(value, str):
        return False
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return False
    version, trace_id, parent_id, _, rest = match.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return False
    return version != "00" or rest is None  # version 00 has exactly four fields


def context(traceparent: object, tracestate: object = None) -> TraceContext | None:
    """The context these values make, or None when ``traceparent`` is not valid (then the
    W3C rules say to ignore ``tracestate`` too and start afresh)."""
    if not valid_traceparent(traceparent):
        return None
    assert isinstance(traceparent, str)
    state = tracestate if isinstance(tracestate, str) else None
    if state is not None:
        state = state.strip()
        if not state or len(state) > _TRACESTATE_MAX or not _PRINTABLE.fullmatch(state):
            state = None
    return TraceContext(traceparent, state)


def from_headers(headers: Mapping[str, str]) -> TraceContext | None:
    """The trace context a transport's headers carry (names matched case-insensitively)."""
    if not headers:
        return None
    parent = headers.get(TRACEPARENT)
    state = headers.get(TRACESTATE)
    if parent is None:
        for name, value in headers.items():
            lowered = name.lower()
            if lowered == TRACEPARENT:
                parent = value
            elif lowered == TRACESTATE:
                state = value
    return None if parent is None else context(parent.strip(), state)


def of_event(attributes: Mapping[str, Any]) -> TraceContext | None:
    """The trace context an event's attributes carry, if valid."""
    return context(attributes.get(TRACEPARENT), attributes.get(TRACESTATE))


def derived(source: str, event_id: str) -> TraceContext:
    """A new trace for an event, its ids derived from the event's identity."""
    digest = hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()
    trace_id, parent_id = digest[:32], digest[32:48]
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:  # never, but 0 is invalid
        trace_id, parent_id = digest[16:48], digest[48:64]
    return TraceContext(f"00-{trace_id}-{parent_id}-{SAMPLED}")


def started(source: str, event_id: str) -> TraceContext:
    """The trace an event starts, when none arrived with it.

    With spans on: the current span's (a ``receive`` span of this process), else a
    ``receive`` span made here for it. Otherwise derived from the event's identity.
    """
    if _tracer is None:
        return derived(source, event_id)
    current = current_context()
    if current is not None:
        return current
    with _tracer.start_as_current_span(
        "receive", kind=_kind("CONSUMER"), attributes=_event_attributes(source, event_id)
    ) as span:
        return _context_of(span) or derived(source, event_id)


# ---------------------------------------------------------------------- OpenTelemetry spans


def active() -> bool:
    return _tracer is not None


@contextmanager
def receive(origin: Any, headers: Mapping[str, str]) -> Iterator[TraceContext | None]:
    """A ``receive`` span around the handling of one incoming event, child of the trace
    context in ``headers``. Yields the context an event started here should carry (the
    incoming one, else the span's); None when spans are off."""
    if _tracer is None:
        yield None
        return
    incoming = from_headers(headers)
    attributes = {"gateways.gateway": origin.gateway, "gateways.source": origin.source}
    with _tracer.start_as_current_span(
        "receive", context=_parent(incoming), kind=_kind("CONSUMER"), attributes=attributes
    ) as span:
        yield incoming or _context_of(span)


@contextmanager
def span(name: str, event: Any, **attributes: Any) -> Iterator[Any]:
    """A span about ``event`` (a CloudEvent), child of the current span when there is one,
    else of the event's ``traceparent``; yields the span (None when spans are off)."""
    if _tracer is None:
        yield None
        return
    parent = None if current_context() is not None else _parent(of_event(event.attributes))
    details = _event_attributes(event.source, event.id)
    details["cloudevents.event_type"] = event.type
    details.update(attributes)
    with _tracer.start_as_current_span(
        name, context=parent, kind=_kind("PRODUCER" if name == "deliver" else "INTERNAL")
    ) as current:
        current.set_attributes(details)
        yield current


def record(current: Any, status: int | None, error: str | None) -> None:
    """A ``deliver`` span's outcome: the watcher's last status, and an error when refused."""
    if current is None:
        return
    if status is not None:
        current.set_attribute("http.response.status_code", status)
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        current.set_status(Status(StatusCode.ERROR, error))


def hop_headers(event: Any, current: Any = None) -> dict[str, str]:
    """The W3C headers of one delivery of ``event``: the span's context, else the event's
    (a pass-through CloudEvent without one: derived from its identity, the event unchanged)."""
    if current is not None:
        found = _context_of(current)
        if found is not None:
            return found.headers()
    trace = of_event(event.attributes) or derived(event.source, event.id)
    return trace.headers()


def current_context() -> TraceContext | None:
    if _tracer is None:
        return None
    from opentelemetry import trace

    return _context_of(trace.get_current_span())


def enable(provider: Any) -> None:
    """Make spans with ``provider`` (an SDK TracerProvider); tests pass one with an in-memory
    exporter, processes call :func:`configure_from_env`."""
    global _tracer
    _tracer = provider.get_tracer("gateways")


def disable() -> None:
    global _tracer, _provider
    _tracer = None
    if _provider is not None:
        _provider.shutdown()  # exports what the batch processors still hold
        _provider = None


def configure_from_env(env: Mapping[str, str], service: str = "gateways") -> bool:
    """Turn spans on when the OpenTelemetry environment names an exporter; True if on.

    A named exporter that cannot be loaded (its package not installed) is one WARNING naming
    the variable, and spans stay off: tracing never stops a process.
    """
    global _provider
    exporters = _exporter_names(env)
    if not exporters:
        return False
    try:
        from importlib.metadata import entry_points

        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        found = {e.name: e for e in entry_points(group="opentelemetry_traces_exporter")}
        missing = [name for name in exporters if name not in found]
        if missing:
            log.warning(
                "OTEL_TRACES_EXPORTER: no exporter named %s is installed; tracing spans are off",
                ", ".join(missing),
            )
            return False
        resource = Resource.create()
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: service}))
        provider = TracerProvider(resource=resource)  # OTEL_TRACES_SAMPLER applies
        for name in exporters:
            provider.add_span_processor(BatchSpanProcessor(found[name].load()()))
    except Exception as exc:  # a broken exporter package must not stop the process
        log.warning("OpenTelemetry could not be set up; tracing spans are off: %s", exc)
        return False
    _provider = provider
    enable(provider)
    log.info("OpenTelemetry spans on, exported by %s", ", ".join(exporters))
    return True


def _exporter_names(env: Mapping[str, str]) -> list[str]:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [n.strip() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if not named and (
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        named = ["otlp"]
    return [n for n in named if n != "none"]


def _context_of(current: Any) -> TraceContext | None:
    span_context = current.get_span_context()
    if not span_context.is_valid:
        return None
    traceparent = (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{int(span_context.trace_flags):02x}"
    )
    return context(traceparent, span_context.trace_state.to_header() or None)


def _parent(trace: TraceContext | None) -> Any:
    """An OpenTelemetry Context whose span is the remote parent ``trace`` names."""
    if trace is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract(trace.headers())


def _kind(name: str) -> Any:
    from opentelemetry.trace import SpanKind

    return getattr(SpanKind, name)


def _event_attributes(source: str, event_id: str) -> dict[str, Any]:
    return {"cloudevents.event_source": source, "cloudevents.event_id": event_id}
