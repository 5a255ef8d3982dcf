"""urllib3: `HTTPConnectionPool.urlopen`, which requests, botocore (boto3) and plain urllib3 all use.

One patch covers the three: requests' `HTTPAdapter.send` and botocore's
`URLLib3Session.send` both end in `urlopen` on a connection pool, asking for an
unread body (`preload_content=False`). Replay answers with a real
`HTTPResponse` reading the recorded chunks (one SSE event, or one AWS
event-stream frame, per read), so `requests`' `iter_lines`/`iter_content` and
botocore's `EventStream` parse what they parsed on the wire. Recording sends
with an unread, undecoded body and hands the app a response over a tee: the
app's reads pull the bytes from the connection as before, and each raw chunk
is copied aside as it passes.

A chunked response is read by urllib3 one HTTP chunk at a time
(`HTTPResponse.read_chunked`, what `requests`' `iter_content`/`iter_lines` use)
when its body looks like `http.client`'s: an `fp` to read size lines from and
`_safe_read`. Both bodies here offer that (`_ChunkFraming`), so a stream hands
the app each chunk as it arrives while recording, and each recorded piece (SSE
event, event-stream frame, JSON line) in replay, as urllib3 does on the wire.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from pytest_llmops.recording import guard
from pytest_llmops.recording.interactions import Headers, Interaction, RecordedRequest
from pytest_llmops.recording.routes import destination
from pytest_llmops.recording.transport import (
    THROUGH,
    Recorder,
    Sink,
    active,
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

# urlopen's parameters after `headers`, so positional calls can be read like keyword ones.
_POSITIONAL = (
    "retries",
    "redirect",
    "assert_same_host",
    "timeout",
    "pool_timeout",
    "release_conn",
    "chunked",
    "body_pos",
    "preload_content",
    "decode_content",
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Urllib3Interception:
    library = "urllib3"

    def __init__(self) -> None:
        self._originals: list[tuple[type, str, Callable[..., Any]]] = []

    def install(self, module: Any) -> None:
        import urllib3.connectionpool

        pool_cls = urllib3.connectionpool.HTTPConnectionPool
        original = pool_cls.urlopen
        self._originals = [(pool_cls, "urlopen", original)]
        setattr(pool_cls, "urlopen", _urlopen_handler(original, module.HTTPResponse))  # noqa: B010

    def uninstall(self) -> None:
        for cls, name, original in self._originals:
            setattr(cls, name, original)
        self._originals = []


def _uri(pool: Any, url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url  # through a proxy, urllib3 sends the absolute URL
    host = str(pool.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = pool.port
    netloc = host if port is None or _DEFAULT_PORTS.get(pool.scheme) == port else f"{host}:{port}"
    return f"{pool.scheme}://{netloc}{url}"


def _body(body: Any) -> tuple[bytes | None, bool]:
    """The request body as bytes, and whether it can be sent again (for retries while recording)."""
    if body is None:
        return None, True
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body) or None, True
    if isinstance(body, str):
        return body.encode("utf-8") or None, True
    return None, False  # a file or a generator: matched without its body


def _urlopen_handler(original: Callable[..., Any], response_cls: type) -> Callable[..., Any]:
    def urlopen(
        pool: Any, method: str, url: str, body: Any = None, headers: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        uri = _uri(pool, url)
        if guard.is_sending():  # urllib3's own retries and redirects of a request sent live
            if active() is None:
                check_unmarked(method, uri)
            return original(pool, method, url, body, headers, *args, **kwargs)
        recorder = destination(method, uri)
        if recorder is None:
            check_unmarked(method, uri)
            return original(pool, method, url, body, headers, *args, **kwargs)
        if recorder is THROUGH:
            with guard.sending():
                return original(pool, method, url, body, headers, *args, **kwargs)
        kwargs.update(zip(_POSITIONAL, args, strict=False))
        if headers is None:
            headers = pool.headers
        data, resendable = _body(body)
        recorded = RecordedRequest(method=method.upper(), uri=uri, body=data)
        hit = recorder.find(recorded)  # a replay needs no request headers: collect them on a miss only
        if hit is None:
            recorded.headers = _headers(headers.items())
            hit = recorder.lookup(recorded)
        if hit is not None:
            if is_unanswered(hit[1].response):
                raise _no_response(hit[1], pool, url)
            return _replay_response(response_cls, method, recorded, hit, recorder, kwargs)
        with guard.sending():
            return _record(
                original,
                response_cls,
                pool,
                method,
                url,
                body,
                headers,
                kwargs,
                recorded,
                recorder,
                resendable,
            )

    urlopen.__wrapped__ = original  # type: ignore[attr-defined]
    return urlopen


def _headers(items: Any) -> Headers:
    out: Headers = {}
    for name, value in items:
        out.setdefault(str(name), []).append(value if isinstance(value, str) else value.decode("latin-1"))
    return out


class _ChunkFraming:
    """The `fp` urllib3's `read_chunked` reads a chunk's size line from: a body's pieces framed as HTTP
    chunks, one piece taken when the reader gets to it (so a live piece is read from the connection only
    then, and a recorded failure is raised after the pieces before it)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = bytearray()
        self._ended = False

    def _fill(self) -> bool:
        if self._ended:
            return False
        for piece in self._pieces:
            if piece:
                self._buffer += b"%x\r\n%s\r\n" % (len(piece), piece)
                return True
        self._buffer += b"0\r\n\r\n"
        self._ended = True
        return True

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self._buffer and self._fill():
            pass
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if limit >= 0:
            end = min(end, limit)
        line = bytes(self._buffer[:end])
        del self._buffer[:end]
        return line

    def read_exact(self, amt: int) -> bytes:
        while len(self._buffer) < amt and self._fill():
            pass
        data = bytes(self._buffer[:amt])
        del self._buffer[:amt]
        return data


class _RecordedBody:
    """A replayed body, read one recorded chunk (SSE event, event-stream frame) at a time; a recording
    that broke off raises its error where the live connection did, after the bytes that came before."""

    def __init__(self, chunks: list[bytes], failure: BaseException | None = None) -> None:
        self._chunks = deque(chunks)
        self._failure = failure
        self.closed = not self._chunks and failure is None
        self.fp = _ChunkFraming(self._pieces())

    def _pieces(self) -> Iterator[bytes]:
        while piece := self.read(sys.maxsize):
            yield piece

    def _safe_read(self, amt: int) -> bytes:
        return self.fp.read_exact(amt)

    def read(self, amt: int | None = None) -> bytes:
        if not self._chunks:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                self.closed = True
                raise failure
            self.closed = True
            return b""
        if amt is None or amt < 0:
            if self._failure is not None:  # read to the end: the end is the break
                self._chunks.clear()
                return self.read()
            data = b"".join(self._chunks)
            self._chunks.clear()
        else:
            data = self._chunks.popleft()
            if len(data) > amt:
                data, rest = data[:amt], data[amt:]
                self._chunks.appendleft(rest)
        self.closed = not self._chunks and self._failure is None
        return data

    read1 = read

    def isclosed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self._chunks.clear()
        self.closed = True


def _replay_response(
    response_cls: type,
    method: str,
    recorded: RecordedRequest,
    hit: tuple[int, Interaction],
    recorder: Recorder,
    kwargs: dict[str, Any],
) -> Any:
    response = hit[1].response
    parts = recorder.replay_parts(*hit)
    from urllib3 import HTTPHeaderDict

    headers = HTTPHeaderDict(parts.headers)  # a stream's `transfer-encoding: chunked` has urllib3 read it
    return response_cls(  # a piece at a time (`_RecordedBody.fp`)
        body=_RecordedBody(parts.chunks, None if parts.error is None else _failure(parts.error)),
        headers=headers,
        status=response.status,
        reason=response.reason or None,
        version=11,
        preload_content=kwargs.get("preload_content", True),
        decode_content=kwargs.get("decode_content", True),
        request_method=method,
        request_url=recorded.uri,
    )


def _failure(error: dict[str, str]) -> BaseException:
    """The error a recording broke off with, as urllib3's class of that name (`ProtocolError` when
    urllib3 has none): requests turns it into `ChunkedEncodingError` in replay as it did live."""
    from urllib3 import exceptions

    cls = getattr(exceptions, error.get("type", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, exceptions.HTTPError)):
        cls = exceptions.ProtocolError
    message = error.get("message", "connection broken off (recorded)")
    try:
        exc: BaseException = cls(message)
    except TypeError:  # made from more than a message (ReadTimeoutError takes the pool and URL)
        exc = exceptions.ProtocolError(message)
    return exc


class _Tee:
    """The live body as the app reads it: raw bytes pulled from the connection, copied to the sink."""

    def __init__(self, inner: Any, sink: Sink) -> None:
        self._inner = inner
        self._sink = sink
        self.fp = _ChunkFraming(self._pieces())

    def _pieces(self) -> Iterator[bytes]:
        """The live body one HTTP chunk at a time, each copied aside as it passes."""
        return self._sink.tee(self._inner.read_chunked(None, decode_content=False))

    def _safe_read(self, amt: int) -> bytes:
        return self.fp.read_exact(amt)

    def _seen(self, data: bytes, amt: int | None) -> bytes:
        if data:
            self._sink.feed(data)
        if not data or amt is None or self._inner.closed:
            self._sink.finish()
        return data

    def read(self, amt: int | None = None) -> bytes:
        try:
            data = self._inner.read(amt, decode_content=False)
        except Exception as exc:  # the connection broke: keep how, to raise it again in replay
            self._sink.finish(error=exc)
            raise
        return self._seen(data, amt)

    def read1(self, amt: int | None = None) -> bytes:
        try:
            data = self._inner.read1(amt, decode_content=False)
        except Exception as exc:
            self._sink.finish(error=exc)
            raise
        return self._seen(data, amt)

    @property
    def closed(self) -> bool:
        return bool(self._inner.closed)

    def isclosed(self) -> bool:
        return self.closed

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._sink.finish(truncated=True)  # no-op when it was read to the end


def _record(
    original: Callable[..., Any],
    response_cls: type,
    pool: Any,
    method: str,
    url: str,
    body: Any,
    headers: Any,
    kwargs: dict[str, Any],
    recorded: RecordedRequest,
    recorder: Recorder,
    resendable: bool,
) -> Any:
    from urllib3 import HTTPHeaderDict

    sent = HTTPHeaderDict(headers)
    if "accept-encoding" in sent:
        sent["accept-encoding"] = narrow_accept_encoding(sent["accept-encoding"])
    recorded.headers = _headers(sent.items())
    preload, decode = kwargs.pop("preload_content", True), kwargs.pop("decode_content", True)
    ticket = recorder.before_live(recorded)
    attempt = 0
    recorded_at, started = now_iso(), time.perf_counter()
    try:
        while True:
            attempt += 1
            recorded_at, started = now_iso(), time.perf_counter()
            live = original(
                pool, method, url, body, sent, preload_content=False, decode_content=False, **kwargs
            )
            if resendable and should_retry(recorder, live.status, attempt):
                live.drain_conn()
                live.release_conn()
                time.sleep(retry_delay(recorder.policy, attempt, live.headers))
                continue
            break
    except BaseException as exc:
        recorder.unanswered(ticket, maybe_sent(exc))
        from urllib3.exceptions import HTTPError, MaxRetryError

        if isinstance(exc, HTTPError | OSError):
            error = error_of(exc)
            reason = getattr(exc, "reason", None)
            if isinstance(exc, MaxRetryError) and reason is not None:
                error["reason_type"], error["reason_message"] = type(reason).__name__, str(reason)
            keep_unanswered(recorder, recorded, error, started, recorded_at, attempt)
        raise
    sink = Sink(
        recorder,
        recorded,
        live.status,
        live.reason or "",
        _headers(live.headers.items()),
        started,
        recorded_at,
        attempt,
        ticket,
    )
    connection, live._connection = live._connection, None  # the app's response releases it
    return response_cls(
        body=_Tee(live, sink),
        headers=live.headers,
        status=live.status,
        reason=live.reason,
        version=live.version,
        preload_content=preload,
        decode_content=decode,
        original_response=live._original_response,
        pool=live._pool,
        connection=connection,
        retries=live.retries,
        request_method=method,
        request_url=recorded.uri,
        enforce_content_length=True,
    )


def _no_response(interaction: Interaction, pool: Any, url: str) -> BaseException:
    """What urllib3 raised live instead of a response, as its own class (`MaxRetryError` around a
    `NewConnectionError`, `ReadTimeoutError`, `ProtocolError`, ...), so requests and botocore turn it
    into the same exception of theirs as they did live."""
    error = interaction.meta.error or {}
    reason = None
    if "reason_type" in error:
        reason = _rebuild(error["reason_type"], error.get("reason_message", ""), pool, url, None)
    top = _rebuild(error.get("type", ""), error.get("message", "no response (recorded)"), pool, url, reason)
    if reason is None:
        return with_causes(top, error)
    # MaxRetryError is raised from its reason, which comes from the OS error: rebuild that chain.
    top.__cause__ = with_causes(reason, {**error, "causes": error.get("causes", "").partition(" > ")[2]})
    return top


def _rebuild(name: str, message: str, pool: Any, url: str, reason: BaseException | None) -> BaseException:
    import socket

    from urllib3 import exceptions as ex

    cls = getattr(ex, name, None)
    if not (isinstance(cls, type) and issubclass(cls, ex.HTTPError)):
        if name == "TimeoutError" or name.endswith("TimeoutError"):
            return TimeoutError(message)
        return ex.ProtocolError(message, OSError(message))
    make: Any = cls  # each class has its own constructor; mypy would narrow it by the checks below
    try:
        built: BaseException
        if issubclass(cls, ex.MaxRetryError):
            built = make(pool, url, reason)
        elif issubclass(cls, ex.NameResolutionError):
            built = make(getattr(pool, "host", ""), None, socket.gaierror(message))
        elif issubclass(cls, ex.NewConnectionError):
            built = make(None, message)
        elif issubclass(cls, ex.RequestError):
            built = make(pool, url, message)
        elif issubclass(cls, ex.PoolError):
            built = make(pool, message)
        else:
            built = make(message)
    except TypeError:
        built = ex.ProtocolError(message, OSError(message))
    return built
