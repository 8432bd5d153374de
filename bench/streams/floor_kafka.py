"""The Kafka floors: minimal kafka-python consumers that POST each record's value to the watcher.

Both run one ``KafkaConsumer`` in a consumer group (``auto_offset_reset=earliest``); every
consumer call runs on one thread of its own (kafka-python is not thread-safe), ``poll`` with a
100 ms wait and up to 500 records; each record waits for one of 64 slots and is POSTed as a
task. Partition order is not kept: up to 64 records of any partitions are in flight.

``fire BOOTSTRAP TOPIC GROUP WATCHER``: offsets auto-committed (kafka-python's default, every
5 s); a refused or failed POST loses the record.

``alo BOOTSTRAP TOPIC GROUP WATCHER``: no auto-commit; a record is POSTed until the watcher
answers 2xx (retries wait 0.1 s, doubling to 1 s); after every poll the consumer commits
(``commit_async``, not waiting for the answer), per partition, the lowest offset still being
delivered (or the next to poll when none is): the highest contiguous delivered offset + 1.
At least once: no offset is committed before its record was taken. Rebalances are not
handled (one member per group here).

Run by bench.streams as ``python -m bench.streams.floor_kafka MODE ...``.
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from bench.streams.floorkit import IN_FLIGHT, post, session, spawn


async def consume(bootstrap: str, topic: str, group: str, watcher: str, commit: bool) -> None:
    loop = asyncio.get_running_loop()
    io = ThreadPoolExecutor(1)
    consumer = await loop.run_in_executor(
        io,
        lambda: KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=not commit,
            auto_offset_reset="earliest",
            max_poll_records=500,
            fetch_max_wait_ms=100,
        ),
    )
    slots = asyncio.Semaphore(IN_FLIGHT)
    pending: dict[TopicPartition, set[int]] = {}  # offsets being delivered
    polled: dict[TopicPartition, int] = {}  # next offset to poll
    committed: dict[TopicPartition, int] = {}
    async with session() as client:

        async def deliver(partition: TopicPartition, record: Any) -> None:
            delay = 0.1
            try:
                while not await post(client, watcher, record.value) and commit:
                    await asyncio.sleep(delay)
                    delay = min(1.0, delay * 2)
            finally:
                pending[partition].discard(record.offset)
                slots.release()

        while True:
            batches = await loop.run_in_executor(io, consumer.poll, 100)
            for partition, records in batches.items():
                for record in records:
                    await slots.acquire()
                    pending.setdefault(partition, set()).add(record.offset)
                    polled[partition] = record.offset + 1
                    spawn(deliver(partition, record))
            if not commit:
                continue
            offsets = {tp: min(pending[tp], default=polled[tp]) for tp in polled}
            changed = {
                tp: OffsetAndMetadata(o, "", -1)
                for tp, o in offsets.items()
                if committed.get(tp) != o
            }
            if changed:
                await loop.run_in_executor(io, consumer.commit_async, changed)
                committed.update(offsets)


if __name__ == "__main__":
    mode, bootstrap, topic, group, watcher = sys.argv[1:]
    asyncio.run(consume(bootstrap, topic, group, watcher, commit=mode == "alo"))
