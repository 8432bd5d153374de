"""Adapter settings: K_SINK is the dispatcher in http mode, every bad value names its variable."""

from __future__ import annotations

import pytest

from gateways.adapter.settings import AdapterSettings
from gateways.errors import SettingsError


def test_defaults_are_direct_with_a_built_in_server_on_loopback() -> None:
    settings = AdapterSettings.from_env("nats", {})
    assert settings.dispatch == "direct" and settings.dispatcher_url is None
    assert settings.event_source_server is None
    assert (settings.server_host, settings.server_port) == ("127.0.0.1", 0)


def test_k_sink_is_the_dispatcher_and_not_a_watcher() -> None:
    settings = AdapterSettings.from_env("nats", {"K_SINK": "http://dispatcher.default.svc"})
    assert settings.dispatch == "http"
    assert settings.dispatcher_url == "http://dispatcher.default.svc"
    assert settings.base.sink is None


def test_dispatcher_url_wins_over_k_sink() -> None:
    settings = AdapterSettings.from_env(
        "nats",
        {
            "K_SINK": "http://broker-ingress/ns/default",
            "GATEWAYS_DISPATCHER_URL": "http://gateway.openfaas:8080/function/dispatcher",
        },
    )
    assert settings.dispatcher_url == "http://gateway.openfaas:8080/function/dispatcher"


def test_direct_mode_keeps_k_sink_as_a_watcher() -> None:
    env = {"K_SINK": "http://broker-ingress/ns/default", "GATEWAYS_DISPATCH": "direct"}
    settings = AdapterSettings.from_env("nats", env)
    assert settings.dispatch == "direct" and settings.base.sink == env["K_SINK"]


def test_custom_server_and_tuning() -> None:
    settings = AdapterSettings.from_env(
        "ticker",
        {
            "GATEWAYS_EVENT_SOURCE_SERVER": "127.0.0.1:50051",
            "GATEWAYS_BATCH_SIZE": "10",
            "GATEWAYS_BATCH_LINGER": "5ms",
            "GATEWAYS_DISPATCH_CONCURRENCY": "4",
            "GATEWAYS_DISPATCH_TIMEOUT": "2s",
            "GATEWAYS_DISPATCH_RETRIES": "0",
            "GATEWAYS_SHUTDOWN_GRACE": "1m",
        },
    )
    assert settings.event_source_server == ("127.0.0.1", 50051)
    assert settings.server_address == "127.0.0.1:50051"
    assert (settings.batch_size, settings.batch_linger) == (10, 0.005)
    assert (settings.max_requests, settings.dispatch_timeout, settings.dispatch_retries) == (
        4,
        2,
        0,
    )
    assert settings.shutdown_grace == 60


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAYS_DISPATCH": "carrier-pigeon"}, "GATEWAYS_DISPATCH: 'carrier-pigeon'"),
        ({"GATEWAYS_DISPATCH": "http"}, "GATEWAYS_DISPATCHER_URL: required"),
        ({"GATEWAYS_DISPATCHER_URL": "dispatcher:8080"}, "GATEWAYS_DISPATCHER_URL: 'dispatcher"),
        ({"K_SINK": "ftp://x"}, "K_SINK: 'ftp://x' is not"),
        ({"GATEWAYS_EVENT_SOURCE_SERVER": "grpc://h:1"}, "GATEWAYS_EVENT_SOURCE_SERVER: "),
        ({"GATEWAYS_EVENT_SOURCE_SERVER": "h"}, "GATEWAYS_EVENT_SOURCE_SERVER: 'h' is not"),
        ({"GATEWAYS_BATCH_SIZE": "0"}, "GATEWAYS_BATCH_SIZE: 0 is not between 1"),
        ({"GATEWAYS_BATCH_LINGER": "soon"}, "GATEWAYS_BATCH_LINGER: 'soon' is not a duration"),
        ({"GATEWAYS_EVENT_SOURCE_PORT": "x"}, "GATEWAYS_EVENT_SOURCE_PORT: 'x' is not an"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AdapterSettings.from_env("nats", env)
    assert str(caught.value).startswith(message)
