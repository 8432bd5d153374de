"""The replica settings: defaults, identity, and lease timings that must nest."""

from __future__ import annotations

import os
import socket

import pytest

from gateways.errors import SettingsError
from gateways.settings import Settings


def test_leases_by_default_only_with_configmaps() -> None:
    assert Settings.from_env({"GATEWAYS_CONFIGMAPS": "file-gateway"}).replicas == "leases"
    assert Settings.from_env({"GATEWAYS_REGISTRY_FILE": "r.yaml"}).replicas == "none"
    switched = {"GATEWAYS_CONFIGMAPS": "file-gateway", "GATEWAYS_REPLICAS": "none"}
    assert Settings.from_env(switched).replicas == "none"


def test_kubernetes_leader_election_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (
        15.0,
        10.0,
        2.0,
    )


def test_identity_is_the_setting_else_the_pod_name_else_host_and_pid() -> None:
    assert Settings.from_env({"GATEWAYS_REPLICA_ID": "a", "POD_NAME": "b"}).replica_id == "a"
    assert Settings.from_env({"POD_NAME": "file-adapter-7c9f"}).replica_id == "file-adapter-7c9f"
    assert Settings.from_env({}).replica_id == f"{socket.gethostname()}-{os.getpid()}"


def test_durations_accept_seconds_or_go_durations() -> None:
    settings = Settings.from_env(
        {
            "GATEWAYS_LEASE_DURATION": "3s",
            "GATEWAYS_RENEW_DEADLINE": "2",
            "GATEWAYS_RETRY_PERIOD": "500ms",
        }
    )
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (
        3.0,
        2.0,
        0.5,
    )


@pytest.mark.parametrize(
    ("env", "variable", "message"),
    [
        ({"GATEWAYS_REPLICAS": "raft"}, "GATEWAYS_REPLICAS", "'raft' is not leases or none"),
        ({"GATEWAYS_LEASE_DURATION": "soon"}, "GATEWAYS_LEASE_DURATION", "is not a duration"),
        ({"GATEWAYS_RENEW_DEADLINE": "20s"}, "GATEWAYS_RENEW_DEADLINE", "must hold"),
        ({"GATEWAYS_RETRY_PERIOD": "0"}, "GATEWAYS_RENEW_DEADLINE", "retry period 0.0s"),
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], variable: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        Settings.from_env(env)
    assert variable in str(raised.value)
