"""aiohttp: `ClientSession._request`, which every session method and LiteLLM's async transport use.

Replay builds a real `ClientResponse` whose `content` stream holds the
recorded chunks (one SSE event each), so `read()`, `json()`, `text()`,
`content.iter_chunked/iter_any/readline` and `async for line in content`
behave as on the wire. Recording taps the response's `StreamReader` where the
connection feeds it (`feed_data`/`feed_eof`), so every byte is copied as it
arrives at the transport, whether or when the app reads it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

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
    unmarked_guarded,
    with_causes,
)

_STREAM_LIMIT = 2**16


class _TapSink(Sink):
    reader_id = 0
    unread = 0
    """Bytes still in the reader's buffer when the connection broke: aiohttp raises the error on the
    next read, so the app never gets them, and neither does the replay."""

    def finish(self, *, truncated: bool = False, error: BaseException | None = None) -> None:
        _taps.pop(self.reader_id, None)
        if self.unread and not self.done:
            raw = b"".join(self.chunks)
            self.chunks = [raw[: max(len(raw) - self.unread, 0)]]
        super().finish(truncated=truncated, error=error)


_taps: dict[int, tuple[Any, _TapSink]] = {}


class AiohttpInterception:
    library = "aiohttp"

    def __init__(self) -> None:
        self._originals: list[tuple[type, str, Callable[..., Any]]] = []

    def install(self, module: Any) -> None:
        session_cls, reader_cls = module.ClientSession, module.StreamReader
        request, feed_data = session_cls._request, reader_cls.feed_data
        feed_eof, set_exception = reader_cls.feed_eof, reader_cls.set_exception
        self._originals = [
            (session_cls, "_request", request),
            (reader_cls, "feed_data", feed_data),
            (reader_cls, "feed_eof", feed_eof),
            (reader_cls, "set_exception", set_exception),
        ]
        kit = _Kit(module)
        session_cls._request = _request_handler(request, kit)
        reader_cls.feed_data = _tapped_feed_data(feed_data)
        reader_cls.feed_eof = _tapped_feed_eof(feed_eof)
        reader_cls.set_exception = _tapped_set_exception(set_exception)

    def uninstall(self) -> None:
        for cls, name, original in self._originals:
            setattr(cls, name, original)
        self._originals = []
        _taps.clear()


def _tapped_feed_data(original: Callable[..., Any]) -> Callable[..., Any]:
    def feed_data(reader: Any, data: bytes, *args: Any, **kwargs: Any) -> Any:
        if _taps and data:
            tap = _taps.get(id(reader))
            if tap is not None:
                tap[1].feed(bytes(data))
        return original(reader, data, *args, **kwargs)

    return feed_data


def _tapped_feed_eof(original: Callable[..., Any]) -> Callable[..., Any]:
    def feed_eof(reader: Any) -> Any:
        result = original(reader)
        tap = _taps.get(id(reader)) if _taps else None
        if tap is not None:
            tap[1].finish()
        return result

    return feed_eof


def _tapped_set_exception(original: Callable[..., Any]) -> Callable[..., Any]:
    def set_exception(reader: Any, exc: BaseException, *args: Any, **kwargs: Any) -> Any:
        tap = _taps.get(id(reader)) if _taps else None
        if tap is not None:
            if _app_closed(exc):  # the app released the response before its end
                tap[1].finish(truncated=True)
            else:  # the connection broke: keep what the app could still read, and how it ended
                tap[1].unread = getattr(reader, "_size", 0)
                tap[1].finish(error=exc)
        return original(reader, exc, *args, **kwargs)

    return set_exception


def _app_closed(exc: BaseException) -> bool:
    """`ClientResponse.release()`/`close()` ends an unfinished body with this one shared exception."""
    import aiohttp.client_reqrep

    return exc is getattr(aiohttp.client_reqrep, "_CONNECTION_CLOSED_EXCEPTION", None)


def _request_handler(original: Callable[..., Any], kit: _Kit) -> Callable[..., Any]:
    async def _request(session: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        url, uri = kit.target(session, str_or_url, kwargs.get("params"))
        recorder = destination(method, uri)
        if recorder is None:
            if unmarked_guarded():
                check_unmarked(method, uri)
            return await original(session, method, str_or_url, **kwargs)
        if recorder is THROUGH:
            with guard.sending():
                return await original(session, method, str_or_url, **kwargs)
        recorded = RecordedRequest(method=method.upper(), uri=uri)
        hit = None
        json_value = kwargs.get("json")
        if json_value is not None and kwargs.get("data") is None and _plain_json(session):
            # Replay's fast path: the key from the object itself, nothing serialized unless it misses.
            hit = recorder.find(recorded, json_body=json_value)
        if hit is None:
            recorded.headers = _headers(session.headers, kwargs.get("headers"))
            recorded.body = _body(session, kwargs.get("data"), json_value)
            hit = recorder.lookup(recorded)
        check = kwargs.pop("raise_for_status", None)
        if check is None:
            check = getattr(session, "_raise_for_status", False)
        if hit is not None:
            if is_unanswered(hit[1].response):
                raise kit.no_response(hit[1], url)
            response = kit.replay_response(session, recorded, url, kwargs.get("headers"), hit, recorder)
        else:
            with guard.sending():
                response = await kit.record(original, session, method, str_or_url, kwargs, recorded, recorder)
        if check is True:
            response.raise_for_status()
        elif callable(check):
            await check(response)
        return response

    _request.__wrapped__ = original  # type: ignore[attr-defined]
    return _request


def _plain_json(session: Any) -> bool:
    """Whether the session serializes `json=` with the standard library's `json.dumps` (the default)."""
    return getattr(session, "_json_serialize", json.dumps) is json.dumps and (
        getattr(session, "_json_serialize_bytes", None) is None
    )


def _headers(*sources: Any) -> Headers:
    out: Headers = {}
    lowered: dict[str, str] = {}
    for source in sources:
        if not source:
            continue
        items = source.items() if hasattr(source, "items") else source
        for name, value in items:
            name = str(name)
            key = lowered.setdefault(name.lower(), name)
            out[key] = [str(value)]  # a request header given per call replaces the session's
    return out


def _body(session: Any, data: Any, json_value: Any) -> bytes | None:
    """The bytes aiohttp will send, for the bodies LLM clients send (JSON, bytes, text, forms)."""
    if json_value is not None:
        serialize = getattr(session, "_json_serialize_bytes", None)  # aiohttp >= 3.13 prefers it
        if serialize is None:
            serialize = getattr(session, "_json_serialize", None)
        if serialize is None:
            serialize = json.dumps
        text = serialize(json_value)
        return text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if data is None:
        return None
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data) or None
    if isinstance(data, str):
        return data.encode("utf-8") or None
    if isinstance(data, dict | list | tuple):
        return urlencode(data, doseq=True).encode("ascii") or None
    return None  # a streamed upload: matched without its body


class _Written:
    """What `ClientResponse` asks of the request writer of a request already sent."""

    def __init__(self, size: int) -> None:
        self.output_size = size


class _NoFlowControl:
    """The protocol side of a replayed `StreamReader`: all data is there already."""

    _reading_paused = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, *args: Any, **kwargs: Any) -> None:
        pass


_NOTHING_WRITTEN = _Written(0)
_NO_FLOW_CONTROL = _NoFlowControl()


class _Kit:
    def __init__(self, module: Any) -> None:
        from multidict import CIMultiDict, CIMultiDictProxy
        from yarl import URL

        self.mod = module
        self.URL = URL
        self.CIMultiDict = CIMultiDict
        self.CIMultiDictProxy = CIMultiDictProxy
        params = inspect.signature(module.ClientResponse.__init__).parameters
        self.with_writer = "stream_writer" in params  # aiohttp >= 3.12
        self.no_headers: Any = CIMultiDictProxy(CIMultiDict())
        self.version = module.HttpVersion11
        # Taken before the tap is installed on the class (see AiohttpInterception.install).
        self.feed_data, self.feed_eof = module.StreamReader.feed_data, module.StreamReader.feed_eof
        self.targets: dict[str, tuple[Any, str]] = {}

        class ReplayedResponse(module.ClientResponse):  # type: ignore[misc]
            """A real `ClientResponse` (clients check `isinstance`), its raw headers made on demand."""

            @property
            def raw_headers(self) -> tuple[tuple[bytes, bytes], ...]:
                return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in self._headers.items())

        feed_data, feed_eof = self.feed_data, self.feed_eof

        class ReplayedContent(module.StreamReader):  # type: ignore[misc]
            """The recorded body, a recorded piece (SSE event, JSON line, frame) each time a read needs
            more, so `iter_any` and `iter_chunks` hand over the pieces the server sent; a recording that
            broke off raises its error once the app has read what arrived before the break, as a live
            reader does."""

            __slots__ = ("_failure", "_pending")

            async def _wait(self, func_name: str) -> None:
                pending = getattr(self, "_pending", None)
                if pending:
                    feed_data(self, pending.popleft())
                    if not pending and getattr(self, "_failure", None) is None:
                        feed_eof(self)
                    return
                failure = getattr(self, "_failure", None)
                if failure is None:
                    await super()._wait(func_name)
                    return
                self._failure = None
                self.set_exception(failure)
                raise failure

        self.Response = ReplayedResponse
        self.Content = ReplayedContent

    def target(self, session: Any, str_or_url: Any, params: Any) -> tuple[Any, str]:
        """The URL aiohttp will request, and its text for the cassette."""
        absolute = (
            not params and isinstance(str_or_url, str) and str_or_url.startswith(("http://", "https://"))
        )
        if absolute:  # one answer per URL text (a base URL does not apply to it): skip parsing it per call
            found = self.targets.get(str_or_url)
            if found is not None:
                return found
        build = getattr(session, "_build_url", None)
        url = build(str_or_url) if build is not None else self.URL(str_or_url)
        if params:
            url = url.extend_query(params)
        if not absolute:
            return url, str(url)
        uri = str_or_url if str_or_url == url.human_repr() else str(url)
        if len(self.targets) > 4096:
            self.targets.clear()
        self.targets[str_or_url] = (url, uri)
        return url, uri

    def replay_response(
        self,
        session: Any,
        recorded: RecordedRequest,
        url: Any,
        call_headers: Any,
        hit: tuple[int, Interaction],
        recorder: Recorder,
    ) -> Any:
        loop = asyncio.get_running_loop()
        interaction = hit[1]
        if recorded.headers:
            sent = self.CIMultiDictProxy(
                self.CIMultiDict([(k, v) for k, values in recorded.headers.items() for v in values])
            )
        elif session.headers or call_headers:  # the fast path did not collect them
            merged = self.CIMultiDict(session.headers)
            if call_headers:
                merged.update(call_headers)
            sent = self.CIMultiDictProxy(merged)
        else:
            sent = self.no_headers
        method = recorded.method
        info = self.mod.RequestInfo(url, method, sent, url)
        extra: dict[str, Any] = {}
        if self.with_writer:  # aiohttp versions whose ClientResponse takes the request's writer
            extra["stream_writer"] = _Written(len(recorded.body)) if recorded.body else _NOTHING_WRITTEN
        response = self.Response(
            method,
            url,
            writer=None,
            continue100=None,
            timer=None,
            request_info=info,
            traces=[],
            loop=loop,
            session=session,
            **extra,
        )
        parts = recorder.replay_parts(*hit)
        response.version = self.version
        response.status = interaction.response.status
        response.reason = interaction.response.reason or None
        response._headers = self.CIMultiDictProxy(self.CIMultiDict(parts.headers))
        content: Any = self.Content(_NO_FLOW_CONTROL, _STREAM_LIMIT, loop=loop)
        # The library's own feed: replayed readers are never tapped. The first piece is there at once,
        # the others come one per read that needs more (ReplayedContent._wait).
        chunks = parts.chunks
        if chunks:
            self.feed_data(content, chunks[0])
        if len(chunks) > 1:
            content._pending = deque(chunks[1:])
        if parts.error is not None:
            content._failure = self._failure(parts.error)  # raised by ReplayedContent._wait
        elif len(chunks) <= 1:
            self.feed_eof(content)
        response.content = content
        return response

    def no_response(self, interaction: Interaction, url: Any) -> BaseException:
        return with_causes(self._no_response(interaction, url), interaction.meta.error or {})

    def _no_response(self, interaction: Interaction, url: Any) -> BaseException:
        """What aiohttp raised live instead of a response, rebuilt: `ClientConnectorError` from the URL's
        connection key and the recorded OS error, other classes from their message."""
        error = interaction.meta.error or {}
        name, message = error.get("type", ""), error.get("message", "no response (recorded)")
        if name == "TimeoutError":
            return TimeoutError(message)
        cls = getattr(self.mod, name, None)
        if isinstance(cls, type) and issubclass(cls, self.mod.ClientConnectorError) and "errno" in error:
            from aiohttp.client_reqrep import ConnectionKey

            fields: dict[str, Any] = {f: None for f in getattr(ConnectionKey, "_fields", ())}
            fields.update(host=url.host, port=url.port, is_ssl=url.scheme == "https", ssl=True)
            try:
                key = ConnectionKey(**fields)
                connector_error: BaseException = cls(
                    key, OSError(int(error["errno"]), error.get("strerror", ""))
                )
                return connector_error
            except (TypeError, ValueError):
                pass
        return self._rebuilt(error, self.mod.ClientConnectionError, "no response (recorded)")

    def _failure(self, error: dict[str, str]) -> BaseException:
        """The error a recording broke off with (`ClientPayloadError` when aiohttp has no class of that
        name), so the client raises (and retries) in replay as it did live."""
        return self._rebuilt(error, self.mod.ClientPayloadError, "connection broken off (recorded)")

    def _rebuilt(self, error: dict[str, str], fallback: type, default: str) -> BaseException:
        """aiohttp's error of the recorded class name, made from its message; `fallback` when aiohttp has
        no such class or the class is made from more than a message."""
        cls = getattr(self.mod, error.get("type", ""), None)
        message = error.get("message", default)
        if isinstance(cls, type) and issubclass(cls, self.mod.ClientError):
            try:
                exc: BaseException = cls(message)
                return exc
            except TypeError:
                pass
        made: BaseException = fallback(message)
        return made

    async def record(
        self,
        original: Callable[..., Any],
        session: Any,
        method: str,
        str_or_url: Any,
        kwargs: dict[str, Any],
        recorded: RecordedRequest,
        recorder: Recorder,
    ) -> Any:
        headers = kwargs.get("headers")
        if headers:
            sent = self.CIMultiDict(headers.items() if hasattr(headers, "items") else headers)
            if "accept-encoding" in sent:
                sent["accept-encoding"] = narrow_accept_encoding(sent["accept-encoding"])
            kwargs["headers"] = sent
        decompress = kwargs.get("auto_decompress")
        if decompress is None:
            decompress = getattr(session, "_auto_decompress", True)
        ticket = recorder.before_live(recorded)
        attempt = 0
        recorded_at, started = now_iso(), time.perf_counter()
        try:
            while True:
                attempt += 1
                recorded_at, started = now_iso(), time.perf_counter()
                response = await original(session, method, str_or_url, raise_for_status=False, **kwargs)
                if should_retry(recorder, response.status, attempt):
                    await response.read()
                    response.release()
                    await asyncio.sleep(retry_delay(recorder.policy, attempt, response.headers))
                    continue
                break
        except BaseException as exc:
            recorder.unanswered(ticket, maybe_sent(exc))
            if isinstance(exc, self.mod.ClientError | asyncio.TimeoutError):
                keep_unanswered(recorder, recorded, _error_of(exc), started, recorded_at, attempt)
            raise
        request_info = response.request_info
        recorded.headers = _headers(request_info.headers)
        received: Headers = {}
        for name, value in response.headers.items():
            if decompress and name.lower() == "content-encoding":
                continue  # aiohttp decodes before it feeds the stream the tap reads
            received.setdefault(str(name), []).append(str(value))
        sink = _TapSink(
            recorder,
            recorded,
            response.status,
            response.reason or "",
            received,
            started,
            recorded_at,
            attempt,
            ticket,
        )
        content = response.content
        for chunk in list(getattr(content, "_buffer", ())):  # arrived with the headers
            sink.feed(bytes(chunk))
        if content.is_eof():
            sink.finish()
        else:
            sink.reader_id = id(content)
            _taps[id(content)] = (content, sink)
        return response


def _error_of(exc: BaseException) -> dict[str, str]:
    """`error_of`, plus the OS error of a failed connect, which `ClientConnectorError` is rebuilt from."""
    error = error_of(exc)
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.errno is not None:
        error["errno"] = str(os_error.errno)
        error["strerror"] = str(os_error.strerror or "")
    return error
