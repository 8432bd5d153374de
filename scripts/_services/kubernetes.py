"""Kubernetes: kube-apiserver built from k8s.io/kubernetes, on etcd 3.5 built from Go."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from . import gobuild, probes
from .base import Service, make_tls
from .common import HOST, Proc, ServiceError, need_tool, run, wait_until

KUBE_VERSION = "v1.33.13"
STAGING_VERSION = "v0.33.13"  # k8s.io/kubernetes' staging modules are published as v0.N.x
ETCD_VERSION = "v3.5.35"
# The deploy tests render knative/ and openfaas/ with it (components, replacements): Debian's
# kubectl is 1.20, whose built-in kustomize knows neither.
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.8.2"  # v5.8.3 wants Go 1.27
PORT = 16443
ETCD_PORT = 12379
ETCD_PEER_PORT = 12380
SERVICE_RANGE = "10.96.0.0/24"  # only an allocation range inside the API server
ISSUER = "https://kubernetes.default.svc.cluster.local"


def _kube_go_mod() -> str:
    """A wrapper module: k8s.io/kubernetes plus a replace for each of its staging modules."""
    upstream = gobuild.module_go_mod("k8s.io/kubernetes", KUBE_VERSION)
    staging = sorted({line.split()[0] for line in upstream.splitlines() if "=> ./staging/" in line})
    if not staging:
        raise ServiceError("found no staging modules in k8s.io/kubernetes' go.mod")
    replaces = "".join(f"\t{m} => {m} {STAGING_VERSION}\n" for m in staging)
    return (
        f"module gateways.local/kube-apiserver-build\n\ngo 1.24.0\n\n"
        f"require k8s.io/kubernetes {KUBE_VERSION}\n\nreplace (\n{replaces})\n"
    )


class Kubernetes(Service):
    name = "kubernetes"
    start_timeout = 180.0

    @property
    def etcd_bin(self) -> Path:
        return self.cache / f"etcd-{ETCD_VERSION}" / "bin" / "etcd"

    @property
    def apiserver_bin(self) -> Path:
        return self.cache / f"kubernetes-{KUBE_VERSION}" / "bin" / "kube-apiserver"

    @property
    def kustomize_bin(self) -> Path:
        return self.cache / f"kustomize-{KUSTOMIZE_VERSION}" / "bin" / "kustomize"

    def install(self) -> None:
        gobuild.install(
            self.kustomize_bin.parent.parent, "kustomize", KUSTOMIZE_MODULE, KUSTOMIZE_VERSION
        )
        etcd_mod = f"go.etcd.io/etcd/server/v3@{ETCD_VERSION}"
        gobuild.build(
            self.etcd_bin.parent.parent,
            "etcd",
            package="go.etcd.io/etcd/server/v3",
            require=etcd_mod,
            go_mod=(
                "module gateways.local/etcd-build\n\ngo 1.26.0\n\n"
                f"require go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"
            ),
        )
        if self.apiserver_bin.exists():
            return
        minor = KUBE_VERSION.split(".")[1]
        ver = "k8s.io/component-base/version"
        gobuild.build(
            self.apiserver_bin.parent.parent,
            "kube-apiserver",
            go_mod=_kube_go_mod(),
            require=f"k8s.io/kubernetes/cmd/kube-apiserver@{KUBE_VERSION}",
            package="k8s.io/kubernetes/cmd/kube-apiserver",
            ldflags=(
                f"-s -w -X {ver}.gitVersion={KUBE_VERSION} -X {ver}.gitMajor=1 "
                f"-X {ver}.gitMinor={minor} -X {ver}.gitTreeState=clean"
            ),
            note="(10-20 minutes on 2 cores) ",
        )

    # ------------------------------------------------------------------ files

    @property
    def tls(self) -> Path:
        return self.state / "tls"

    def admin_token(self) -> str:
        path = self.state / "admin.token"
        if not path.exists():
            self.state.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(24) + "\n")
            path.chmod(0o600)
        return path.read_text().strip()

    def prepare(self) -> None:
        log = self.install_log
        openssl = need_tool("openssl", "openssl", log)
        (self.state / "etcd-data").mkdir(mode=0o700, parents=True, exist_ok=True)
        make_tls(
            self.tls,
            "kube-apiserver",
            [
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
            [HOST, "10.96.0.1"],
            log,
        )
        sa_key, sa_pub = self.tls / "sa.key", self.tls / "sa.pub"
        if not sa_pub.exists():
            run([openssl, "genrsa", "-out", str(sa_key), "2048"], log=log)
            run([openssl, "rsa", "-in", str(sa_key), "-pubout", "-out", str(sa_pub)], log=log)
        token = self.admin_token()
        (self.state / "tokens.csv").write_text(
            f'{token},gateways-admin,gateways-admin,"system:masters"\n'
        )
        (self.state / "kubeconfig").write_text(
            "apiVersion: v1\nkind: Config\n"
            "clusters:\n- name: gateways\n  cluster:\n"
            f"    server: https://{HOST}:{PORT}\n"
            f"    certificate-authority: {self.tls / 'ca.crt'}\n"
            "users:\n- name: gateways-admin\n  user:\n"
            f"    token: {token}\n"
            "contexts:\n- name: gateways\n  context:\n    cluster: gateways\n"
            "    user: gateways-admin\n    namespace: default\n"
            "current-context: gateways\n"
        )
        (self.state / "kubeconfig").chmod(0o600)

    # ------------------------------------------------------------------ processes

    def procs(self) -> list[Proc]:
        tls = self.tls
        etcd = Proc(
            "etcd",
            [
                str(self.etcd_bin),
                "--name",
                "gateways",
                "--data-dir",
                str(self.state / "etcd-data"),
                "--listen-client-urls",
                f"http://{HOST}:{ETCD_PORT}",
                "--advertise-client-urls",
                f"http://{HOST}:{ETCD_PORT}",
                "--listen-peer-urls",
                f"http://{HOST}:{ETCD_PEER_PORT}",
                "--initial-advertise-peer-urls",
                f"http://{HOST}:{ETCD_PEER_PORT}",
                "--initial-cluster",
                f"gateways=http://{HOST}:{ETCD_PEER_PORT}",
                "--unsafe-no-fsync",
                "--log-level",
                "warn",
            ],
            self.state,
        )
        apiserver = Proc(
            "kube-apiserver",
            [
                str(self.apiserver_bin),
                f"--etcd-servers=http://{HOST}:{ETCD_PORT}",
                f"--bind-address={HOST}",
                f"--advertise-address={HOST}",
                f"--secure-port={PORT}",
                f"--tls-cert-file={tls / 'server.crt'}",
                f"--tls-private-key-file={tls / 'server.key'}",
                f"--client-ca-file={tls / 'ca.crt'}",
                f"--token-auth-file={self.state / 'tokens.csv'}",
                "--authorization-mode=Node,RBAC",
                f"--service-account-issuer={ISSUER}",
                f"--service-account-key-file={tls / 'sa.pub'}",
                f"--service-account-signing-key-file={tls / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_RANGE}",
                f"--cert-dir={self.state / 'certs'}",
                # The "kubernetes" Service can't have a loopback endpoint, and nothing needs one.
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
            ],
            self.state,
        )
        return [etcd, apiserver]

    def etcd_healthy(self) -> bool:
        with contextlib.suppress(OSError):
            return probes.http_ok(f"http://{HOST}:{ETCD_PORT}/health", expect=b'"health":"true"')
        return False

    def healthy(self) -> bool:
        return self.etcd_healthy() and probes.http_ok(
            f"https://{HOST}:{PORT}/readyz",
            cafile=str(self.tls / "ca.crt"),
            token=self.admin_token(),
            expect=b"ok",
        )

    def start(self) -> None:
        etcd, apiserver = self.procs()
        if not self.etcd_healthy():
            etcd.stop()
            etcd.start()
            wait_until(self.etcd_healthy, 60, [etcd])
        apiserver.stop()
        apiserver.start()
        wait_until(self.healthy, self.start_timeout, [etcd, apiserver])

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_KUBECONFIG": str(self.state / "kubeconfig"),
            "GATEWAYS_TEST_KUBE_SERVER": f"https://{HOST}:{PORT}",
            "GATEWAYS_TEST_KUBE_CA": str(self.tls / "ca.crt"),
            "GATEWAYS_TEST_KUBE_TOKEN": self.admin_token(),
            "GATEWAYS_TEST_KUSTOMIZE": str(self.kustomize_bin),
        }

    def versions(self) -> str:
        return (
            f"kube-apiserver {KUBE_VERSION}, etcd {ETCD_VERSION}, kustomize {KUSTOMIZE_VERSION} "
            "(built from Go modules)"
        )
