"""The README's first command, verbatim, on a fresh copy of the project with the
distribution's Python (externally managed on Debian and Ubuntu): it sets up its virtualenv,
runs the bundled example, and the curl line it prints delivers a CloudEvent.

The second command (``scripts/test``) is what ``.ci/run`` runs, with the same Python first
on ``PATH``, so every CI run proves it verbatim.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.deploy.manifests import ROOT
from tests.servicekit import free_port, unavailable

SYSTEM_PYTHON = Path("/usr/bin/python3")


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [block.strip() for block in blocks[:2]]


def test_the_readme_starts_with_the_two_commands() -> None:
    assert readme_commands() == ["scripts/up", "scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test" in ci


def fresh_copy(destination: Path) -> Path:
    """The project's tracked files (as a clean clone has them), working-tree versions."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.mark.timeout(900)  # a cold pip cache downloads every dependency
async def test_scripts_up_runs_the_bundled_example_with_the_system_python(
    tmp_path: Path,
) -> None:
    if not SYSTEM_PYTHON.exists():
        unavailable("the distribution's python3", f"{SYSTEM_PYTHON} is not there")
    project = fresh_copy(tmp_path / "project")
    env = {
        "PATH": f"/usr/bin:/bin:{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "GATEWAYS_ADMIN_PORT": str(free_port()),
    }
    command = readme_commands()[0]
    process = await asyncio.create_subprocess_exec(
        *shlex.split(command),
        cwd=project,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(600):  # a cold pip cache downloads every dependency
            curl = await _line(process.stdout, seen, "try: curl")
        url = curl.split()[-1]
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={"hello": "readme"}) as answer,
        ):
            assert answer.status == 200, await answer.text()
        async with asyncio.timeout(30):
            printed = await _line(process.stdout, seen, '"readme"')  # not a calendar tick
        event = json.loads(printed)
        assert event["data"] == {"hello": "readme"}
        assert event["type"] == "dev.gateways.webhook.request"
        assert (project / ".venv" / "bin" / "gateways").exists()
        config = (project / ".venv" / "pyvenv.cfg").read_text()
        assert "home = /usr/bin" in config  # made by the distribution's Python
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0, "\n".join(seen)


async def _line(stream: asyncio.StreamReader, seen: list[str], marker: str) -> str:
    while True:
        raw = await stream.readline()
        if not raw:
            pytest.fail("scripts/up ended early:\n" + "\n".join(seen))
        line = raw.decode(errors="replace").rstrip()
        seen.append(line)
        if marker in line:
            return line
