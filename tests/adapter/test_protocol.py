"""The committed generated code matches eventing.proto, and the seed's protocol is intact."""

from __future__ import annotations

from pathlib import Path

from gateways.protocol import eventing_pb2 as pb
from gateways.protocol.generate import GENERATED, ROOT, generate

COMMITTED = ROOT / "gateways" / "protocol"


def test_generated_code_is_current(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    stale = [
        path.name for path in fresh if path.read_bytes() != (COMMITTED / path.name).read_bytes()
    ]
    assert sorted(p.name for p in fresh) == sorted(GENERATED)
    assert not stale, f"stale: {stale}; run `python -m gateways.protocol.generate`"


def test_seed_service_and_messages_are_unchanged() -> None:
    service = pb.DESCRIPTOR.services_by_name["Eventing"]
    assert service.full_name == "gateways.Eventing"
    methods = {m.name: m for m in service.methods}
    start, validate = methods["StartEventSource"], methods["ValidateEventSource"]
    assert (start.input_type.name, start.output_type.name) == ("EventSource", "Event")
    assert start.server_streaming and not start.client_streaming
    assert (validate.input_type.name, validate.output_type.name) == (
        "EventSource",
        "ValidEventSource",
    )
    acked = methods["StartEventSourceAcked"]
    assert acked.client_streaming and acked.server_streaming

    def numbers(message: str) -> dict[str, int]:
        return {f.name: f.number for f in pb.DESCRIPTOR.message_types_by_name[message].fields}

    assert {"id": 1, "name": 2, "value": 3, "type": 4}.items() <= numbers("EventSource").items()
    assert {"name": 1, "payload": 2}.items() <= numbers("Event").items()
    assert numbers("ValidEventSource") == {"isValid": 1, "reason": 2}
