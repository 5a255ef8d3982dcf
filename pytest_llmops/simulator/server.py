"""`ProviderSimulator`: a local HTTP server that speaks the OpenAI, Anthropic, Gemini, Bedrock, Azure OpenAI
and Ollama APIs.

It exists so tests, benchmarks and the example project can drive the real
`openai` and `anthropic` SDKs over real HTTP with no network and no key.
Standard library only, loopback only. It stops by itself: every thread is a
daemon, the context manager stops it, and an idle watchdog shuts it down after
`idle_timeout_s` without requests, so a forgotten simulator never keeps a test
session or the interpreter alive.

Request pipeline: record -> auth -> injected fault -> route -> JSON body ->
endpoint (`openai_api`, `anthropic_api`, `gemini_api`, `bedrock_api`, `azure_api`, `ollama_api`; chosen by
path) -> timing, headers, gzip -> bytes.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import socket
import sys
import threading
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from pytest_llmops.recording.eventstream import encode_message
from pytest_llmops.recording.multipart import parse_form

from . import anthropic_api, audio, azure_api, bedrock_api, gemini_api, oauth, ollama_api, openai_api
from .engine import CallContext, Engine
from .responders import Responder
from .wire import BASE58, HEX, ApiError, JsonReply, Reply, SseReply

__all__ = ["ProviderSimulator", "SimRequest"]

log = logging.getLogger("pytest_llmops.simulator")

_LOCALHOST = "127.0.0.1"
_RATE_WINDOW_S = 60.0


@dataclass(slots=True)
class SimRequest:
    """One request as it arrived: `headers` has lower-cased names, `json` is None unless the body is JSON."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any
    provider: str
    received_at: float = field(default_factory=time.monotonic)
    status: int | None = None
    """The status the simulator answered with (None while the answer is being produced)."""
    answered_at: float | None = None
    """When the last byte of the answer was written (monotonic); None while it is being written."""
    cut: bool = False
    """Whether an injected fault broke the answer off (see `ProviderSimulator.cut_next`)."""


@dataclass(frozen=True, slots=True)
class _Fault:
    status: int
    path: str | None
    retry_after: float | None


@dataclass(frozen=True, slots=True)
class _Cut:
    path: str | None
    after_events: int
    after_bytes: int
    body_contains: bytes | None


@dataclass(frozen=True, slots=True)
class _StreamError:
    path: str | None
    after_events: int
    body_contains: bytes | None


_Matched = TypeVar("_Matched", _Cut, _StreamError)


class ProviderSimulator:
    """A local OpenAI + Anthropic API. Use as a context manager, or `start()` / `stop()`.

    `latency_ms` is the total time of a JSON response; `ttfb_ms` delays the
    status line and headers (and a stream's first event); `chunk_delay_ms` is
    the gap between stream events. `responder` decides what the model says
    (default: `judge_responder` answers pytest-llmops' judge rubric requests,
    `extractive_responder` everything else). With `require_auth`, requests without an
    OpenAI bearer token / Anthropic key get the providers' 401. `port=0` lets
    the OS choose. `gzip_streams` also gzips SSE bodies (flushed per event), as
    the real Anthropic API does for clients that accept gzip; JSON bodies are
    always gzipped when the client accepts it. `drifted` plays a provider that moved the model behind
    its aliases: answers reworded without their citations (so token counts change), and a successor
    snapshot with other prices reported as the model (`catalog.DRIFTED_SNAPSHOTS`); the default judge's
    verdicts do not drift. Switch it on a running simulator with the `drifted` property.
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0,
        ttfb_ms: float = 0,
        chunk_delay_ms: float = 0,
        responder: Responder | None = None,
        idle_timeout_s: float | None = 300,
        require_auth: bool = True,
        port: int = 0,
        gzip_streams: bool = False,
        drifted: bool = False,
    ) -> None:
        for name, value in (
            ("latency_ms", latency_ms),
            ("ttfb_ms", ttfb_ms),
            ("chunk_delay_ms", chunk_delay_ms),
        ):
            if value < 0:
                raise ValueError(f"ProviderSimulator({name}={value!r}): must be >= 0")
        if idle_timeout_s is not None and idle_timeout_s <= 0:
            raise ValueError(
                f"ProviderSimulator(idle_timeout_s={idle_timeout_s!r}): must be > 0, or None to disable"
            )
        self.latency_ms = latency_ms
        self.ttfb_ms = ttfb_ms
        self.chunk_delay_ms = chunk_delay_ms
        self.idle_timeout_s = idle_timeout_s
        self.require_auth = require_auth
        self.gzip_streams = gzip_streams
        self._port = port
        self._engine = Engine(responder, drifted=drifted)
        self._drifted_default = drifted
        self._lock = threading.Lock()
        self._lifecycle = threading.Lock()
        self._requests: list[SimRequest] = []
        self._faults: list[_Fault] = []
        self._cuts: list[_Cut] = []
        self._stream_errors: list[_StreamError] = []
        self._window: defaultdict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._inflight = 0
        self._last_activity = time.monotonic()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ProviderSimulator:
        with self._lifecycle:
            if self._server is not None:
                return self
            server = _Server(self, self._port)
            self._server = server
            self._stopping = threading.Event()
            self._stopped = threading.Event()
            self._last_activity = time.monotonic()
            serve = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="llmops-simulator",
                daemon=True,
            )
            self._threads = [serve]
            if self.idle_timeout_s is not None:
                self._threads.append(
                    threading.Thread(target=self._watch, name="llmops-simulator-idle", daemon=True)
                )
            for thread in self._threads:
                thread.start()
        log.debug("provider simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice and from any thread."""
        with self._lifecycle:
            server, self._server = self._server, None
            if server is None:
                return
            self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections(timeout=2.0)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        self._stopped.set()
        log.debug("provider simulator on port %s stopped", server.server_address[1])

    @property
    def drifted(self) -> bool:
        return self._engine.drifted

    @drifted.setter
    def drifted(self, on: bool) -> None:
        self._engine.drifted = bool(on)

    @property
    def running(self) -> bool:
        return self._server is not None

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the simulator stops (e.g. by its idle watchdog); False on timeout."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> ProviderSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"<ProviderSimulator {where}>"

    def _watch(self) -> None:
        assert self.idle_timeout_s is not None
        interval = min(1.0, max(0.01, self.idle_timeout_s / 10))
        stopping = self._stopping
        while not stopping.wait(interval):
            with self._lock:
                idle_for = time.monotonic() - self._last_activity
                busy = self._inflight > 0
            if not busy and idle_for >= self.idle_timeout_s:
                log.info("provider simulator idle for %.1fs; stopping", idle_for)
                self.stop()
                return

    # ------------------------------------------------------------------ public state

    @property
    def port(self) -> int:
        server = self._server
        if server is None:
            raise RuntimeError(
                "ProviderSimulator is not running: call start() or use `with ProviderSimulator() as sim:`"
            )
        return int(server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{_LOCALHOST}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """Pass as `OpenAI(base_url=...)`."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Pass as `Anthropic(base_url=...)`."""
        return self.url

    @property
    def gemini_base_url(self) -> str:
        """Pass as `genai.Client(http_options=HttpOptions(base_url=...))`; REST paths are `/v1beta/models/...`."""
        return self.url

    @property
    def bedrock_endpoint_url(self) -> str:
        """Pass as `boto3.client("bedrock-runtime", endpoint_url=...)` (any credentials: requests must be signed)."""
        return self.url

    @property
    def ollama_base_url(self) -> str:
        """Pass as `ollama.Client(host=...)` (or set `OLLAMA_HOST`); no key needed, as with a local Ollama."""
        return self.url

    @property
    def azure_endpoint(self) -> str:
        """Pass as `AzureOpenAI(azure_endpoint=..., api_version=...)`."""
        return self.url

    @property
    def requests(self) -> list[SimRequest]:
        """The requests received so far, oldest first (a snapshot)."""
        with self._lock:
            return list(self._requests)

    def fail_next(
        self, status: int, *, count: int = 1, path: str | None = None, retry_after: float | None = None
    ) -> None:
        """Answer the next `count` requests (to `path`, if given; query ignored) with error `status`.

        The body has the provider's error shape (429 -> OpenAI `rate_limit_exceeded` / Anthropic
        `rate_limit_error`, 500, 503, 529 `overloaded_error` ...); `retry_after` seconds are sent as
        `retry-after` and `retry-after-ms`, which both SDKs honour.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"fail_next(status={status!r}): must be an HTTP error status, 400-599")
        if count < 1:
            raise ValueError(f"fail_next(count={count!r}): must be >= 1")
        if retry_after is not None and retry_after < 0:
            raise ValueError(f"fail_next(retry_after={retry_after!r}): must be >= 0 seconds")
        if path is not None and not path.startswith("/"):
            path = "/" + path
        with self._lock:
            self._faults.extend(_Fault(status, path, retry_after) for _ in range(count))

    def cut_next(
        self,
        *,
        after_events: int = 0,
        after_bytes: int = 0,
        count: int = 1,
        path: str | None = None,
        body_contains: str | None = None,
    ) -> None:
        """Break off the next `count` successful answers and close the connection.

        Only answers to `path` (if given) whose request body contains `body_contains` (if given)
        are cut, so a test can cut one client's first attempt and let its retry through.

        A stream sends its first `after_events` events, then closes without the terminating chunk;
        a JSON answer sends its headers with the full `Content-Length` and only the first
        `after_bytes` bytes of the body (as sent, after gzip). The client library raises its
        "peer closed connection" error (httpx `RemoteProtocolError`), as on a real dropped connection.
        """
        path, needle = _selection(
            "cut_next", count, path, body_contains, after_events=after_events, after_bytes=after_bytes
        )
        with self._lock:
            self._cuts.extend(_Cut(path, after_events, after_bytes, needle) for _ in range(count))

    def error_in_stream_next(
        self,
        *,
        after_events: int = 1,
        count: int = 1,
        path: str | None = None,
        body_contains: str | None = None,
    ) -> None:
        """Let the next `count` streamed answers fail after their first `after_events` events, the way the
        real APIs report a failure once the 200 and the headers are sent: an error event in the stream,
        which then ends normally (no dropped connection, unlike `cut_next`).

        OpenAI and Azure chat completions send `data: {"error": {...}}` (`server_error`); the Responses
        API an `event: error` with `type: "error"`; Anthropic `event: error` with an `overloaded_error`;
        Ollama a `{"error": "..."}` line; Gemini (`alt=sse`) `data: {"error": {"code": 503, ...}}`;
        Bedrock an event-stream frame of message type `exception` (`internalServerException`). A
        Gemini stream without `alt=sse` (one JSON array) is left alone (not matched). `path` and
        `body_contains` select the answers as for `cut_next`.
        """
        path, needle = _selection(
            "error_in_stream_next", count, path, body_contains, after_events=after_events
        )
        with self._lock:
            self._stream_errors.extend(_StreamError(path, after_events, needle) for _ in range(count))

    def reset(self) -> None:
        """Forget requests, pending faults, prompt caches and repeat counters: as good as a fresh server."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._cuts.clear()
            self._stream_errors.clear()
            for window in self._window.values():
                window.clear()
        self._engine.reset()
        self._engine.drifted = self._drifted_default

    # ------------------------------------------------------------------ request pipeline

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.path is None or fault.path.rstrip("/") == path.rstrip("/"):
                    return self._faults.pop(index)
        return None

    def _take_matching(self, pending: list[_Matched], path: str, body: bytes) -> _Matched | None:
        """The first of `pending` (cuts or in-stream errors) meant for this request, taken off the list."""
        with self._lock:
            for index, fault in enumerate(pending):
                if fault.path is not None and fault.path.rstrip("/") != path.rstrip("/"):
                    continue
                if fault.body_contains is None or fault.body_contains in body:
                    return pending.pop(index)
        return None

    def _serve(self, handler: _Handler) -> None:
        received = time.monotonic()
        with self._lock:
            self._inflight += 1
            self._last_activity = received
        try:
            self._serve_one(handler, received)
        finally:
            with self._lock:
                self._inflight -= 1
                self._last_activity = time.monotonic()

    def _serve_one(self, handler: _Handler, received: float) -> None:
        split = urlsplit(handler.path)
        path = split.path or "/"
        headers = {k.lower(): v for k, v in handler.headers.items()}
        body = handler.read_body()
        parsed = _parse_json(body)
        provider = _provider(path, headers)
        record = SimRequest(
            method=handler.command,
            path=path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            json=parsed,
            provider=provider,
            received_at=received,
        )
        with self._lock:
            self._requests.append(record)
        ctx = CallContext(self._engine, self._engine.next_seq(), path, record.query, headers, received)
        if provider in ("openai", "azure"):
            request_id = ctx.new_id("req_", 32, HEX)
        elif provider == "anthropic":
            request_id = ctx.new_id("req_011C", 20, BASE58)
        else:
            request_id = bedrock_api.request_id(ctx)
        try:
            reply = self._dispatch(ctx, record)
        except ApiError as error:
            reply = self._error_reply(error, provider, request_id)
        except Exception as exc:  # a responder bug must reach the test as an answer, not a hung client
            log.exception("provider simulator failed on %s %s", record.method, path)
            failure: ApiError = _MODULES[provider].status_error(500, None)
            failure.message = f"Simulator error: {type(exc).__name__}: {exc}"
            reply = self._error_reply(failure, provider, request_id)
        if isinstance(reply, SseReply) and _can_break(provider, reply):
            fault = self._take_matching(self._stream_errors, path, body)
            if fault is not None:
                reply.events = [
                    *reply.events[: fault.after_events],
                    _stream_error_event(provider, path, request_id, fault.after_events),
                ]
        record.status = reply.status if isinstance(reply, JsonReply) else 200
        cut = self._take_matching(self._cuts, path, body) if record.status < 400 else None
        record.cut = cut is not None
        self._write(handler, reply, provider, request_id, record, received, cut)
        record.answered_at = time.monotonic()

    def _dispatch(self, ctx: CallContext, record: SimRequest) -> Reply:
        provider, path, method = record.provider, record.path, record.method
        if oauth.is_token_path(method, path):  # a sign-in before the LLM calls: no key, its own errors
            return oauth.token(
                ctx, oauth.form_body(record.body, record.headers.get("content-type", "")) or {}
            )
        module: Any = _MODULES[provider]
        if self.require_auth and not _has_key(provider, record.headers, record.query):
            raise module.missing_key_error()
        fault = self._take_fault(path)
        if fault is not None:
            raise self._fault_error(fault, provider, record)
        if provider == "azure":
            handler = azure_api.route(method, path, record.query)
        elif provider in ("gemini", "bedrock", "ollama"):
            handler = module.route(method, path)
        else:
            handler = module.ROUTES.get((method, path))
        if handler is None and provider == "openai":
            handler = next(
                (
                    h
                    for (m, prefix), h in openai_api.PREFIX_ROUTES.items()
                    if m == method and path.startswith(prefix)
                ),
                None,
            )
        if handler is None:
            raise module.not_found_error(method, path)
        body: Mapping[str, Any] = {}
        if handler in _FORM_HANDLERS:
            form = parse_form(record.body)
            if form is None:
                content_type = record.headers.get("content-type", "none").split(";")[0]
                raise ApiError(
                    400,
                    "invalid_request_error",
                    f"Invalid Content-Type header ({content_type}), expected multipart/form-data.",
                )
            body = audio.form_body(form)
        elif method in ("POST", "PUT", "PATCH"):
            if not isinstance(record.json, dict):
                if provider in ("openai", "azure"):
                    raise openai_api.invalid_json_error()
                if provider in ("gemini", "bedrock"):
                    raise module.invalid_json_error()
                if provider == "ollama":
                    raise ollama_api.invalid_json_error(record.body)
                detail = "the body is empty" if not record.body else "the body is not a valid JSON object"
                raise anthropic_api.invalid_json_error(detail)
            body = record.json
        result: Reply = handler(ctx, body)
        return result

    def _fault_error(self, fault: _Fault, provider: str, record: SimRequest) -> ApiError:
        model = record.json.get("model") if isinstance(record.json, dict) else None
        error: ApiError = _MODULES[provider].status_error(fault.status, str(model) if model else None)
        if fault.retry_after is not None:
            seconds = fault.retry_after
            error.headers["retry-after"] = str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"
            if provider in ("openai", "azure", "anthropic"):
                error.headers["retry-after-ms"] = str(round(seconds * 1000))
            if provider == "gemini" and fault.status == 429:
                gemini_api.add_retry_after(error, seconds)
        return error

    def _error_reply(self, error: ApiError, provider: str, request_id: str) -> JsonReply:
        if provider == "gemini":
            payload = gemini_api.error_payload(error)
            headers = gemini_api.error_headers()
        elif provider == "ollama":
            payload = ollama_api.error_payload(error)
            headers = ollama_api.error_headers(error)
        elif provider == "bedrock":
            payload = bedrock_api.error_payload(error)
            headers = bedrock_api.error_headers(error, request_id)
        elif provider == "azure":
            payload = azure_api.error_payload(error)
            headers = {"content-type": "application/json", "apim-request-id": request_id}
        elif provider == "openai":
            payload = openai_api.error_payload(error)
            headers = {"content-type": "application/json; charset=utf-8", "x-request-id": request_id}
            if error.status == 429:
                headers.update(
                    {
                        k: v
                        for k, v in openai_api.headers(request_id, 0, 0, 0).items()
                        if k.startswith("x-ratelimit")
                    }
                )
        else:
            payload = anthropic_api.error_payload(error, request_id)
            retry = error.status in (408, 409, 429) or error.status >= 500
            headers = {
                "content-type": "application/json",
                "request-id": request_id,
                "x-should-retry": "true" if retry else "false",
            }
        headers.update(error.headers)
        return JsonReply(payload, error.status, headers)

    def _rate_headers(
        self, provider: str, request_id: str, record: SimRequest, processing_ms: int
    ) -> dict[str, str]:
        now = time.monotonic()
        cost = len(record.body) // 4
        if isinstance(record.json, dict):
            limit = record.json.get("max_completion_tokens") or record.json.get("max_tokens")
            cost += limit if isinstance(limit, int) else 0
        if provider == "gemini":
            return gemini_api.success_headers(processing_ms)
        if provider == "bedrock":
            return bedrock_api.success_headers(request_id)
        if provider == "ollama":
            return {}  # a local server: no rate limits, no request ids
        with self._lock:
            window = self._window[provider]
            while window and now - window[0][0] > _RATE_WINDOW_S:
                window.popleft()
            window.append((now, cost))
            used_requests = len(window)
            used_tokens = sum(c for _, c in window)
        if provider in ("openai", "azure"):
            out = openai_api.headers(
                request_id,
                processing_ms,
                openai_api.REQUEST_LIMIT - used_requests,
                openai_api.TOKEN_LIMIT - used_tokens,
            )
            if provider == "azure":
                out = {k: v for k, v in out.items() if not k.startswith("openai-")}
                out["apim-request-id"] = request_id
                out["x-ms-region"] = "Sweden Central"
            return out
        limit = anthropic_api.INPUT_TOKEN_LIMIT + anthropic_api.OUTPUT_TOKEN_LIMIT
        return anthropic_api.headers(
            request_id, anthropic_api.REQUEST_LIMIT - used_requests, limit - used_tokens
        )

    # ------------------------------------------------------------------ writing

    def _sleep_until(self, deadline: float) -> bool:
        """Wait until `deadline` (monotonic); False if the simulator is stopping."""
        delay = deadline - time.monotonic()
        return not self._stopping.wait(delay) if delay > 0 else not self._stopping.is_set()

    def _write(
        self,
        handler: _Handler,
        reply: Reply,
        provider: str,
        request_id: str,
        record: SimRequest,
        received: float,
        cut: _Cut | None = None,
    ) -> None:
        accepts_gzip = _accepts_gzip(record.headers.get("accept-encoding", ""))
        if isinstance(reply, JsonReply):
            if not self._sleep_until(received + max(self.latency_ms, self.ttfb_ms) / 1000):
                handler.close_connection = True
                return
            headers = dict(reply.headers)
            if reply.status < 400:
                processing_ms = round((time.monotonic() - received) * 1000)
                headers = {
                    "content-type": "application/json",
                    **self._rate_headers(provider, request_id, record, processing_ms),
                    **headers,
                }
            payload = reply.payload
            if accepts_gzip and reply.status < 400 and provider != "ollama":  # Ollama never compresses
                payload = gzip.compress(payload, compresslevel=5, mtime=0)
                headers["content-encoding"] = "gzip"
                headers["vary"] = "Accept-Encoding"
            handler.send_json(reply.status, headers, payload, None if cut is None else cut.after_bytes)
            return
        if not self._sleep_until(received + self.ttfb_ms / 1000):
            handler.close_connection = True
            return
        headers = {
            "content-type": reply.content_type,
            **self._rate_headers(provider, request_id, record, round(self.ttfb_ms)),
            **reply.headers,
        }
        compress = self.gzip_streams and accepts_gzip and provider != "ollama"
        if compress:
            headers["content-encoding"] = "gzip"
        handler.send_stream(
            headers,
            reply.events,
            self.chunk_delay_ms / 1000,
            compress,
            self._stopping,
            None if cut is None else cut.after_events,
        )


def _selection(
    method: str, count: int, path: str | None, body_contains: str | None, **at_least_zero: int
) -> tuple[str | None, bytes | None]:
    """Check a fault's arguments (a `ValueError` names the bad one); the path with its leading slash, and
    the body text to look for as bytes."""
    for name, value in at_least_zero.items():
        if value < 0:
            raise ValueError(f"{method}({name}={value!r}): must be >= 0")
    if count < 1:
        raise ValueError(f"{method}(count={count!r}): must be >= 1")
    if path is not None and not path.startswith("/"):
        path = "/" + path
    return path, None if body_contains is None else body_contains.encode("utf-8")


def _can_break(provider: str, reply: SseReply) -> bool:
    """Every provider's stream takes an in-stream error but Gemini's one JSON array (without `alt=sse`)."""
    return provider != "gemini" or reply.content_type.startswith("text/event-stream")


def _stream_error_event(provider: str, path: str, request_id: str, sequence: int) -> bytes:
    """The event a provider sends when generation fails mid-stream (see `error_in_stream_next`)."""
    if provider == "bedrock":
        message = "The system encountered an unexpected error during processing. Try your request again."
        headers = {
            ":message-type": "exception",
            ":exception-type": "internalServerException",
            ":content-type": "application/json",
        }
        return encode_message(headers, json.dumps({"message": message}, separators=(",", ":")).encode())
    if provider == "gemini":
        error = {
            "code": 503,
            "message": "The model is overloaded. Please try again later.",
            "status": "UNAVAILABLE",
        }
        return b"data: " + json.dumps({"error": error}, separators=(",", ":")).encode() + b"\r\n\r\n"
    if provider == "ollama":
        message = "an error was encountered while running the model: unexpected EOF"
        return json.dumps({"error": message}, separators=(",", ":")).encode() + b"\n"
    if provider == "anthropic":
        payload = {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
            "request_id": request_id,
        }
        return b"event: error\ndata: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    message = "The server had an error while processing your request. Sorry about that!"
    if path.rstrip("/").endswith("/responses"):
        event: dict[str, object] = {
            "type": "error",
            "code": "server_error",
            "message": message,
            "param": None,
        }
        event["sequence_number"] = sequence
        return b"event: error\ndata: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
    error = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    return b"data: " + json.dumps(error, separators=(",", ":")).encode() + b"\n\n"


class _AnthropicErrors:
    """anthropic_api's error helpers with the signatures the other provider modules share."""

    missing_key_error = staticmethod(anthropic_api.missing_key_error)
    not_found_error = staticmethod(anthropic_api.not_found_error)
    ROUTES = anthropic_api.ROUTES

    @staticmethod
    def status_error(status: int, model: str | None) -> ApiError:
        return anthropic_api.status_error(status)


class _Server(ThreadingHTTPServer):
    """Loopback HTTP server whose connection threads are daemons and can all be closed at once."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, sim: ProviderSimulator, port: int) -> None:
        self.sim = sim
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        super().__init__((_LOCALHOST, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="llmops-simulator-conn",
            daemon=True,
        )
        with self._connections_lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # the client went away: normal for aborted streams
            log.debug("connection from %s ended: %r", client_address, error)
            return
        log.exception("provider simulator: unhandled error serving %s", client_address)

    def close_connections(self, timeout: float) -> None:
        with self._connections_lock:
            items = list(self._connections.items())
        for _, sock in items:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread, _ in items:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pytest-llmops-simulator"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - " + format, self.address_string(), *args)

    def _handle(self) -> None:
        self.server.sim._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _head(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)

    def send_json(
        self, status: int, headers: Mapping[str, str], payload: bytes, cut_after: int | None = None
    ) -> None:
        self._head(status, headers)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if cut_after is not None and cut_after < len(payload):
            self.wfile.write(payload[:cut_after])
            self._hang_up()
            return
        self.wfile.write(payload)

    def _hang_up(self) -> None:
        """Close the connection mid-message, as a dropped connection does."""
        self.close_connection = True
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def send_stream(
        self,
        headers: Mapping[str, str],
        events: list[bytes],
        delay_s: float,
        compress: bool,
        stopping: threading.Event,
        cut_after: int | None = None,
    ) -> None:
        """Chunked transfer encoding, one chunk per event, each written as soon as it is due.

        With `cut_after`, the connection is closed after that many events, without the last chunk.
        """
        self._head(200, headers)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        compressor = zlib.compressobj(wbits=31) if compress else None
        for index, event in enumerate(events):
            if cut_after is not None and index >= cut_after:
                if compressor is not None:
                    self._chunk(compressor.flush(zlib.Z_SYNC_FLUSH))
                self._hang_up()
                return
            if index and delay_s > 0 and stopping.wait(delay_s):
                self.close_connection = True
                return
            data = event
            if compressor is not None:
                data = compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH)
            self._chunk(data)
        if compressor is not None:
            self._chunk(compressor.flush())
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


_FORM_HANDLERS = frozenset({audio.transcriptions, audio.translations})
"""Endpoints that take a multipart/form-data upload instead of a JSON body."""

_MODULES: dict[str, Any] = {
    "openai": openai_api,
    "anthropic": _AnthropicErrors,
    "azure": azure_api,
    "gemini": gemini_api,
    "bedrock": bedrock_api,
    "ollama": ollama_api,
}


def _provider(path: str, headers: Mapping[str, str]) -> str:
    """Which API a request speaks, by its path (and Anthropic's version header)."""
    if gemini_api.is_gemini_path(path):
        return "gemini"
    if ollama_api.is_ollama_path(path):
        return "ollama"
    if bedrock_api.is_bedrock_path(path):
        return "bedrock"
    if azure_api.is_azure_path(path):
        return "azure"
    if path.startswith("/v1/messages") or "anthropic-version" in headers:
        return "anthropic"
    return "openai"


def _has_key(provider: str, headers: Mapping[str, str], query: Mapping[str, list[str]]) -> bool:
    if provider in ("gemini", "bedrock", "azure", "ollama"):
        return bool(_MODULES[provider].has_key(headers, query))
    bearer = headers.get("authorization", "")
    has_bearer = bearer.lower().startswith("bearer ") and bool(bearer[7:].strip())
    if provider == "openai":
        return has_bearer or bool(headers.get("api-key", "").strip())  # api-key: Azure OpenAI's header
    return bool(headers.get("x-api-key", "").strip()) or has_bearer


def _accepts_gzip(value: str) -> bool:
    for item in value.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip()
            if not q.startswith("q="):
                return True
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
    return False


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
