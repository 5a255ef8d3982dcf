"""httpx and httpx2: the transports the OpenAI and Anthropic SDKs (and LangChain, instructor,
pydantic-ai, sync LiteLLM) send every request through.

`HTTPTransport.handle_request` and `AsyncHTTPTransport.handle_async_request`
are patched; custom transports built on them (retries, proxies) go through
them too.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import ModuleType
from typing import Any, ClassVar

from pytest_llmops.recording import guard
from pytest_llmops.recording.interactions import Headers, Interaction, RecordedRequest
from pytest_llmops.recording.routes import destination
from pytest_llmops.recording.transport import (
    THROUGH,
    Recorder,
    Sink,
    check_unmarked,
    error_of,
    is_unanswered,
    keep_unanswered,
    maybe_sent,
    narrow_accept_encoding,
    now_iso,
    retry_delay,
    should_retry,
    with_causes,
)


class HttpxInterception:
    def __init__(self, library: str) -> None:
        self.library = library
        self._originals: list[tuple[type, str, Callable[..., Any]]] = []

    def install(self, module: Any) -> None:
        kit = _Kit.for_module(module)
        sync_cls, async_cls = module.HTTPTransport, module.AsyncHTTPTransport
        sync_orig, async_orig = sync_cls.handle_request, async_cls.handle_async_request
        self._originals = [
            (sync_cls, "handle_request", sync_orig),
            (async_cls, "handle_async_request", async_orig),
        ]
        sync_cls.handle_request = _sync_handler(sync_orig, kit)
        async_cls.handle_async_request = _async_handler(async_orig, kit)

    def uninstall(self) -> None:
        for cls, name, original in self._originals:
            setattr(cls, name, original)
        self._originals = []


def _sync_handler(original: Callable[..., Any], kit: _Kit) -> Callable[..., Any]:
    def handle_request(transport: Any, request: Any) -> Any:
        uri = str(request.url)
        recorder = destination(request.method, uri)
        if recorder is None:
            check_unmarked(request.method, uri)
            return original(transport, request)
        if recorder is THROUGH:
            with guard.sending():
                return original(transport, request)
        recorded = _recorded_request(request, request.read())
        hit = recorder.lookup(recorded)
        if hit is not None:
            if is_unanswered(hit[1].response):
                raise kit.no_response(hit[1], request)
            return kit.replay_response(hit, recorder)
        with guard.sending():
            return kit.record_sync(original, transport, request, recorded, recorder)

    handle_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_request


def _async_handler(original: Callable[..., Any], kit: _Kit) -> Callable[..., Any]:
    async def handle_async_request(transport: Any, request: Any) -> Any:
        uri = str(request.url)
        recorder = destination(request.method, uri)
        if recorder is None:
            check_unmarked(request.method, uri)
            return await original(transport, request)
        if recorder is THROUGH:
            with guard.sending():
                return await original(transport, request)
        recorded = _recorded_request(request, await request.aread())
        hit = recorder.lookup(recorded)
        if hit is not None:
            if is_unanswered(hit[1].response):
                raise kit.no_response(hit[1], request)
            return kit.replay_response(hit, recorder)
        with guard.sending():
            return await kit.record_async(original, transport, request, recorded, recorder)

    handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_async_request


def _recorded_request(request: Any, body: bytes) -> RecordedRequest:
    headers: Headers = {}
    for name, value in request.headers.multi_items():
        headers.setdefault(name, []).append(value)
    return RecordedRequest(method=request.method, uri=str(request.url), headers=headers, body=body or None)


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

    def replay_response(self, hit: tuple[int, Interaction], recorder: Recorder) -> Any:
        response = hit[1].response
        parts = recorder.replay_parts(*hit)  # headers with a content-length for a whole plain body
        extensions = {
            "http_version": b"HTTP/1.1",
            "reason_phrase": (response.reason or "").encode("ascii", "replace"),
        }
        stream = self.ReplayStream(parts.chunks, self._failure(parts.error))
        return self.mod.Response(response.status, headers=parts.headers, stream=stream, extensions=extensions)

    def _failure(self, error: dict[str, str] | None) -> BaseException | None:
        """The transport error a recording broke off with, so the client raises (and retries) in replay as
        it did live."""
        if error is None:
            return None
        return self._rebuilt(error, self.mod.RemoteProtocolError, "connection broken off (recorded)")

    def no_response(self, interaction: Interaction, request: Any) -> BaseException:
        """What the library raised live instead of a response (`ConnectError`, `ReadTimeout`, ...)."""
        error = interaction.meta.error or {}
        exc = self._rebuilt(error, self.mod.ConnectError, "no response (recorded)")
        exc.request = request  # type: ignore[attr-defined]
        return with_causes(exc, error)

    def _rebuilt(self, error: dict[str, str], fallback: type, default: str) -> BaseException:
        """This HTTP module's transport error of the recorded class name (`fallback` when it has none)."""
        cls = getattr(self.mod, error.get("type", ""), None)
        if not (isinstance(cls, type) and issubclass(cls, self.mod.TransportError)):
            cls = fallback
        exc: BaseException = cls(error.get("message", default))
        return exc

    def _prepare(self, request: Any) -> None:
        """Ask only for encodings we can store decoded; the app sees decoded bodies either way."""
        accepted = request.headers.get("accept-encoding")
        if accepted:
            request.headers["accept-encoding"] = narrow_accept_encoding(accepted)

    def _wrap(self, response: Any, sink: Sink, tee_cls: type) -> Any:
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
        ticket: object,
    ) -> Sink:
        headers: Headers = {}
        for name, value in response.headers.multi_items():
            headers.setdefault(name, []).append(value)
        reason = response.extensions.get("reason_phrase", b"")
        reason_text = reason.decode("ascii", "replace") if isinstance(reason, bytes) else str(reason)
        return Sink(
            recorder,
            recorded,
            response.status_code,
            reason_text,
            headers,
            started,
            recorded_at,
            attempts,
            ticket,
        )

    def record_sync(
        self,
        original: Callable[..., Any],
        transport: Any,
        request: Any,
        recorded: RecordedRequest,
        recorder: Recorder,
    ) -> Any:
        ticket = recorder.before_live(recorded)
        self._prepare(request)
        sent = _watch_sending(request, is_async=False)
        attempt = 0
        recorded_at, started = now_iso(), time.perf_counter()
        try:
            while True:
                attempt += 1
                recorded_at, started = now_iso(), time.perf_counter()
                response = original(transport, request)
                if should_retry(recorder, response.status_code, attempt):
                    response.read()
                    response.close()
                    time.sleep(retry_delay(recorder.policy, attempt, response.headers))
                    continue
                sink = self._sink(response, recorder, recorded, started, recorded_at, attempt, ticket)
                return self._wrap(response, sink, self.SyncTee)
        except BaseException as exc:
            recorder.unanswered(ticket, bool(sent) and maybe_sent(exc))
            if isinstance(exc, self.mod.TransportError):
                keep_unanswered(recorder, recorded, error_of(exc), started, recorded_at, attempt)
            raise

    async def record_async(
        self,
        original: Callable[..., Any],
        transport: Any,
        request: Any,
        recorded: RecordedRequest,
        recorder: Recorder,
    ) -> Any:
        import anyio

        ticket = recorder.before_live(recorded)
        self._prepare(request)
        sent = _watch_sending(request, is_async=True)
        attempt = 0
        recorded_at, started = now_iso(), time.perf_counter()
        try:
            while True:
                attempt += 1
                recorded_at, started = now_iso(), time.perf_counter()
                response = await original(transport, request)
                if should_retry(recorder, response.status_code, attempt):
                    await response.aread()
                    await response.aclose()
                    await anyio.sleep(retry_delay(recorder.policy, attempt, response.headers))
                    continue
                sink = self._sink(response, recorder, recorded, started, recorded_at, attempt, ticket)
                return self._wrap(response, sink, self.AsyncTee)
        except BaseException as exc:
            recorder.unanswered(ticket, bool(sent) and maybe_sent(exc))
            if isinstance(exc, self.mod.TransportError):
                keep_unanswered(recorder, recorded, error_of(exc), started, recorded_at, attempt)
            raise


def _watch_sending(request: Any, *, is_async: bool) -> list[bool]:
    """A flag set once httpcore starts writing the request (its `trace` extension), chaining any tracer."""
    sent: list[bool] = []
    inner = request.extensions.get("trace")

    def note(name: str) -> None:
        if not sent and "send_request_headers" in name:
            sent.append(True)

    if is_async:

        async def atrace(name: str, info: dict[str, Any]) -> None:
            note(name)
            if inner is not None:
                await inner(name, info)

        request.extensions["trace"] = atrace
    else:

        def trace(name: str, info: dict[str, Any]) -> None:
            note(name)
            if inner is not None:
                inner(name, info)

        request.extensions["trace"] = trace
    return sent


def _make_replay_stream(mod: ModuleType) -> type:
    class ReplayStream(mod.SyncByteStream, mod.AsyncByteStream):  # type: ignore[name-defined,misc]
        """Recorded chunks, served one by one (SSE events arrive as events, not as one blob)."""

        def __init__(self, chunks: list[bytes], failure: BaseException | None = None) -> None:
            self._chunks = chunks
            self._failure = failure  # the recorded connection broke off after these chunks

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
        def __init__(self, inner: Any, sink: Sink) -> None:
            self._inner = inner
            self._sink = sink

        def __iter__(self) -> Iterator[bytes]:
            return self._sink.tee(self._inner)

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._sink.finish(truncated=True)  # no-op when the stream was read to the end

    class AsyncTee(mod.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, sink: Sink) -> None:
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
