"""Server-sent events, as the HTML standard parses them, for recorded streams.

Recorded SSE bodies are one string, so both parsing (usage, text) and replay
(sending the stream back one event at a time) start here. Two deliberate
departures from the standard, both because recordings get cut:
- a final event that lacks its terminating blank line is still dispatched;
- `split_event_chunks` keeps every byte, so a replayed stream is the recorded one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["SSEEvent", "iter_events", "split_event_chunks"]

_LINE_END = re.compile(r"\r\n|\r|\n")
_LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event.

    `event` is None when the stream named no type (the standard calls it
    "message"). `id` is the last event id seen so far, which the standard
    carries over to later events; `retry` is the retry field of this event's
    block, if it had one.
    """

    event: str | None
    data: str
    id: str | None = None
    retry: int | None = None


class _Parser:
    """The standard's field-by-field state machine, fed one line at a time."""

    __slots__ = ("data", "event", "has_data", "last_id", "retry")

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._reset()

    def _reset(self) -> None:
        self.data: list[str] = []
        self.has_data = False
        self.event = ""
        self.retry: int | None = None

    def feed(self, line: str) -> SSEEvent | None:
        """Process one line (without its terminator); return the event a blank line dispatches."""
        if not line:
            return self.dispatch()
        if line[0] == ":":
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self.data.append(value)
            self.has_data = True
        elif name == "event":
            self.event = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        # Any other field name is ignored, as the standard says.
        return None

    def dispatch(self) -> SSEEvent | None:
        event = None
        if self.has_data:
            event = SSEEvent(
                event=self.event or None, data="\n".join(self.data), id=self.last_id, retry=self.retry
            )
        self._reset()
        return event


def iter_events(body: bytes | str) -> Iterator[SSEEvent]:
    """Parse an SSE body: LF, CRLF or CR line ends, comments, multi-line data.

    Blocks without a `data` field dispatch nothing (the standard's rule), so
    comment-only keep-alives never show up as events.
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if text.startswith("\ufeff"):
        text = text[1:]
    parser = _Parser()
    pos = 0
    for match in _LINE_END.finditer(text):
        event = parser.feed(text[pos : match.start()])
        pos = match.end()
        if event is not None:
            yield event
    if pos < len(text):
        parser.feed(text[pos:])
    event = parser.dispatch()
    if event is not None:
        yield event


def split_event_chunks(body: bytes) -> list[bytes]:
    """Cut a recorded stream into the byte chunks to replay, one per event.

    Each chunk ends with the blank line that dispatches its event. Blocks
    that dispatch nothing (comments, stray blank lines) ride along with the
    next event, or with the last one at the end of the body, so that
    `len(chunks) == len(list(iter_events(body)))` whenever the body has an
    event, and `b"".join(chunks) == body` always.
    """
    chunks: list[bytes] = []
    start = 0  # start of the chunk being built
    pos = 0  # start of the current line
    has_data = False  # the current block has a data field, so a blank line dispatches it
    if body.startswith(b"\xef\xbb\xbf"):
        pos = 3
    for match in _LINE_END_BYTES.finditer(body):
        line = body[pos : match.start()]
        pos = match.end()
        if not line:
            if has_data:
                chunks.append(body[start:pos])
                start = pos
            has_data = False
        elif _is_data_field(line):
            has_data = True
    if pos < len(body) and _is_data_field(body[pos:]):
        has_data = True  # a final event cut before its line end is still an event
    if start < len(body):
        if has_data or not chunks:
            chunks.append(body[start:])
        else:
            chunks[-1] += body[start:]
    return chunks


def _is_data_field(line: bytes) -> bool:
    return line == b"data" or line.startswith(b"data:")
