"""Generated requests, hostile ones included, against the real webhook and dispatcher over
real HTTP: never a 5xx other than the documented 503, never an error logged with a traceback,
always an answer in bounded time."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.dispatcher.app import DispatcherFunction
from gateways.hosting.server import Listener
from gateways.runtime import GatewayRuntime
from gateways.settings import Settings
from tests.hostile.servers import ErrorLog, LoopThread, exchange, http_request
from tests.hostile.stats import STATS
from tests.kit import configmap, free_port, write_registry
from tests.watcher import RecordingWatcher

ALLOWED = {200, 400, 401, 403, 404, 405, 413, 415, 503}
HMAC_SECRET = "hostile-hmac-secret"
TOKEN = "hostile-token"


class Servers:
    def __init__(self, tmp_path: Path) -> None:
        self.thread = LoopThread()
        self.errors = ErrorLog()
        logging.getLogger().addHandler(self.errors)
        self.port = free_port()
        self.watcher = self.thread.run(lambda: RecordingWatcher().start())
        sources = {
            "plain": {"endpoint": "/plain", "port": self.port, "methods": ["POST", "PUT"]},
            "token": {
                "endpoint": "/token",
                "port": self.port,
                "auth": {"bearerToken": {"env": "HOSTILE_TOKEN"}},
            },
            "signed": {
                "endpoint": "/signed",
                "port": self.port,
                "auth": {"hmac": {"secret": {"env": "HOSTILE_HMAC"}}},
            },
            "large": {"endpoint": "/large", "port": self.port, "maxPayloadSize": 3 << 20},
        }
        registry = write_registry(
            tmp_path / "registry.yaml",
            configmap("hooks", "webhook", sources, watchers=[self.watcher.url]),
            configmap("streams", "nats", {}, watchers=[self.watcher.url]),
        )
        settings = Settings(registry_file=registry, admin_port=free_port(), state_dir=tmp_path)
        self.gateway = GatewayRuntime(settings)
        self.thread.run(self.gateway.start)
        dispatcher_settings = Settings(
            registry_file=registry, admin_port=free_port(), max_request_bytes=1 << 20
        )
        self.dispatcher_app = DispatcherFunction(dispatcher_settings)
        self.dispatcher = Listener(self.dispatcher_app)
        self.thread.run(self.dispatcher_app.startup)
        self.thread.run(self.dispatcher.start)

    def close(self) -> None:
        self.thread.run(self.dispatcher.stop)
        self.thread.run(self.dispatcher_app.shutdown)
        self.thread.run(self.gateway.stop)
        self.thread.run(self.watcher.stop)
        self.thread.close()
        logging.getLogger().removeHandler(self.errors)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    mp = pytest.MonkeyPatch()
    mp.setenv("HOSTILE_TOKEN", TOKEN)
    mp.setenv("HOSTILE_HMAC", HMAC_SECRET)
    running = Servers(tmp_path_factory.mktemp("hostile"))
    yield running
    running.close()
    mp.undo()


token = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    min_size=1,
    max_size=20,
).map(str.encode)
header_value = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
        str.encode
    ),
    st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=80),
).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"").strip())
CE_HEADERS = [
    b"ce-id",
    b"ce-source",
    b"ce-type",
    b"ce-specversion",
    b"ce-subject",
    b"ce-time",
    b"ce-dataschema",
    b"content-type",
    b"authorization",
    b"x-hub-signature-256",
    b"ce-traceparent",
    b"ce-extension1",
]
headers = st.lists(
    st.tuples(st.one_of(st.sampled_from(CE_HEADERS), token), header_value), max_size=8
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _surrogates(text: str) -> str:
    return text.replace("\\u00e9", "\\ud800")  # a lone surrogate, as JSON may carry one


@st.composite
def bodies(draw: st.DrawFn, raw_share: int = 2) -> bytes:
    """Any body; ``raw_share`` in that many and four more are the dispatcher's raw events."""
    others = ["bytes", "json", "structured", "big"]
    kind = draw(st.sampled_from(["raw events"] * raw_share + others))
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    if kind == "big":
        return b"x" * draw(st.sampled_from([1 << 20, (1 << 20) + 1, (3 << 20) + 1]))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "structured":
        event = {
            "specversion": "1.0",
            "id": draw(st.text(max_size=10)),
            "source": "/s",
            "type": draw(st.text(max_size=10)),
            "data": draw(json_values),
        }
        event.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=3)))
        return _surrogates(json.dumps(event)).encode()
    any_text = st.text(max_size=20)
    content_types = st.sampled_from(
        [
            "application/json",
            "text/plain; charset=utf-8",
            "application/cloudevents+json",
            "x",
            "\u001f",
            "ü/x",
            "a/b; q=\u0000",
            "",
        ]
    )
    wrong = st.one_of(json_values, any_text)
    events = draw(
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "data": st.one_of(any_text, st.text(max_size=2000)),
                    "data_base64": st.one_of(st.binary(max_size=50).map(_b64), any_text),
                    "id": st.one_of(any_text, wrong),
                    "subject": any_text,
                    "time": st.one_of(st.sampled_from(["2026-01-01T00:00:00Z", "x"]), any_text),
                    "contenttype": st.one_of(content_types, wrong),
                    "action": st.one_of(st.sampled_from(["created", "a.b"]), any_text),
                    "binding": st.sampled_from(["none", "http", "kafka", "amqp", "mqtt", "x"]),
                    "extensions": st.one_of(
                        st.dictionaries(st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True), any_text),
                        st.dictionaries(any_text, any_text),
                        wrong,
                    ),
                    "headers": st.dictionaries(
                        st.sampled_from(
                            [
                                "ce-specversion",
                                "ce-id",
                                "ce-source",
                                "ce-type",
                                "ce_specversion",
                                "cloudEvents:id",
                                "specversion",
                                "x",
                            ]
                        ),
                        st.one_of(st.just("1.0"), any_text),
                    ),
                },
            ),
            min_size=1,
            max_size=4,
        )
    )
    document: Any = {
        "gateway": draw(st.sampled_from(["streams", "streams", "streams", "nope", ""])),
        "source": "s",
        "kind": "nats",
        "events": events,
    }
    if draw(st.integers(0, 9)) == 0:
        document = draw(json_values)
    return _surrogates(json.dumps(document).replace("\\u00e9", "\\ud800")).encode()


@st.composite
def requests(draw: st.DrawFn, paths: list[bytes], raw_share: int = 2) -> bytes:
    methods = [b"POST"] * 6 + [b"GET", b"PUT", b"HEAD", b"OPTIONS", b"DELETE"]
    method = draw(st.sampled_from(methods)) if draw(st.integers(0, 9)) else draw(token)
    path = draw(
        st.one_of(
            st.sampled_from(paths),
            st.sampled_from(paths),
            st.sampled_from(paths),
            st.sampled_from(
                [
                    b"/plain/",
                    b"//plain",
                    b"/plain/../plain",
                    b"/%2e%2e/plain",
                    b"/plain?x=1",
                    b"/pl%00ain",
                    b"/" + b"a" * 5000,
                ]
            ),
            st.binary(min_size=1, max_size=30).map(lambda b: b"/" + b.replace(b" ", b"")),
        )
    )
    chosen = draw(headers) if draw(st.booleans()) else []
    content_type = draw(
        st.sampled_from(
            [
                b"application/json",
                b"application/cloudevents+json",
                b"application/cloudevents-batch+json",
                b"text/plain",
                b"",
            ]
        )
    )
    if content_type:
        chosen.append((b"content-type", content_type))
    body = draw(bodies(raw_share))
    return http_request(method, path, chosen, body, chunked=draw(st.booleans()))


def check(servers: Servers, port: int, request: bytes, test: str) -> None:
    started = time.perf_counter()
    with STATS.case(test, request[:60].decode("latin-1")):
        status, answer = exchange(port, request)
    assert time.perf_counter() - started < 10.0
    STATS.outcome(test, str(status or "closed"))
    errors = servers.errors.take()
    assert not errors, errors
    if status is not None:  # aiohttp may close a connection it cannot parse at all
        assert status in ALLOWED, answer[:300]


@given(request=requests([b"/plain", b"/token", b"/signed", b"/large", b"/nowhere"]))
def test_generated_webhook_requests(servers: Servers, request: bytes) -> None:
    check(servers, servers.port, request, "webhook requests")


@given(request=requests([b"/", b"/dispatch"], raw_share=12))
def test_generated_dispatcher_requests(servers: Servers, request: bytes) -> None:
    check(servers, servers.dispatcher.port, request, "dispatcher requests")
