"""Keep credentials off disk and screen: scrub what carries them, refuse to write what still holds one,
and redact every message.

Scrubbing is best effort; the scan is the guarantee. Every credential the
scrubber removes from a request (auth headers, key-like query parameters, AWS
signature parts, the secrets of a token exchange's bodies: `token_bodies`) is remembered and then searched for in the whole interaction,
as are the secret environment variables and key-shaped strings. The search
covers each field as stored and its decoded views: JSON strings unescaped, the
URI percent-decoded, and a stream's text joined across events (a key echoed a
few characters per event is found whole). Cassette writers and report writers
call `assert_text_clean` on the exact text they write (fail closed), and every
message the plugin prints or puts in a file goes through `redact`, which
replaces each known secret with a marker such as `[REDACTED:OPENAI_API_KEY]`.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pytest_llmops.recording.interactions import Headers, Interaction, RecordedRequest, RecordedResponse
from pytest_llmops.recording.token_bodies import body_credentials, scrubbed

CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-amz-security-token",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
        "cookie",
        "set-cookie",
    }
)
CREDENTIAL_QUERY_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "api-key",
        "apikey",
        "access_token",
        "token",
        "sig",
        "signature",
        "code",
        "x-amz-signature",  # presigned AWS URLs
        "x-amz-credential",
        "x-amz-security-token",
    }
)
REPLAY_PLACEHOLDER_ENV_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "GROQ_API_KEY",
    "CO_API_KEY",
    "TOGETHER_API_KEY",
    "CEREBRAS_API_KEY",
)
"""Set to a placeholder in replay when unset, so clients that insist on a key construct (the groq,
cohere, together and cerebras SDKs refuse to build a client without theirs). Only GEMINI_API_KEY for
Google: with GOOGLE_API_KEY set too, google-genai warns on every client."""
SECRET_ENV_VARS = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_BEARER_TOKEN_BEDROCK",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "CO_API_KEY",
    "COHERE_API_KEY",
    "TOGETHER_API_KEY",
    "OLLAMA_API_KEY",  # Ollama's cloud; the ollama client sends it as a bearer token when set
    "HF_TOKEN",
    "HUGGINGFACEHUB_API_TOKEN",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
)
MIN_SECRET_LENGTH = 8
"""Shorter values (a `Bearer x` in a test, an empty variable) are not searched for: too many false hits."""
REPLAY_PLACEHOLDER_KEY = "llmops-replay-placeholder"
REDACTED = "REDACTED"

# Key shapes of the providers we record. Hyphen/underscore-heavy ids such as
# "sk-ant-api03-..." or "sk-proj-..." are covered by the same character class.
# Google API keys start with "AIza" and are 39 characters; AWS access key ids are AKIA/ASIA + 16; Groq's gsk_.
KEY_PATTERN = re.compile(
    r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
    r"|\bAIza[0-9A-Za-z_-]{35}\b"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\bgsk_[A-Za-z0-9]{20,}"
)

_KEY_PREFIXES = ("sk-", "AIza", "AKIA", "ASIA", "gsk_")
"""Every KEY_PATTERN match starts with one of these: text without any is not searched (4x faster)."""


class SecretLeakError(Exception):
    """Raised instead of writing a file that would contain a credential."""

    def __init__(self, target: str, field: str, kind: str) -> None:
        self.target = target
        self.field = field
        self.kind = kind
        super().__init__(
            f"refusing to write {target}: {field} contains {kind}. Nothing was written. "
            "Scrub it (ini llm_scrub_headers / llm_scrub_query_params, or remove it from the request) "
            "and record again."
        )


Credential = tuple[str, str]
"""(where it was found, e.g. `request header api-key`, the secret value)."""


@dataclass(frozen=True, slots=True)
class Scrubber:
    headers: frozenset[str] = CREDENTIAL_HEADERS
    query_params: frozenset[str] = CREDENTIAL_QUERY_PARAMS
    env_vars: tuple[str, ...] = SECRET_ENV_VARS

    @classmethod
    def with_extra(
        cls, headers: Iterable[str] = (), query_params: Iterable[str] = (), env_vars: Iterable[str] = ()
    ) -> Scrubber:
        return cls(
            headers=CREDENTIAL_HEADERS | {h.lower() for h in headers},
            query_params=CREDENTIAL_QUERY_PARAMS | {q.lower() for q in query_params},
            env_vars=tuple(dict.fromkeys((*SECRET_ENV_VARS, *env_vars))),
        )

    def scrub_headers(self, headers: Headers) -> Headers:
        return {k: v for k, v in headers.items() if k.lower() not in self.headers}

    def scrub_uri(self, uri: str) -> str:
        parts = urlsplit(uri)
        if not parts.query:
            return uri
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if not any(k.lower() in self.query_params for k, _ in pairs):
            return uri
        cleaned = [(k, REDACTED if k.lower() in self.query_params else v) for k, v in pairs]
        return urlunsplit(parts._replace(query=urlencode(cleaned)))

    def credentials(self, interaction: Interaction) -> list[Credential]:
        """Every credential value `scrub` removes from this interaction (request and response)."""
        request = interaction.request
        in_bodies = _body_credentials(
            body_credentials(request.body, request=True) if request is not None else [],
            body_credentials(interaction.response.body, request=False),
        )
        return self._credentials(interaction, in_bodies)

    def _credentials(self, interaction: Interaction, in_bodies: list[Credential]) -> list[Credential]:
        found: list[Credential] = []
        request = interaction.request
        if request is not None:
            found += self._header_credentials("request", request.headers)
            for name, value in parse_qsl(urlsplit(request.uri).query, keep_blank_values=True):
                if name.lower() in self.query_params:
                    found += [(f"query parameter {name}", v) for v in _credential_parts(name, value)]
        found += self._header_credentials("response", interaction.response.headers)
        found += in_bodies
        # REDACTED is what `scrub_uri` leaves in place of a query credential: a scrubbed request (scanned
        # again before it is written) must not read as carrying the placeholder as its secret.
        return [(w, value) for w, value in found if len(value) >= MIN_SECRET_LENGTH and value != REDACTED]

    def _header_credentials(self, side: str, headers: Headers) -> list[Credential]:
        return [
            (f"{side} header {name.lower()}", part)
            for name, values in headers.items()
            if name.lower() in self.headers
            for value in values
            for part in _credential_parts(name.lower(), value)
        ]

    def scrub(self, interaction: Interaction) -> Interaction:
        """Return a copy with credential headers dropped and credential query values redacted.

        The removed values are remembered (`remember`), so `redact` and the scans find them anywhere.
        """
        request, response = interaction.request, interaction.response
        request_body, in_request = scrubbed(request.body, request=True) if request else (None, [])
        response_body, in_response = scrubbed(response.body, request=False)
        for where, value in self._credentials(interaction, _body_credentials(in_request, in_response)):
            remember(value, where)
        if request is not None:
            request = RecordedRequest(
                request.method, self.scrub_uri(request.uri), self.scrub_headers(request.headers), request_body
            )
        response = RecordedResponse(
            response.status, response.reason, self.scrub_headers(response.headers), response_body or b""
        )
        return Interaction(request, response, interaction.meta)

    def env_secrets(self) -> list[tuple[str, str]]:
        """(name, value) of secret environment variables worth scanning for, as the environment is now."""
        return list(_env_secrets(self.env_vars)[0])

    def secrets(self, extra: Iterable[Credential] = ()) -> list[tuple[str, str]]:
        """(label, value) of every secret to look for: environment variables, then removed credentials."""
        out = list(_env_secrets(self.env_vars)[1])
        out += [(f"the credential from the {where}", value) for where, value in extra]
        out += [(f"the credential from the {where}", value) for value, where in _known_snapshot()]
        return out

    def find_secret(self, text: str, extra: Iterable[Credential] = ()) -> str | None:
        """Describe the first credential found in `text`, or None."""
        return _find(text, self.secrets(extra))

    def assert_interactions_clean(self, interactions: Iterable[Interaction], target: str) -> None:
        """Raise SecretLeakError naming the field of the first credential in any field or decoded view.

        Credentials the scrubber removes from each interaction's request are searched for too, and so
        is the metadata (an error message may quote a URL). One pass: every view joined by a character
        no secret or key shape holds is searched once; only a hit walks the fields to name the one.
        """
        items = list(interactions)
        extra = [c for interaction in items for c in self.credentials(interaction)]
        needles = self.secrets(extra)
        fields = list(_interaction_fields(items))
        if _find("\x00".join(text for _, text in fields), needles) is None:
            return
        for field, text in fields:
            kind = _find(text, needles)
            if kind:
                raise SecretLeakError(target, field, kind)
        raise SecretLeakError(target, "interactions", "a credential")  # unreachable; fail closed anyway

    def assert_text_clean(self, text: str, target: str) -> None:
        """Final, fail-closed check of the exact bytes about to be written."""
        needles = self.secrets()
        kind = _find(text, needles)
        if kind is None:
            return
        needle = next((v for _, v in needles if v in text), None)
        if needle is None:
            match = KEY_PATTERN.search(text)
            needle = match.group(0) if match else ""
        line = text.count("\n", 0, text.find(needle)) + 1 if needle else 0
        raise SecretLeakError(target, f"line {line}", kind)

    def redact(self, text: str) -> str:
        """`text` with every secret this scrubber knows replaced by a marker."""
        return redact(text, self)


def _body_credentials(in_request: list[Credential], in_response: list[Credential]) -> list[Credential]:
    return [(f"request body field {n}", v) for n, v in in_request] + [
        (f"response body field {n}", v) for n, v in in_response
    ]


# --- what has been seen: credentials removed from requests, for `redact` and the scans -------------

_known: dict[str, str] = {}
_known_lock = threading.Lock()
_default = Scrubber()
_active: Scrubber | None = None


def remember(value: str, where: str) -> None:
    """Treat `value` as a secret from now on in this process (found in `where`)."""
    if len(value) >= MIN_SECRET_LENGTH and value != REPLAY_PLACEHOLDER_KEY:
        with _known_lock:
            _known.setdefault(value, where)


def remember_request(headers: Headers, uri: str, scrubber: Scrubber | None = None) -> None:
    """Remember the credentials a request carries (its auth headers and key-like query values)."""
    probe = Interaction(
        request=RecordedRequest("GET", uri, headers, None), response=RecordedResponse(0, "", {}, b"")
    )
    for where, value in (scrubber or _active or _default).credentials(probe):
        remember(value, where)


def use(scrubber: Scrubber | None) -> None:
    """The scrubber whose settings (extra env variables, headers) `redact` follows; None for the default."""
    global _active
    _active = scrubber


def forget() -> None:
    """Forget remembered credentials (end of the session)."""
    with _known_lock:
        _known.clear()


def _known_snapshot() -> list[tuple[str, str]]:
    with _known_lock:
        return list(_known.items())


def redact(text: str, scrubber: Scrubber | None = None) -> str:
    """`text` with every known secret replaced: `[REDACTED:<ENV VAR>]`, `[REDACTED:<header>]`, `[REDACTED:KEY]`.

    The one redaction used for everything the plugin prints or writes: miss
    diffs, failure messages, terminal lines, JUnit properties and reports.
    """
    if not text:
        return text
    scrubber = scrubber or _active or _default
    replacements: list[tuple[str, str]] = [(value, name) for name, value in scrubber.env_secrets()]
    replacements += [(value, _marker_name(where)) for value, where in _known_snapshot()]
    for value, name in sorted(replacements, key=lambda r: -len(r[0])):  # longest first: keys inside keys
        if value in text:
            text = text.replace(value, f"[REDACTED:{name}]")
    return KEY_PATTERN.sub("[REDACTED:KEY]", text)


_EnvFound = tuple[list[tuple[str, str]], list[tuple[str, str]]]
_env_cache: dict[tuple[str, ...], tuple[tuple[Any, ...], tuple[Any, ...], _EnvFound]] = {}
"""names -> (their keys in os.environ's mapping, the raw values last seen, what was found then)."""


def _env_secrets(names: tuple[str, ...]) -> _EnvFound:
    """((name, value), (label, value)) of the secret variables among `names` set now.

    Every scan asks (several times a recorded call), so the values are read in one pass over the
    environment's own mapping, and the lists are rebuilt only when one of the values changed (a test
    that sets a key is scanned for it from then on, as before).
    """
    kept = _env_cache.get(names)
    keys = kept[0] if kept is not None else _env_keys(names)
    raw = _raw_env(names, keys)
    if kept is not None and kept[1] == raw:
        return kept[2]
    named = []
    for name in names:
        value = os.environ.get(name, "")
        if len(value) >= MIN_SECRET_LENGTH and value != REPLAY_PLACEHOLDER_KEY:
            named.append((name, value))
    found = (named, [(f"the value of ${name}", value) for name, value in named])
    _env_cache[names] = (keys, raw, found)
    return found


def _env_keys(names: tuple[str, ...]) -> tuple[Any, ...]:
    """`names` as os.environ's mapping keys them; empty when os.environ is not the usual one."""
    data = getattr(os.environ, "_data", None)
    encodekey = getattr(os.environ, "encodekey", None)
    if type(data) is not dict or encodekey is None:  # pragma: no cover - another os.environ
        return ()
    return tuple(encodekey(name) for name in names)


def _raw_env(names: tuple[str, ...], keys: tuple[Any, ...]) -> tuple[Any, ...]:
    """The values of `names` as the environment holds them (what `os.environ.get` decodes)."""
    if not keys:  # pragma: no cover - another os.environ
        return tuple(os.environ.get(name) for name in names)
    return tuple(map(os.environ._data.get, keys))  # type: ignore[attr-defined]


def _find(text: str, needles: list[tuple[str, str]]) -> str | None:
    """The label of the first of `needles` (label, value) in `text`, else a key-shaped string's, else None."""
    for label, value in needles:
        if value in text:
            return label
    match = KEY_PATTERN.search(text) if any(p in text for p in _KEY_PREFIXES) else None
    if match:
        shown = match.group(0)[:7] + "..."
        return f"an API-key-shaped string ({shown})"
    return None


def _marker_name(where: str) -> str:
    return where.rsplit(" ", 1)[-1].upper().replace("-", "_")


def _credential_parts(name: str, value: str) -> list[str]:
    """The secret pieces of one credential header or query value, whole value included.

    `Bearer <t>` / `Basic <t>` give the token; a cookie gives each cookie's
    value; an AWS SigV4 `Authorization` gives its access key id and signature.
    """
    value = value.strip()
    parts = [value]
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in ("bearer", "basic", "token", "key"):
        parts.append(rest.strip())
    if scheme.upper().startswith("AWS4-") and rest:
        for item in rest.split(","):
            key, _, val = item.strip().partition("=")
            if key == "Credential":
                parts.append(val.split("/", 1)[0])
            elif key == "Signature":
                parts.append(val)
    if name == "cookie":
        for item in value.split(";"):
            _, eq, val = item.strip().partition("=")
            if eq:
                parts.append(val)
    elif name == "set-cookie":  # only the cookie's own value: path=/, domain=... are not secrets
        _, eq, val = value.split(";", 1)[0].strip().partition("=")
        if eq:
            parts.append(val)
    if name.lower() == "x-amz-credential":
        parts.append(value.split("/", 1)[0])
    return [p for p in parts if p]


def _interaction_fields(interactions: Iterable[Interaction]) -> Iterator[tuple[str, str]]:
    """(field name, text) of every field of each interaction, and of its decoded views."""
    for i, interaction in enumerate(interactions):
        prefix = f"interactions[{i}]"
        request = interaction.request
        if request is not None:
            yield f"{prefix}.request.uri", request.uri
            yield f"{prefix}.request.uri (percent-decoded)", unquote(request.uri)
            for name, values in request.headers.items():
                yield f"{prefix}.request.headers.{name}", " ".join(values)
            if request.body:
                yield from _body_views(f"{prefix}.request.body", request.body)
        for name, values in interaction.response.headers.items():
            yield f"{prefix}.response.headers.{name}", " ".join(values)
        if interaction.response.body:
            yield from _body_views(f"{prefix}.response.body", interaction.response.body)
        meta = interaction.meta.to_dict()
        if meta:
            yield f"{prefix}.metadata", json.dumps(meta, ensure_ascii=False)


def _body_views(field: str, body: bytes) -> Iterator[tuple[str, str]]:
    text = body.decode("utf-8", "replace")
    yield field, text
    parsed = _json(text)
    if parsed is not None:
        yield f"{field} (JSON strings)", "\n".join(_strings(parsed))
        return
    if "data:" not in text:
        return
    from pytest_llmops.recording.sse import iter_events

    joined: dict[str, list[str]] = {}
    raw: list[str] = []
    for event in iter_events(text):
        data = _json(event.data)
        if data is None:
            raw.append(event.data)
            continue
        for path, value in _leaves(data, ""):
            joined.setdefault(path, []).append(value)
    for path, pieces in joined.items():
        if len(pieces) > 1:
            yield f"{field} (stream text {path} joined across events)", "".join(pieces)
    if len(raw) > 1:
        yield f"{field} (stream data joined across events)", "".join(raw)


def _json(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped or stripped[0] not in '{["':
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _strings(value: Any, out: list[str] | None = None) -> list[str]:
    """Every string value in a JSON value, in `_leaves` order (without building the paths)."""
    if out is None:
        out = []
    if isinstance(value, str):
        out.append(value)
        return out
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict | list):
            _strings(item, out)
    return out


def _leaves(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(dotted path, string) of every string in a JSON value (numbers of list items kept in the path)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
