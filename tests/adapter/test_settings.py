"""Adapter settings: K_SINK is a CloudEvents destination (a watcher) in every mode, the
dispatcher function is GATEWAYS_DISPATCHER_URL only; every bad value names its variable."""

from __future__ import annotations

import pytest

from gateways.adapter.settings import AdapterSettings
from gateways.config.server import ServerSpec
from gateways.errors import SettingsError

BROKER = "http://broker-ingress.knative-eventing.svc.cluster.local/gateways/default"
DISPATCHER = "http://dispatcher.gateways.svc.cluster.local"


def test_defaults_are_direct_with_a_built_in_server_on_loopback() -> None:
    settings = AdapterSettings.from_env("nats", {})
    assert settings.dispatch == "direct" and settings.dispatcher_url is None
    assert settings.event_source_server is None
    assert (settings.server_host, settings.server_port) == ("127.0.0.1", 0)


def test_k_sink_alone_is_a_watcher_in_direct_mode() -> None:
    settings = AdapterSettings.from_env("nats", {"K_SINK": BROKER})
    assert settings.dispatch == "direct" and settings.dispatcher_url is None
    assert settings.base.sink == BROKER


def test_the_dispatcher_url_selects_http_and_k_sink_stays_a_watcher() -> None:
    settings = AdapterSettings.from_env(
        "nats", {"K_SINK": BROKER, "GATEWAYS_DISPATCHER_URL": DISPATCHER}
    )
    assert settings.dispatch == "http" and settings.dispatcher_url == DISPATCHER
    assert settings.base.sink == BROKER  # for events too large for the dispatcher


def test_direct_mode_ignores_a_dispatcher_url() -> None:
    env = {"GATEWAYS_DISPATCHER_URL": DISPATCHER, "GATEWAYS_DISPATCH": "direct", "K_SINK": BROKER}
    settings = AdapterSettings.from_env("nats", env)
    assert settings.dispatch == "direct" and settings.base.sink == BROKER


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
    assert settings.event_source_server == ServerSpec("127.0.0.1:50051")
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
        ({"GATEWAYS_DISPATCH": "http", "K_SINK": BROKER}, "GATEWAYS_DISPATCHER_URL: required"),
        ({"GATEWAYS_DISPATCHER_URL": "dispatcher:8080"}, "GATEWAYS_DISPATCHER_URL: 'dispatcher"),
        ({"K_SINK": "ftp://x"}, "K_SINK: 'ftp://x' is not"),
        ({"K_SINK": "ftp://x", "GATEWAYS_DISPATCHER_URL": DISPATCHER}, "K_SINK: 'ftp://x' is"),
        ({"GATEWAYS_WATCHERS": "sensor"}, "GATEWAYS_WATCHERS: 'sensor' is not"),
        ({"GATEWAYS_EVENT_SOURCE_SERVER": "grpc://h:1"}, "GATEWAYS_EVENT_SOURCE_SERVER: "),
        (
            {"GATEWAYS_EVENT_SOURCE_SERVER": "h"},
            "GATEWAYS_EVENT_SOURCE_SERVER: address: 'h' is not",
        ),
        ({"GATEWAYS_BATCH_SIZE": "0"}, "GATEWAYS_BATCH_SIZE: 0 is not between 1"),
        ({"GATEWAYS_BATCH_LINGER": "soon"}, "GATEWAYS_BATCH_LINGER: 'soon' is not a duration"),
        ({"GATEWAYS_EVENT_SOURCE_PORT": "x"}, "GATEWAYS_EVENT_SOURCE_PORT: 'x' is not an"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AdapterSettings.from_env("nats", env)
    assert str(caught.value).startswith(message)
