"""http.client: what urllib.request, small SDKs and hand-written clients send through.

`HTTPConnection`'s request methods are patched (`putrequest`, `putheader`,
`endheaders`, `send`, `getresponse`; `request()` goes through them, and so does
`HTTPSConnection`). Nothing is sent while the request is being put together:
once it is whole (at `endheaders`, or when the last byte of a `Content-Length`
body passes `send`) it is looked up in the cassette. A recording answers it
with the connection's own `response_class` (a real `http.client.HTTPResponse`)
reading the recorded status, headers and body from memory, one recorded chunk
(one SSE event) per read, so urllib.request (its `HTTPError` for 4xx/5xx
included) and direct users parse what they parsed on the wire. Otherwise the
request is sent live at that same point, so a connection error is raised where
it was (urllib.request wraps it in `URLError`), and the live response reads
from the socket through a tee: the app gets each chunk as it arrives while the
body bytes, transfer coding undone and content coding kept (http.client never
decodes gzip), are copied aside.

Connections of urllib3 (which subclasses `HTTPConnection`) are left to the
urllib3 interception, which answers them at its connection pool; the guard
watches any that get here without it.
"""

from __future__ import annotations

import io
import socket
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_llmops.recording import guard
from pytest_llmops.recording.interactions import Headers, Interaction, RecordedRequest
from pytest_llmops.recording.routes import destination
from pytest_llmops.recording.transport import (
    THROUGH,
    Recorder,
    Sink,
    active,
    error_of,
    is_unanswered,
    keep_unanswered,
    narrow_accept_encoding,
    now_iso,
    retry_delay,
    should_retry,
    with_causes,
)

_METHODS = ("putrequest", "putheader", "endheaders", "send", "getresponse")
_STATE = "_llmops_exchange"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_BODY_STATUS = frozenset({204, 304})


class HttpClientInterception:
    library = "http.client"

    def __init__(self) -> None:
        self._originals: list[tuple[type, str, Callable[..., Any]]] = []

    def install(self, module: Any) -> None:
        cls = module.HTTPConnection
        originals = {name: getattr(cls, name) for name in _METHODS}
        self._originals = [(cls, name, original) for name, original in originals.items()]
        patches = _patches(originals, module)
        for name, patch in patches.items():
            patch.__wrapped__ = originals[name]  # type: ignore[attr-defined]
            setattr(cls, name, patch)
        self._originals += _lazy_connect(cls, getattr(module, "HTTPSConnection", None))

    def uninstall(self) -> None:
        for cls, name, original in self._originals:
            setattr(cls, name, original)
        self._originals = []


class LazyConnectInterception:
    """httplib2 (google-api-python-client's transport) connects before it sends (`conn.connect()`, in its
    own connection classes): in an llm test that connection waits until the request goes out live, so a
    replay opens none."""

    library = "httplib2"

    def __init__(self) -> None:
        self._originals: list[tuple[type, str, Callable[..., Any]]] = []

    def install(self, module: Any) -> None:
        classes = [
            getattr(module, n, None) for n in ("HTTPConnectionWithTimeout", "HTTPSConnectionWithTimeout")
        ]
        self._originals = _lazy_connect(*classes)

    def uninstall(self) -> None:
        for cls, name, original in self._originals:
            setattr(cls, name, original)
        self._originals = []


def _lazy_connect(*classes: type | None) -> list[tuple[type, str, Callable[..., Any]]]:
    """Patch each class's own `connect`: in an llm test it does nothing until the request is sent live
    (http.client's `send` connects then, as it does for a connection never connected)."""
    done: list[tuple[type, str, Callable[..., Any]]] = []
    for cls in classes:
        original = None if cls is None else cls.__dict__.get("connect")
        if cls is None or original is None:
            continue

        def connect(conn: Any, _original: Callable[..., Any] = original) -> Any:
            if active() is not None and not guard.is_sending() and not _foreign(conn):
                return None  # connected by `send` when the request goes out live, if it does
            return _original(conn)

        connect.__wrapped__ = original  # type: ignore[attr-defined]
        cls.connect = connect  # type: ignore[attr-defined]
        done.append((cls, "connect", original))
    return done


@dataclass
class _Exchange:
    """One request on one connection, from `putrequest` to `getresponse`."""

    recorder: Recorder
    method: str
    url: str
    uri: str
    skips: dict[str, bool]
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    expected: int | None = None  # a Content-Length the app's `send` calls are still filling
    encode_chunked: bool = False
    phase: str = "headers"  # headers -> body -> replay | live; "through": not ours (ignored host)
    recorded: RecordedRequest | None = None
    hit: tuple[int, Interaction] | None = None
    ticket: object = None
    started: float = 0.0
    recorded_at: str = ""


def _uri(conn: Any, url: str, https: bool) -> str:
    if url.startswith(("http://", "https://")):
        return url  # to a proxy, the absolute URL
    scheme = "https" if https else "http"
    host = str(getattr(conn, "_tunnel_host", None) or conn.host)
    port = getattr(conn, "_tunnel_port", None) if getattr(conn, "_tunnel_host", None) else conn.port
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS[scheme] == port else f"{host}:{port}"
    return f"{scheme}://{netloc}{url if url.startswith('/') or url == '*' else '/' + url}"


def _foreign(conn: Any) -> bool:
    """A connection of a library intercepted at a higher level (urllib3's pools)."""
    return type(conn).__module__.split(".")[0] in ("urllib3", "botocore")


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return str(value)


def _bytes_of(data: Any, blocksize: int = 8192) -> bytes:
    """What `send`/`endheaders` would put on the wire for `data` (a file is read whole, so a retry can send
    it again)."""
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode("iso-8859-1")
    if hasattr(data, "read"):
        parts = []
        while block := data.read(blocksize):
            parts.append(block.encode("iso-8859-1") if isinstance(block, str) else bytes(block))
        return b"".join(parts)
    try:
        return bytes(memoryview(data))
    except TypeError:
        return b"".join(c.encode("iso-8859-1") if isinstance(c, str) else bytes(c) for c in data)


def _patches(originals: dict[str, Callable[..., Any]], module: Any) -> dict[str, Callable[..., Any]]:
    https_cls = getattr(module, "HTTPSConnection", None)

    def state(conn: Any) -> _Exchange | None:
        found: _Exchange | None = conn.__dict__.get(_STATE)
        return found

    def putrequest(
        conn: Any, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False
    ) -> Any:
        conn.__dict__.pop(_STATE, None)
        if guard.is_sending() or _foreign(conn):
            guard.check_http_client(conn, method, url)
            return originals["putrequest"](conn, method, url, skip_host, skip_accept_encoding)
        https = https_cls is not None and isinstance(conn, https_cls)
        uri = _uri(conn, url, https)
        recorder = destination(method, uri)
        if recorder is None:
            guard.check_http_client(conn, method, url)
            return originals["putrequest"](conn, method, url, skip_host, skip_accept_encoding)
        skips = {"skip_host": skip_host, "skip_accept_encoding": skip_accept_encoding}
        exchange = _Exchange(recorder, method, url, uri, skips)
        conn.__dict__[_STATE] = exchange
        if recorder is THROUGH:
            exchange.phase = "through"
            with guard.sending():
                return originals["putrequest"](conn, method, url, skip_host, skip_accept_encoding)
        for check, value in (("_validate_method", method), ("_validate_path", url)):
            validate = getattr(conn, check, None)
            if validate is not None:
                validate(value)  # what http.client refuses, refused the same way
        if not skip_host:
            exchange.headers.append(("Host", _host_header(conn, url, https)))
        if not skip_accept_encoding:
            exchange.headers.append(("Accept-Encoding", "identity"))
        return None

    def putheader(conn: Any, header: Any, *values: Any) -> Any:
        exchange = state(conn)
        if exchange is None or guard.is_sending():  # not ours, or ours being sent live
            return originals["putheader"](conn, header, *values)
        if exchange.phase == "through":
            with guard.sending():
                return originals["putheader"](conn, header, *values)
        if exchange.phase != "headers":
            raise module.CannotSendHeader()
        name = header.encode("ascii") if hasattr(header, "encode") else header
        if not module._is_legal_header_name(name):
            raise ValueError(f"Invalid header name {name!r}")
        encoded = []
        for value in values:
            one = value.encode("latin-1") if hasattr(value, "encode") else value
            one = str(one).encode("ascii") if isinstance(one, int) else one
            if module._is_illegal_header_value(one):
                raise ValueError(f"Invalid header value {one!r}")
            encoded.append(one)
        exchange.headers.append((_text(name), _text(b"\r\n\t".join(encoded))))
        return None

    def endheaders(conn: Any, message_body: Any = None, *, encode_chunked: bool = False) -> Any:
        exchange = state(conn)
        if exchange is None or guard.is_sending():  # not ours, or ours being sent live
            return originals["endheaders"](conn, message_body, encode_chunked=encode_chunked)
        if exchange.phase == "through":
            with guard.sending():
                return originals["endheaders"](conn, message_body, encode_chunked=encode_chunked)
        if exchange.phase != "headers":
            raise module.CannotSendHeader()
        data = _bytes_of(message_body)
        exchange.body += data
        exchange.encode_chunked = encode_chunked
        length = _header(exchange.headers, "content-length")
        if length is not None and length.strip().isdigit() and int(length) > len(exchange.body):
            exchange.expected, exchange.phase = int(length), "body"  # the app sends the rest itself
            return None
        if (
            message_body is None
            and "chunked" in (_header(exchange.headers, "transfer-encoding") or "").lower()
        ):
            exchange.phase = "body"  # chunks the app frames itself: the request ends at getresponse
            return None
        _dispatch(conn, exchange, originals)
        return None

    def send(conn: Any, data: Any) -> Any:
        exchange = state(conn)
        if exchange is None or guard.is_sending():  # not ours, or ours being sent live
            return originals["send"](conn, data)
        if exchange.phase in ("through", "live"):
            with guard.sending():
                return originals["send"](conn, data)
        if exchange.phase == "replay":
            return None  # answered already: the rest of a body the recording matched on
        raw = _bytes_of(data, getattr(conn, "blocksize", 8192))
        exchange.body += raw
        if (
            exchange.phase == "body"
            and exchange.expected is not None
            and len(exchange.body) >= exchange.expected
        ):
            _dispatch(conn, exchange, originals)
        return None

    def getresponse(conn: Any) -> Any:
        exchange = state(conn)
        if exchange is None or guard.is_sending():  # not ours, or ours being sent live
            return originals["getresponse"](conn)
        conn.__dict__.pop(_STATE, None)
        if exchange.phase == "through":
            with guard.sending():
                return originals["getresponse"](conn)
        if exchange.phase in ("headers", "body"):
            if exchange.phase == "headers":
                raise module.ResponseNotReady("Request-sent")
            _dispatch(conn, exchange, originals)
        if exchange.phase == "replay":
            assert exchange.hit is not None
            return _replay(conn, exchange, exchange.hit)
        with guard.sending():
            return _receive(conn, exchange, originals)

    return {
        "putrequest": putrequest,
        "putheader": putheader,
        "endheaders": endheaders,
        "send": send,
        "getresponse": getresponse,
    }


def _host_header(conn: Any, url: str, https: bool) -> str:
    """The Host header http.client's `putrequest` would add."""
    if url.startswith(("http://", "https://")):
        from urllib.parse import urlsplit

        return urlsplit(url).netloc
    host = str(conn.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = conn.port
    return host if port == _DEFAULT_PORTS["https" if https else "http"] else f"{host}:{port}"


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _dispatch(conn: Any, exchange: _Exchange, originals: dict[str, Callable[..., Any]]) -> None:
    """The request is whole: answer it from the cassette, or send it live now (where live sends it)."""
    recorder = exchange.recorder
    accepted = _header(exchange.headers, "accept-encoding")
    if accepted is not None and accepted.lower() != "identity":
        narrowed = narrow_accept_encoding(accepted)
        exchange.headers = [
            (k, narrowed if k.lower() == "accept-encoding" else v) for k, v in exchange.headers
        ]
    headers: Headers = {}
    for name, value in exchange.headers:
        headers.setdefault(name, []).append(value)
    recorded = RecordedRequest(
        method=exchange.method.upper(), uri=exchange.uri, headers=headers, body=bytes(exchange.body) or None
    )
    exchange.recorded = recorded
    hit = recorder.lookup(recorded)
    if hit is not None:
        exchange.phase, exchange.hit = "replay", hit
        error = hit[1].meta.error or {}
        if is_unanswered(hit[1].response) and error.get("raised_in") != "getresponse":
            conn.__dict__.pop(_STATE, None)
            raise _no_response(error)
        return
    exchange.phase = "live"
    exchange.ticket = recorder.before_live(recorded)
    with guard.sending():
        _send_live(conn, exchange, originals, 1)


def _send_live(
    conn: Any, exchange: _Exchange, originals: dict[str, Callable[..., Any]], attempt: int
) -> None:
    exchange.recorded_at, exchange.started = now_iso(), time.perf_counter()
    try:
        originals["putrequest"](conn, exchange.method, exchange.url, **exchange.skips)
        skipped = {"host"} if not exchange.skips["skip_host"] else set()
        if not exchange.skips["skip_accept_encoding"]:
            skipped.add("accept-encoding")  # putrequest put these: each once
        seen: set[str] = set()
        for name, value in exchange.headers:
            lower = name.lower()
            if lower in skipped and lower not in seen:
                seen.add(lower)
                continue
            originals["putheader"](conn, name, value)
        originals["endheaders"](conn, bytes(exchange.body) or None, encode_chunked=exchange.encode_chunked)
    except BaseException as exc:
        _unanswered(conn, exchange, exc, "send", attempt)
        raise


def _unanswered(conn: Any, exchange: _Exchange, exc: BaseException, raised_in: str, attempt: int) -> None:
    conn.__dict__.pop(_STATE, None)
    sent = raised_in == "getresponse" or getattr(conn, "sock", None) is not None
    exchange.recorder.unanswered(exchange.ticket, sent)
    import http.client

    if isinstance(exc, OSError | http.client.HTTPException) and exchange.recorded is not None:
        error = error_of(exc)
        error["raised_in"] = raised_in
        if isinstance(exc, OSError) and isinstance(exc.errno, int):
            error["errno"] = str(exc.errno)
        keep_unanswered(
            exchange.recorder, exchange.recorded, error, exchange.started, exchange.recorded_at, attempt
        )


def _receive(conn: Any, exchange: _Exchange, originals: dict[str, Callable[..., Any]]) -> Any:
    recorder = exchange.recorder
    attempt = 1
    while True:
        try:
            live = originals["getresponse"](conn)
        except BaseException as exc:
            _unanswered(conn, exchange, exc, "getresponse", attempt)
            raise
        if not should_retry(recorder, live.status, attempt):
            break
        live.read()
        live.close()
        time.sleep(retry_delay(recorder.policy, attempt, live.headers))
        attempt += 1
        _send_live(conn, exchange, originals, attempt)
    assert exchange.recorded is not None
    headers: Headers = {}
    for name, value in live.msg.items():
        headers.setdefault(name, []).append(value)
    sink = Sink(
        recorder,
        exchange.recorded,
        live.status,
        live.reason or "",
        headers,
        exchange.started,
        exchange.recorded_at,
        attempt,
        exchange.ticket,
    )
    encoding = (live.getheader("content-encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        sink.extra["content_encoding"] = "gzip"  # stored decoded; a replay encodes it again for the app
    bodiless = (
        live.fp is None or live.length == 0 or live.status in _NO_BODY_STATUS or exchange.method == "HEAD"
    )
    if bodiless:
        sink.finish()
    else:
        live.fp = _Tee(live.fp, _Unframer(bool(live.chunked), live.length), sink)
    return live


class _Unframer:
    """The body bytes in the wire bytes that follow the headers (chunked transfer coding undone)."""

    def __init__(self, chunked: bool, length: int | None) -> None:
        self.chunked, self.left = chunked, length
        self.done = False
        self._buffer = b""
        self._state = "size"
        self._chunk_left = 0

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""
        if not self.chunked:
            if self.left is None:
                return data  # ends when the server closes the connection
            taken = data[: self.left]
            self.left -= len(taken)
            self.done = self.left == 0
            return taken
        self._buffer += data
        out: list[bytes] = []
        while not self.done:
            if self._state == "data":
                taken = self._buffer[: self._chunk_left]
                out.append(taken)
                self._buffer = self._buffer[len(taken) :]
                self._chunk_left -= len(taken)
                if self._chunk_left:
                    break
                self._state = "crlf"
                continue
            line_end = self._buffer.find(b"\n")
            if line_end < 0:
                break
            line, self._buffer = self._buffer[:line_end].strip(), self._buffer[line_end + 1 :]
            if self._state == "crlf":
                self._state = "size"
            elif self._state == "size":
                try:
                    size = int(line.split(b";")[0], 16)
                except ValueError:
                    self.done = True  # http.client gives up here too
                    break
                self._state, self._chunk_left = ("trailer", 0) if size == 0 else ("data", size)
            elif not line:  # the blank line after the trailer
                self.done = True
        return b"".join(out)

    def at_end(self) -> bool:
        """The server's close ended the body (no length, not chunked)."""
        return not self.chunked and self.left is None


class _Tee:
    """The response's file while recording: reads pass through, their body bytes go to the sink."""

    def __init__(self, inner: Any, unframer: _Unframer, sink: Sink) -> None:
        self._inner = inner
        self._unframer = unframer
        self._sink = sink

    def _seen(self, data: bytes, asked: int | None) -> None:
        if data:
            body = self._unframer.feed(bytes(data))
            if body:
                self._sink.feed(body)
            if self._unframer.done:
                self._sink.finish()
        elif asked != 0 and not self._sink.done:  # the server closed the connection
            if self._unframer.at_end():
                self._sink.finish()
            else:
                import http.client

                self._sink.finish(error=http.client.IncompleteRead(b""))

    def _call(self, name: str, asked: int | None, *args: Any) -> Any:
        try:
            data = getattr(self._inner, name)(*args)
        except BaseException as exc:
            if isinstance(exc, OSError | ValueError) and not self._sink.done:
                self._sink.finish(error=exc)
            raise
        return data

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._call("read", size, size)
        self._seen(data, None if size is None or size < 0 else size)
        return data

    def read1(self, size: int = -1) -> bytes:
        data: bytes = self._call("read1", size, size)
        self._seen(data, None if size < 0 else size)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data: bytes = self._call("readline", size, size)
        self._seen(data, None if size is None or size < 0 else size)
        return data

    def readinto(self, buffer: Any) -> int:
        count: int = self._call("readinto", len(buffer), buffer)
        self._seen(bytes(memoryview(buffer)[:count]), len(buffer))
        return count

    def readinto1(self, buffer: Any) -> int:
        count: int = self._call("readinto1", len(buffer), buffer)
        self._seen(bytes(memoryview(buffer)[:count]), len(buffer))
        return count

    def peek(self, size: int = 0) -> bytes:
        data: bytes = self._inner.peek(size)
        return data

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._sink.finish(truncated=True)  # a no-op when the body was read to its end

    @property
    def closed(self) -> bool:
        return bool(self._inner.closed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# -- replay -----------------------------------------------------------------------------------------


class _Recorded(io.RawIOBase):
    """The bytes of a recorded response, one piece (status and headers, one framed chunk) per read;
    a recording that broke off raises its error after the pieces that came before."""

    def __init__(self, pieces: list[bytes], failure: BaseException | None) -> None:
        self._pieces = deque(pieces)
        self._failure = failure

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pieces:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            return 0
        piece = self._pieces.popleft()
        if len(piece) > len(buffer):
            piece, rest = piece[: len(buffer)], piece[len(buffer) :]
            self._pieces.appendleft(rest)
        buffer[: len(piece)] = piece
        return len(piece)


class _RecordedSocket:
    """What the connection's `response_class` reads a recorded response from."""

    def __init__(self, pieces: list[bytes], failure: BaseException | None) -> None:
        self._raw = _Recorded(pieces, failure)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(self._raw)


def _replay(conn: Any, exchange: _Exchange, hit: tuple[int, Interaction]) -> Any:
    interaction = hit[1]
    response = interaction.response
    if is_unanswered(response):
        raise _no_response(interaction.meta.error or {})
    parts = exchange.recorder.replay_parts(*hit)
    headers, chunks = list(parts.headers), list(parts.chunks)
    failure = None
    if parts.error is not None and parts.error.get("type") != "IncompleteRead":
        failure = _rebuild(parts.error)  # an IncompleteRead http.client raises itself, at the end
    wants_gzip = "gzip" in (_header(exchange.headers, "accept-encoding") or "").lower()
    if interaction.meta.extra.get("content_encoding") == "gzip" and wants_gzip and chunks:
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Encoding", "gzip"))
        chunks = _gzip(chunks)
    bodiless = response.status in _NO_BODY_STATUS or exchange.method.upper() == "HEAD"
    framed = not bodiless and (
        parts.streamed or parts.error is not None or _header(headers, "content-length") is None
    )
    if framed and _header(headers, "transfer-encoding") is None:  # a stream's replay parts name it already
        headers.append(("Transfer-Encoding", "chunked"))
    head = f"HTTP/1.1 {response.status} {response.reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    pieces = [(head + "\r\n").encode("latin-1", "replace")]
    if framed:
        pieces += [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c]
        if parts.error is None:
            pieces.append(b"0\r\n\r\n")
    elif not bodiless:
        pieces += chunks
    sock = _RecordedSocket(pieces, failure)
    if conn.debuglevel > 0:
        replayed = conn.response_class(sock, conn.debuglevel, method=exchange.method)
    else:
        replayed = conn.response_class(sock, method=exchange.method)
    replayed.begin()
    return replayed


def _gzip(chunks: list[bytes]) -> list[bytes]:
    """The body gzip-encoded again as the server sent it, each recorded chunk still a readable piece."""
    encoder = zlib.compressobj(wbits=31)
    out = [encoder.compress(c) + encoder.flush(zlib.Z_SYNC_FLUSH) for c in chunks]
    out[-1] += encoder.flush()
    return out


def _rebuild(error: dict[str, str]) -> BaseException:
    """The exception a recording names, as the class it was (`ConnectionResetError` with its errno,
    `RemoteDisconnected`, `TimeoutError`, `ssl.SSLError`, ...), else an `OSError` with its message."""
    import builtins
    import http.client
    import ssl

    name, message = error.get("type", ""), error.get("message", "no response (recorded)")
    cls: Any = None
    for home in (builtins, http.client, socket, ssl):
        found = getattr(home, name, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            cls = found
            break
    if cls is None or not issubclass(cls, OSError | http.client.HTTPException):
        return OSError(message)
    errno = error.get("errno", "")
    built: BaseException
    try:
        if issubclass(cls, OSError) and errno.lstrip("-").isdigit():
            import os

            code = int(errno)
            built = cls(code, os.strerror(code) if code > 0 else message.split("] ")[-1])
        elif issubclass(cls, http.client.IncompleteRead):
            built = cls(b"")
        else:
            built = cls(message)
    except TypeError:
        return OSError(message)
    return built


def _no_response(error: dict[str, str]) -> BaseException:
    return with_causes(_rebuild(error), error)
