"""MinIO: built from its Go module at a pinned pseudo-version, single drive.

The pinned commit is later than MinIO's last release (RELEASE.2025-10-15T17-29-55Z): since
minio#21651 (2025-10-23) every S3 response goes through a writer that does not pass ``Flush``
on, so the listen API's stream (and its response headers) reaches a client only in ~4 KB
pieces. The module proxy serves no earlier commit, so the build adds that one method
(:data:`FLUSH`, our own file in MinIO's ``cmd`` package); with it the stream behaves as the
releases do: each notification is flushed when written.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

from . import gobuild, probes
from .base import Service
from .common import HOST, Proc, ServiceError, file_lock, go_env, run, say

MODULE = "github.com/minio/minio"
# MinIO tags releases as RELEASE.<date>, which are not semver, so the module proxy only
# has pseudo-versions: this is the newest commit it served (2026-02-12), built with go1.26.
VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
PORT = 19000
ACCESS_KEY = "gateways-minio"
SECRET_KEY = "gateways-minio-secret"  # noqa: S105 - fixed test credential
FLUSH = """package cmd

import "net/http"

// Flush passes a streaming handler's flush on to the connection (see scripts/_services/minio.py).
func (w *trackingResponseWriter) Flush() {
	if flusher, ok := w.ResponseWriter.(http.Flusher); ok {
		flusher.Flush()
	}
}
"""


class Minio(Service):
    name = "minio"
    start_timeout = 90.0

    @property
    def binary(self) -> Path:
        return self.cache / f"minio-{VERSION}-flush" / "bin" / "minio"

    def install(self) -> None:
        build(self.binary.parent.parent)

    def prepare(self) -> None:
        (self.state / "data").mkdir(parents=True, exist_ok=True)

    def procs(self) -> list[Proc]:
        argv = [str(self.binary), "server", "--address", f"{HOST}:{PORT}", str(self.state / "data")]
        env = {
            "MINIO_ROOT_USER": ACCESS_KEY,
            "MINIO_ROOT_PASSWORD": SECRET_KEY,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
        }
        return [Proc("minio", argv, self.state, env)]

    def healthy(self) -> bool:
        base = f"http://{HOST}:{PORT}/minio/health"
        return probes.http_ok(f"{base}/live") and probes.http_ok(f"{base}/ready")

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_MINIO_ENDPOINT": f"{HOST}:{PORT}",
            "GATEWAYS_TEST_MINIO_URL": f"http://{HOST}:{PORT}",
            "GATEWAYS_TEST_MINIO_ACCESS_KEY": ACCESS_KEY,
            "GATEWAYS_TEST_MINIO_SECRET_KEY": SECRET_KEY,
            # For tests that run a MinIO of their own (other settings, on a free port).
            "GATEWAYS_TEST_MINIO_BINARY": str(self.binary),
        }

    def versions(self) -> str:
        return f"MinIO {MODULE}@{VERSION} (+ Flush on its response writer)"


def build(home: Path) -> Path:
    """The module's source from the proxy, plus :data:`FLUSH`, built into `home`/bin/minio."""
    out = home / "bin" / "minio"
    if out.exists():
        return out
    with file_lock(home.parent / f"{home.name}.lock"):
        if out.exists():
            return out
        log, src = home / "build.log", home / "src"
        say(f"  building minio {VERSION} with Flush (log: {log})")
        env = go_env()
        download = run([gobuild.go(), "mod", "download", "-json", f"{MODULE}@{VERSION}"], env=env)
        info = json.loads(download.stdout)
        if "Error" in info:
            raise ServiceError(f"go mod download {MODULE}@{VERSION}: {info['Error']}")
        shutil.rmtree(src, ignore_errors=True)
        shutil.copytree(info["Dir"], src)  # the module cache is read-only: build a copy
        for folder, _, _ in os.walk(src):
            os.chmod(folder, os.stat(folder).st_mode | stat.S_IWUSR)
        (src / "cmd" / "gateways_flush.go").write_text(FLUSH)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        run(
            [
                *("nice", "-n", "10", gobuild.go(), "build", "-trimpath", "-ldflags=-s -w"),
                "-o",
                str(tmp),
                ".",
            ],
            cwd=src,
            env=env,
            log=log,
        )
        tmp.rename(out)
        shutil.rmtree(src, ignore_errors=True)
    return out
