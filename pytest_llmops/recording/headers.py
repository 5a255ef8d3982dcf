"""Which headers a new recording keeps: everything but what only describes the recording machine, or
changes on every call and no client reads.

Nothing here is needed to find or replay a recording: requests are matched on
method, path, query and body, never on headers, and replay serves the recorded
response headers. So the rule is a deny list, and a header not named here is
kept (a gateway's or your app's own headers stay). Headers that clients read
on replay stay: `content-type`, `content-length` (checked against the body when
a cassette is loaded), the rate-limit and retry headers (`x-ratelimit-*`,
`anthropic-ratelimit-*`, `retry-after`, `retry-after-ms`, `x-should-retry`, read
by the SDKs and by routers such as LiteLLM), the request ids the SDKs expose
(`x-request-id` / `request-id` as `_request_id`, `x-amzn-requestid` as
botocore's `RequestId`), and Bedrock's token-count headers.

`llm_keep_headers` (ini) keeps named headers anyway, or all of them with `*`.
Credentials are another matter: the scrubber drops them whatever this says.
Old cassettes are read as they are; `pytest-llmops slim` applies the rule to
existing files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pytest_llmops.recording.interactions import Headers, Interaction, RecordedRequest, RecordedResponse

DROPPED_REQUEST_HEADERS = frozenset(
    {
        # the client library and the machine it runs on
        "user-agent",
        "x-goog-api-client",  # google-genai: library and Python versions
        "x-amz-user-agent",
        "amz-sdk-invocation-id",  # botocore: a new id per call
        "amz-sdk-request",  # botocore: attempt=1; max=3
        # the connection, set by the HTTP library (and `accept-encoding` narrowed by the recorder)
        "host",
        "connection",
        "keep-alive",
        "accept",
        "accept-encoding",
        "content-length",
        "transfer-encoding",
        "expect",
        # per-call values: signing time and hash, tracing, idempotency
        "x-amz-date",
        "x-amz-content-sha256",
        "traceparent",
        "tracestate",
        "baggage",
        "idempotency-key",
    }
)
DROPPED_REQUEST_PREFIXES = ("x-stainless-",)
"""The openai and anthropic SDKs' platform headers: OS, architecture, runtime, package version, retry count."""

DROPPED_RESPONSE_HEADERS = frozenset(
    {
        # when and where it was served: different on every call, read by no client
        "date",
        "server",
        "via",
        "alt-svc",
        "cf-ray",
        "cf-cache-status",
        "nel",
        "report-to",
        "server-timing",
        "openai-processing-ms",  # our metadata keeps the latency the app saw
        "openai-version",  # the same on every call; no client reads it
        "x-envoy-upstream-service-time",
        "apim-request-id",  # Azure's gateway id; the SDKs read x-request-id, which stays
        "x-ms-region",
        "x-ms-client-request-id",
        "azureml-model-session",
        "x-cloud-trace-context",
        # browser-facing policy, meaningless to an API client
        "strict-transport-security",
        "x-content-type-options",
        "content-security-policy",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-expose-headers",
        "vary",
        # the connection
        "connection",
        "keep-alive",
        "transfer-encoding",
    }
)

RATE_LIMIT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")
"""Left out of successful (2xx) responses only: there they count down on every call and no SDK reads
them; on a 429 or another error they explain the answer and stay."""


@dataclass(frozen=True, slots=True)
class HeaderRule:
    """Which headers a recording keeps; `keep` names dropped ones kept anyway (`*`: keep all)."""

    keep: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(cls, keep: Iterable[str] = ()) -> HeaderRule:
        return cls(frozenset(k.strip().lower() for k in keep if k.strip()))

    @property
    def keeps_all(self) -> bool:
        return "*" in self.keep

    def kept_anyway(self, low: str) -> bool:
        """Named in `keep`: exactly, or by a pattern ending in `*` (`x-ratelimit-*`)."""
        if low in self.keep:
            return True
        return any(k.endswith("*") and low.startswith(k[:-1]) for k in self.keep)

    def request_keeps(self, name: str) -> bool:
        low = name.lower()
        if low not in DROPPED_REQUEST_HEADERS and not low.startswith(DROPPED_REQUEST_PREFIXES):
            return True
        return self.kept_anyway(low)

    def response_keeps(self, name: str, status: int = 200) -> bool:
        low = name.lower()
        dropped = low in DROPPED_RESPONSE_HEADERS or (
            200 <= status < 300 and low.startswith(RATE_LIMIT_PREFIXES)
        )
        return not dropped or self.kept_anyway(low)

    def apply(self, interaction: Interaction) -> Interaction:
        """`interaction` without the headers this rule leaves out (the same object when none are)."""
        if self.keeps_all:
            return interaction
        request, response = interaction.request, interaction.response
        if request is not None:
            headers = self._kept(request.headers, "request")
            if headers is not None:
                request = RecordedRequest(request.method, request.uri, headers, request.body)
        side = "response 2xx" if 200 <= response.status < 300 else "response"
        headers = self._kept(response.headers, side)
        if headers is not None:
            response = RecordedResponse(response.status, response.reason, headers, response.body)
        if request is interaction.request and response is interaction.response:
            return interaction
        return Interaction(request, response, interaction.meta)

    def _kept(self, headers: Headers, side: str) -> Headers | None:
        """The kept headers, or None when all are kept. Each name is decided once per rule and side
        (`request_keeps` / `response_keeps`): a recording run meets the same few dozen names on every call."""
        decided = _decisions.get((self.keep, side))
        if decided is None:
            decided = _decisions[(self.keep, side)] = {}
        kept: Headers = {}
        for name, values in headers.items():
            keep = decided.get(name)
            if keep is None:
                if side == "request":
                    keep = self.request_keeps(name)
                else:
                    keep = self.response_keeps(name, 200 if side == "response 2xx" else 0)
                if len(decided) < 10_000:
                    decided[name] = keep
            if keep:
                kept[name] = values
        return None if len(kept) == len(headers) else kept


_decisions: dict[tuple[frozenset[str], str], dict[str, bool]] = {}


DEFAULT_RULE = HeaderRule()
