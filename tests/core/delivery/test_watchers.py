import pytest

from gateways.delivery import Watcher, parse_watchers, watchers_from_env
from gateways.delivery.watchers import CONSOLE_WATCHER
from gateways.errors import ConfigError, SettingsError


def test_urls_console_and_explicit_items() -> None:
    watchers = parse_watchers(
        [
            "http://sensor.default.svc.cluster.local:9300/",
            "console",
            {"url": "https://broker.example/ns/default", "mode": "structured", "name": "broker"},
        ]
    )
    assert watchers == (
        Watcher("http://sensor.default.svc.cluster.local:9300/"),
        CONSOLE_WATCHER,
        Watcher("https://broker.example/ns/default", "structured", "broker"),
    )
    assert watchers[0].mode == "binary"
    assert watchers[1].is_console and watchers[1].mode == "structured"


def test_yaml_text_and_single_url() -> None:
    text = "- http://a.example/\n- {url: http://b.example/, mode: structured}\n"
    assert parse_watchers(text) == (
        Watcher("http://a.example/"),
        Watcher("http://b.example/", "structured"),
    )
    assert parse_watchers("http://a.example/") == (Watcher("http://a.example/"),)
    assert parse_watchers(None) == ()


def test_argo_v010_form_maps_to_in_cluster_services() -> None:
    argo = {
        "sensors": [{"name": "webhook-sensor"}, {"name": "far-sensor", "namespace": "other"}],
        "gateways": [{"name": "webhook-gateway", "port": "9070", "endpoint": "/notifications"}],
    }
    assert parse_watchers(argo, namespace="argo-events") == (
        Watcher(
            "http://webhook-sensor-svc.argo-events.svc.cluster.local:9300/", name="webhook-sensor"
        ),
        Watcher("http://far-sensor-svc.other.svc.cluster.local:9300/", name="far-sensor"),
        Watcher(
            "http://webhook-gateway-svc.argo-events.svc.cluster.local:9070/notifications",
            name="webhook-gateway",
        ),
    )


def test_argo_form_inside_a_list_and_sensor_port() -> None:
    watchers = parse_watchers(
        ["console", {"sensors": [{"name": "s"}]}], namespace="ns", sensor_port=9301
    )
    assert watchers == (
        CONSOLE_WATCHER,
        Watcher("http://s-svc.ns.svc.cluster.local:9301/", name="s"),
    )


def test_every_problem_is_listed() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_watchers(
            [
                "ftp://nope/",
                {"url": "http://a/", "mode": "batch", "colour": "red"},
                {"mode": "binary"},
                {"sensors": [{"namespace": "x"}], "gateways": [{"name": "g"}]},
                42,
                "http://dup/",
                "http://dup/",
            ]
        )
    assert caught.value.problems == (
        "watchers: [0]: 'ftp://nope/' is not an absolute http or https URL, nor 'console'",
        "watchers: [1].colour: unknown field",
        "watchers: [1].mode: 'batch' is not one of binary, structured",
        "watchers: [2].url: is required",
        "watchers: [3].sensors[0].name: is required",
        "watchers: [3].gateways[0].port: is required",
        "watchers: [4]: expected a URL or a mapping, got int",
        "watchers: http://dup/: listed more than once",
    )


def test_label_names_the_gateway() -> None:
    with pytest.raises(ConfigError, match=r"^configmap/hooks: watchers: \[0\]: 'x' is not"):
        parse_watchers(["x"], "configmap/hooks: watchers")


def test_k_sink_becomes_a_watcher() -> None:
    env = {"K_SINK": "http://broker-ingress.knative-eventing.svc.cluster.local/default/default"}
    assert watchers_from_env(env) == (
        Watcher(
            "http://broker-ingress.knative-eventing.svc.cluster.local/default/default",
            name="K_SINK",
        ),
    )


def test_gateways_watchers_variable_adds_urls_and_console() -> None:
    env = {"K_SINK": "http://sink/", "GATEWAYS_WATCHERS": "http://sink/, console ,http://b/"}
    assert watchers_from_env(env) == (
        Watcher("http://sink/", name="K_SINK"),
        CONSOLE_WATCHER,
        Watcher("http://b/"),
    )
    assert watchers_from_env({}) == ()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"K_SINK": "broker"}, "K_SINK"),
        ({"GATEWAYS_WATCHERS": "http://a/,nope"}, "GATEWAYS_WATCHERS"),
    ],
)
def test_bad_environment_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        watchers_from_env(env)
    assert caught.value.variable == variable
