"""Interception at the httpx/httpx2 transport: replay from the cassette, or record live without buffering.

The OpenAI and Anthropic SDKs send every request through
`httpx2.HTTPTransport.handle_request` (or the async twin; older SDKs use
`httpx`). While an llm test runs, those methods are patched to ask the active
`Recorder`. A recorded stream reaches the app chunk by chunk as it arrives:
the tee copies bytes aside and the interaction is kept when the stream ends.

This module imports httpx2/httpx only inside `install()`, which the plugin
calls when the first llm test starts.
"""

from __future__ import annotations

import importlib
import importlib.util
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import Any, ClassVar

import pytest

from pytest_llmops.recording.interactions import (
    Headers,
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
)

HOP_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class CassetteMiss(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """A request the cassette cannot answer in replay.

    Derives from pytest's `Failed` (a BaseException) on purpose: the SDKs catch
    `Exception` to retry and to wrap it as "Connection error"; this must fail
    the test at once with our message instead.
    """

    def __init__(self, msg: str) -> None:
        super().__init__(msg=msg, pytrace=False)


class BudgetExhausted(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    def __init__(self, msg: str) -> None:
        super().__init__(msg=msg, pytrace=False)


class RecordingRefused(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """A live request not sent because its answer could not be kept (unwritable cassette, a secret)."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg=msg, pytrace=False)


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
    test context turn interactions into calls; `before_live(request)` may
    refuse to send (budgets). The cassette does the matching and keeping.
    """

    cassette: Any  # pytest_llmops.recording.cassette.Cassette; Any to keep this module free of import cycles
    rerecord_command: Callable[[], str]  # only a miss needs it
    on_replay: Callable[[int, Interaction], None]
    on_live: Callable[[int, Interaction], None]
    before_live: Callable[[RecordedRequest], None] = lambda request: None
    policy: RecordPolicy = field(default_factory=RecordPolicy)
    open_streams: list[_Sink] = field(default_factory=list)

    def lookup(self, request: RecordedRequest) -> tuple[int, Interaction] | None:
        hit: tuple[int, Interaction] | None = self.cassette.play(request)
        if hit is not None:
            self.on_replay(*hit)
            return hit
        if not self.cassette.records:
            raise CassetteMiss(self.cassette.miss_message(request, self.rerecord_command()))
        try:
            self.cassette.prepare_live()
        except Exception as exc:  # CassetteWriteError, SecretLeakError: our message, not a retry
            raise RecordingRefused(str(exc)) from None
        self.before_live(request)
        return None

    def finish_open_streams(self) -> None:
        """Keep what arrived on streams the app never finished reading."""
        for sink in list(self.open_streams):
            sink.finish(truncated=True)


_active: Recorder | None = None
_guarded_hosts: frozenset[str] = frozenset()
_installed: dict[tuple[type, str], Callable[..., Any]] = {}
_install_lock = threading.Lock()


def activate(recorder: Recorder) -> None:
    global _active
    install()
    _active = recorder


def guard(hosts: frozenset[str]) -> None:
    """Outside llm tests, refuse requests to these hosts (replay sessions: nothing may reach a provider)."""
    global _guarded_hosts
    install()
    _guarded_hosts = hosts


def _refuse_unrecorded(request: Any) -> None:
    host = request.url.host
    if host in _guarded_hosts:
        raise CassetteMiss(
            f"{request.method} {request.url.path} to {host} was not sent: it comes from a test without "
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


def _http_modules() -> list[ModuleType]:
    mods = []
    for name in ("httpx2", "httpx"):
        if importlib.util.find_spec(name) is not None:
            mods.append(importlib.import_module(name))
    return mods


def install() -> None:
    """Patch the transports once; with no active recorder they behave exactly as before."""
    with _install_lock:
        if _installed:
            return
        for mod in _http_modules():
            kit = _Kit.for_module(mod)
            sync_cls, async_cls = mod.HTTPTransport, mod.AsyncHTTPTransport
            sync_orig, async_orig = sync_cls.handle_request, async_cls.handle_async_request
            _installed[(sync_cls, "handle_request")] = sync_orig
            _installed[(async_cls, "handle_async_request")] = async_orig
            sync_cls.handle_request = _sync_handler(sync_orig, kit)
            async_cls.handle_async_request = _async_handler(async_orig, kit)


def uninstall() -> None:
    global _guarded_hosts
    _guarded_hosts = frozenset()
    with _install_lock:
        for (cls, name), original in _installed.items():
            setattr(cls, name, original)
        _installed.clear()


def _sync_handler(original: Callable[..., Any], kit: _Kit) -> Callable[..., Any]:
    def handle_request(transport: Any, request: Any) -> Any:
        recorder = _active
        if recorder is None:
            if _guarded_hosts:
                _refuse_unrecorded(request)
            return original(transport, request)
        recorded = _recorded_request(request, request.read())
        hit = recorder.lookup(recorded)
        if hit is not None:
            return kit.replay_response(hit[1], recorder.policy)
        return kit.record_sync(original, transport, request, recorded, recorder)

    handle_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_request


def _async_handler(original: Callable[..., Any], kit: _Kit) -> Callable[..., Any]:
    async def handle_async_request(transport: Any, request: Any) -> Any:
        recorder = _active
        if recorder is None:
            if _guarded_hosts:
                _refuse_unrecorded(request)
            return await original(transport, request)
        recorded = _recorded_request(request, await request.aread())
        hit = recorder.lookup(recorded)
        if hit is not None:
            return kit.replay_response(hit[1], recorder.policy)
        return await kit.record_async(original, transport, request, recorded, recorder)

    handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_async_request


def _recorded_request(request: Any, body: bytes) -> RecordedRequest:
    headers: Headers = {}
    for name, value in request.headers.multi_items():
        headers.setdefault(name, []).append(value)
    return RecordedRequest(method=request.method, uri=str(request.url), headers=headers, body=body or None)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _retry_delay(policy: RecordPolicy, attempt: int, headers: Any) -> float:
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


def _can_decode(encoding: str) -> bool:
    if encoding in ("gzip", "x-gzip", "deflate", "identity"):
        return True
    if encoding == "br":
        return any(importlib.util.find_spec(n) is not None for n in ("brotli", "brotlicffi"))
    if encoding == "zstd":
        return importlib.util.find_spec("zstandard") is not None
    return False


class _Sink:
    """Collects the raw bytes of a live response while the app reads them, then keeps the interaction."""

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
    ) -> None:
        self.recorder = recorder
        self.request = request
        self.status = status
        self.reason = reason
        self.headers = headers
        self.started = started
        self.recorded_at = recorded_at
        self.attempts = attempts
        self.chunks: list[bytes] = []
        self.first_byte: float | None = None
        self.done = False
        recorder.open_streams.append(self)

    def feed(self, chunk: bytes) -> None:
        if self.first_byte is None and chunk:
            self.first_byte = time.perf_counter()
        self.chunks.append(chunk)

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
        first = self.first_byte if self.first_byte is not None else ended
        meta = InteractionMeta(
            recorded_at=self.recorded_at,
            latency_ms=(ended - self.started) * 1000.0,
            ttfb_ms=(first - self.started) * 1000.0,
            attempts=self.attempts,
            truncated=truncated or error is not None,
            error=None if error is None else {"type": type(error).__name__, "message": str(error)},
        )
        response = RecordedResponse(status=self.status, reason=self.reason, headers=headers, body=body)
        if not meta.truncated and _contradicts_json_type(response):
            meta.extra["body_not_json"] = True  # as the server sent it: loading must not take it for damage
        interaction = Interaction(request=self.request, response=response, meta=meta)
        index = self.recorder.cassette.add(interaction)
        self.recorder.on_live(index, interaction)


def _contradicts_json_type(response: RecordedResponse) -> bool:
    if "json" not in response.content_type or response.is_sse or not response.body.strip():
        return False
    import json

    try:
        json.loads(response.body)
    except ValueError:
        return True
    return False


class _Kit:
    """Stream and response classes bound to one HTTP module (httpx2 or httpx)."""

    _cache: ClassVar[dict[int, _Kit]] = {}

    def __init__(self, mod: ModuleType) -> None:
        self.mod = mod
        self.ReplayStream = _make_replay_stream(mod)
        self.SyncTee, self.AsyncTee = _make_tees(mod)

    @classmethod
    def for_module(cls, mod: ModuleType) -> _Kit:
        # Keyed by the module object: a re-imported httpx2 (pytester restores sys.modules) has new classes.
        kit = cls._cache.get(id(mod))
        if kit is None or kit.mod is not mod:
            kit = cls._cache[id(mod)] = cls(mod)
        return kit

    def replay_response(self, interaction: Interaction, policy: RecordPolicy) -> Any:
        response = interaction.response
        headers = [
            (k, v) for k, values in response.headers.items() if k.lower() not in HOP_HEADERS for v in values
        ]
        if policy.fast_replay_retries and response.status in RETRYABLE:
            # The SDKs honour retry-after-ms; a recorded wait would only slow the replay down.
            headers = [(k, v) for k, v in headers if k.lower() not in ("retry-after", "retry-after-ms")]
            headers.append(("retry-after-ms", "1"))
        extensions = {
            "http_version": b"HTTP/1.1",
            "reason_phrase": (response.reason or "").encode("ascii", "replace"),
        }
        failure = self._failure(interaction.meta.error)
        if response.is_sse:
            from pytest_llmops.recording.sse import split_event_chunks

            stream = self.ReplayStream(split_event_chunks(response.body), failure)
        else:
            if failure is None:
                headers.append(("content-length", str(len(response.body))))
            stream = self.ReplayStream([response.body] if response.body else [], failure)
        return self.mod.Response(response.status, headers=headers, stream=stream, extensions=extensions)

    def _failure(self, error: dict[str, str] | None) -> BaseException | None:
        """The transport error a recording broke off with, as this HTTP module's class of that name."""
        if error is None:
            return None
        cls = getattr(self.mod, error.get("type", ""), None)
        if not (isinstance(cls, type) and issubclass(cls, self.mod.TransportError)):
            cls = self.mod.RemoteProtocolError
        exc: BaseException = cls(error.get("message", "connection broken off (recorded)"))
        return exc

    def _prepare(self, request: Any) -> None:
        """Ask only for encodings we can store decoded; the app sees decoded bodies either way."""
        accepted = request.headers.get("accept-encoding")
        if accepted:
            keep = [
                e
                for e in (p.strip() for p in accepted.split(","))
                if e and _can_decode(e.split(";")[0].lower())
            ]
            request.headers["accept-encoding"] = ", ".join(keep) or "identity"

    def _wrap(self, response: Any, sink: _Sink, tee_cls: type) -> Any:
        return self.mod.Response(
            response.status_code,
            headers=response.headers,
            stream=tee_cls(response.stream, sink),
            extensions=response.extensions,
        )

    def _sink(
        self,
        response: Any,
        recorder: Recorder,
        recorded: RecordedRequest,
        started: float,
        recorded_at: str,
        attempts: int,
    ) -> _Sink:
        headers: Headers = {}
        for name, value in response.headers.multi_items():
            headers.setdefault(name, []).append(value)
        reason = response.extensions.get("reason_phrase", b"")
        reason_text = reason.decode("ascii", "replace") if isinstance(reason, bytes) else str(reason)
        return _Sink(
            recorder, recorded, response.status_code, reason_text, headers, started, recorded_at, attempts
        )

    def record_sync(
        self,
        original: Callable[..., Any],
        transport: Any,
        request: Any,
        recorded: RecordedRequest,
        recorder: Recorder,
    ) -> Any:
        self._prepare(request)
        attempt = 0
        while True:
            attempt += 1
            recorded_at, started = _now_iso(), time.perf_counter()
            response = original(transport, request)
            if response.status_code in RETRYABLE and attempt <= recorder.policy.max_retries:
                response.read()
                response.close()
                time.sleep(_retry_delay(recorder.policy, attempt, response.headers))
                continue
            sink = self._sink(response, recorder, recorded, started, recorded_at, attempt)
            return self._wrap(response, sink, self.SyncTee)

    async def record_async(
        self,
        original: Callable[..., Any],
        transport: Any,
        request: Any,
        recorded: RecordedRequest,
        recorder: Recorder,
    ) -> Any:
        import anyio

        self._prepare(request)
        attempt = 0
        while True:
            attempt += 1
            recorded_at, started = _now_iso(), time.perf_counter()
            response = await original(transport, request)
            if response.status_code in RETRYABLE and attempt <= recorder.policy.max_retries:
                await response.aread()
                await response.aclose()
                await anyio.sleep(_retry_delay(recorder.policy, attempt, response.headers))
                continue
            sink = self._sink(response, recorder, recorded, started, recorded_at, attempt)
            return self._wrap(response, sink, self.AsyncTee)


def _make_replay_stream(mod: ModuleType) -> type:
    class ReplayStream(mod.SyncByteStream, mod.AsyncByteStream):  # type: ignore[name-defined,misc]
        """Recorded chunks, served one by one (SSE events arrive as events, not as one blob)."""

        def __init__(self, chunks: list[bytes], failure: BaseException | None = None) -> None:
            self._chunks = chunks
            self._failure = failure

        def __iter__(self) -> Iterator[bytes]:
            yield from self._chunks
            if self._failure is not None:
                raise self._failure

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in self._chunks:
                yield chunk
            if self._failure is not None:
                raise self._failure

        def close(self) -> None:
            pass

        async def aclose(self) -> None:
            pass

    return ReplayStream


def _make_tees(mod: ModuleType) -> tuple[type, type]:
    class SyncTee(mod.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, sink: _Sink) -> None:
            self._inner = inner
            self._sink = sink

        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self._inner:
                    self._sink.feed(chunk)
                    yield chunk
            except Exception as exc:  # the connection broke: keep how, to raise it again in replay
                self._sink.finish(error=exc)
                raise
            self._sink.finish()

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._sink.finish(truncated=True)  # no-op when the stream was read to the end

    class AsyncTee(mod.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, sink: _Sink) -> None:
            self._inner = inner
            self._sink = sink

        async def __aiter__(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self._inner:
                    self._sink.feed(chunk)
                    yield chunk
            except Exception as exc:
                self._sink.finish(error=exc)
                raise
            self._sink.finish()

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                self._sink.finish(truncated=True)

    return SyncTee, AsyncTee
