"""Each class of hostile registry input, reproduced: a clear message naming the file, the
document, the ConfigMap, the source and the field; never a traceback, a hang or a pass."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateways.registry.validate import check_file

HEAD = "apiVersion: v1\nkind: ConfigMap\n"


def problems_of(tmp_path: Path, text: str | bytes, kind: str | None = None) -> list[str]:
    path = tmp_path / "registry.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    started = time.perf_counter()
    checked = check_file(path, kind)
    assert time.perf_counter() - started < 2.0, "a hostile file must be refused fast"
    assert all(problem.startswith(f"{path}: ") for problem in checked.problems), checked.problems
    return [problem.removeprefix(f"{path}: ") for problem in checked.problems]


def webhook(data: str, metadata: str = "") -> str:
    return (
        f"{HEAD}metadata:\n  name: hooks\n  labels: {{gateways.dev/type: webhook}}\n{metadata}"
        f"data:\n{data}"
    )


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("metadata: oops\n", "document 1: configmap/?: metadata: expected a mapping, got str"),
        (
            "metadata: {name: x, labels: [a, b]}\n",
            "document 1: configmap/x: metadata.labels: expected a mapping, got list",
        ),
        (
            "metadata: {name: x, labels: {gateways.dev/type: webhook}, annotations: 7}\n",
            "document 1: configmap/x: metadata.annotations: expected a mapping, got int",
        ),
        (
            "metadata: {name: [x]}\n",
            "document 1: configmap/?: metadata.name: ['x'] is not a Kubernetes object name",
        ),
    ],
)
def test_shapes_that_are_not_mappings(tmp_path: Path, metadata: str, expected: str) -> None:
    found = problems_of(tmp_path, HEAD + metadata)
    assert any(problem.startswith(expected) for problem in found), found


def test_a_document_that_is_a_list_names_file_and_document(tmp_path: Path) -> None:
    found = problems_of(tmp_path, webhook("  a: 'endpoint: /a'\n") + "---\n- a\n- b\n")
    assert found == ["document 2: expected a ConfigMap mapping, got list"]


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    found = problems_of(tmp_path, webhook("  a: 'endpoint: /a'\n").encode() + b"# \xff\xfe\n")
    assert found == ["not UTF-8 text (byte 0xff at offset 122) at line 8"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e400", "interval: '1e400' is not a finite duration"),
        (".inf", "interval: inf is not a finite duration"),
        ("1111111111111111111111111111111", "interval: 1111111111111111111111111111111 is longer"),
    ],
)
def test_numbers_out_of_range(tmp_path: Path, value: str, message: str) -> None:
    text = (
        f"{HEAD}metadata: {{name: ticks, labels: {{gateways.dev/type: calendar}}}}\n"
        f"data:\n  t: |\n    interval: {value}\n"
    )
    (found,) = problems_of(tmp_path, text)
    assert found.startswith(f"document 1: configmap/ticks: calendar/t: {message}")


def test_a_long_timezone(tmp_path: Path) -> None:
    text = (
        f"{HEAD}metadata: {{name: ticks, labels: {{gateways.dev/type: calendar}}}}\n"
        f"data:\n  t: |\n    interval: 10s\n    timezone: {'a' * 5000}\n"
    )
    (found,) = problems_of(tmp_path, text)
    assert "calendar/t: timezone: too long: 5,000 characters" in found


# Our limit (64 levels in a file, 32 in a value); PyYAML 6.0.4 and later refuse 1,000 levels
# themselves, before the parser hands anything over.
DEEP = ("nested too deep", "exceeded maximum nesting depth")


@pytest.mark.parametrize("depth", [100, 20000])
def test_deep_nesting(tmp_path: Path, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    (found,) = problems_of(tmp_path, webhook(f"  a: {nested}\n"))
    assert "not valid YAML" in found and "line 7" in found
    assert any(words in found for words in DEEP), found
    if depth == 100:
        assert (
            found == "document 1: not valid YAML: nested too deep (more than 64 levels) at line 7"
        )
    (found,) = problems_of(tmp_path, webhook(f"  a: '{nested}'\n"))
    assert found.startswith("document 1: configmap/hooks: webhook/a: not valid YAML: ")
    assert any(words in found for words in DEEP), found


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize("where", ["data value", "label", "annotation", "port", "exclusionDates"])
def test_an_alias_bomb_is_refused_in_time(tmp_path: Path, where: str) -> None:
    indented = "".join(f"    {line}\n" for line in BOMB.splitlines())
    if where == "data value":
        text = webhook(f"  a: |\n{indented}")
    elif where == "port":
        text = webhook(f"  a: |\n    endpoint: /a\n{indented}    port: *i\n")
    elif where == "exclusionDates":
        text = (
            f"{HEAD}metadata: {{name: ticks, labels: {{gateways.dev/type: calendar}}}}\n"
            f"data:\n  t: |\n    interval: 10s\n{indented}    exclusionDates: *i\n"
        )
    else:
        field = "labels" if where == "label" else "annotations"
        lines = "".join(f"    {line}\n" for line in BOMB.splitlines())
        text = (
            f"{HEAD}metadata:\n  name: hooks\n  {field}:\n{lines}    bomb: *i\n"
            "data:\n  a: 'endpoint: /a'\n"
        )
    found = problems_of(tmp_path, text)
    assert any("too many nodes once aliases are expanded" in p for p in found), found


def test_duplicate_keys_are_refused_with_both_lines(tmp_path: Path) -> None:
    (in_source,) = problems_of(tmp_path, webhook("  a: |\n    endpoint: /a\n    endpoint: /b\n"))
    assert in_source == (
        "document 1: configmap/hooks: webhook/a: not valid YAML: duplicate key 'endpoint'"
        " (first at line 1) at line 2"
    )
    (in_data,) = problems_of(tmp_path, webhook("  a: 'endpoint: /a'\n  a: 'endpoint: /b'\n"))
    assert in_data == "document 1: not valid YAML: duplicate key 'a' (first at line 7) at line 8"
    twice = webhook("  a: 'endpoint: /a'\n") + "---\n" + webhook("  b: 'endpoint: /b'\n")
    (named_twice,) = problems_of(tmp_path, twice)
    assert named_twice == (
        "document 2: configmap/hooks: metadata.name: a ConfigMap of this name is already in"
        " document 1"
    )


def test_validate_checks_the_watchers_and_delivery_annotations(tmp_path: Path) -> None:
    metadata = (
        "  annotations:\n    gateways.dev/watchers: '[ftp://nowhere]'\n"
        "    gateways.dev/delivery: '{retry: -1, backoffPolicy: sideways}'\n"
    )
    found = problems_of(tmp_path, webhook("  a: 'endpoint: /a'\n", metadata))
    assert found == [
        "document 1: configmap/hooks: watchers: [0]: 'ftp://nowhere' is not an absolute http or"
        " https URL, nor 'console'",
        "document 1: configmap/hooks: delivery: retry: -1 is less than 0",
        "document 1: configmap/hooks: delivery: backoffPolicy: 'sideways' is not one of"
        " exponential, linear",
    ]


SERVER = "gateways.dev/event-source-server"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'[a, b]'", "expected an address or a mapping with address"),
        ("'{address: ''127.0.0.1:1'', nested: {a: {b: 1}}}'", "nested: unknown field"),
        ("'{address: ''unix:relative''}'", "address: 'unix:relative': a Unix socket needs"),
        ("'{address: ''h:99999''}'", "address: 'h:99999' has an invalid port"),
        ("'" + "[" * 100 + "]" * 100 + "'", "not valid YAML: nested too deep"),
        ("'{address: ''h:1'', protocol: {v: 1}}'", "protocol: expected a string, got dict"),
    ],
)
def test_a_hostile_event_source_server_annotation_is_named(
    tmp_path: Path, value: str, expected: str
) -> None:
    metadata = f"  annotations:\n    {SERVER}: {value}\n"
    found = problems_of(tmp_path, webhook("  a: 'endpoint: /a'\n", metadata))
    field = f"document 1: configmap/hooks: metadata.annotations.{SERVER}: "
    assert any(p.startswith(field) and expected in p for p in found), found


def test_an_alias_bomb_in_the_server_annotation_is_refused_in_time(tmp_path: Path) -> None:
    bomb = BOMB.replace("\n", "\\n").replace("'", "''")
    metadata = f'  annotations:\n    {SERVER}: "{bomb}address: *i\\n"\n'
    found = problems_of(tmp_path, webhook("  a: 'endpoint: /a'\n", metadata))
    assert any("too many nodes once aliases are expanded" in p for p in found), found


def test_gateways_validate_prints_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("kind: ConfigMap\nmetadata: oops\n")
    done = subprocess.run(
        [sys.executable, "-m", "gateways", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert f"{path}: document 1: configmap/?: metadata: expected a mapping, got str" in done.stdout
