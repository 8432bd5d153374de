"""One of our functions under the real OpenFaaS runtime: of-watchdog in ``http`` mode in front
of the python3-http template's ``index.py`` (Flask served by waitress, one thread pool), which
calls the function's ``handler.handle(event, context)``.

of-watchdog and the template are the real ones, built and taken by hand from their public
sources outside this project: ``bin/of-watchdog`` and ``template/python3-http`` in
``GATEWAYS_OPENFAAS_TOOLS`` (default ``~/.cache/gateways-openfaas``), as tests/openfaas uses
them. ``/home/app`` is laid out as ``faas-cli build`` and the template's Dockerfile lay it out:
``index.py``, and ``function/`` holding the handler folder plus the paths stack.yml's
``configuration.copy`` names; the environment is the template's and stack.yml's. Both servers
listen on every interface at fixed ports (8080, 8081 for metrics, 5000), so the caller runs
this in a network namespace of its own holding only loopback, as a pod has.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from bench._common import ROOT
from bench.peers.openfaas import TOOLS, Unavailable

WATCHDOG = TOOLS / "bin" / "of-watchdog"
TEMPLATE = TOOLS / "template" / "python3-http"
URL = "http://127.0.0.1:8080/"  # the watchdog's port in the image
# The template's Dockerfile: the watchdog's settings baked into the image.
TEMPLATE_ENV = {
    "fprocess": "python index.py",
    "cgi_headers": "true",
    "mode": "http",
    "upstream_url": "http://127.0.0.1:5000",
}
# stack.yml settings that name the cluster: the caller gives a registry file and watchers.
CLUSTER_ONLY = ("GATEWAYS_CONFIGMAPS", "NAMESPACE", "GATEWAYS_WATCHERS")
NO_CACHE = shutil.ignore_patterns("__pycache__")


def missing() -> str | None:
    """Why the runtime cannot run here, or None."""
    if not os.access(WATCHDOG, os.X_OK):
        return f"{WATCHDOG} is not there (built by hand: README, Tests and test services)"
    if not (TEMPLATE / "index.py").is_file():
        return f"{TEMPLATE}/index.py is not there (taken by hand from the template repository)"
    return None


def _stack() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "stack.yml").read_text())
    return document


def image_home(name: str, folder: Path) -> Path:
    """``/home/app`` of the function's image under ``folder``."""
    document = _stack()
    home = folder / "home" / "app"
    function = home / "function"
    shutil.copytree(ROOT / document["functions"][name]["handler"], function, ignore=NO_CACHE)
    for path in document["configuration"]["copy"]:
        source, target = ROOT / path, function / path
        if source.is_dir():
            shutil.copytree(source, target, ignore=NO_CACHE, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    (function / "__init__.py").touch()
    for file in ("index.py", "requirements.txt"):
        shutil.copy2(TEMPLATE / file, home / file)
    return home


@contextlib.contextmanager
def under_watchdog(
    name: str, folder: Path, settings: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """The function ``name`` served at URL; ``settings`` add to or replace stack.yml's
    environment. Yields the watchdog process (the function's server is its child)."""
    if reason := missing():
        raise Unavailable(reason)
    home = image_home(name, folder)
    environment = dict(_stack()["functions"][name]["environment"])
    environment["PYTHONPATH"] = environment["PYTHONPATH"].replace("/home/app", str(home))
    for variable in CLUSTER_ONLY:
        environment.pop(variable, None)
    (folder / "tmp").mkdir()  # the watchdog's lock file: $TMPDIR/.lock
    env = {
        # The template's fprocess runs `python`: this interpreter, with the project's
        # dependencies and the template's (flask, waitress).
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(folder / "tmp"),
        **TEMPLATE_ENV,
        **environment,
        **settings,
    }
    with (folder / "watchdog.log").open("wb") as log:
        process = subprocess.Popen(
            [str(WATCHDOG)], cwd=home, env=env, stdout=log, stderr=log, start_new_session=True
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the watchdog and the function server it forked
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def log_tail(folder: Path) -> str:
    path = folder / "watchdog.log"
    return path.read_text(errors="replace")[-1500:] if path.exists() else ""
