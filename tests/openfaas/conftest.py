"""The real OpenFaaS toolchain: faas-cli, of-watchdog and the python3-http template.

They are built and taken from their public sources by hand, outside this project (nothing here
builds them: the project commits no recipe for code it does not own). Point
``GATEWAYS_OPENFAAS_TOOLS`` at the folder that holds them (see tools.py; default
``~/.cache/gateways-openfaas``). Where they are absent, these tests are not collected and the
summary at the end of the run says so: they are never counted as passed.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from tests.deploy.test_stack import stack
from tests.openfaas.pod import Pod
from tests.openfaas.tools import (
    ANSI,
    SUMMARY,
    TOOLCHAIN,
    faas_cli,
    function_python,
    missing,
    project_copy,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    TOOLCHAIN.deselect(config, items, missing())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    TOOLCHAIN.summary(terminalreporter)


@pytest.fixture(scope="session")
def shrinkwrapped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``faas-cli build --shrinkwrap -f stack.yml`` over a copy of the checkout: its build/."""
    folder = project_copy(tmp_path_factory.mktemp("faas") / "project")
    built = faas_cli("build", "--shrinkwrap", "-f", "stack.yml", cwd=folder)
    SUMMARY.append("faas-cli build --shrinkwrap -f stack.yml:")
    SUMMARY.extend(f"  {ANSI.sub('', line)}" for line in built.stdout.splitlines() if line.strip())
    return folder / "build"


@pytest.fixture(scope="session")
def function_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of the functions' Python (the template's fprocess runs ``python``)."""
    return function_python(tmp_path_factory.mktemp("function-venv") / "venv")


def image_home(context: Path, home: Path) -> Path:
    """/home/app as the template's Dockerfile lays out a build context: index.py and
    requirements.txt, and the context's function/ (with an __init__.py) under it."""
    home.mkdir(parents=True)
    shutil.copy2(context / "index.py", home / "index.py")
    shutil.copy2(context / "requirements.txt", home / "requirements.txt")
    shutil.copytree(context / "function", home / "function")
    (home / "function" / "__init__.py").touch()
    return home


def function_env(name: str, home: Path, **settings: str) -> dict[str, str]:
    """The function's environment from stack.yml, /home/app being ``home``, with a registry
    file instead of ConfigMaps and no in-cluster sensor URL (``settings`` add or replace
    variables)."""
    environment = dict(stack()["functions"][name]["environment"])
    environment["PYTHONPATH"] = environment["PYTHONPATH"].replace("/home/app", str(home))
    for variable in ("GATEWAYS_CONFIGMAPS", "NAMESPACE", "GATEWAYS_WATCHERS"):
        environment.pop(variable)
    return environment | settings


StartPod = Callable[..., Awaitable[Pod]]


@pytest.fixture
async def start_pod(
    shrinkwrapped: Path, function_bin: Path, tmp_path: Path
) -> AsyncIterator[StartPod]:
    """``await start_pod(name, outbound=[watcher.port], VARIABLE=value, ...)``: that function's
    shrinkwrapped build context served by of-watchdog in its own pod, with stack.yml's
    environment and these variables (function_env)."""
    pods: list[Pod] = []

    async def start(name: str, outbound: Sequence[int] = (), **settings: str) -> Pod:
        home = image_home(shrinkwrapped / name, tmp_path / f"{name}-{len(pods)}" / "home" / "app")
        pod = Pod(home, function_env(name, home, **settings), function_bin, outbound)
        pods.append(pod)
        return await pod.start()

    yield start
    for pod in pods:
        await pod.stop()
