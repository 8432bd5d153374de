from datetime import timedelta

import pytest

from gateways.delivery import DeliverySpec, parse_iso8601_duration
from gateways.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT0.2S", 0.2),
        ("PT1S", 1),
        ("PT1M", 60),
        ("PT1M30S", 90),
        ("PT1H", 3600),
        ("PT1,5S", 1.5),
        ("P1D", 86400),
        ("P1DT2H", 86400 + 7200),
        ("P2W", 2 * 7 * 86400),
        ("P1DT1H1M1.5S", 86400 + 3600 + 60 + 1.5),
        ("PT0S", 0),
        (" PT10S ", 10),
    ],
)
def test_iso8601_durations(text: str, seconds: float) -> None:
    assert parse_iso8601_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["PT", "P", "", "10s", "PT-1S", "T1S", "P1H", "PT1D", "1S", "P1DT", "PTS", "PT1.S"]
)
def test_not_iso8601_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO-8601 duration"):
        parse_iso8601_duration(text)


@pytest.mark.parametrize("text", ["P1Y", "P1M", "P1Y2M3DT4H"])
def test_years_and_months_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="no fixed length"):
        parse_iso8601_duration(text)


@pytest.mark.parametrize("value", [5, 1.5, None, True])
def test_non_strings_are_not_durations(value: object) -> None:
    with pytest.raises(ValueError, match="is not an ISO-8601 duration"):
        parse_iso8601_duration(value)


def test_defaults_when_nothing_is_configured() -> None:
    expected = DeliverySpec(
        retry=3,
        backoff_policy="exponential",
        backoff_delay=timedelta(seconds=0.2),
        timeout=timedelta(seconds=10),
        dead_letter_sink=None,
    )
    assert DeliverySpec() == expected
    assert DeliverySpec.parse(None) == expected
    assert DeliverySpec.parse({}) == expected
    assert DeliverySpec.parse("") == expected


def test_parse_every_field() -> None:
    spec = DeliverySpec.parse(
        {
            "retry": 5,
            "backoffPolicy": "linear",
            "backoffDelay": "PT0.5S",
            "timeout": "PT3S",
            "retryAfterMax": "PT0S",
            "deadLetterSink": "http://dls.default.svc.cluster.local/",
        }
    )
    assert spec == DeliverySpec(
        retry=5,
        backoff_policy="linear",
        backoff_delay=timedelta(seconds=0.5),
        timeout=timedelta(seconds=3),
        retry_after_max=timedelta(0),
        dead_letter_sink="http://dls.default.svc.cluster.local/",
    )


def test_parse_yaml_text() -> None:
    spec = DeliverySpec.parse("retry: 1\nbackoffDelay: PT1S\ndeadLetterSink: {uri: http://d/}\n")
    assert spec.retry == 1
    assert spec.backoff_delay == timedelta(seconds=1)
    assert spec.dead_letter_sink == "http://d/"


def test_dead_letter_sink_as_knative_destination() -> None:
    assert DeliverySpec.parse(
        {"deadLetterSink": {"uri": "https://dls.example/x"}}
    ).dead_letter_sink == ("https://dls.example/x")
    with_both = {"uri": "http://dls/", "ref": {"kind": "Service", "name": "dls"}}
    assert DeliverySpec.parse({"deadLetterSink": with_both}).dead_letter_sink == "http://dls/"


def test_dead_letter_ref_alone_is_refused_with_a_clear_problem() -> None:
    ref = {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "dls"}}
    with pytest.raises(ConfigError) as caught:
        DeliverySpec.parse({"deadLetterSink": ref})
    assert caught.value.problems == (
        "delivery: deadLetterSink.ref: a Kubernetes reference cannot be resolved here; "
        "give deadLetterSink.uri",
    )


def test_every_problem_is_listed_naming_its_field() -> None:
    with pytest.raises(ConfigError) as caught:
        DeliverySpec.parse(
            {
                "retry": -1,
                "backoffPolicy": "fibonacci",
                "backoffDelay": "PT",
                "timeout": "10s",
                "retryAfterMax": "P1M",
                "deadLetterSink": "ftp://dls/",
                "retries": 3,
            },
            "webhook/example: delivery",
        )
    assert caught.value.problems == (
        "webhook/example: delivery: retry: -1 is less than 0",
        "webhook/example: delivery: backoffPolicy: 'fibonacci' is not one of exponential, linear",
        "webhook/example: delivery: backoffDelay: 'PT' is not an ISO-8601 duration",
        "webhook/example: delivery: timeout: '10s' is not an ISO-8601 duration",
        "webhook/example: delivery: retryAfterMax: 'P1M': years and months have no fixed length;"
        " use days (P30D)",
        "webhook/example: delivery: deadLetterSink: 'ftp://dls/' is not an absolute http or"
        " https URL",
        "webhook/example: delivery: retries: unknown field",
    )


def test_default_label_and_message() -> None:
    with pytest.raises(
        ConfigError, match=r"^delivery: backoffDelay: 'PT' is not an ISO-8601 duration$"
    ):
        DeliverySpec.parse({"backoffDelay": "PT"})


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"retry": "many"}, "delivery: retry: 'many' is not an integer"),
        ({"retry": True}, "delivery: retry: True is not an integer"),
        ({"timeout": "PT0S"}, "delivery: timeout: must be longer than zero"),
        (
            {"deadLetterSink": {"uri": "/relative"}},
            "delivery: deadLetterSink.uri: '/relative' is not",
        ),
        ({"deadLetterSink": {"url": "http://x/"}}, "delivery: deadLetterSink.url: unknown field"),
        ("[1, 2]", "delivery: expected a mapping of fields, got list"),
    ],
)
def test_single_problems(raw: object, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DeliverySpec.parse(raw)  # type: ignore[arg-type]
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_delay_follows_knative_backoff_policies() -> None:
    exponential = DeliverySpec(backoff_policy="exponential", backoff_delay=timedelta(seconds=0.2))
    assert [exponential.delay(n) for n in (1, 2, 3)] == pytest.approx([0.4, 0.8, 1.6])
    linear = DeliverySpec(backoff_policy="linear", backoff_delay=timedelta(seconds=0.2))
    assert [linear.delay(n) for n in (1, 2, 3)] == pytest.approx([0.2, 0.4, 0.6])
    assert exponential.delay(500) == 3600.0  # capped, no overflow


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    spec = DeliverySpec(backoff_delay=timedelta(seconds=0.1), retry_after_max=timedelta(seconds=5))
    assert spec.retry_policy().wait(1, None) == pytest.approx(0.2)
    assert spec.retry_policy().wait(1, 0.05) == pytest.approx(0.2)  # never shorter than the backoff
    assert spec.retry_policy().wait(1, 2) == 2
    assert spec.retry_policy().wait(1, 60) == 5
    ignoring = DeliverySpec(backoff_delay=timedelta(seconds=0.1), retry_after_max=timedelta(0))
    assert ignoring.retry_policy().wait(1, 60) == pytest.approx(0.2)
