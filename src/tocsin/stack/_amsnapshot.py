"""Alertmanager's silences snapshot file, written by hand (protobuf wire format, no protobuf library).

Alertmanager loads ``<storage.path>/silences`` at start: a sequence of varint-length-prefixed
``silencepb.MeshSilence`` messages. Writing it from the supervisor's copy before restarting a crashed
Alertmanager brings every silence back *with its id*, which re-creating them through the API cannot.
The encoding is checked byte for byte against a file the real Alertmanager wrote (tests/stack).

    MeshSilence { Silence silence = 1; Timestamp expires_at = 2; }
    Silence     { string id = 1; repeated Matcher matchers = 2; Timestamp starts_at = 3;
                  Timestamp ends_at = 4; Timestamp updated_at = 5; string created_by = 8;
                  string comment = 9; }
    Matcher     { Type type = 1; string name = 2; string pattern = 3; }
                  // type: EQUAL 0, REGEXP 1, NOT_EQUAL 2, NOT_REGEXP 3
    Timestamp   { int64 seconds = 1; int32 nanos = 2; }
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

__all__ = ["RETENTION", "encode_snapshot"]

#: Alertmanager's default ``--data.retention``: how long an ended silence is kept
RETENTION = timedelta(hours=120)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int(number: int, value: int) -> bytes:
    """A varint field (wire type 0); proto3 omits zero."""
    return _varint(number << 3) + _varint(value) if value else b""


def _string(number: int, value: str) -> bytes:
    return _field(number, value.encode()) if value else b""


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _timestamp(number: int, when: datetime) -> bytes:
    seconds = int(when.timestamp() // 1)
    return _field(number, _int(1, seconds) + _int(2, when.microsecond * 1000))


def _matcher(matcher: Mapping[str, Any]) -> bytes:
    kind = (0 if matcher.get("isEqual", True) else 2) + (1 if matcher["isRegex"] else 0)
    return _int(1, kind) + _string(2, matcher["name"]) + _string(3, matcher["value"])


def _silence(silence: Mapping[str, Any]) -> bytes:
    body = _string(1, silence["id"])
    body += b"".join(_field(2, _matcher(m)) for m in silence["matchers"])
    body += _timestamp(3, _parse(silence["startsAt"]))
    body += _timestamp(4, _parse(silence["endsAt"]))
    body += _timestamp(5, _parse(silence["updatedAt"]))
    body += _string(8, silence.get("createdBy", "")) + _string(9, silence.get("comment", ""))
    return body


def encode_snapshot(silences: Iterable[Mapping[str, Any]], retention: timedelta = RETENTION) -> bytes:
    """The ``silences`` file for API-shaped silences (``GET /api/v2/silences`` items)."""
    out = bytearray()
    for silence in silences:
        expires = _parse(silence["endsAt"]) + retention
        mesh = _field(1, _silence(silence)) + _timestamp(2, expires)
        out += _varint(len(mesh)) + mesh
    return bytes(out)
