"""An OAuth 2.0 token endpoint (RFC 6749), as apps meet one before their LLM calls.

Entra ID (`/{tenant}/oauth2/v2.0/token`, azure-identity), Google (`/token`, google-auth) and most others
take a form-encoded `grant_type` with the client's secret, refresh token or signed assertion, and answer
`{"token_type": "Bearer", "expires_in": 3599, "access_token": ...}`, or a 400/401 with
`{"error": ..., "error_description": ...}`. Any POST to a path ending in `/token` lands here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .engine import CallContext
from .wire import ALNUM, JsonReply, Reply

__all__ = ["form_body", "is_token_path", "token"]

# grant_type -> the fields it needs (any one of a tuple's names will do)
GRANTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "client_credentials": (("client_id",), ("client_secret", "client_assertion")),
    "refresh_token": (("refresh_token",),),
    "password": (("username",), ("password",)),
    "authorization_code": (("code",),),
    "urn:ietf:params:oauth:grant-type:jwt-bearer": (("assertion",),),
    "urn:ietf:params:oauth:grant-type:token-exchange": (("subject_token",),),
}
EXPIRES_IN = 3599


def is_token_path(method: str, path: str) -> bool:
    return method == "POST" and path.rstrip("/").endswith("/token")


def form_body(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The request's fields: a form (as the RFC has them), or a JSON object (some servers take one)."""
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return None


def _error(status: int, error: str, description: str) -> JsonReply:
    payload = json.dumps({"error": error, "error_description": description}).encode()
    return JsonReply(
        payload, status, {"content-type": "application/json; charset=utf-8", "cache-control": "no-store"}
    )


def token(ctx: CallContext, body: Mapping[str, Any]) -> Reply:
    grant = body.get("grant_type")
    if not grant:
        return _error(400, "invalid_request", "The request body must contain the 'grant_type' parameter.")
    needed = GRANTS.get(str(grant))
    if needed is None:
        return _error(400, "unsupported_grant_type", f"The grant type {grant!r} is not supported.")
    for names in needed:
        if not any(body.get(name) for name in names):
            status, error = (401, "invalid_client") if "client_secret" in names else (400, "invalid_request")
            return _error(status, error, f"The request body must contain the '{names[0]}' parameter.")
    payload: dict[str, Any] = {
        "token_type": "Bearer",
        "expires_in": EXPIRES_IN,
        "access_token": "eyJ" + ctx.new_id("", 120, ALNUM),
    }
    if body.get("scope"):
        payload["scope"] = str(body["scope"])
    if grant == "refresh_token":
        payload["refresh_token"] = str(body["refresh_token"])  # Google keeps the same refresh token
    return JsonReply(
        json.dumps(payload).encode(),
        headers={"content-type": "application/json; charset=utf-8", "cache-control": "no-store"},
    )
