"""GitHub's real counterparts for the tests, fetched from the npm registry once per machine:

- ``@octokit/webhooks-examples``: real example payloads of every webhook event type;
- ``@octokit/openapi``: GitHub's official REST API description (OpenAPI 3.0).

``npm pack`` fetches each pinned version (npm checks the registry's integrity hash, and so do
we) into ``$GATEWAYS_SERVICES_CACHE/octokit/`` (default ``~/.cache/gateways-services``),
outside the clone; only the files the tests read are unpacked. Run
``python -m tests.kinds.github.octokit`` to fetch them ahead of a test run.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity of this version
    files: tuple[str, ...]  # paths inside the package that the tests read

    @property
    def folder(self) -> str:
        return f"{self.name.replace('@', '').replace('/', '-')}-{self.version}"


EXAMPLES = Package(
    "@octokit/webhooks-examples",
    "7.6.1",
    "sha512-De6U3XB6O3DtCa7bKgCMzTHdeopqqZ6SNivMYJnK65ierKL1AnNIA0tkRYCRS7lwGT792d+Ps1WbfHlso6MynQ==",
    ("api.github.com/index.json",),
)
OPENAPI = Package(
    "@octokit/openapi",
    "23.0.2",
    "sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg==",
    ("generated/api.github.com.deref.json",),
)


class FetchError(Exception):
    pass


def cache_root() -> Path:
    default = Path.home() / ".cache" / "gateways-services"
    return Path(os.environ.get("GATEWAYS_SERVICES_CACHE", str(default))) / "octokit"


def fetch(package: Package) -> Path:
    """The folder holding ``package.files`` (fetched and unpacked on first use)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / package.folder
    done = target / ".complete"
    if done.exists():
        return target
    with _locked(root / f"{package.folder}.lock"):
        if done.exists():
            return target
        npm = shutil.which("npm")
        if npm is None:
            raise FetchError("npm is not installed")
        with tempfile.TemporaryDirectory(dir=root) as scratch:
            tarball = _pack(npm, package, Path(scratch))
            _check_integrity(tarball, package)
            staging = Path(scratch) / "unpacked"
            _unpack(tarball, package, staging)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        done.write_text(package.integrity + "\n")
    return target


def examples() -> list[dict[str, Any]]:
    """Every event type of webhooks-examples: ``{name, actions, examples: [payload...]}``."""
    path = fetch(EXAMPLES) / "api.github.com" / "index.json"
    loaded: list[dict[str, Any]] = json.loads(path.read_text())
    return loaded


def description() -> dict[str, Any]:
    """GitHub's REST description for api.github.com, with every $ref resolved."""
    path = fetch(OPENAPI) / "generated" / "api.github.com.deref.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _pack(npm: str, package: Package, scratch: Path) -> Path:
    spec = f"{package.name}@{package.version}"
    try:
        done = subprocess.run(
            [npm, "pack", "--json", "--pack-destination", str(scratch), spec],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise FetchError(f"npm pack {spec} took more than 10 minutes") from None
    if done.returncode != 0:
        raise FetchError(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
    [packed] = json.loads(done.stdout)
    return scratch / packed["filename"]


def _check_integrity(tarball: Path, package: Package) -> None:
    algorithm, _, expected = package.integrity.partition("-")
    digest = hashlib.new(algorithm, tarball.read_bytes()).digest()
    if base64.b64encode(digest).decode() != expected:
        raise FetchError(f"{tarball.name}: integrity does not match {package.integrity}")


def _unpack(tarball: Path, package: Package, staging: Path) -> None:
    wanted = {f"package/{name}": name for name in (*package.files, "package.json")}
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            name = wanted.pop(member.name, None)
            if name is None or not member.isfile():
                continue
            source = archive.extractfile(member)
            assert source is not None
            destination = staging / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            with source, destination.open("wb") as out:
                shutil.copyfileobj(source, out)
    if wanted:
        raise FetchError(f"{tarball.name} lacks {', '.join(sorted(wanted))}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


if __name__ == "__main__":
    for wanted in (EXAMPLES, OPENAPI):
        print(f"{wanted.name}@{wanted.version}: {fetch(wanted)}")
