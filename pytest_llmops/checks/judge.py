"""LLM-as-judge: ask a model (OpenAI, Anthropic, Azure OpenAI, Gemini, Bedrock, LiteLLM) to grade with a
versioned rubric. How each provider's client is made and asked: `judge_clients`.

Calls go through the real SDK, so inside an llm test they pass the plugin's
transport: recorded into the test's cassette and replayed from it like the
app's calls, tagged role "judge" (`TestContext.as_role`), and priced apart.
The SDK is imported and its client created on the first judge call; the API
key comes from the environment (the plugin sets a placeholder in replay), the
base URL from `llm_judge_base_url` or the SDK's own environment defaults
(`OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`).

Rubrics are prompt files in `pytest_llmops/judge_prompts/`, loaded with the
prompts registry: their `name@version` and content hash go into every score,
so a changed rubric shows in results and baselines. Requests use the rubric's
parameters (temperature 0). A reply that cannot be read as a score gets one
follow-up asking for the format (`judge_format_reminder`); a second failure
raises `JudgeError` quoting both replies.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmops.checks import settings as _settings
from pytest_llmops.checks.verdict import Verdict, VerdictParseError, parse_verdict, quote

if TYPE_CHECKING:
    from pytest_llmops.prompts import Prompt, PromptRegistry

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "judge_prompts"
REMINDER = "judge_format_reminder"


@dataclass(frozen=True, slots=True)
class Rubric:
    """How to read one rubric's replies: its scale and the optional list of item numbers."""

    name: str
    low: int = 1
    high: int = 5
    list_key: str | None = None

    @property
    def output_format(self) -> str:
        listed = f', "{self.list_key}": [<numbers>]' if self.list_key else ""
        return f'{{"score": <integer {self.low}-{self.high}>, "reason": "<one or two sentences>"{listed}}}'


RUBRICS: dict[str, Rubric] = {
    "relevance": Rubric("relevance"),
    "correctness": Rubric("correctness"),
    "completeness": Rubric("completeness", list_key="missing"),
    "grounding": Rubric("grounding", list_key="unsupported"),
    "citation_support": Rubric("citation_support", list_key="unsupported"),
    "custom_criteria": Rubric("custom_criteria"),
}


class JudgeError(Exception):
    """The judge could not give a usable verdict (no key, a failed request, or unreadable replies)."""


@dataclass(slots=True)
class JudgeOutcome:
    verdict: Verdict
    judge: str
    prompt_ref: str
    prompt_sha256: str
    cost_usd: float | None
    calls: int
    retried: bool

    @property
    def scorer(self) -> str:
        return f"judge:{self.judge}"

    def details(self) -> dict[str, Any]:
        """The judge's part of a Score's details (the report and the baseline read these keys)."""
        out: dict[str, Any] = {
            "judge_model": self.judge,
            "judge_prompt": self.prompt_ref,
            "judge_prompt_sha256": self.prompt_sha256,
            "judge_score": self.verdict.score,
            "judge_reason": self.verdict.reason,
            "judge_calls": self.calls,
        }
        if self.retried:
            out["judge_retried"] = True
        return out


@lru_cache(maxsize=1)
def judge_prompts() -> PromptRegistry:
    """The rubric prompts shipped with the package."""
    from pytest_llmops.prompts import PromptRegistry

    registry = PromptRegistry.load(PROMPTS_DIR)
    if registry.errors:
        listed = "; ".join(str(e) for e in registry.errors)
        raise JudgeError(f"broken judge prompt files in {PROMPTS_DIR} (reinstall pytest-llmops): {listed}")
    return registry


def rubric_prompt(name: str) -> Prompt:
    return judge_prompts().get(name)


# -- clients ----------------------------------------------------------------------------------------

_clients: dict[tuple[str, str | None, str], Any] = {}
_clients_lock = threading.Lock()


def forget_clients() -> None:
    """Drop cached SDK clients (the settings changed)."""
    with _clients_lock:
        for client in _clients.values():
            close = getattr(client, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):  # closing is best effort
                    close()
        _clients.clear()


_settings.on_configure(forget_clients)


def _client(provider: str, base_url: str | None, judge: str) -> Any:
    from pytest_llmops.checks import judge_clients

    spec = judge_clients.PROVIDERS[provider]
    try:
        key = judge_clients.key_for(provider)
    except judge_clients.MissingCredentials as exc:
        raise JudgeError(
            f"the judge {judge} needs {exc} in the environment to call {provider}; set it, or replay the "
            f"judge's calls from a cassette inside an llm test (the plugin sets a placeholder key in "
            f"replay), or unset llm_judge to use the local scorers"
        ) from None
    effective_url = base_url or (os.environ.get(spec.base_url_env) if spec.base_url_env else None) or None
    cache_key = (provider, effective_url, key or "")
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            try:
                client = judge_clients.make_client(provider, key, effective_url)
            except (judge_clients.MissingPackage, judge_clients.MissingCredentials) as exc:
                raise JudgeError(f"the judge {judge}: {exc}") from None
            _clients[cache_key] = client
        return client


# -- asking -----------------------------------------------------------------------------------------


def tag_safe(values: Mapping[str, str]) -> dict[str, str]:
    """Values with closing tags defused, so an answer cannot close its <answer> tag and speak to the judge."""
    return {k: re.sub(r"</\s*([A-Za-z_]+)\s*>", r"< /\1>", v) for k, v in values.items()}


def ask(rubric_name: str, variables: Mapping[str, str], tagged: frozenset[str] = frozenset()) -> JudgeOutcome:
    """Grade with the configured judge; raises JudgeError when none is configured or no verdict comes.

    `tagged` names variables that hold their own tags, already made safe by the caller.
    """
    config = _settings.current()
    if config.judge is None:
        raise JudgeError(
            "no LLM judge is configured (set llm_judge = provider:model, e.g. openai:gpt-4o-mini)"
        )
    rubric = RUBRICS[rubric_name]
    prompt = rubric_prompt(rubric_name)
    safe = tag_safe({k: v for k, v in variables.items() if k not in tagged})
    messages = prompt.messages(**safe, **{k: v for k, v in variables.items() if k in tagged})
    provider, model = config.judge_provider or "", config.judge_model or ""
    from pytest_llmops import context

    ctx = context.current()
    if ctx is None and config.cassette_only:
        raise JudgeError(
            f"the LLM judge ({config.judge}) is asked only from llm tests, whose cassettes record and replay "
            "its calls; mark this test @pytest.mark.llm, or score it locally (llm_judge_mode = off)"
        )
    before = len(ctx.calls) if ctx is not None else 0
    sent: list[Any] = []
    if ctx is not None:
        with ctx.as_role("judge"):
            verdict, retried = _converse(
                config.judge, provider, model, config.base_url, prompt, rubric, messages, sent
            )
    else:
        verdict, retried = _converse(
            config.judge, provider, model, config.base_url, prompt, rubric, messages, sent
        )
    if ctx is not None:
        judge_calls = [c for c in ctx.calls[before:] if c.role == "judge"]
        costs = [c.cost_usd for c in judge_calls]
        cost = sum(c for c in costs if c is not None) if judge_calls and None not in costs else None
        count = len(judge_calls)
    else:
        cost = _price_responses(provider, model, sent)
        count = len(sent)
    return JudgeOutcome(verdict, config.judge, prompt.ref, prompt.sha256, cost, count, retried)


def _converse(
    judge: str,
    provider: str,
    model: str,
    base_url: str | None,
    prompt: Prompt,
    rubric: Rubric,
    messages: list[dict[str, str]],
    sent: list[Any],
) -> tuple[Verdict, bool]:
    client = _client(provider, base_url, judge)
    params = prompt.parameters
    first = _send(client, provider, model, params, messages, judge, sent)
    try:
        return parse_verdict(first, low=rubric.low, high=rubric.high, list_key=rubric.list_key), False
    except VerdictParseError as exc:
        problem = exc.problem
    reminder = judge_prompts().get(REMINDER).format(problem=problem, format=rubric.output_format)
    follow_up = [*messages, {"role": "assistant", "content": first}, {"role": "user", "content": reminder}]
    second = _send(client, provider, model, params, follow_up, judge, sent)
    try:
        return parse_verdict(second, low=rubric.low, high=rubric.high, list_key=rubric.list_key), True
    except VerdictParseError as exc:
        raise JudgeError(
            f"the judge {judge} (prompt {prompt.ref}) gave no usable score: {problem}, and after a "
            f"reminder of "
            f"the format, {exc.problem}.\n  first reply:  {quote(first)}\n  second reply: {quote(second)}"
        ) from None


def _send(
    client: Any,
    provider: str,
    model: str,
    params: dict[str, Any],
    messages: list[dict[str, str]],
    judge: str,
    sent: list[Any],
) -> str:
    from pytest_llmops.checks.judge_clients import SDK_MODULES, request

    send, text = request(provider, model, params, messages)
    try:
        response = send(client)
        sent.append(response)
        return text(response)
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in SDK_MODULES:
            raise
        raise JudgeError(f"the judge {judge} request failed: {type(exc).__name__}: {exc}") from exc


def _price_responses(provider: str, model: str, responses: list[Any]) -> float | None:
    """Cost of judge calls made outside an llm test, from the usage the responses report."""
    if not responses or provider not in ("openai", "anthropic", "azure"):
        return None  # other SDKs' usage objects differ; inside an llm test the recording prices them
    from pytest_llmops.spend import pricing
    from pytest_llmops.spend.calls import LLMCall

    total = 0.0
    for response in responses:
        usage = getattr(response, "usage", None)
        if usage is None:
            return None
        if provider in ("openai", "azure"):
            tokens_in, tokens_out = usage.prompt_tokens, usage.completion_tokens
            endpoint = "chat.completions"
        else:
            tokens_in, tokens_out = usage.input_tokens, usage.output_tokens
            endpoint = "messages"
        call = LLMCall(
            provider="openai" if provider == "azure" else provider,
            endpoint=endpoint,
            model=getattr(response, "model", None) or model,
            request_model=model,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
        )
        cost = pricing.price_call(call)
        if cost is None:
            return None
        total += cost
    return total
