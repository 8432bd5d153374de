"""Protocol-level health checks, stdlib only: each speaks the service's own protocol."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import urllib.request
from typing import BinaryIO

from .common import HOST

TIMEOUT = 3.0


def _connect(port: int, cafile: str | None = None) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    if cafile is None:
        return sock
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx.wrap_socket(sock, server_hostname=HOST)


def _read_exact(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if data is None or len(data) != n:
        raise ConnectionError("short read")
    return data


# --------------------------------------------------------------------------- NATS


def nats(
    port: int, user: str | None = None, password: str | None = None, jetstream: bool = False
) -> bool:
    """CONNECT + PING must give PONG; with `jetstream`, $JS.API.INFO must answer."""
    with _connect(port) as sock, sock.makefile("rb") as rf:
        if not rf.readline().startswith(b"INFO "):
            return False
        opts: dict[str, object] = {
            "verbose": False,
            "pedantic": False,
            "protocol": 1,
            "lang": "probe",
            "version": "0",
            "headers": True,
        }
        if user is not None:
            opts.update(user=user, **{"pass": password})
        sock.sendall(b"CONNECT " + json.dumps(opts).encode() + b"\r\nPING\r\n")
        line = rf.readline()
        while line.startswith(b"PING") or line.startswith(b"INFO"):
            line = rf.readline()
        if not line.startswith(b"PONG"):
            return False
        if not jetstream:
            return True
        sock.sendall(b"SUB _INBOX.gw_probe 1\r\nPUB $JS.API.INFO _INBOX.gw_probe 0\r\n\r\n")
        while True:
            line = rf.readline()
            if line.startswith(b"MSG "):
                size = int(line.split()[-1])
                reply = json.loads(_read_exact(rf, size + 2)[:size])
                return "error" not in reply and "memory" in reply
            if not line or line.startswith(b"-ERR"):
                return False


# --------------------------------------------------------------------------- MQTT


def _mqtt_str(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">H", len(raw)) + raw


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt(
    port: int, user: str | None = None, password: str | None = None, cafile: str | None = None
) -> bool:
    """MQTT 3.1.1 CONNECT must be answered by CONNACK with return code 0."""
    flags = 0x02
    payload = _mqtt_str("gw-probe")
    if user is not None:
        flags |= 0x80
        payload += _mqtt_str(user)
    if password is not None:
        flags |= 0x40
        payload += _mqtt_str(password)
    body = _mqtt_str("MQTT") + bytes([4, flags]) + struct.pack(">H", 10) + payload
    with _connect(port, cafile) as sock, sock.makefile("rb") as rf:
        sock.sendall(b"\x10" + _varint(len(body)) + body)
        connack = _read_exact(rf, 4)
        ok = connack[0] == 0x20 and connack[3] == 0
        if ok:
            sock.sendall(b"\xe0\x00")
        return ok


# --------------------------------------------------------------------------- AMQP 0-9-1


def _amqp_method(rf: BinaryIO) -> tuple[int, int]:
    kind, _channel, size = struct.unpack(">BHI", _read_exact(rf, 7))
    payload = _read_exact(rf, size + 1)
    if kind != 1:
        raise ConnectionError(f"unexpected AMQP frame type {kind}")
    return struct.unpack(">HH", payload[:4])


def amqp(port: int, user: str, password: str) -> bool:
    """Handshake and PLAIN login: Connection.Start, Start-Ok, then Tune means logged in."""
    with _connect(port) as sock, sock.makefile("rb") as rf:
        sock.sendall(b"AMQP\x00\x00\x09\x01")
        if _amqp_method(rf) != (10, 10):
            return False
        creds = f"\0{user}\0{password}".encode()
        args = (
            struct.pack(">HHI", 10, 11, 0)
            + b"\x05PLAIN"
            + struct.pack(">I", len(creds))
            + creds
            + b"\x05en_US"
        )
        sock.sendall(struct.pack(">BHI", 1, 0, len(args)) + args + b"\xce")
        try:
            if _amqp_method(rf) != (10, 30):  # Connection.Tune: the login was accepted
                return False
        except ConnectionError:
            return False
        # Connection.Close(200) so the broker doesn't log an abrupt disconnect.
        close = struct.pack(">HHH", 10, 50, 200) + b"\x02OK" + struct.pack(">HH", 0, 0)
        sock.sendall(struct.pack(">BHI", 1, 0, len(close)) + close + b"\xce")
        return True


# --------------------------------------------------------------------------- Kafka


def kafka(port: int) -> bool:
    """A Metadata (v0) request must list at least one broker."""
    client = b"gw-probe"
    req = struct.pack(">hhiH", 3, 0, 1, len(client)) + client + struct.pack(">i", 0)
    with _connect(port) as sock, sock.makefile("rb") as rf:
        sock.sendall(struct.pack(">i", len(req)) + req)
        (size,) = struct.unpack(">i", _read_exact(rf, 4))
        resp = _read_exact(rf, size)
    correlation, brokers = struct.unpack(">ii", resp[:8])
    return correlation == 1 and brokers >= 1


# --------------------------------------------------------------------------- HTTP


def http_ok(
    url: str, cafile: str | None = None, token: str | None = None, expect: bytes | None = None
) -> bool:
    """GET `url`; 200 (and `expect` in the body, if given) means healthy."""
    req = urllib.request.Request(url)  # noqa: S310 - only ever http(s)://127.0.0.1
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT, context=ctx) as resp:  # noqa: S310
            body = resp.read()
            return resp.status == 200 and (expect is None or expect in body)
    except OSError:  # refused, reset, TLS not ready yet, or an HTTP error status
        return False


# --------------------------------------------------------------------------- SNS (moto)


def sns(port: int, region: str, access_key: str) -> bool:
    """The SNS query API's ListTopics must answer (moto routes on the credential scope)."""
    req = urllib.request.Request(
        f"http://{HOST}:{port}/",
        data=b"Action=ListTopics&Version=2010-03-31",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/20260101/{region}/sns/"
            "aws4_request, SignedHeaders=host, Signature=probe",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310
            return resp.status == 200 and b"<ListTopicsResponse" in resp.read()
    except OSError:
        return False


# --------------------------------------------------------------------------- SQS (ElasticMQ)


def sqs(port: int) -> bool:
    """The SQS query API's ListQueues must answer."""
    req = urllib.request.Request(
        f"http://{HOST}:{port}/",
        data=b"Action=ListQueues&Version=2012-11-05",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310
            return resp.status == 200 and b"ListQueuesResponse" in resp.read()
    except OSError:
        return False
