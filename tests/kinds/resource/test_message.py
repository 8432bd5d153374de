"""One watched change as a raw event: type, id, subject, extensions and the JSON data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.resource.message import ACTIONS, newer, raw_event, uid_of, version_of


def pod(name: str = "web-1", namespace: str | None = "shop", version: str = "42") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": "u-1", "resourceVersion": version}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {"x": 1}}


def test_an_added_object() -> None:
    raw = raw_event("add", pod(), None, group="", version="v1", kind="Pod")
    assert raw.action == "add"
    assert raw.id == "u-1/42/add"
    assert raw.subject == "shop/web-1"
    assert raw.content_type == "application/json"
    assert raw.extensions == {
        "resourceversion": "v1",
        "resourcekind": "Pod",
        "resourcenamespace": "shop",
        "resourcename": "web-1",
    }  # no resourcegroup: the core group has no name
    assert json.loads(raw.payload) == {"type": "ADD", "object": pod()}


def test_an_update_carries_the_old_object_or_null() -> None:
    old, new = pod(version="41"), pod(version="42")
    data = json.loads(raw_event("update", new, old, group="", version="v1", kind="Pod").payload)
    assert data == {"type": "UPDATE", "object": new, "oldObject": old}
    unseen = raw_event("update", new, None, group="", version="v1", kind="Pod")
    assert json.loads(unseen.payload)["oldObject"] is None  # after a gap: not seen before


def test_a_delete_has_no_old_object() -> None:
    raw = raw_event("delete", pod(), pod(version="1"), group="", version="v1", kind="Pod")
    assert raw.id == "u-1/42/delete"
    assert json.loads(raw.payload) == {"type": "DELETE", "object": pod()}


def test_a_cluster_scoped_object_of_a_named_group() -> None:
    workflow = {"kind": "ClusterWorkflowTemplate", "metadata": {"name": "build", "uid": "u-2"}}
    raw = raw_event("add", workflow, None, group="argoproj.io", version="v1alpha1", kind="X")
    assert raw.subject == "build"
    assert raw.id == "u-2//add"  # no resourceVersion in this object
    assert raw.extensions == {
        "resourcegroup": "argoproj.io",
        "resourceversion": "v1alpha1",
        "resourcekind": "ClusterWorkflowTemplate",  # the object's own kind wins
        "resourcename": "build",
    }


def test_the_kind_discovered_names_an_object_without_one() -> None:
    obj = pod()
    del obj["kind"]
    raw = raw_event("add", obj, None, group="", version="v1", kind="Pod")
    assert raw.extensions["resourcekind"] == "Pod"


def test_watch_event_types_are_actions() -> None:
    assert ACTIONS == {"ADDED": "add", "MODIFIED": "update", "DELETED": "delete"}


def test_uid_and_version_of_an_object_without_metadata() -> None:
    assert (uid_of({}), version_of({})) == ("", "")
    assert (uid_of(pod()), version_of(pod())) == ("u-1", "42")


@pytest.mark.parametrize(
    ("version", "than", "expected"),
    [("10", "9", True), ("9", "10", False), ("10", "10", False), ("abc", "10", True)],
)
def test_newer_compares_etcd_versions_as_numbers(version: str, than: str, expected: bool) -> None:
    assert newer(version, than) is expected
