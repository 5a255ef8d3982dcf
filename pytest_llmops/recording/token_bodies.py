"""Credentials in bodies: OAuth token requests and responses, and cloud credentials handed out as data.

An app that signs in to its provider (Azure OpenAI with Entra ID through azure-identity, Vertex or Gemini
with a Google refresh token through google-auth, Bedrock with an assumed AWS role) sends a client secret,
a refresh token or a signed assertion in the body of a token request, and gets an access token (or AWS
keys) back in the body of the answer. Those requests are recorded like any other, so their secrets are
scrubbed here, and the scans then look for the removed values everywhere.

Only bodies that are one of these exchanges are touched, so a field named `password` in a chat message
is text: a request is a token request when its form or JSON object has a `grant_type`; a response is a
token response when its JSON object has a `token_type` and an `access_token` or `id_token`; AWS keys are
the values of `SecretAccessKey` / `SessionToken` (any case) in JSON or XML, and the `AccessKeyId` and
`Token` beside a `SecretAccessKey` (the key id is no secret, but the scans take its shape for a key).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

__all__ = [
    "TOKEN_REQUEST_FIELDS",
    "body_credentials",
    "is_token_exchange",
    "is_token_request",
    "scrubbed",
    "token_form",
]

TOKEN_REQUEST_FIELDS = frozenset(
    {
        "client_secret",
        "client_assertion",
        "assertion",
        "password",
        "refresh_token",
        "access_token",
        "id_token",
        "subject_token",
        "actor_token",
        "code",
        "code_verifier",
        "device_code",
    }
)
"""Fields of an OAuth token request (RFC 6749, 7523, 8628, 8693) that carry a secret."""
TOKEN_RESPONSE_FIELDS = frozenset({"access_token", "refresh_token", "id_token"})
_AWS_KEYS = frozenset({"secretaccesskey", "sessiontoken"})
_AWS_XML = re.compile(rb"<(AccessKeyId|SecretAccessKey|SessionToken)>([^<]+)</\1>")
_AWS_MARKERS = (b"ecretAccessKey", b"essionToken", b"ecretaccesskey", b"essiontoken")
"""The key names' tails in the cases AWS writes them (and lower case): plain substring searches, which
run at memory speed on every recorded body where a case-blind regex costs a step per byte."""
REDACTED = "REDACTED"


def token_form(body: bytes | None) -> list[tuple[str, str]] | None:
    """The pairs of a form-encoded OAuth token request (one with a `grant_type`); None for any other body."""
    if not body or b"grant_type=" not in body or body.lstrip()[:1] in (b"{", b"["):
        return None
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    pairs = parse_qsl(text, keep_blank_values=True)
    return pairs if any(name == "grant_type" for name, _ in pairs) else None


def is_token_request(data: Any) -> bool:
    """Whether a parsed JSON request body is an OAuth token request."""
    return isinstance(data, dict) and "grant_type" in data


def is_token_exchange(body: bytes | None) -> bool:
    """Whether a request body is an OAuth token request, form-encoded or JSON."""
    if not body or b"grant_type" not in body:
        return False
    if token_form(body) is not None:
        return True
    try:
        return is_token_request(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return False


def body_credentials(body: bytes | None, *, request: bool) -> list[tuple[str, str]]:
    """(field, value) of every secret such a body carries; [] for any other body."""
    return _body_secrets(body, request=request)[0]


def scrubbed(body: bytes | None, *, request: bool) -> tuple[bytes | None, list[tuple[str, str]]]:
    """`body` with the secrets it carries replaced by REDACTED, the rest byte for byte as it was; and
    (field, value) of each secret replaced. Any other body comes back as it is, with []."""
    found, form = _body_secrets(body, request=request)
    if not found or body is None:
        return body, found
    if form:
        out = []
        for piece in body.split(b"&"):
            name, equals, _value = piece.partition(b"=")
            if equals and unquote_plus(name.decode("ascii", "replace")) in TOKEN_REQUEST_FIELDS:
                piece = name + b"=" + REDACTED.encode()
            out.append(piece)
        return b"&".join(out), found
    for _, value in sorted(found, key=lambda c: -len(c[1])):
        body = body.replace(value.encode("utf-8"), REDACTED.encode())
        escaped = json.dumps(value)[1:-1].encode("utf-8")  # as it sits in a JSON string
        if escaped != value.encode("utf-8"):
            body = body.replace(escaped, REDACTED.encode())
    return body, found


def _body_secrets(body: bytes | None, *, request: bool) -> tuple[list[tuple[str, str]], bool]:
    """The secrets a body carries, and whether it is a form-encoded token request (read once)."""
    if not body:
        return [], False
    if request:
        pairs = token_form(body)
        if pairs is not None:
            return [(name, value) for name, value in pairs if name in TOKEN_REQUEST_FIELDS and value], True
    # Substring checks first: this runs on every recorded body, and almost none is such an exchange.
    marked = b'"grant_type"' in body if request else b'"token_type"' in body
    aws = any(marker in body for marker in _AWS_MARKERS)
    if not (marked or aws):
        return [], False
    found: list[tuple[str, str]] = []
    if body.lstrip()[:1] == b"{":
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if request and is_token_request(data):
            found += [
                (k, v) for k, v in data.items() if k in TOKEN_REQUEST_FIELDS and isinstance(v, str) and v
            ]
        elif not request and _is_token_response(data):
            found += [
                (k, v) for k, v in data.items() if k in TOKEN_RESPONSE_FIELDS and isinstance(v, str) and v
            ]
        if data is not None:
            found += _aws_json(data)
    elif body.lstrip()[:1] == b"<":  # an XML document (STS), not a stream that quotes one
        found += [
            (m.group(1).decode(), m.group(2).decode("utf-8", "replace")) for m in _AWS_XML.finditer(body)
        ]
    return found, False


def _is_token_response(data: Any) -> bool:
    return isinstance(data, dict) and "token_type" in data and ("access_token" in data or "id_token" in data)


def _aws_json(data: Any, depth: int = 0) -> list[tuple[str, str]]:
    if depth > 20:
        return []
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        has_secret = any(isinstance(k, str) and k.lower() == "secretaccesskey" for k in data)
        for key, value in data.items():
            lowered = key.lower() if isinstance(key, str) else ""
            if (
                isinstance(value, str)
                and value
                and (lowered in _AWS_KEYS or (has_secret and lowered in ("token", "accesskeyid")))
            ):
                found.append((key, value))
            elif isinstance(value, dict | list):
                found += _aws_json(value, depth + 1)
    elif isinstance(data, list):
        for item in data:
            found += _aws_json(item, depth + 1)
    return found
