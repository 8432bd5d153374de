"""Resource config: group/version/kind or resource, event types, selectors and filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.resource.config import EVENT_TYPES, ResourceConfig, ResourceFilter
from adapters.resource.selectors import Requirement, parse_selector
from gateways.config import ConfigError, parse_source
from tests.kit import parser, problem_lister

parse = parser("resource", ResourceConfig)
problems = problem_lister("resource")


def test_argo_v1_shape() -> None:
    config = parse(
        """
        namespace: jupyterhub
        group: ""
        version: v1
        resource: pods
        eventTypes: [ADD, update]
        labelSelector: "app in (web, api), tier!=cache, release, !canary"
        fieldSelector: "status.phase=Running,spec.nodeName!=node-1"
        filter:
          afterStart: true
          labels:
            - {key: component, operation: "==", value: singleuser-server}
            - {key: env, operation: in, value: "prod,stage"}
            - {key: debug, operation: "!"}
          fields:
            - {key: metadata.name, operation: "!=", value: skip-me}
        """
    )
    assert (config.resource, config.resource_kind, config.api_version) == ("pods", None, "v1")
    assert config.event_types == {"ADD", "UPDATE"}
    assert config.label_selector == (
        Requirement("app", "in", ("web", "api")),
        Requirement("tier", "!=", ("cache",)),
        Requirement("release", "exists"),
        Requirement("canary", "!"),
    )
    assert config.label_selector_text == "app in (web,api),tier!=cache,release,!canary"
    assert config.field_selector_text == "status.phase=Running,spec.nodeName!=node-1"
    assert config.filter.after_start
    assert config.filter.labels == (
        Requirement("component", "=", ("singleuser-server",)),
        Requirement("env", "in", ("prod", "stage")),
        Requirement("debug", "!"),
    )
    assert config.filter.fields == (Requirement("metadata.name", "!=", ("skip-me",)),)


def test_seed_shape_with_yaml_timestamp_and_fields_map() -> None:
    config = parse(
        """
        group: argoproj.io
        version: v1alpha1
        kind: Workflow
        type: MODIFIED
        filter:
          createdBy: 2019-04-06T12:52:11Z
          fields: {status.phase: Succeeded}
        """
    )
    assert config.event_types == {"UPDATE"}
    assert config.namespace is None and config.all_namespaces
    assert config.filter.created_by == datetime(2019, 4, 6, 12, 52, 11, tzinfo=UTC)
    assert config.filter.fields == (Requirement("status.phase", "=", ("Succeeded",)),)


def test_defaults() -> None:
    config = parse("version: v1\nkind: Pod")
    assert config.event_types == EVENT_TYPES
    assert config.group == "" and config.namespace is None
    assert config.label_selector == () and config.field_selector == ()
    assert config.filter == ResourceFilter()


def test_created_by_without_zone_is_utc() -> None:
    config = parse("version: v1\nkind: Pod\nfilter: {createdBy: '2019-04-06T12:52:11'}")
    assert config.filter.created_by == datetime(2019, 4, 6, 12, 52, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"app": "web"}, True),
        ({"app": "db"}, False),
        ({}, False),
    ],
)
def test_equality_matches(labels: dict[str, str], expected: bool) -> None:
    assert Requirement("app", "=", ("web",)).matches(labels) is expected


def test_negative_requirements_match_a_missing_key() -> None:
    assert Requirement("tier", "!=", ("cache",)).matches({})
    assert Requirement("tier", "notin", ("cache", "db")).matches({"tier": "web"})
    assert not Requirement("tier", "notin", ("cache", "db")).matches({"tier": "db"})
    assert Requirement("canary", "!").matches({"app": "web"})
    assert Requirement("app", "exists").matches({"app": ""})


def test_selector_syntax() -> None:
    assert parse_selector("") == ()
    assert parse_selector("a==b") == (Requirement("a", "=", ("b",)),)
    assert parse_selector("example.com/app notin (x)") == (
        Requirement("example.com/app", "notin", ("x",)),
    )
    for bad in ("a in ()", "a in (b", "a,,b", "a b", "a=b=c", "-bad=x", "a=b/c"):
        with pytest.raises(ValueError):
            parse_selector(bad)
    with pytest.raises(ValueError, match="field selectors support only"):
        parse_selector("status.phase in (Running)", field=True)


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        namespace: Argo_Events
        group: "argoproj io"
        kind: Work-flow
        resource: workflows
        type: ERROR
        eventTypes: [ADD, CREATED]
        labelSelector: "app in (web"
        fieldSelector: "status.phase notin (Running)"
        filter:
          createdBy: yesterday
          labels: {app: [web]}
          annotations: "a=b"
          fields:
            - {key: metadata.name, operation: like, value: x}
          suffix: -x
        watch: all
        """
    )
    assert found == [
        "namespace: 'Argo_Events' is not a namespace name",
        "group: 'argoproj io' is not an API group such as 'apps' or 'argoproj.io'",
        "version: is required",
        "kind: 'Work-flow' is not a kind such as 'Pod'",
        "resource: give kind or resource, not both",
        "type: 'ERROR' is not one of ADD, UPDATE, DELETE (or ADDED, MODIFIED, DELETED)",
        "eventTypes[1]: 'CREATED' is not one of ADD, UPDATE, DELETE (or ADDED, MODIFIED, DELETED)",
        "labelSelector: unbalanced parentheses in 'app in (web'",
        "fieldSelector: 'status.phase notin (Running)': field selectors support only =, == and !=",
        "filter.labels.app: expected a string value",
        "filter.annotations: expected a mapping of strings",
        "filter.fields[0].operation: 'like' is not one of !, !=, =, exists, in, notin",
        "filter.createdBy: 'yesterday' is not an RFC 3339 time such as '2019-04-06T12:52:11Z'",
        "filter.suffix: unknown field",
        "watch: unknown field",
    ]


def test_kind_or_resource_is_required() -> None:
    assert problems("version: v1") == ["kind: one of kind or resource is required"]


def test_problems_name_the_source_and_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("resource", "orders", "kind: Pod")
    assert caught.value.problems == ("resource/orders: version: is required",)
    assert str(caught.value) == "resource/orders: version: is required"
