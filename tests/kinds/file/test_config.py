"""File config: the seed-era fields, the added ones, and every problem named by its field."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from adapters.file.config import FileConfig
from gateways.config import parse_source
from gateways.config.common import Backoff
from tests.kit import REFERENCE_DATA, parser, problem_lister

parse = parser("file", FileConfig)
problems = problem_lister("file")
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "file.yaml"


def test_the_seed_era_configmap_validates_unchanged() -> None:
    (document,) = [doc for doc in yaml.safe_load_all(SEED.read_text()) if doc]
    configs = {name: parse_source("file", name, text) for name, text in document["data"].items()}
    with_path = configs["example-with-path"]
    assert isinstance(with_path, FileConfig)
    assert (with_path.directory, with_path.types, with_path.path) == (
        "/bin",
        frozenset({"CREATE"}),
        "x.txt",
    )
    assert with_path.matches("x.txt") and not with_path.matches("y.txt")
    with_regexp = configs["example-with-path-regex"]
    assert with_regexp.path is None and with_regexp.path_regexp is not None
    assert with_regexp.path_regexp.pattern == "([a-z]+).txt"
    # Searched, as Go's MatchString did: anywhere in the name.
    assert with_regexp.matches("abc.txt") and with_regexp.matches("1abc.txt2")
    assert not with_regexp.matches("123.txt")


def test_every_field() -> None:
    config = parse(
        """
        directory: /data/in/
        type: [create, WRITE, Remove, RENAME, CHMOD]
        pathRegexp: '^[a-z]+\\.csv$'
        polling: true
        pollInterval: 250ms
        emitExisting: true
        backoff: {duration: 100ms, factor: 2, jitter: 0, steps: 5, cap: 2s}
        """
    )
    assert config.directory == "/data/in"
    assert config.types == {"CREATE", "WRITE", "REMOVE", "RENAME", "CHMOD"}
    assert config.matches("abc.csv") and not config.matches("abc.csv.tmp")
    assert config.polling and config.poll_interval == timedelta(milliseconds=250)
    assert config.emit_existing
    assert config.backoff == Backoff(timedelta(milliseconds=100), 2.0, 0.0, 5, timedelta(seconds=2))


def test_defaults() -> None:
    config = parse("directory: /tmp\ntype: WRITE\npath: a.log")
    assert config.types == {"WRITE"} and config.path == "a.log"
    assert not config.polling and config.poll_interval == timedelta(seconds=1)
    assert not config.emit_existing
    assert config.backoff == Backoff()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("type: CREATE\npath: a", ["directory: is required"]),
        ("directory: data\ntype: CREATE\npath: a", ["directory: 'data' is not an absolute path"]),
        (
            "directory: /d\npath: a",
            ["type: is required (one of CREATE, WRITE, REMOVE, RENAME, CHMOD)"],
        ),
        (
            "directory: /d\ntype: MOVE\npath: a",
            ["type: 'MOVE' is not one of CREATE, WRITE, REMOVE, RENAME, CHMOD"],
        ),
        (
            "directory: /d\ntype: []\npath: a",
            ["type: needs at least one of CREATE, WRITE, REMOVE, RENAME, CHMOD"],
        ),
        ("directory: /d\ntype: {a: 1}\npath: a", ["type: expected a list of strings"]),
        ("directory: /d\ntype: CREATE", ["path: a path or a pathRegexp is required"]),
        (
            "directory: /d\ntype: CREATE\npath: a\npathRegexp: b",
            ["path: give path or pathRegexp, not both"],
        ),
        ("directory: /d\ntype: CREATE\npath: ' '", ["path: must name a file in the directory"]),
        (
            "directory: /d\ntype: CREATE\npath: sub/a",
            ["path: 'sub/a': a name in the directory (subdirectories are not watched)"],
        ),
        ("directory: /d\ntype: CREATE\npathRegexp: ''", ["pathRegexp: must not be empty"]),
        (
            "directory: /d\ntype: CREATE\npathRegexp: '('",
            [
                "pathRegexp: '(' is not a regular expression: "
                "missing ), unterminated subpattern at position 0"
            ],
        ),
        (
            "directory: /d\ntype: CREATE\npath: a\npollInterval: 5s",
            ["pollInterval: applies only with polling: true"],
        ),
        (
            "directory: /d\ntype: CREATE\npath: a\npolling: true\npollInterval: 0s",
            ["pollInterval: must be positive"],
        ),
        (
            "directory: /d\ntype: CREATE\npath: a\npolling: maybe",
            ["polling: 'maybe' is not true or false"],
        ),
        (
            "directory: /d\ntype: WRITE\npath: a\nemitExisting: true",
            ["emitExisting: emits CREATE events, but type does not include CREATE"],
        ),
        (
            "directory: /d\ntype: CREATE\npath: a\nbackoff: {duration: 0s}",
            ["backoff.duration: must be positive"],
        ),
        ("directory: /d\ntype: CREATE\npath: a\nrecursive: true", ["recursive: unknown field"]),
    ],
)
def test_problems(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_all_problems_at_once() -> None:
    found = problems("directory: rel\ntype: NOPE\npathRegexp: '['\nbogus: 1")
    assert [problem.split(":")[0] for problem in found] == [
        "directory",
        "type",
        "pathRegexp",
        "bogus",
    ]
