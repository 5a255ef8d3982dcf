"""Built-in provider adapters: one recorded or live interaction -> `LLMCall`.

Traffic is recognised by URL path and body shape, never by host: proxies,
local simulators and OpenAI-compatible gateways all speak the same formats.
Formats: OpenAI (chat completions, Responses, embeddings, moderations, audio
transcriptions and translations; also
Azure OpenAI and OpenAI-compatible servers), Anthropic Messages, Gemini
`generateContent` / `streamGenerateContent`, the Bedrock runtime
(`converse`, `converse-stream`, `invoke`, `invoke-with-response-stream`), and
Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`; JSON and
newline-delimited JSON streams).
Only once the format is known may the host refine *which* provider served an
OpenAI-shaped request (Azure, Mistral, Groq, ... see `openai.compatible_provider`),
which decides the price list. User plugins get the first word through the
`pytest_llmops_parse_call` hook; `BuiltinProviders` answers last.
"""

from __future__ import annotations

import functools
import json
import re

import pluggy

from pytest_llmops.recording.interactions import Interaction
from pytest_llmops.spend.calls import LLMCall
from pytest_llmops.spend.providers.base import as_dict, body_json, is_event_stream

__all__ = ["BuiltinProviders", "builtin_parse_call", "detect", "provider_of_path"]

# `pytest.hookimpl` is this same marker; taking it from pluggy keeps `pytest-llmops inspect`
# from importing pytest.
_hookimpl = pluggy.HookimplMarker("pytest")

OPENAI_KINDS = ("chat", "responses", "embeddings", "moderations", "transcriptions", "translations")

# Where a response-only recording (no request stored) is assumed to have been sent.
CANONICAL_ENDPOINTS = {
    "chat": "/v1/chat/completions",
    "responses": "/v1/responses",
    "embeddings": "/v1/embeddings",
    "moderations": "/v1/moderations",
    "transcriptions": "/v1/audio/transcriptions",
    "translations": "/v1/audio/translations",
    "messages": "/v1/messages",
    "generate_content": "/v1beta/models/{model}:generateContent",
    "stream_generate_content": "/v1beta/models/{model}:streamGenerateContent",
    "converse": "/model/{modelId}/converse",
    "converse_stream": "/model/{modelId}/converse-stream",
    "ollama_chat": "/api/chat",
    "ollama_generate": "/api/generate",
    "ollama_embed": "/api/embed",
}

_GEMINI_PATH = re.compile(r"/models/[^/:]+:(generateContent|streamGenerateContent)$", re.IGNORECASE)
_BEDROCK_PATH = re.compile(r"/model/[^/]+/(converse|converse-stream|invoke|invoke-with-response-stream)$")

_PATH_SUFFIXES = (
    ("/chat/completions", "openai", "chat"),
    ("/responses", "openai", "responses"),
    ("/embeddings", "openai", "embeddings"),
    ("/moderations", "openai", "moderations"),
    ("/audio/transcriptions", "openai", "transcriptions"),
    ("/audio/translations", "openai", "translations"),
    ("/messages", "anthropic", "messages"),
)


def detect(interaction: Interaction) -> tuple[str, str, str] | None:
    """(provider, kind, endpoint) for an interaction we can read, else None.

    `endpoint` is the URL path without query; for response-only recordings it is
    the provider's canonical path for the kind of body found.
    """
    request = interaction.request
    if request is not None:
        path = request.path
        found = _by_path(path)
        if found is not None and found[0] == "ollama":
            found = _ollama_checked(interaction, found[1])
        if found is not None:
            return found[0], found[1], path
    found = _by_body(interaction)
    if found is None:
        return None
    provider, kind = found
    endpoint = request.path if request is not None else CANONICAL_ENDPOINTS[kind]
    return provider, kind, endpoint


def builtin_parse_call(interaction: Interaction) -> LLMCall | None:
    """The built-in adapters' reading of `interaction`; None when it is not OpenAI or Anthropic traffic.

    Never raises on odd bodies: if an adapter trips over one, the call still
    comes back with what the HTTP exchange itself tells (status, endpoint,
    request model), no tokens, and `extra["parse_error"]` saying what went wrong.
    """
    try:
        found = detect(interaction)
    except ValueError:  # a URI urllib cannot split (e.g. a broken IPv6 host): not something we can read
        return None
    if found is None:
        return None
    provider, kind, endpoint = found
    try:
        call = _parse(interaction, provider, kind, endpoint)
    except Exception as exc:  # a broken recording must not break the test run that reads it
        call = _fallback_call(interaction, provider, endpoint)
        call.extra["parse_error"] = f"{type(exc).__name__}: {exc}"
    if interaction.request is None:
        call.extra["endpoint_inferred"] = True
    if interaction.response.status == 0 and call.error_type is None and interaction.meta.error:
        call.error_type = interaction.meta.error.get("type")  # no response: what the client raised
    return call


class BuiltinProviders:
    """Plugin object holding the built-in adapters; register it with `config.pluginmanager`."""

    @_hookimpl(trylast=True)
    def pytest_llmops_parse_call(self, interaction: Interaction) -> LLMCall | None:
        return builtin_parse_call(interaction)


def _parse(interaction: Interaction, provider: str, kind: str, endpoint: str) -> LLMCall:
    if provider == "gemini":
        from pytest_llmops.spend.providers import gemini

        return gemini.parse(interaction, kind, endpoint)
    if provider == "ollama":
        from pytest_llmops.spend.providers import ollama

        return ollama.parse(interaction, kind, endpoint)
    if provider == "bedrock":
        from pytest_llmops.spend.providers import bedrock

        return bedrock.parse(interaction, kind, endpoint)
    if provider == "anthropic":
        from pytest_llmops.spend.providers import anthropic

        return anthropic.parse(interaction, kind, endpoint)
    from pytest_llmops.spend.providers import openai

    return openai.parse(interaction, kind, endpoint)


def _fallback_call(interaction: Interaction, provider: str, endpoint: str) -> LLMCall:
    call = LLMCall(provider=provider, endpoint=endpoint, status=interaction.response.status)
    call.recorded_at = interaction.meta.recorded_at
    call.latency_ms = interaction.meta.latency_ms
    request = interaction.request.json() if interaction.request is not None else None
    model = request.get("model") if isinstance(request, dict) else None
    if isinstance(model, str):
        call.model = call.request_model = model
    return call


@functools.lru_cache(maxsize=1024)
def _by_path(path: str) -> tuple[str, str] | None:
    """(provider, kind) by the URL path alone; cached, since a run calls a few endpoints many times."""
    path = path.rstrip("/")
    gemini = _GEMINI_PATH.search(path)
    if gemini is not None:
        method = gemini.group(1).lower()
        return "gemini", ("stream_generate_content" if method.startswith("stream") else "generate_content")
    bedrock = _BEDROCK_PATH.search(path)
    if bedrock is not None:
        return "bedrock", bedrock.group(1).replace("-", "_")
    from pytest_llmops.spend.providers.ollama import kind_of_path

    ollama = kind_of_path(path)
    if ollama is not None:
        return "ollama", ollama
    path = path.lower()
    for suffix, provider, kind in _PATH_SUFFIXES:
        if path.endswith(suffix):
            if kind == "messages" and "/threads/" in path:
                return None  # OpenAI Assistants' /threads/{id}/messages, not Anthropic
            return provider, kind
    return None


def _by_body(interaction: Interaction) -> tuple[str, str] | None:
    """Recognise a response by its shape alone; only unambiguous markers count."""
    response = interaction.response
    if is_event_stream(response):
        return _by_first_event(response.body)
    from pytest_llmops.recording.eventstream import looks_like_event_stream

    if looks_like_event_stream(response.body):
        return "bedrock", "converse_stream"
    from pytest_llmops.spend.providers import ollama

    first = ollama.response_objects(interaction)[:1]
    if first and ollama.is_ollama_body(first[0]):
        return "ollama", ollama.kind_of_body(first[0])
    if response.body.lstrip()[:1] == b"[":
        try:
            items = json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            return None
        from pytest_llmops.spend.providers.gemini import is_gemini_body

        if isinstance(items, list) and items and is_gemini_body(items[0]):
            return "gemini", "stream_generate_content"
        return None
    body = body_json(response.body)
    marker = body.get("object")
    if marker == "chat.completion":
        return "openai", "chat"
    if marker == "response":
        return "openai", "responses"
    data = body.get("data")
    if marker == "list" and isinstance(data, list) and data and as_dict(data[0]).get("object") == "embedding":
        return "openai", "embeddings"
    if isinstance(body.get("results"), list) and str(body.get("id", "")).startswith("modr"):
        return "openai", "moderations"
    if body.get("type") == "message" or (body.get("type") == "error" and isinstance(body.get("error"), dict)):
        return "anthropic", "messages"
    from pytest_llmops.spend.providers.bedrock import is_converse_body
    from pytest_llmops.spend.providers.gemini import is_gemini_body

    if is_gemini_body(body):
        return "gemini", "generate_content"
    if is_converse_body(body):
        return "bedrock", "converse"
    return None


def _ollama_checked(interaction: Interaction, kind: str) -> tuple[str, str] | None:
    """An Ollama path's exchange, if it is one: `/api/chat` is also many a web app's own endpoint, so the
    request must name a model, as Ollama requires (a response-only recording is read by its body)."""
    request = interaction.request.json() if interaction.request is not None else None
    if not isinstance(request, dict) or not isinstance(request.get("model"), str):
        return None
    if kind == "ollama_embeddings" and not _ollama_embedding(interaction):
        return "openai", "embeddings"  # an OpenAI-compatible server that mounts its API at /api
    return "ollama", kind


def _ollama_embedding(interaction: Interaction) -> bool:
    """Whether an exchange with `/api/embeddings` is Ollama's legacy endpoint: its request has a `prompt`
    and no `input`, or its answer one `embedding`."""
    request = interaction.request.json() if interaction.request is not None else None
    if isinstance(request, dict) and "prompt" in request and "input" not in request:
        return True
    return "embedding" in body_json(interaction.response.body)


def provider_of_path(path: str) -> str:
    """The provider whose format a request to `path` speaks, before any answer is seen ("openai" when
    the path alone does not tell: the OpenAI format is the one most servers speak)."""
    found = _by_path(path)
    return found[0] if found is not None else "openai"


def _by_first_event(body: bytes) -> tuple[str, str] | None:
    from pytest_llmops.recording.sse import iter_events

    for event in iter_events(body):
        if event.event == "message_start":
            return "anthropic", "messages"
        if not event.data.startswith("{"):
            continue
        try:
            data = json.loads(event.data)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        if data.get("object") == "chat.completion.chunk":
            return "openai", "chat"
        kind = data.get("type")
        if kind == "message_start":
            return "anthropic", "messages"
        if isinstance(kind, str) and kind.startswith("response."):
            return "openai", "responses"
        from pytest_llmops.spend.providers.gemini import is_gemini_body

        if is_gemini_body(data):
            return "gemini", "stream_generate_content"
        return None
    return None
