"""Azure OpenAI: the OpenAI wire format under Azure's paths, key header and error bodies.

Paths: `/openai/deployments/{deployment}/chat/completions?api-version=...` (and
`/embeddings`), `/openai/responses?api-version=...`, and the newer `/openai/v1/...`
which needs no api-version. The key travels in `api-key` (or as an Entra ID bearer
token). A deployment named after a model answers as that model (dated, as
`model` in the response); the body's `model`, when sent, wins.

What Azure adds that clients and parsers trip over: `prompt_filter_results` and
per-choice `content_filter_results`, and, in a stream, a first chunk with no
choices, an empty `model` and empty `id` that carries only the prompt filter
results. Errors for auth, throttling and unknown routes are Azure's
`{"error": {"code": "429", "message": ...}}` (the code a string of the status).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import openai_api
from .engine import CallContext
from .wire import ApiError, JsonReply, Reply, SseReply, compact, pretty, sse

Handler = Callable[[CallContext, Mapping[str, Any]], Reply]

_DEPLOYMENT = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)(?P<rest>/.+)$")
_FILTERS = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}
_AZURE_ERRORS = {
    401: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
    "key for an active subscription and use a correct regional API endpoint for your resource.",
    404: "Resource not found",
    429: "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have "
    "exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 20 seconds. "
    "Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default "
    "rate limit.",
}


def is_azure_path(path: str) -> bool:
    return path.startswith("/openai/")


def error_payload(error: ApiError) -> bytes:
    if error.error_type == "azure":
        return compact({"error": {"code": str(error.status), "message": error.message}}).encode()
    return openai_api.error_payload(error)


def has_key(headers: Mapping[str, str], query: Mapping[str, Sequence[str]]) -> bool:
    bearer = headers.get("authorization", "")
    return bool(headers.get("api-key", "").strip()) or (
        bearer.lower().startswith("bearer ") and bool(bearer[7:].strip())
    )


def missing_key_error() -> ApiError:
    return ApiError(401, "azure", _AZURE_ERRORS[401])


def not_found_error(method: str, path: str) -> ApiError:
    return ApiError(404, "azure", _AZURE_ERRORS[404])


def status_error(status: int, model: str | None) -> ApiError:
    if status in _AZURE_ERRORS:
        return ApiError(status, "azure", _AZURE_ERRORS[status])
    return openai_api.status_error(status, model)


def route(method: str, path: str, query: Mapping[str, Sequence[str]]) -> Handler | None:
    deployment: str | None = None
    if path.startswith("/openai/v1/"):
        target = path.removeprefix("/openai")
    else:
        if not query.get("api-version"):
            return None
        match = _DEPLOYMENT.match(path)
        if match is not None:
            deployment, target = match["deployment"], "/v1" + match["rest"]
        else:
            target = "/v1" + path.removeprefix("/openai")
    handler = openai_api.ROUTES.get((method, target))
    if handler is None:
        return None
    return _wrap(handler, deployment)


def _wrap(handler: Handler, deployment: str | None) -> Handler:
    def azure_handler(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
        if deployment is not None and not body.get("model"):
            body = {**body, "model": deployment}
        return _decorate(handler(ctx, body))

    return azure_handler


def _decorate(reply: Reply) -> Reply:
    prompt_filters = [{"prompt_index": 0, "content_filter_results": _FILTERS}]
    if isinstance(reply, JsonReply):
        body = json.loads(reply.payload)
        if isinstance(body, dict) and body.get("object") == "chat.completion":
            for choice in body.get("choices", []):
                choice["content_filter_results"] = _FILTERS
            body = {"choices": body.pop("choices"), **body, "prompt_filter_results": prompt_filters}
            return JsonReply(pretty(body), reply.status, reply.headers)
        return reply
    first = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": prompt_filters,
    }
    events = list(reply.events)
    if events and events[0].startswith(b"data: {") and b'"chat.completion.chunk"' in events[0]:
        events.insert(0, sse(compact(first)))
    return SseReply(events, reply.headers, reply.content_type)
