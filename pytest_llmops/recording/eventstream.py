"""AWS event-stream framing (`application/vnd.amazon.eventstream`), encode and decode, standard library only.

Bedrock's `converse-stream` and `invoke-with-response-stream` answer with this
binary framing rather than SSE. One message is:

    total length (u32) | headers length (u32) | prelude CRC32 (u32)
    headers | payload | message CRC32 (u32, over everything before it)

All integers are big-endian; a header is a 1-byte name length, the UTF-8 name,
a 1-byte value type and the value (type 7, a string with a u16 length, is what
Bedrock uses for `:event-type`, `:content-type` and `:message-type`).

Recordings hold such a body as raw bytes (`!!binary` in YAML cassettes). The
decoder is incremental (`EventStreamDecoder.feed`) so a transport can follow a
stream as it arrives, and strict: a CRC mismatch or an impossible length raises
`EventStreamError`, while an incomplete final message is simply left pending.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "CONTENT_TYPE",
    "EventMessage",
    "EventStreamDecoder",
    "EventStreamError",
    "HeaderValue",
    "encode_message",
    "iter_messages",
    "looks_like_event_stream",
]

CONTENT_TYPE = "application/vnd.amazon.eventstream"

_PRELUDE = struct.Struct(">III")
_PRELUDE_LENGTH = 12
_CRC_LENGTH = 4
_MIN_MESSAGE = _PRELUDE_LENGTH + _CRC_LENGTH
_MAX_MESSAGE = 24 * 1024 * 1024  # the service limit is 16 MiB; a larger length means a corrupt frame
_MAX_HEADERS = 128 * 1024

HeaderValue = bool | int | bytes | str | datetime | uuid.UUID


class EventStreamError(ValueError):
    """Bytes that are not a valid event-stream message (bad CRC, impossible length, unknown header type)."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    headers: dict[str, HeaderValue] = field(default_factory=dict)
    payload: bytes = b""

    def _text(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value if isinstance(value, str) else None

    @property
    def message_type(self) -> str | None:
        """`event`, `exception` or `error`."""
        return self._text(":message-type")

    @property
    def event_type(self) -> str | None:
        return self._text(":event-type")

    @property
    def exception_type(self) -> str | None:
        return self._text(":exception-type")

    @property
    def content_type(self) -> str | None:
        return self._text(":content-type")


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes) -> bytes:
    """One framed message. Header values: str (type 7), bytes (6), bool (0/1), int (4, or 5 when it
    does not fit 32 bits), datetime (8), UUID (9)."""
    encoded_headers = b"".join(_encode_header(name, value) for name, value in headers.items())
    total = _PRELUDE_LENGTH + len(encoded_headers) + len(payload) + _CRC_LENGTH
    prelude = struct.pack(">II", total, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def iter_messages(data: bytes) -> Iterator[EventMessage]:
    """The complete messages in `data`, in order. An incomplete tail (a stream cut short) is ignored;
    corrupt framing raises `EventStreamError`."""
    decoder = EventStreamDecoder()
    yield from decoder.feed(data)


def looks_like_event_stream(data: bytes) -> bool:
    """Whether `data` starts with a valid event-stream prelude (its CRC matches)."""
    if len(data) < _MIN_MESSAGE:
        return False
    total, headers_length, crc = _PRELUDE.unpack_from(data)
    return bool(
        _MIN_MESSAGE <= total <= _MAX_MESSAGE
        and headers_length <= total - _MIN_MESSAGE
        and zlib.crc32(data[:8]) == crc
    )


class EventStreamDecoder:
    """Incremental decoder: `feed` bytes as they arrive, get back the messages they complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a complete message."""
        return len(self._buffer)

    def feed(self, chunk: bytes) -> list[EventMessage]:
        self._buffer += chunk
        messages: list[EventMessage] = []
        offset = 0
        buffer = self._buffer
        while len(buffer) - offset >= _PRELUDE_LENGTH:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(buffer, offset)
            if zlib.crc32(bytes(buffer[offset : offset + 8])) != prelude_crc:
                raise EventStreamError(f"event-stream prelude CRC mismatch at byte {offset}")
            if not _MIN_MESSAGE <= total <= _MAX_MESSAGE or headers_length > min(
                total - _MIN_MESSAGE, _MAX_HEADERS
            ):
                raise EventStreamError(
                    f"event-stream message at byte {offset} has impossible lengths "
                    f"(total {total}, headers {headers_length})"
                )
            if len(buffer) - offset < total:
                break
            frame = bytes(buffer[offset : offset + total])
            (message_crc,) = struct.unpack_from(">I", frame, total - _CRC_LENGTH)
            if zlib.crc32(frame[: total - _CRC_LENGTH]) != message_crc:
                raise EventStreamError(f"event-stream message CRC mismatch at byte {offset}")
            headers_end = _PRELUDE_LENGTH + headers_length
            headers = _decode_headers(frame[_PRELUDE_LENGTH:headers_end], offset)
            messages.append(EventMessage(headers, frame[headers_end : total - _CRC_LENGTH]))
            offset += total
        del buffer[:offset]
        return messages


def _encode_header(name: str, value: HeaderValue) -> bytes:
    raw_name = name.encode("utf-8")
    if not 0 < len(raw_name) < 256:
        raise ValueError(f"event-stream header name {name!r}: must be 1-255 bytes of UTF-8")
    head = bytes([len(raw_name)]) + raw_name
    if isinstance(value, bool):
        return head + (b"\x00" if value else b"\x01")
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return head + b"\x04" + struct.pack(">i", value)
        return head + b"\x05" + struct.pack(">q", value)
    if isinstance(value, bytes):
        return head + b"\x06" + struct.pack(">H", len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return head + b"\x07" + struct.pack(">H", len(raw)) + raw
    if isinstance(value, datetime):
        millis = round(value.timestamp() * 1000)
        return head + b"\x08" + struct.pack(">q", millis)
    if isinstance(value, uuid.UUID):
        return head + b"\x09" + value.bytes
    raise TypeError(f"event-stream header {name!r}: unsupported value type {type(value).__name__}")


_FIXED = {2: ">b", 3: ">h", 4: ">i", 5: ">q"}


def _decode_headers(raw: bytes, at: int) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    pos = 0
    try:
        while pos < len(raw):
            name_length = raw[pos]
            name = raw[pos + 1 : pos + 1 + name_length].decode("utf-8")
            pos += 1 + name_length
            kind = raw[pos]
            pos += 1
            value: HeaderValue
            if kind in (0, 1):
                value = kind == 0
            elif kind in _FIXED:
                fmt = _FIXED[kind]
                (value,) = struct.unpack_from(fmt, raw, pos)
                pos += struct.calcsize(fmt)
            elif kind in (6, 7):
                (length,) = struct.unpack_from(">H", raw, pos)
                data = raw[pos + 2 : pos + 2 + length]
                if len(data) != length:
                    raise EventStreamError(f"event-stream header {name!r} at byte {at} is cut short")
                value = data.decode("utf-8") if kind == 7 else data
                pos += 2 + length
            elif kind == 8:
                (millis,) = struct.unpack_from(">q", raw, pos)
                value = datetime.fromtimestamp(millis / 1000, tz=UTC)
                pos += 8
            elif kind == 9:
                if pos + 16 > len(raw):
                    raise EventStreamError(f"event-stream header {name!r} at byte {at} is cut short")
                value = uuid.UUID(bytes=raw[pos : pos + 16])
                pos += 16
            else:
                raise EventStreamError(f"event-stream header {name!r} at byte {at} has unknown type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(
            f"event-stream headers of the message at byte {at} are malformed: {exc}"
        ) from None
    return headers
