"""Keep credentials off disk: scrub what we know carries them, then refuse to write anything key-shaped.

Scrubbing is best effort; the scan is the guarantee. Every writer (cassettes,
reports, baselines) calls `assert_no_secrets` on the exact text it is about to
write, so a key that slipped through an unexpected field fails closed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pytest_llmops.recording.interactions import Headers, Interaction

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
    {"key", "api_key", "api-key", "apikey", "access_token", "token", "sig", "signature", "code"}
)
SECRET_ENV_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
REPLAY_PLACEHOLDER_KEY = "llmops-replay-placeholder"
REDACTED = "REDACTED"

# Key shapes of the providers we record. Hyphen/underscore-heavy ids such as
# "sk-ant-api03-..." or "sk-proj-..." are covered by the same character class.
KEY_PATTERN = re.compile(r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")


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

    def scrub(self, interaction: Interaction) -> Interaction:
        """Return a copy with credential headers dropped and credential query values redacted."""
        from dataclasses import replace

        request = interaction.request
        if request is not None:
            request = replace(
                request, uri=self.scrub_uri(request.uri), headers=self.scrub_headers(request.headers)
            )
        response = replace(interaction.response, headers=self.scrub_headers(interaction.response.headers))
        return replace(interaction, request=request, response=response)

    def env_secrets(self) -> list[tuple[str, str]]:
        """(name, value) of secret environment variables worth scanning for."""
        found = []
        for name in self.env_vars:
            value = os.environ.get(name, "")
            if len(value) >= 8 and value != REPLAY_PLACEHOLDER_KEY:
                found.append((name, value))
        return found

    def find_secret(self, text: str) -> str | None:
        """Describe the first credential found in `text`, or None."""
        for name, value in self.env_secrets():
            if value in text:
                return f"the value of ${name}"
        match = KEY_PATTERN.search(text)
        if match:
            shown = match.group(0)[:7] + "..."
            return f"an API-key-shaped string ({shown})"
        return None

    def assert_interactions_clean(self, interactions: Iterable[Interaction], target: str) -> None:
        for field, text in _interaction_fields(interactions):
            kind = self.find_secret(text)
            if kind:
                raise SecretLeakError(target, field, kind)

    def assert_text_clean(self, text: str, target: str) -> None:
        """Final, fail-closed check of the exact bytes about to be written."""
        kind = self.find_secret(text)
        if kind is None:
            return
        needle = next((v for _, v in self.env_secrets() if v in text), None)
        if needle is None:
            match = KEY_PATTERN.search(text)
            needle = match.group(0) if match else ""
        line = text.count("\n", 0, text.find(needle)) + 1 if needle else 0
        raise SecretLeakError(target, f"line {line}", kind)


def _interaction_fields(interactions: Iterable[Interaction]) -> Iterator[tuple[str, str]]:
    for i, interaction in enumerate(interactions):
        prefix = f"interactions[{i}]"
        request = interaction.request
        if request is not None:
            yield f"{prefix}.request.uri", request.uri
            for name, values in request.headers.items():
                yield f"{prefix}.request.headers.{name}", " ".join(values)
            if request.body:
                yield f"{prefix}.request.body", request.body.decode("utf-8", "replace")
        for name, values in interaction.response.headers.items():
            yield f"{prefix}.response.headers.{name}", " ".join(values)
        if interaction.response.body:
            yield f"{prefix}.response.body", interaction.response.body.decode("utf-8", "replace")
