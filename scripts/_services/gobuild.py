"""Build Go binaries into the version-keyed cache, once per machine."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from .common import ServiceError, file_lock, go_env, need_tool, run, say

# Go builds use every core already: run one at a time (other services start meanwhile).
_BUILD_LOCK = threading.Lock()


def go() -> str:
    # Debian's golang is too old for these modules; the machine's Go toolchain is used.
    return need_tool("go", None, Path("/dev/null"))


def build(
    home: Path,
    binary: str,
    *,
    go_mod: str,
    require: str,
    package: str,
    ldflags: str = "-s -w",
    note: str = "",
) -> Path:
    """Build `package` in a small wrapper module at `home`/src into `home`/bin/`binary`.

    `go_mod` is the wrapper's go.mod; `require` is the module@version to `go get` before
    building (so go.sum gets filled in). Skipped when the binary already exists.
    """
    out = home / "bin" / binary
    if out.exists():
        return out
    with _BUILD_LOCK, file_lock(home.parent / f"{home.name}.lock"):
        if out.exists():
            return out
        src, log = home / "src", home / "build.log"
        src.mkdir(parents=True, exist_ok=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        (src / "go.mod").write_text(go_mod)
        (src / "go.sum").unlink(missing_ok=True)
        say(f"  building {binary} {note}(log: {log})")
        env = go_env()
        run([go(), "get", require], cwd=src, env=env, log=log)
        tmp = out.with_suffix(".tmp")
        run(
            [
                "nice",
                "-n",
                "10",
                go(),
                "build",
                "-trimpath",
                f"-ldflags={ldflags}",
                "-o",
                str(tmp),
                package,
            ],
            cwd=src,
            env=env,
            log=log,
        )
        tmp.rename(out)
    return out


def install(home: Path, binary: str, module: str, version: str) -> Path:
    """`go install module@version` with GOBIN in the cache; skipped when already built."""
    out = home / "bin" / binary
    if out.exists():
        return out
    with _BUILD_LOCK, file_lock(home.parent / f"{home.name}.lock"):
        if out.exists():
            return out
        log = home / "build.log"
        out.parent.mkdir(parents=True, exist_ok=True)
        say(f"  go install {module}@{version} (log: {log})")
        env = {**go_env(), "GOBIN": str(out.parent)}
        run(
            ["nice", "-n", "10", go(), "install", "-trimpath", f"{module}@{version}"],
            cwd=home,
            env=env,
            log=log,
        )
        if not out.exists():
            raise ServiceError(f"go install made no {binary}; see {log}")
    return out


def module_go_mod(module: str, version: str) -> str:
    """Text of the go.mod of `module`@`version`, downloaded through the module proxy."""
    proc = run([go(), "mod", "download", "-json", f"{module}@{version}"], env=go_env())
    info = json.loads(proc.stdout)
    if "Error" in info:
        raise ServiceError(f"go mod download {module}@{version}: {info['Error']}")
    return Path(info["GoMod"]).read_text()
