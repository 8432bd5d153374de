"""`gateways validate`: every example registry file validates; a bad one lists every problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.kit import ROOT

EXAMPLES = [*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "gateways/examples/default.yaml"]
SOURCES = sorted(p for p in (ROOT / "knative/sources").glob("*.yaml") if p.stem != "kustomization")


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateways", "validate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("path", EXAMPLES + SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_registry_file_validates(path: Path) -> None:
    done = validate(str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all valid" in done.stdout


def test_every_problem_is_listed_with_its_source_and_field(tmp_path: Path) -> None:
    registry = tmp_path / "bad.yaml"
    registry.write_text(
        """
apiVersion: v1
kind: ConfigMap
metadata: {name: hooks, labels: {gateways.dev/type: webhook}}
data:
  good: |
    endpoint: /ok
  bad: |
    endpoint: missing-slash
    method: FETCH
    maxPayloadSize: lots
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ticks}
data:
  t: |
    interval: 10s
"""
    )
    done = validate(str(registry))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    # Each names the file, the document, the ConfigMap, the source and the field.
    hooks = f"{registry}: document 1: configmap/hooks: "
    assert f"{hooks}webhook/bad: endpoint: 'missing-slash' must start with '/'" in lines
    assert f"{hooks}webhook/bad: method: 'FETCH' is not an HTTP method" in lines
    assert f"{hooks}webhook/bad: maxPayloadSize: 'lots' is not an integer" in lines
    assert any(
        line.startswith(f"{registry}: document 2: configmap/ticks: metadata.labels.gateways.dev")
        for line in lines
    )
    assert "4 problem(s)" in done.stderr
    # A seed-era ConfigMap without the label gets its type from --type.
    typed = validate(
        str(ROOT.parent / "shared/reference-data/argo-events-v0.10-examples/calendar.yaml"),
        "--type",
        "calendar",
    )
    assert typed.returncode == 0, typed.stdout


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    done = validate(str(tmp_path / "absent.yaml"))
    assert done.returncode == 1
    assert "cannot read" in done.stdout
