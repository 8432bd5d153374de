"""The real OpenFaaS toolchain, found by location: faas-cli, of-watchdog and the python3-http
template, built and taken by hand from their public sources outside this project (nothing here
builds them). ``GATEWAYS_OPENFAAS_TOOLS`` names the folder (default
``~/.cache/gateways-openfaas``) holding ``bin/faas-cli``, ``bin/of-watchdog`` and
``template/python3-http``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.deploy.manifests import ROOT
from tests.deploy.test_functions_run import _dependencies_only
from tests.deploy.test_stack import stack
from tests.kit import HandBuilt, free_port

HERE = Path(__file__).resolve().parent
TOOLS = Path(os.environ.get("GATEWAYS_OPENFAAS_TOOLS") or Path.home() / ".cache/gateways-openfaas")
FAAS_CLI = TOOLS / "bin" / "faas-cli"
WATCHDOG = TOOLS / "bin" / "of-watchdog"
TEMPLATE = TOOLS / "template" / "python3-http"
FUNCTIONS = ("webhook", "calendar", "dispatcher")
NO_CACHE = shutil.ignore_patterns("__pycache__")
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # faas-cli colours its output whatever the terminal
# Lines for the run's terminal summary (conftest.py prints them).
TOOLCHAIN = HandBuilt(HERE, "OpenFaaS toolchain")
SUMMARY = TOOLCHAIN.lines  # figures the tests print at the end of the run


def missing() -> list[str]:
    """The toolchain's parts that are not there."""
    found = [] if os.access(FAAS_CLI, os.X_OK) else [str(FAAS_CLI)]
    found += [] if os.access(WATCHDOG, os.X_OK) else [str(WATCHDOG)]
    return found + ([] if (TEMPLATE / "index.py").is_file() else [str(TEMPLATE)])


def faas_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """faas-cli with its gateway on a closed loopback port, so it reaches nothing."""
    env = {k: v for k, v in os.environ.items() if k != "GATEWAYS_REGISTRY"}  # stack.yml's image
    env["OPENFAAS_URL"] = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [str(FAAS_CLI), *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"faas-cli {' '.join(arguments)}: {done.stderr or done.stdout}"
    return done


def project_copy(folder: Path) -> Path:
    """stack.yml, the paths its ``configuration.copy`` names and each handler, as faas-cli
    sees them in the checkout, with the python3-http template where faas-cli looks for it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "stack.yml", folder / "stack.yml")
    document = stack()
    paths = list(document["configuration"]["copy"])
    paths += [f["handler"] for f in document["functions"].values()]
    for path in paths:
        source, target = ROOT / path, folder / path
        if source.is_dir():
            shutil.copytree(source, target, ignore=NO_CACHE, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    shutil.copytree(TEMPLATE, folder / "template" / "python3-http", ignore=NO_CACHE)
    return folder


def function_python(folder: Path) -> Path:
    """A virtualenv's bin folder for the functions' ``python``: the template's requirements and
    the project's dependencies (this interpreter's site-packages), but not the project itself,
    which the image has only as the copied source under /home/app/function."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120
    )
    site = Path(sysconfig.get_path("purelib", vars={"base": str(folder), "platbase": str(folder)}))
    (site / "dependencies.pth").write_text(f"{_dependencies_only(folder / 'dependencies')}\n")
    return folder / "bin"
