"""SQS: ElasticMQ (an SQS-compatible server) from Maven Central's jars, on the JDK."""

from __future__ import annotations

import shutil

from . import probes
from .common import HOST, Proc
from .maven import MavenService

VERSION = "1.6.14"
SCALA = "2.13"
ARTIFACT = ("org.elasticmq", f"elasticmq-server_{SCALA}", VERSION)
PORT = 19324
REGION = "us-east-1"
ACCOUNT = "000000000000"
ACCESS_KEY = "gateways-sqs"  # ElasticMQ takes any credentials
SECRET_KEY = "gateways-sqs-secret"  # noqa: S105 - fixed test credential
MAIN = "org.elasticmq.server.Main"


def _pom() -> str:
    group, artifact, version = ARTIFACT
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>local.gateways</groupId><artifactId>elasticmq-runtime</artifactId>\n"
        "  <version>1</version><packaging>pom</packaging>\n"
        f"  <dependencies>\n    <dependency><groupId>{group}</groupId>"
        f"<artifactId>{artifact}</artifactId><version>{version}</version></dependency>\n"
        "  </dependencies>\n</project>\n"
    )


class Sqs(MavenService):
    name = "sqs"
    start_timeout = 90.0

    home_name = f"elasticmq-{VERSION}"
    title = f"ElasticMQ {VERSION}"
    marker_jar = f"elasticmq-server_{SCALA}-{VERSION}.jar"

    def pom(self) -> str:
        return _pom()

    def prepare(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        # In memory: queues live as long as the server (tests make their own queues).
        (self.state / "elasticmq.conf").write_text(
            'include classpath("application.conf")\n'
            f'node-address {{ protocol = http, host = "{HOST}", port = {PORT}, '
            'context-path = "" }\n'
            f'rest-sqs {{ enabled = true, bind-port = {PORT}, bind-hostname = "{HOST}", '
            "sqs-limits = strict }\n"
            "rest-stats { enabled = false }\n"
            f'aws {{ region = "{REGION}", accountId = "{ACCOUNT}" }}\n'
        )

    def procs(self) -> list[Proc]:
        java = shutil.which("java") or "java"
        argv = [
            java,
            "-Xms64m",
            "-Xmx384m",
            "-Djava.awt.headless=true",
            f"-Dconfig.file={self.state / 'elasticmq.conf'}",
            "-cp",
            str(self.home / "libs" / "*"),
            MAIN,
        ]
        return [Proc("elasticmq", argv, self.state)]

    def healthy(self) -> bool:
        return probes.sqs(PORT)

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_SQS_ENDPOINT": f"http://{HOST}:{PORT}",
            "GATEWAYS_TEST_SQS_REGION": REGION,
            "GATEWAYS_TEST_SQS_ACCESS_KEY": ACCESS_KEY,
            "GATEWAYS_TEST_SQS_SECRET_KEY": SECRET_KEY,
        }

    def versions(self) -> str:
        return f"ElasticMQ {VERSION} (Scala {SCALA}, Maven Central jars)"
