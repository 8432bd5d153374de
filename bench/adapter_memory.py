"""Idle memory of each adapter with one running source, beside a bare process of its stack.

Each adapter runs as its container does (``python -m adapters...``), in direct dispatch mode,
with one source connected to the real service from ``scripts/services up``. Once the source
runs, its resident set size is read. The baseline is a bare interpreter that imported the
same runtime stack (asyncio, aiohttp, grpcio) and nothing else.
Run: scripts/services up && python -m bench.adapter_memory
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench._common import free_port, start, start_watcher, stop, wait_http
from bench.cold_start import rss_mb

SERVICES = Path(os.environ.get("GATEWAYS_SERVICES_STATE", "/tmp/gateways-services")) / "env.json"
BASELINE = "import asyncio, aiohttp, grpc, time; time.sleep(60)"


def sources(env: dict[str, str], tag: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """kind -> (module, one source config) against the local test services."""
    return {
        "nats": (
            "adapters.streams.nats",
            {"url": env["GATEWAYS_TEST_NATS_URL"], "subject": f"mem.{tag}"},
        ),
        "mqtt": (
            "adapters.streams.mqtt",
            {
                "url": f"tcp://127.0.0.1:{env['GATEWAYS_TEST_MQTT_PORT']}",
                "topic": f"mem/{tag}",
                "clientId": f"mem-{tag}",
            },
        ),
        "amqp": (
            "adapters.streams.amqp",
            {
                "url": env["GATEWAYS_TEST_AMQP_URL"],
                "exchangeName": f"mem-{tag}",
                "exchangeType": "fanout",
                "queue": {"name": f"mem-{tag}", "autoDelete": True},
            },
        ),
        "kafka": (
            "adapters.streams.kafka",
            {
                "url": env["GATEWAYS_TEST_KAFKA_BOOTSTRAP"],
                "topic": f"mem-{tag}",
                "consumerGroup": {"groupName": f"mem-{tag}"},
            },
        ),
        "artifact": (
            "adapters.artifact",
            {
                "endpoint": env["GATEWAYS_TEST_MINIO_ENDPOINT"],
                "bucket": {"name": f"mem-{tag}"},
                "insecure": True,
                "events": ["s3:ObjectCreated:*"],
                "accessKey": {"env": "MINIO_ACCESS_KEY"},
                "secretKey": {"env": "MINIO_SECRET_KEY"},
            },
        ),
        "resource": (
            "adapters.resource",
            {"namespace": "default", "version": "v1", "kind": "ConfigMap"},
        ),
    }


def prepare(env: dict[str, str], tag: str) -> None:
    """What the sources expect to exist: a Kafka topic and a MinIO bucket."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from minio import Minio

    admin = KafkaAdminClient(bootstrap_servers=env["GATEWAYS_TEST_KAFKA_BOOTSTRAP"])
    admin.create_topics([NewTopic(f"mem-{tag}", 1, 1)])
    admin.close()
    minio = Minio(
        env["GATEWAYS_TEST_MINIO_ENDPOINT"],
        env["GATEWAYS_TEST_MINIO_ACCESS_KEY"],
        env["GATEWAYS_TEST_MINIO_SECRET_KEY"],
        secure=False,
    )
    minio.make_bucket(f"mem-{tag}")


async def running(admin: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{admin}/status") as reply:
                    document: dict[str, Any] = await reply.json()
                    states = {s["state"] for s in document["sources"]}
                    if states == {"running"}:
                        return document
            except (aiohttp.ClientError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{admin}: not running")
            await asyncio.sleep(0.2)


async def main() -> None:
    env = json.loads(SERVICES.read_text())
    tag = uuid.uuid4().hex[:8]
    prepare(env, tag)
    watcher_port = free_port()
    watcher = start_watcher(watcher_port)
    baseline = start([sys.executable, "-c", BASELINE])
    try:
        await wait_http(f"http://127.0.0.1:{watcher_port}/")
        time.sleep(1.0)
        base = rss_mb(baseline.pid)
        print(f"baseline: python with asyncio, aiohttp and grpc imported : {base:6.1f} MB")
        with tempfile.TemporaryDirectory() as tmp:
            for kind, (module, config) in sources(env, tag).items():
                registry = Path(tmp) / f"{kind}.yaml"
                registry.write_text(
                    yaml.safe_dump(
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {
                                "name": f"mem-{kind}",
                                "labels": {"gateways.dev/type": kind},
                                "annotations": {
                                    "gateways.dev/watchers": yaml.safe_dump(
                                        [f"http://127.0.0.1:{watcher_port}/"]
                                    )
                                },
                            },
                            "data": {"one": yaml.safe_dump(config)},
                        }
                    )
                )
                admin_port = free_port()
                adapter = start(
                    [sys.executable, "-m", module],
                    env={
                        "GATEWAYS_REGISTRY_FILE": str(registry),
                        "GATEWAYS_DISPATCH": "direct",
                        "GATEWAYS_ADMIN_PORT": str(admin_port),
                        "GATEWAYS_STATE_DIR": tmp,
                        "GATEWAYS_LOG_LEVEL": "WARNING",
                        "KUBECONFIG": env["GATEWAYS_TEST_KUBECONFIG"],
                        "MINIO_ACCESS_KEY": env["GATEWAYS_TEST_MINIO_ACCESS_KEY"],
                        "MINIO_SECRET_KEY": env["GATEWAYS_TEST_MINIO_SECRET_KEY"],
                    },
                )
                try:
                    await running(f"http://127.0.0.1:{admin_port}")
                    await asyncio.sleep(2.0)
                    rss = rss_mb(adapter.pid)
                    print(
                        f"{kind:<9} adapter, one source running, idle RSS : {rss:6.1f} MB"
                        f"   ({rss / base:4.2f} x baseline; target < 80 MB)"
                    )
                finally:
                    stop(adapter)
    finally:
        stop(watcher, baseline)


if __name__ == "__main__":
    asyncio.run(main())
