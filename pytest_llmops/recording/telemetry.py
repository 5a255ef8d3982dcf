"""Tracing and telemetry exports: never recorded, never sent from a replay.

Client libraries and observability SDKs post what the app did to a collector: the
OpenAI Agents SDK its traces to `api.openai.com/v1/traces/ingest`, LangSmith its runs,
OpenTelemetry exporters (Logfire, Langfuse, Phoenix, Arize, Honeycomb, ...) spans to
`.../v1/traces`, Sentry and PostHog their events (and LangSmith's client reads its server's
settings, `GET /info`, from the same thread). They run in background threads and at
interpreter exit, hold the test's prompts and answers, carry fresh ids and clocks (so
they could never replay), and are not LLM calls. So, by where they go:

- while recording, they are sent live, as without the plugin, and kept out of the
  cassette and the test's calls;
- in a replay (a test that cannot record, between tests of a replay run, any test under
  --llm-block-network) and after a replay run ends, until the interpreter exits, they are
  answered here with an empty success (200, `{}`), so the exporter neither reaches the
  network nor retries, and nothing leaves the machine.

Loopback collectors (a local Phoenix or Jaeger) are left alone: that traffic never leaves.
`llm_telemetry_urls` adds the URL prefixes of other collectors.

Library lookups go the same way: reads a client library makes for itself on some runs and not on
others (huggingface_hub's agent-harness registry, fetched at most once a day and cached; LiteLLM's
model price map, fetched when it is imported). Recorded, they would land in whichever test ran first
that day and be missing from the cassette of the test that makes them in CI. They are sent live while
recording, unrecorded and uncounted, and answered here in a replay with a 404, which both libraries
take as "not available" and go on without (no retry, nothing cached).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pytest_llmops.recording import guard, network
from pytest_llmops.recording.interactions import (
    Interaction,
    InteractionMeta,
    RecordedRequest,
    RecordedResponse,
    header,
)
from pytest_llmops.recording.transport import THROUGH, Recorder

_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PATH = re.compile(
    r"(?:/v1/traces/ingest"  # the OpenAI Agents SDK's trace exporter
    r"|/v1/(?:traces|metrics|logs)"  # OTLP over HTTP, under any prefix (/api/public/otel, /otel, ...)
    r"|/api/public/ingestion"  # Langfuse's own ingestion API
    r"|/api/\d+/(?:envelope|store)"  # Sentry
    r"|/runs/(?:batch|multipart)"  # LangSmith, also self-hosted
    r")$"
)
_HOST = re.compile(
    r"(?:^|\.)posthog\.com$"  # PostHog: every request is an event or a flag lookup
    r"|^llmobs-intake\.",  # Datadog LLM Observability, agentless
)
_LANGSMITH = re.compile(r"(?:^|\.)smith\.langchain\.com$")
_LANGSMITH_INFO = re.compile(r"^(?:/api/v1)?/info$")  # the server's settings, read before the first export
_LANGSMITH_RUNS = re.compile(
    r"^(?:/api/v1)?/runs(?:/(?!query$|stats$|group$)[^/]+)?$"
)  # a run created or updated, one at a time
_LOOKUPS = (
    (re.compile(r"^huggingface\.co$"), re.compile(r"^/api/agent-harnesses$")),  # huggingface_hub
    (
        re.compile(r"^raw\.githubusercontent\.com$"),
        re.compile(r"^/BerriAI/litellm/[^/]+/model_prices_and_context_window\.json$"),
    ),  # LiteLLM
)
"""(host, path) of the library lookups: GETs a client library makes for itself (see the module's text)."""
_user_prefixes: tuple[str, ...] = ()
_after_session = False


def configure(url_prefixes: tuple[str, ...] | list[str]) -> None:
    """The user's `llm_telemetry_urls`: more collectors, by URL prefix (scheme and host lower-cased)."""
    global _user_prefixes
    _user_prefixes = tuple(_normalized(p) for p in url_prefixes if p.strip())


def _normalized(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"


def service(method: str, uri: str) -> bool:
    """Whether `method uri` is an export to a tracing or telemetry collector off this machine."""
    method = method.upper()
    if method not in _METHODS and method != "GET":
        return False
    parts = urlsplit(uri)
    host = (parts.hostname or "").rstrip(".")
    path = parts.path.rstrip("/")
    if method == "GET":  # only the LangSmith client's look at its server, from its tracing thread
        return _LANGSMITH.search(host) is not None and _LANGSMITH_INFO.match(path) is not None
    found = (
        _PATH.search(path) is not None
        or _HOST.search(host) is not None
        or (_LANGSMITH.search(host) is not None and _LANGSMITH_RUNS.match(path) is not None)
        or (bool(_user_prefixes) and _normalized(uri).startswith(_user_prefixes))
    )
    return found and bool(host) and not network.is_local(host)


def lookup(method: str, uri: str) -> bool:
    """Whether `method uri` is a library's lookup for itself (`_LOOKUPS`), not an LLM call."""
    if method.upper() != "GET":
        return False
    parts = urlsplit(uri)
    host, path = (parts.hostname or "").rstrip("."), parts.path
    return any(h.match(host) and p.match(path) for h, p in _LOOKUPS)


def offline() -> bool:
    """Whether an export now must not leave the machine: a replay, a blocked network, a replay run's end."""
    return _after_session or network.blocking() or guard.replaying()


def keep_offline_until_exit(on: bool) -> None:
    """After a replay run: exporters flush at interpreter exit, past the session (the interceptions stay)."""
    global _after_session
    _after_session = on


def route(method: str, uri: str) -> Recorder | None:
    """None: neither telemetry nor a library lookup. `transport.THROUGH`: send it as without the plugin.
    Else the recorder that answers it."""
    if service(method, uri):
        return _ANSWER if offline() else THROUGH
    if lookup(method, uri):
        return _UNAVAILABLE if offline() else THROUGH
    return None


class _Collector(Recorder):
    """Answers every export with an empty success, as a collector that took it would."""

    reads_content_type = True
    """The answer depends on the request's content type (a protobuf export gets an empty protobuf)."""

    def find(self, request: RecordedRequest, *, json_body: Any = None) -> tuple[int, Interaction] | None:
        # Without its headers (a fast path's first ask) the request's content type is not known yet.
        if self.reads_content_type and json_body is None and not request.headers:
            return None
        return self.lookup(request)

    def lookup(self, request: RecordedRequest) -> tuple[int, Interaction]:
        return 0, Interaction(request=request, response=self.reply(request), meta=InteractionMeta())

    def reply(self, request: RecordedRequest) -> RecordedResponse:
        protobuf = "protobuf" in (header(request.headers, "content-type") or "").lower()
        content_type, body = ("application/x-protobuf", b"") if protobuf else ("application/json", b"{}")
        return RecordedResponse(status=200, reason="OK", headers={"content-type": [content_type]}, body=body)


class _Unavailable(_Collector):
    """Answers a library lookup in a replay: not available, so the library goes on without it."""

    reads_content_type = False

    def reply(self, request: RecordedRequest) -> RecordedResponse:
        body = b'{"error": "not available: a pytest-llmops replay does not send a library\'s own lookups"}'
        return RecordedResponse(
            status=404, reason="Not Found", headers={"content-type": ["application/json"]}, body=body
        )


_ANSWER = _Collector(cassette=None, rerecord_command=str)
_UNAVAILABLE = _Unavailable(cassette=None, rerecord_command=str)
