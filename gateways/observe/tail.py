"""``gateways tail``: follow a running process's recent events over its admin port.

It long-polls ``/events/recent`` (as the status page does), first for the last ``lines``
events, then for each one after the last it printed, and prints one line per event: time,
gateway/source, type, id, outcome; or, with ``as_json``, the event as one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any, TextIO
from urllib.parse import urlencode

WAIT = 20  # seconds each long poll may wait for an event


def follow(
    address: str, source: str = "", as_json: bool = False, lines: int = 10, out: TextIO = sys.stdout
) -> int:
    """Print events until interrupted (exit status 0), or until the process stops answering
    (1)."""
    after: int | None = None
    try:
        while True:
            query: dict[str, Any] = {"source": source} if source else {}
            if after is None:
                query["limit"] = max(lines, 1)
            else:
                query.update(after=after, wait=WAIT)
            url = f"{address.rstrip('/')}/events/recent?{urlencode(query)}"
            document = _get(url, address, first=after is None)
            if document is None:
                return 1
            if document.get("recording") is False:
                print(
                    f"gateways: {address} records no events (its sources hand them to the"
                    " dispatcher function): tail the dispatcher's admin address",
                    file=sys.stderr,
                )
                return 1
            for gap in document.get("gaps", []):
                print(f"gateways: some events of {gap} came and went unseen", file=sys.stderr)
            events = document.get("events", [])
            if after is None:
                events = events[-lines:] if lines else []
            for event in events:
                out.write((json.dumps(event) if as_json else line(event)) + "\n")
            out.flush()
            after = int(document.get("next", 0))
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # the reader went away (tail | head): done
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 0


def _get(url: str, address: str, first: bool) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=WAIT + 10) as reply:  # noqa: S310 (http only)
            document: dict[str, Any] = json.load(reply)
            return document
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace")
        print(f"gateways: {address} answered {exc.code}: {detail}", file=sys.stderr)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        what = "no gateway answers at" if first else "the gateway stopped answering at"
        print(f"gateways: {what} {address}: {exc}", file=sys.stderr)
    return None


def line(event: dict[str, Any]) -> str:
    attributes = event.get("attributes", {})
    fields = [
        event.get("time", ""),
        f"{event.get('gateway', '')}/{event.get('source', '')}",
        attributes.get("type", "-"),
        attributes.get("id", "-"),
        event.get("outcome", ""),
    ]
    why = event.get("error") or next(
        (
            f"{w['url']}: {w.get('error') or w.get('status')}"
            for w in event.get("watchers", [])
            if not w.get("ok")
        ),
        "",
    )
    if why:
        fields.append(f"({why})")
    return "  ".join(printable(str(field)) for field in fields)


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (escape sequences) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
