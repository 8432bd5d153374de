"""Shared helpers for scripts/services: paths, processes, installs, waiting."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


def state_root() -> Path:
    default = "/tmp/gateways-services"  # noqa: S108 - a well-known place, overridable
    return Path(os.environ.get("GATEWAYS_SERVICES_STATE", default))


def cache_root() -> Path:
    default = Path.home() / ".cache" / "gateways-services"
    return Path(os.environ.get("GATEWAYS_SERVICES_CACHE", str(default)))


def say(msg: str) -> None:
    print(msg, flush=True)


class ServiceError(Exception):
    """A service could not be installed or started; the message says why."""


# --------------------------------------------------------------------------- commands


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; output goes to `log` (appended) or is captured."""
    full_env = {**os.environ, **(env or {})}
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as fh:
            fh.write(f"$ {' '.join(cmd)}\n")
            fh.flush()
            proc = subprocess.run(
                cmd,
                env=full_env,
                cwd=cwd,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                timeout=timeout,
                check=False,
            )
    else:
        proc = subprocess.run(
            cmd,
            env=full_env,
            cwd=cwd,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=timeout,
            check=False,
        )
    if check and proc.returncode != 0:
        where = (
            f"; last lines of {log}:\n{tail(log, 25)}" if log else f":\n{proc.stdout}{proc.stderr}"
        )
        raise ServiceError(f"command failed ({proc.returncode}): {' '.join(cmd)}{where}")
    return proc


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock, so two `up` runs don't build or start the same thing at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- installs

_APT_UPDATED = False
_APT_LOCK = threading.Lock()  # services install in parallel threads; dpkg takes one at a time


def have_deb(package: str) -> bool:
    proc = run(["dpkg-query", "-W", "-f=${Status}", package], check=False)
    return proc.returncode == 0 and "install ok installed" in proc.stdout


def deb_version(package: str) -> str:
    proc = run(["dpkg-query", "-W", "-f=${Version}", package], check=False)
    return f"{package} {proc.stdout.strip()} (Debian)" if proc.returncode == 0 else ""


def apt_install(packages: list[str], log: Path) -> None:
    """Install Debian packages without letting their postinst start the distro services."""
    with _APT_LOCK:
        _apt_install_locked(packages, log)


def _apt_install_locked(packages: list[str], log: Path) -> None:
    global _APT_UPDATED
    missing = [p for p in packages if not have_deb(p)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise ServiceError(f"need root to apt-get install {' '.join(missing)}")
    say(f"  apt-get install {' '.join(missing)} (log: {log})")
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text(
            "#!/bin/sh\n# written by scripts/services during apt-get install\nexit 101\n"
        )
        policy.chmod(0o755)
    try:
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        if not _APT_UPDATED:
            run(["apt-get", "update", "-q"], env=env, log=log)
            _APT_UPDATED = True
        run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            env=env,
            log=log,
        )
    finally:
        if made_policy:
            policy.unlink(missing_ok=True)


def need_tool(tool: str, deb: str | None, log: Path) -> str:
    """Path of `tool`, installing Debian package `deb` if it is missing."""
    found = shutil.which(tool)
    if found:
        return found
    if deb is None:
        raise ServiceError(f"`{tool}` is not on PATH and cannot be installed by this script")
    apt_install([deb], log)
    found = shutil.which(tool)
    if not found:
        raise ServiceError(f"`{tool}` still missing after installing {deb}")
    return found


def go_env() -> dict[str, str]:
    return {"GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false", "CGO_ENABLED": "0"}


# --------------------------------------------------------------------------- processes


@dataclass
class Proc:
    """One long-running process of a service: its command, pid file and log."""

    name: str
    argv: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pidfile(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid from the pid file if that process is still alive and is ours."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        if cmdline == [b""]:
            # Just after exec the kernel shows an empty cmdline for a moment.
            return pid if _alive(pid) else None
        exe = os.path.basename(self.argv[0]).encode()
        if not any(os.path.basename(part) == exe for part in cmdline[:3]):
            return None
        return pid

    def start(self) -> int:
        """Start detached (own session), output appended to the log; returns the pid."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as fh:
            fh.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(self.argv)}\n")
            fh.flush()
            popen = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self.pidfile.write_text(f"{popen.pid}\n")
        return popen.pid

    def log_since_start(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log})"
        last = text.rfind("\n===== ")
        recent = text[last + 1 :] if last >= 0 else text
        return "\n".join(recent.splitlines()[-lines:])

    def stop(self, grace: float = 20.0) -> bool:
        """SIGTERM the process group, then SIGKILL after `grace` seconds."""
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            time.sleep(0.5)
        self.pidfile.unlink(missing_ok=True)
        return True


def _alive(pid: int) -> bool:
    # Reap it if it's our child (it isn't, normally: it was started by an earlier run).
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(
    check: Callable[[], bool], timeout: float, procs: list[Proc], interval: float = 0.5
) -> None:
    """Poll `check` until it passes; fail early if one of `procs` has died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: S110 - a failing check just means "not yet"
            pass
        for proc in procs:
            if proc.pid() is None:
                raise ServiceError(f"{proc.name} exited during start-up")
        if time.monotonic() > deadline:
            raise ServiceError(f"not healthy after {timeout:.0f}s")
        time.sleep(interval)


def print_err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
