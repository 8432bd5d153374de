"""The shape every service module fills in, and TLS material made with openssl."""

from __future__ import annotations

from pathlib import Path

from .common import Proc, ServiceError, cache_root, need_tool, run, state_root, wait_until


class Service:
    """One service: how to install it, its processes, its health check, its settings."""

    name = ""
    start_timeout = 60.0

    def __init__(self) -> None:
        self.state = state_root() / self.name
        self.cache = cache_root()

    @property
    def install_log(self) -> Path:
        return self.state / "install.log"

    # Filled in by each service.
    def procs(self) -> list[Proc]:
        raise NotImplementedError

    def install(self) -> None:
        """Get the binaries (cached by version); idempotent."""

    def prepare(self) -> None:
        """Write config files, certificates, data dirs under self.state; idempotent."""

    def healthy(self) -> bool:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def versions(self) -> str:
        return ""

    # Shared behaviour.
    def running(self) -> bool:
        return any(p.pid() is not None for p in self.procs())

    def start(self) -> None:
        procs = self.procs()
        for proc in procs:
            proc.stop()  # a leftover that is running but not healthy
            proc.start()
        wait_until(self.healthy, self.start_timeout, procs)

    def stop(self) -> bool:
        stopped = False
        for proc in reversed(self.procs()):
            stopped = proc.stop() or stopped
        return stopped

    def is_healthy(self) -> bool:
        try:
            return self.healthy()
        except Exception:
            return False


def make_tls(directory: Path, cn: str, dns: list[str], ips: list[str], log: Path) -> Path:
    """A CA and a server certificate signed by it (made once); returns the directory."""
    openssl = need_tool("openssl", "openssl", log)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    if crt.exists() and ca_crt.exists() and key.exists():
        return directory
    run(
        [
            openssl,
            "req",
            "-x509",
            "-new",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-sha256",
            "-days",
            "3650",
            "-keyout",
            str(ca_key),
            "-out",
            str(ca_crt),
            "-subj",
            f"/CN=gateways-test-ca-{cn}",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        log=log,
    )
    run(
        [
            openssl,
            "req",
            "-new",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-sha256",
            "-keyout",
            str(key),
            "-out",
            str(csr),
            "-subj",
            f"/CN={cn}",
        ],
        log=log,
    )
    san = ",".join([f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips])
    ext = directory / "server.ext"
    ext.write_text(
        f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    run(
        [
            openssl,
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca_crt),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-days",
            "3650",
            "-sha256",
            "-extfile",
            str(ext),
            "-out",
            str(crt),
        ],
        log=log,
    )
    if not crt.exists():
        raise ServiceError(f"openssl made no certificate in {directory}")
    return directory
