"""MinIO: built from its Go module at a pinned pseudo-version, single drive."""

from __future__ import annotations

from pathlib import Path

from . import gobuild, probes
from .base import Service
from .common import HOST, Proc

MODULE = "github.com/minio/minio"
# MinIO tags releases as RELEASE.<date>, which are not semver, so the module proxy only
# has pseudo-versions: this is the newest commit it served (2026-02-12), built with go1.26.
VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
PORT = 19000
ACCESS_KEY = "gateways-minio"
SECRET_KEY = "gateways-minio-secret"  # noqa: S105 - fixed test credential


class Minio(Service):
    name = "minio"
    start_timeout = 90.0

    @property
    def binary(self) -> Path:
        return self.cache / f"minio-{VERSION}" / "bin" / "minio"

    def install(self) -> None:
        gobuild.install(self.binary.parent.parent, "minio", MODULE, VERSION)

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
        }

    def versions(self) -> str:
        return f"MinIO {MODULE}@{VERSION}"
