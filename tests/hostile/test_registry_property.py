"""Generated registry files, and mutations of every shipped one, through the same check
``gateways validate`` and ``gateways up`` run: no exception escapes, every problem names the
file, and each case is refused or accepted in bounded time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from gateways.registry.validate import check_file
from tests.deploy.manifests import ROOT
from tests.hostile.stats import STATS

KINDS = ["webhook", "calendar", "nats", "mqtt", "amqp", "kafka", "resource", "artifact"]
FIELDS = [
    "endpoint", "method", "port", "maxPayloadSize", "auth", "interval", "schedule", "timezone",
    "exclusionDates", "recurrence", "userPayload", "url", "subject", "topic", "jetStream",
    "backoff", "tls", "queue", "qos", "exchangeName", "routingKey", "partition", "bucket",
    "events", "filter", "namespace", "group", "version", "kind", "accessKey", "secretKey",
]  # fmt: skip
SHIPPED = sorted(
    [
        *(ROOT / "examples").glob("*.yaml"),
        *(ROOT / "knative" / "sources").glob("*.yaml"),
        ROOT / "gateways" / "examples" / "default.yaml",
        *(ROOT.parent / "shared/reference-data/argo-events-v0.10-examples").glob("*.yaml"),
    ]
)
HOSTILE_SCALARS = [
    "1e400", ".inf", "-.inf", ".nan", "-1", "0", "99999999999999999999999999999999", "'" ,
    "*undefined", "&a x", "!!python/object:os.system x", "!!binary '@@'", "2001-13-45",
    "[" * 300, "{a: [b, {c: d}]}", "a" * 5000, "~", "true", "0x1F", "1_000", "\t", "|",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(HOSTILE_SCALARS),
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=10))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner, max_size=6
        ),
    ),
    max_leaves=30,
)


@st.composite
def configmaps(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(values)  # not even a mapping
    source = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
    text = yaml.safe_dump(source) if draw(st.booleans()) else draw(st.sampled_from(HOSTILE_SCALARS))
    metadata: dict[str, Any] = {
        "name": draw(st.one_of(st.sampled_from(["hooks", "ticks", "a.b-c"]), values)),
        "labels": {"gateways.dev/type": draw(st.one_of(st.sampled_from(KINDS), values))},
    }
    if draw(st.booleans()):
        metadata["annotations"] = {
            "gateways.dev/watchers": draw(
                st.one_of(st.just("[http://127.0.0.1:9/]"), st.sampled_from(HOSTILE_SCALARS))
            ),
            "gateways.dev/delivery": draw(st.one_of(st.just("{retry: 1}"), values.map(str))),
        }
    return {
        "apiVersion": "v1",
        "kind": draw(st.sampled_from(["ConfigMap", "ConfigMap", "Secret", 7])),
        "metadata": draw(st.one_of(st.just(metadata), values)),
        "data": draw(st.one_of(st.just({draw(st.text(min_size=1, max_size=8)): text}), values)),
    }


def check(tmp_path: Path, content: bytes, test: str, kind: str | None = None) -> None:
    path = tmp_path / "registry.yaml"
    path.write_bytes(content)
    started = time.perf_counter()
    with STATS.case(test, content[:60].decode("utf-8", "replace")):
        checked = check_file(path, kind)
    assert time.perf_counter() - started < 5.0
    for problem in checked.problems:
        assert isinstance(problem, str) and problem.startswith(f"{path}: "), problem


@given(documents=st.lists(configmaps(), min_size=1, max_size=3))
def test_generated_registry_files(tmp_path_factory: Any, documents: list[Any]) -> None:
    try:
        text = yaml.safe_dump_all(documents, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return  # not representable as YAML at all
    check(tmp_path_factory.mktemp("gen"), text.encode(), "generated registry files")


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str | None]:
    path = draw(st.sampled_from(SHIPPED))
    content = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "scalar"]))
        at = draw(st.integers(0, max(0, len(content) - 1)))
        if action == "delete":
            del content[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            content[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif action == "replace" and content:
            content[at] = draw(st.integers(0, 255))
        elif action == "duplicate":
            lines = content.split(b"\n")
            line = draw(st.integers(0, len(lines) - 1))
            lines.insert(line, lines[line])
            content = bytearray(b"\n".join(lines))
        else:  # put a hostile scalar after a colon
            colon = content.find(b": ", at)
            if colon >= 0:
                end = content.find(b"\n", colon)
                end = len(content) if end < 0 else end
                content[colon + 2 : end] = draw(st.sampled_from(HOSTILE_SCALARS)).encode()
    seed_era = "argo-events" in str(path)
    return bytes(content), path.stem if seed_era else None


@given(case=mutated())
def test_mutations_of_every_shipped_registry_file(
    tmp_path_factory: Any, case: tuple[bytes, str | None]
) -> None:
    content, stem = case
    check(tmp_path_factory.mktemp("mut"), content, "mutated shipped files", stem)


def test_every_shipped_file_is_among_the_seeds() -> None:
    assert len(SHIPPED) >= 15
