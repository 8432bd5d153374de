"""HDFS: Apache Hadoop's MiniDFSCluster (NameNode + DataNode in one JVM, WebHDFS on), jars from
Maven Central.

``hadoop-minicluster`` brings the cluster; ``MiniHadoopClusterManager`` (in the MapReduce
jobclient test jar it depends on) starts it from the command line and needs JUnit, Mockito and
their helpers at run time, which Hadoop's poms scope to tests, so they are listed here;
jackson-core is raised to 2.12.7 (the 2.10.2 the poms resolve lacks what jackson-databind
2.12 calls). The DataNode binds and advertises 127.0.0.1, so WebHDFS redirects for file data
stay on loopback.
"""

from __future__ import annotations

import json
import shutil
import urllib.request

from .common import HOST, Proc
from .maven import MavenService

VERSION = "3.4.1"
ARTIFACTS = [
    ("org.apache.hadoop", "hadoop-minicluster", VERSION),
    ("junit", "junit", "4.13.2"),
    ("org.hamcrest", "hamcrest-core", "1.3"),
    ("org.mockito", "mockito-core", "2.28.2"),
    ("net.bytebuddy", "byte-buddy", "1.9.10"),
    ("org.objenesis", "objenesis", "2.6"),
    ("com.fasterxml.jackson.core", "jackson-core", "2.12.7"),
]
NAMENODE_PORT = 18020  # the NameNode's RPC port (the seed's `addresses`)
WEBHDFS_PORT = 19870  # the NameNode's HTTP port: WebHDFS
USER = "gateways"
MAIN = "org.apache.hadoop.mapreduce.MiniHadoopClusterManager"


def _pom() -> str:
    deps = "".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>\n"
        for g, a, v in ARTIFACTS
    )
    jackson = (
        "    <dependency><groupId>com.fasterxml.jackson.core</groupId>"
        "<artifactId>jackson-core</artifactId><version>2.12.7</version></dependency>\n"
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>local.gateways</groupId><artifactId>hdfs-runtime</artifactId>\n"
        "  <version>1</version><packaging>pom</packaging>\n"
        f"  <dependencyManagement><dependencies>\n{jackson}"
        "  </dependencies></dependencyManagement>\n"
        f"  <dependencies>\n{deps}  </dependencies>\n</project>\n"
    )


def webhdfs_ok(port: int, user: str) -> bool:
    """WebHDFS ``GETFILESTATUS`` of ``/`` answers a directory."""
    url = f"http://{HOST}:{port}/webhdfs/v1/?op=GETFILESTATUS&user.name={user}"
    with urllib.request.urlopen(url, timeout=3.0) as answer:
        status = json.load(answer)["FileStatus"]
    return bool(status["type"] == "DIRECTORY")


class Hdfs(MavenService):
    name = "hdfs"
    start_timeout = 120.0

    home_name = f"hdfs-{VERSION}"
    title = f"Hadoop {VERSION} minicluster"
    marker_jar = f"hadoop-minicluster-{VERSION}.jar"

    def pom(self) -> str:
        return _pom()

    def prepare(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "log4j.properties").write_text(
            "log4j.rootLogger=WARN, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.org.apache.hadoop.mapreduce.MiniHadoopClusterManager=INFO\n"
        )

    def procs(self) -> list[Proc]:
        java = shutil.which("java") or "java"
        data = self.state / "data"
        argv = [
            java,
            "-Xms256m",
            "-Xmx768m",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.state / 'log4j.properties'}",
            f"-Dtest.build.data={data}",
            f"-Dhadoop.tmp.dir={data / 'tmp'}",
            "-cp",
            str(self.home / "libs" / "*"),
            MAIN,
            "-nomr",
            "-format",
            "-nnport",
            str(NAMENODE_PORT),
            "-nnhttpport",
            str(WEBHDFS_PORT),
            "-D",
            f"dfs.namenode.rpc-bind-host={HOST}",
            "-D",
            f"dfs.namenode.http-bind-host={HOST}",
            "-D",
            f"dfs.datanode.hostname={HOST}",
            "-D",
            "dfs.webhdfs.enabled=true",
            "-D",
            "dfs.permissions.enabled=false",
        ]
        return [Proc("hdfs", argv, self.state)]

    def healthy(self) -> bool:
        return webhdfs_ok(WEBHDFS_PORT, USER)

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_HDFS_NAMENODE": f"{HOST}:{NAMENODE_PORT}",
            "GATEWAYS_TEST_HDFS_WEBHDFS": f"http://{HOST}:{WEBHDFS_PORT}",
            "GATEWAYS_TEST_HDFS_USER": USER,
        }

    def versions(self) -> str:
        return f"Apache Hadoop {VERSION} MiniDFSCluster (Maven Central jars, WebHDFS)"
