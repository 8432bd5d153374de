"""Stream brokers -> one watcher: our two paths beside honest floors, in one run per broker.

``python -m bench.streams [--broker nats,kafka,amqp] [--messages 20000] [--seconds 5] [--sweep]
[--json PATH]``. For each broker, against the same broker and the same watcher process
(:mod:`.watcher`), each path (:mod:`.paths`) on a fresh subject/topic/queue of its own:

(a) the fire-and-forget floor and (b) the at-least-once floor: minimal consumers written with the
broker clients our adapters use (nats-py, kafka-python, pika) and aiohttp, 64 POSTs in flight
(:mod:`.floor_nats`, :mod:`.floor_kafka`, :mod:`.floor_amqp`; each docstring says exactly what
it does); (c) ours deployed: the adapter process -> the dispatcher function over HTTP;
(d) ours embedded: ``gateways up``; (e) NATS only: the OpenFaaS nats-connector
(:mod:`bench.peers.openfaas`), or a row saying why it cannot run here.

Every path goes through the same phases (:mod:`.measure`): events/s over a burst, CPU seconds per
1,000 events of its own processes, p50/p99 at half its own events/s, lost messages when the
watcher answers 503 for 2 s, and with ``--sweep`` delivered events/s and p99 at 0.25-1.25 x the
at-least-once floor's events/s. Tables print ratios against (b) and (a) (:mod:`.report`);
``--json`` keeps every raw figure for ``python -m bench.plot``. Prints; asserts nothing.
"""
