"""Where an llm test's HTTP requests go: the cassette, or the network with a recording tee.

Every client library's interception (`recording/transports/`: httpx and httpx2,
aiohttp, urllib3 which carries requests and botocore) turns the library's
request into a `RecordedRequest`, asks the active `Recorder`, and either builds
the library's own response from a recorded `Interaction` or sends the request
live and passes the body to the app chunk by chunk while a `Sink` copies it
aside. The cassette behind the `Recorder` knows nothing of any library.

Patches are installed when the first llm test starts (libraries already
imported, and those importable then) and removed at session end; this module
imports no client library itself.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from pytest_llmops.recording import guard
from pytest_llmops.recording.interactions import (
    Headers,
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
    is_json_lines,
    is_sse,
    json_error,
    split_lines,
)
from pytest_llmops.recording.refusals import Refusal

HOP_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
EVENT_STREAM = "application/vnd.amazon.eventstream"


class CassetteMiss(Refusal):
    """A request the cassette cannot answer in replay.

    Derives from pytest's `Failed` (a BaseException) on purpose: the SDKs catch
    `Exception` to retry and to wrap it as "Connection error"; this must fail
    the test at once with our message instead.
    """


class BudgetExhausted(Refusal):
    """A live request not sent: the session's or the test's budget could not cover it."""


class RecordingRefused(Refusal):
    """A live request not sent because its answer could not be kept (unwritable cassette, a secret)."""


@dataclass(slots=True)
class RecordPolicy:
    max_retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    fast_replay_retries: bool = True


@dataclass
class Recorder:
    """What the patched transports talk to while one llm test runs.

    `on_replay(index, interaction)` and `on_live(index, interaction)` let the
    test context turn interactions into calls. `before_live(request)` runs
    before anything is sent: it may refuse (budgets) and returns a ticket that
    comes back with the interaction, `on_live(index, interaction, ticket)`, or
    to `unanswered(ticket, sent)` when no response arrives (`sent` is False
    only when the connection itself failed, so nothing reached the server);
    that request is kept too (`keep_unanswered`) and reaches `on_unanswered`.
    The cassette does the matching and keeping.
    """

    cassette: Any  # pytest_llmops.recording.cassette.Cassette; Any to keep this module free of import cycles
    rerecord_command: Callable[[], str]  # only a miss needs it
    on_replay: Callable[[int, Interaction], None] = lambda index, interaction: None
    on_live: Callable[[int, Interaction, object], None] = lambda index, interaction, ticket: None
    before_live: Callable[[RecordedRequest], object] = lambda request: None
    unanswered: Callable[[object, bool], None] = lambda ticket, sent: None
    on_unanswered: Callable[[int, Interaction], object] = lambda index, interaction: None
    policy: RecordPolicy = field(default_factory=RecordPolicy)
    open_streams: list[Sink] = field(default_factory=list)

    def find(self, request: RecordedRequest, *, json_body: Any = None) -> tuple[int, Interaction] | None:
        """The recording that answers `request`, if the cassette has one (played: it answers once).

        With `json_body` (the object a client was given to send as JSON) the key is computed from
        the object, so a replay serializes nothing; on None the interception fills in the request's
        body and headers and calls `lookup`, which decides between a miss and recording."""
        guard.note_endpoint(request.uri)
        if not self.cassette.replays:
            return None  # recording everything (or the live canary): nothing to look up
        body_key = None
        if json_body is not None:
            body_key = self.cassette.matcher.canonical_json(json_body)
            if body_key is None:
                return None  # not provably the same as from the bytes: the caller serializes
        hit: tuple[int, Interaction] | None = self.cassette.play(request, body_key)
        if hit is not None:
            self.on_replay(*hit)
        return hit

    def replay_parts(self, index: int, interaction: Interaction) -> ReplayParts:
        """The response `find`/`lookup` chose, as prepared when the cassette was indexed."""
        prepared = getattr(self.cassette, "prepared", None)
        ready = prepared[index] if prepared is not None and index < len(prepared) else None
        return replay_parts(interaction, self.policy, ready)

    def lookup(self, request: RecordedRequest) -> tuple[int, Interaction] | None:
        """The recording that answers `request`; None means: send it live (and record it)."""
        hit = self.find(request)
        if hit is not None:
            return hit
        if not self.cassette.records:
            raise CassetteMiss(self.cassette.miss_message(request, self.rerecord_command()))
        try:
            self.cassette.prepare_live()  # before anything is paid for: can its answer be kept?
        except Exception as exc:  # CassetteWriteError, SecretLeakError: our message, not a retry
            raise RecordingRefused(str(exc)) from None
        return None

    def finish_open_streams(self) -> None:
        """Keep what arrived on streams the app never finished reading."""
        for sink in list(self.open_streams):
            sink.finish(truncated=True)


THROUGH = Recorder(cassette=None, rerecord_command=str)
"""Where a request goes that is sent as without the plugin but accounted for (under `guard.sending`): to an
ignored host while an llm test runs, a telemetry export while recording. Never asked anything."""


class Interception(Protocol):
    """One client library's patch: it sends that library's requests to the active `Recorder`."""

    library: str  # the top-level module it patches

    def install(self, module: Any) -> None: ...

    def uninstall(self) -> None: ...


_active: Recorder | None = None
_refuse_unmarked = False


def activate(recorder: Recorder) -> None:
    """Send the patched libraries' requests to `recorder` (install them first: `transports.install`)."""
    global _active
    _active = recorder


def refuse_unmarked(on: bool = True) -> None:
    """Outside llm tests, refuse provider requests (replay runs: nothing may reach a provider)."""
    global _refuse_unmarked
    _refuse_unmarked = on


def check_unmarked(method: str, uri: str) -> None:
    """Called by the patches when no recorder is active: refuse what looks like a provider call."""
    if not _refuse_unmarked or not guard.is_provider_request(uri):
        return
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    raise CassetteMiss(
        f"{method} {parts.path} to {parts.hostname} was not sent: it comes from a test without "
        "@pytest.mark.llm, so no cassette can answer it and this replay run sends nothing to providers. "
        "Mark the test @pytest.mark.llm (and record it), or mock the client."
    )


def deactivate() -> None:
    global _active
    recorder, _active = _active, None
    if recorder is not None:
        recorder.finish_open_streams()


def active() -> Recorder | None:
    return _active


_ignored_hosts: frozenset[str] = frozenset()
_ignored_suffixes: tuple[str, ...] = ()


def ignore_hosts(hosts: Iterable[str]) -> None:
    """The user's `llm_ignore_hosts` (`*.example.com`: every subdomain): requests to them pass the patches
    as if no llm test ran."""
    global _ignored_hosts, _ignored_suffixes
    names = [h.lower() for h in hosts]
    _ignored_hosts = frozenset(h for h in names if not h.startswith("*."))
    _ignored_suffixes = tuple(h[1:] for h in names if h.startswith("*."))


def ignored(uri: str) -> bool:
    """Whether `uri` is side traffic the user ignores: to an ignored host, and not provider traffic
    (a provider's host, a base URL's host, an LLM-shaped path), which is always recorded and replayed."""
    if not _ignored_hosts and not _ignored_suffixes:
        return False
    from urllib.parse import urlsplit

    host = urlsplit(uri).hostname
    if host is None:
        return False
    host = host.rstrip(".")
    listed = host in _ignored_hosts or host.endswith(_ignored_suffixes)
    return listed and not guard.is_provider_request(uri)


def unmarked_guarded() -> bool:
    return _refuse_unmarked


# -- helpers every interception shares -----------------------------------------------------------


def now_iso() -> str:
    """The time a request is sent, as a cassette keeps it: UTC, to the millisecond."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def retry_delay(policy: RecordPolicy, attempt: int, headers: Any) -> float:
    """Seconds to wait before retry `attempt` (1-based): retry-after if given, else jittered exponential."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            try:  # retry-after may be an HTTP date
                seconds = (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                continue
        return float(min(max(seconds, 0.0), policy.max_backoff_s))
    base: float = min(policy.backoff_s * 2.0 ** (attempt - 1), policy.max_backoff_s)
    return base * (0.5 + random.random() / 2)


_NOT_SENT = frozenset(
    {
        "ConnectError",  # httpx, httpx2
        "ConnectTimeout",
        "ClientConnectorError",  # aiohttp
        "NewConnectionError",  # urllib3
        "ConnectTimeoutError",
        "NameResolutionError",
    }
)


def maybe_sent(exc: BaseException) -> bool:
    """Whether a request that failed with `exc` may have reached the server (and so may be billed): only a
    failure to connect proves it did not."""
    return not any(cls.__name__ in _NOT_SENT for cls in type(exc).__mro__)


def should_retry(recorder: Recorder, status: int, attempt: int) -> bool:
    return status in RETRYABLE and attempt <= recorder.policy.max_retries


def _can_decode(encoding: str) -> bool:
    if encoding in ("gzip", "x-gzip", "deflate", "identity"):
        return True
    if encoding == "br":
        return any(importlib.util.find_spec(n) is not None for n in ("brotli", "brotlicffi"))
    if encoding == "zstd":
        return importlib.util.find_spec("zstandard") is not None
    return False


def narrow_accept_encoding(accepted: str) -> str:
    """Ask only for encodings we can store decoded; the app sees decoded bodies either way."""
    keep = [e for e in (p.strip() for p in accepted.split(",")) if e and _can_decode(e.split(";")[0].lower())]
    return ", ".join(keep) or "identity"


@dataclass(slots=True)
class ReplayParts:
    """What a replayed response is made of, computed in one pass over the recording."""

    headers: list[tuple[str, str]]
    """As the app should get them: no hop headers, fast retries, a content-length for a whole plain body,
    `transfer-encoding: chunked` for a stream."""
    chunks: list[bytes]
    """The body in the pieces it arrived in (one SSE event, event-stream frame or JSON line each)."""
    streamed: bool
    error: dict[str, str] | None
    """How the recorded connection broke off after `chunks` (`{type, message}`), to raise again."""


def prepare_replay(interaction: Interaction) -> ReplayParts:
    """A recording in the form every interception replays it from, made once per recording when
    its cassette is indexed (`Cassette._index`), not on the call it answers."""
    response = interaction.response
    recorded = response.headers
    if HOP_HEADERS.isdisjoint(map(str.lower, recorded)):  # as this plugin records: none to drop
        headers = [(k, v) for k, values in recorded.items() for v in values]
    else:
        headers = [(k, v) for k, values in recorded.items() if k.lower() not in HOP_HEADERS for v in values]
    found = recorded.get("content-type") or recorded.get("Content-Type")  # the usual spellings first
    content_type = found[0].split(";")[0].strip().lower() if found else response.content_type
    body, error = response.body, interaction.meta.error
    chunks: list[bytes] | None = None
    if is_sse(content_type, body):
        from pytest_llmops.recording.sse import split_event_chunks

        chunks = split_event_chunks(body)
    elif content_type == EVENT_STREAM:
        chunks = split_frames(body)
    elif is_json_lines(content_type):
        chunks = split_lines(body)
    if chunks is not None:  # a stream: no length, and chunked, as a server sends one over HTTP/1.1
        headers.append(("transfer-encoding", "chunked"))
        return ReplayParts(headers, chunks, True, error)
    if error is None:
        headers.append(("content-length", str(len(body))))
    return ReplayParts(headers, [body] if body else [], False, error)


def replay_parts(
    interaction: Interaction, policy: RecordPolicy, prepared: ReplayParts | None = None
) -> ReplayParts:
    """What a replayed response is made of (callers copy, never change, its lists)."""
    parts = prepared if prepared is not None else prepare_replay(interaction)
    if policy.fast_replay_retries and interaction.response.status in RETRYABLE:
        # The SDKs honour retry-after-ms; a recorded wait would only slow the replay down.
        headers = [(k, v) for k, v in parts.headers if k.lower() not in ("retry-after", "retry-after-ms")]
        headers.append(("retry-after-ms", "1"))
        parts = ReplayParts(headers, parts.chunks, parts.streamed, parts.error)
    return parts


NO_RESPONSE = "no response"
"""The reason phrase of a recording that got no response (status 0): its `metadata.error` is what the
client library raised instead, and a replay raises it again at the same point."""


def is_unanswered(response: RecordedResponse) -> bool:
    return response.status == 0


def error_of(exc: BaseException) -> dict[str, str]:
    """`{type, message}` of a client library's transport error, as a recording keeps it, with the classes
    of what it was raised from (`causes`: `httpcore.ConnectError > builtins.ConnectionRefusedError#111`)."""
    error = {"type": type(exc).__name__, "message": str(exc)}
    causes: list[str] = []
    seen = {id(exc)}
    link = exc.__cause__ or exc.__context__
    while link is not None and id(link) not in seen and len(causes) < 8:
        seen.add(id(link))
        cls = type(link)
        errno = getattr(link, "errno", None) if isinstance(link, OSError) else None
        causes.append(
            f"{cls.__module__}.{cls.__qualname__}" + (f"#{errno}" if isinstance(errno, int) else "")
        )
        link = link.__cause__ or link.__context__
    if causes:
        error["causes"] = " > ".join(causes)
    return error


def with_causes(exc: BaseException, error: dict[str, str]) -> BaseException:
    """`exc` raised from rebuilt copies of the recorded causes, so a replayed error's chain names the same
    classes as live (an OS error with its errno, so `ConnectionRefusedError` comes back as itself). A class
    whose module is not loaded, or that cannot be built from a message, ends the chain there."""
    outer = exc
    for spec in filter(None, error.get("causes", "").split(" > ")):
        path, _, errno = spec.partition("#")
        module, _, qualname = path.rpartition(".")
        cls: Any = sys.modules.get(module)
        for part in qualname.split(".") if cls is not None else ():
            cls = getattr(cls, part, None)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            break
        try:
            if errno.isdigit() and issubclass(cls, OSError):
                cause: BaseException = OSError(int(errno), os.strerror(int(errno)))
            else:
                cause = cls(error.get("message", ""))
        except Exception:  # a constructor that wants more than a message
            break
        outer.__cause__ = cause
        outer = cause
    return exc


def keep_unanswered(
    recorder: Recorder,
    request: RecordedRequest,
    error: dict[str, str],
    started: float,
    recorded_at: str,
    attempts: int,
) -> None:
    """Record a request that got no response (the connection failed, timed out or broke off before the
    status line) with the error the library raised, so a replay raises it where live did: an app that
    falls back to another provider, or a library that shrugs off its failed telemetry, replays as it ran.
    The message is redacted (a URL in it may carry a key)."""
    from pytest_llmops.recording.secrets import redact, remember_request

    remember_request(request.headers, request.uri, getattr(recorder.cassette, "scrubber", None))
    kept = {k: redact(v) for k, v in error.items()}
    meta = InteractionMeta(
        recorded_at=recorded_at,
        latency_ms=(time.perf_counter() - started) * 1000.0,
        attempts=attempts,
        truncated=True,
        error=kept,
    )
    response = RecordedResponse(status=0, reason=NO_RESPONSE, headers={}, body=b"")
    interaction = Interaction(request=request, response=response, meta=meta)
    index = recorder.cassette.add(interaction)
    recorder.on_unanswered(index, interaction)


def split_frames(body: bytes) -> list[bytes]:
    """AWS event-stream frames (each starts with its total length, u32 big-endian), CRCs and all;
    bytes that do not parse as frames stay one last chunk."""
    frames: list[bytes] = []
    at, smallest = 0, 16  # prelude (12) + message CRC (4)
    while at + smallest <= len(body):
        total = int.from_bytes(body[at : at + 4], "big")
        if total < smallest or at + total > len(body):
            break
        frames.append(body[at : at + total])
        at += total
    if at < len(body):
        frames.append(body[at:])
    return frames


class Sink:
    """Collects the raw bytes of a live response while the app reads them, then keeps the interaction.

    Created when the response's status line and headers have arrived at the
    transport: that moment is the time to first byte, whenever the app reads.
    """

    def __init__(
        self,
        recorder: Recorder,
        request: RecordedRequest,
        status: int,
        reason: str,
        headers: Headers,
        started: float,
        recorded_at: str,
        attempts: int,
        ticket: object = None,
    ) -> None:
        self.recorder = recorder
        self.ticket = ticket
        self.request = request
        self.status = status
        self.reason = reason
        self.headers = headers
        self.started = started
        self.first_byte = time.perf_counter()
        self.recorded_at = recorded_at
        self.attempts = attempts
        self.chunks: list[bytes] = []
        self.done = False
        self.extra: dict[str, Any] = {}
        """Kept in the recording's metadata (http.client notes the content coding the app was sent)."""
        recorder.open_streams.append(self)

    def feed(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def tee(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """`pieces` (a live body as the library reads it) passed on one by one, each copied aside; the
        interaction is kept when they end, or, when the connection breaks, with how it broke (raised
        again in replay)."""
        try:
            for piece in pieces:
                self.chunks.append(piece)
                yield piece
        except Exception as exc:
            self.finish(error=exc)
            raise
        self.finish()

    def finish(self, *, truncated: bool = False, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        ended = time.perf_counter()
        if self in self.recorder.open_streams:
            self.recorder.open_streams.remove(self)
        from pytest_llmops.recording.content_encoding import BodyDecodeError, decode_body, decode_prefix

        raw = b"".join(self.chunks)
        try:
            body, headers = (decode_prefix if truncated or error is not None else decode_body)(
                raw, self.headers
            )
            headers = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
        except BodyDecodeError:
            body, headers = (
                raw,
                self.headers,
            )  # unknown encoding: keep the bytes and the header that explains them
        meta = InteractionMeta(
            recorded_at=self.recorded_at,
            latency_ms=(ended - self.started) * 1000.0,
            ttfb_ms=(self.first_byte - self.started) * 1000.0,
            attempts=self.attempts,
            truncated=truncated or error is not None,
            error=None if error is None else {"type": type(error).__name__, "message": str(error)},
            extra=dict(self.extra),
        )
        response = RecordedResponse(status=self.status, reason=self.reason, headers=headers, body=body)
        if not meta.truncated and _contradicts_json_type(response):
            meta.extra["body_not_json"] = True  # as the server sent it: loading must not take it for damage
        interaction = Interaction(request=self.request, response=response, meta=meta)
        index = self.recorder.cassette.add(interaction)
        self.recorder.on_live(index, interaction, self.ticket)


def _contradicts_json_type(response: RecordedResponse) -> bool:
    return json_error(response.content_type, response.body) is not None
