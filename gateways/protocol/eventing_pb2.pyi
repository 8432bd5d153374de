from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventSource(_message.Message):
    __slots__ = ("id", "name", "value", "type", "gateway")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    value: bytes
    type: str
    gateway: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., value: _Optional[bytes] = ..., type: _Optional[str] = ..., gateway: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("name", "payload", "deliveryId", "metadata")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    DELIVERYID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    payload: bytes
    deliveryId: int
    metadata: EventMetadata
    def __init__(self, name: _Optional[str] = ..., payload: _Optional[bytes] = ..., deliveryId: _Optional[int] = ..., metadata: _Optional[_Union[EventMetadata, _Mapping]] = ...) -> None: ...

class EventMetadata(_message.Message):
    __slots__ = ("contentType", "originId", "subject", "time", "action", "extensions", "headers", "binding")
    class ExtensionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    ORIGINID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    BINDING_FIELD_NUMBER: _ClassVar[int]
    contentType: str
    originId: str
    subject: str
    time: str
    action: str
    extensions: _containers.ScalarMap[str, str]
    headers: _containers.ScalarMap[str, str]
    binding: str
    def __init__(self, contentType: _Optional[str] = ..., originId: _Optional[str] = ..., subject: _Optional[str] = ..., time: _Optional[str] = ..., action: _Optional[str] = ..., extensions: _Optional[_Mapping[str, str]] = ..., headers: _Optional[_Mapping[str, str]] = ..., binding: _Optional[str] = ...) -> None: ...

class ValidEventSource(_message.Message):
    __slots__ = ("isValid", "reason")
    ISVALID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    isValid: bool
    reason: str
    def __init__(self, isValid: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ClientMessage(_message.Message):
    __slots__ = ("start", "ack")
    START_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    start: Start
    ack: Ack
    def __init__(self, start: _Optional[_Union[Start, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ...) -> None: ...

class Start(_message.Message):
    __slots__ = ("eventSource", "maxInFlight")
    EVENTSOURCE_FIELD_NUMBER: _ClassVar[int]
    MAXINFLIGHT_FIELD_NUMBER: _ClassVar[int]
    eventSource: EventSource
    maxInFlight: int
    def __init__(self, eventSource: _Optional[_Union[EventSource, _Mapping]] = ..., maxInFlight: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("deliveryIds", "ok", "reason")
    DELIVERYIDS_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    deliveryIds: _containers.RepeatedScalarFieldContainer[int]
    ok: bool
    reason: str
    def __init__(self, deliveryIds: _Optional[_Iterable[int]] = ..., ok: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ServerMessage(_message.Message):
    __slots__ = ("event", "status", "events")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    event: Event
    status: SourceStatus
    events: EventBatch
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., status: _Optional[_Union[SourceStatus, _Mapping]] = ..., events: _Optional[_Union[EventBatch, _Mapping]] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class SourceStatus(_message.Message):
    __slots__ = ("state", "reason")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    state: str
    reason: str
    def __init__(self, state: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
