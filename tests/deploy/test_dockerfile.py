"""deploy/Dockerfile, read rather than built (no container engine here): every target's command
is what the manifests run and names a command or module that exists; the image runs as non-root
on a small base."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.deploy.conftest import Rendered
from tests.deploy.manifests import (
    DOCKERFILE,
    IMAGE_PREFIX,
    ROOT,
    adapter_kinds,
    containers,
    dockerfile_targets,
)

TARGETS = dockerfile_targets()
FUNCTIONS = {"webhook", "calendar", "dispatcher"}
ADAPTERS = set(adapter_kinds())  # the entry-point table's kinds whose package is in adapters/


def _images(rendered: Rendered) -> list[tuple[str, str, str, list[str]]]:
    """(folder, object, image target, command) of every container running one of our images."""
    found = []
    for folder, objects in rendered.items():
        for manifest in objects:
            for container in containers(manifest):
                image = container["image"]
                if image.startswith(IMAGE_PREFIX):
                    target = image.removeprefix(IMAGE_PREFIX).split(":")[0]
                    found.append((folder, manifest.label, target, container.get("command")))
    return found


def test_a_target_for_every_function_and_adapter() -> None:
    assert set(TARGETS) == FUNCTIONS | ADAPTERS


def test_parser_reads_exec_form_and_inheritance() -> None:
    text = (
        'FROM python:3.11-slim AS base\nCMD ["a"]\nFROM base AS one\n'
        'ENTRYPOINT ["tini", "--"]\nCMD ["run", \\\n  "x"]\nFROM base AS two\n'
    )
    assert dockerfile_targets(text) == {
        "base": ["a"],
        "one": ["tini", "--", "run", "x"],
        "two": ["a"],
    }


def test_every_manifest_runs_a_target_with_the_targets_own_command(rendered: Rendered) -> None:
    uses = _images(rendered)
    assert uses
    for _folder, label, target, command in uses:
        assert target in TARGETS, label
        assert command == TARGETS[target], (
            f"{label}: {command} is not the image's {TARGETS[target]}"
        )


def test_every_target_is_deployed(rendered: Rendered) -> None:
    used = {(folder, target) for folder, _label, target, _command in _images(rendered)}
    for target in TARGETS:
        assert ("knative", target) in used, target
    for adapter in ADAPTERS:  # on OpenFaaS the functions are built by faas-cli from stack.yml
        assert ("openfaas", adapter) in used, adapter


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target_command_exists(target: str) -> None:
    command = TARGETS[target]
    if command[0] == "gateways":
        scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        assert scripts["gateways"] == "gateways.cli:main"
        assert command[1] == "serve"
        functions = {p.name for p in entry_points(group="gateways.functions")}
        assert command[2] in functions
        point = next(p for p in entry_points(group="gateways.functions") if p.name == command[2])
        assert callable(point.load())
    else:
        assert command[:2] == ["python", "-m"], command
        module = command[2]
        spec = importlib.util.find_spec(module)
        assert spec is not None, f"{target}: no module {module}"
        if spec.submodule_search_locations is not None:  # a package runs its __main__
            assert importlib.util.find_spec(f"{module}.__main__") is not None, module


def test_small_base_non_root_user_and_everything_copied_exists() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.MULTILINE)
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert set(froms) - set(TARGETS) == {"${PYTHON_IMAGE}", "runtime"}
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and all(u.split(":")[0] not in ("0", "root") for u in users)
    assert users[-1].split(":")[0].isdigit(), "numeric, so runAsNonRoot can verify it"
    for sources in re.findall(r"^COPY\s+(?!--from)(.+)\s+\S+$", text, re.MULTILINE):
        for source in sources.split():
            assert (ROOT / source).exists(), source


def test_the_build_stage_wheel_holds_every_target(tmp_path: Path) -> None:
    """The build stage's `pip wheel .` over exactly what it COPYs: each command's module and
    the entry-point table end up in the image."""
    text = DOCKERFILE.read_text().split("FROM ${PYTHON_IMAGE} AS runtime")[0]
    (tmp_path / "src").mkdir()
    for sources in re.findall(r"^COPY\s+(.+)\s+\S+$", text, re.MULTILINE):
        for source in sources.split():
            if (ROOT / source).is_dir():
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(ROOT / source, tmp_path / "src" / source, ignore=ignore)
            else:
                shutil.copy2(ROOT / source, tmp_path / "src" / source)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "wheels"),
            str(tmp_path / "src"),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = (tmp_path / "wheels").glob("gateways-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        table = archive.read(metadata).decode()
    for target, command in TARGETS.items():
        if command[0] == "gateways":
            assert re.search(rf"^{command[2]} = ", table, re.MULTILINE), target
        else:
            path = command[2].replace(".", "/")
            assert f"{path}/__main__.py" in names or f"{path}.py" in names, target
    assert "gateways = gateways.cli:main" in table
