"""The provider-neutral simulation: state shared by all requests, and how a turn becomes a completion.

The endpoint modules translate wire formats to a `ChatTurn` plus tool, format
and limit options, call `Engine.complete`, and translate the `Completion`
back. Everything that must behave the same for OpenAI and Anthropic (choosing
a tool, JSON mode, stop sequences, truncation, reasoning budgets, the repeat
counter behind temperature variation) lives here.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from . import structured
from .caching import AutomaticPrefixCache, BreakpointCache
from .responders import ChatTurn, Responder, extractive_responder, find_passages, question_text
from .tokens import count_tokens, truncate
from .wire import ALNUM, token_string

Finish = Literal["stop", "length", "tool_calls", "stop_sequence"]
ToolMode = Literal["auto", "none", "required", "named"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: ToolMode = "auto"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """The answer's required shape: free text, any JSON object, or JSON valid against `schema`."""

    json_mode: bool = False
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str


@dataclass(slots=True)
class Completion:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning_text: str = ""
    reasoning_tokens: int = 0
    finish: Finish = "stop"
    stop_sequence: str | None = None

    @property
    def text_tokens(self) -> int:
        return count_tokens(self.text)

    @property
    def tool_tokens(self) -> int:
        return sum(count_tokens(c.name) + count_tokens(c.arguments) + 8 for c in self.tool_calls)

    @property
    def output_tokens(self) -> int:
        """Everything generated, as billed: visible text, tool calls and reasoning."""
        return self.text_tokens + self.tool_tokens + self.reasoning_tokens


class Engine:
    def __init__(self, responder: Responder | None = None, *, drifted: bool = False) -> None:
        self.responder = responder
        self.drifted = drifted
        self.openai_cache = AutomaticPrefixCache()
        self.anthropic_cache = BreakpointCache()
        self.gemini_cache = AutomaticPrefixCache()
        self.bedrock_cache = BreakpointCache()
        self._repeats: dict[str, int] = {}
        self._seq = 0
        self._lock = threading.Lock()

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def repeat_index(self, key: str) -> int:
        """How many times a request with this key was answered before (then counts this one)."""
        with self._lock:
            count = self._repeats.get(key, 0)
            self._repeats[key] = count + 1
            return count

    def reset(self) -> None:
        with self._lock:
            self._repeats.clear()
            self._seq = 0
        self.openai_cache.clear()
        self.anthropic_cache.clear()
        self.gemini_cache.clear()
        self.bedrock_cache.clear()

    def served(self, provider: str, model: str) -> str:
        """The model name a response reports (a successor when drifted: see `catalog.DRIFTED_SNAPSHOTS`)."""
        from . import catalog

        return catalog.served(provider, model, drifted=self.drifted)

    def answer(self, turn: ChatTurn) -> str:
        """The responder's answer; by default the judge's verdict for a judge rubric request, else an
        extractive answer (a given responder that passes also falls back to the extractive one).

        Drifted, every answer but the default judge's is reworded (`drift_answer`): the judge stays the
        yardstick the drift is measured with."""
        if self.responder is not None:
            text = self.responder(turn)
        else:
            from .judge_responder import judge_responder

            text = judge_responder(turn)
            if text is not None:
                return text
        text = extractive_responder(turn) if text is None else text
        return drift_answer(text) if self.drifted else text

    def complete(
        self,
        turn: ChatTurn,
        *,
        tools: Sequence[ToolSpec] = (),
        choice: ToolChoice = ToolChoice(),
        output: OutputSpec = OutputSpec(),
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        reasoning_budget: int = 0,
        thinking: bool = False,
    ) -> Completion:
        """The model's reply to `turn` under the request's limits.

        `reasoning_budget` is spent before the visible answer and counts against
        `max_tokens`, as OpenAI reasoning tokens and Anthropic thinking do.
        """
        completion = Completion()
        if thinking and reasoning_budget > 0:
            thought = _thinking_text(turn)
            completion.reasoning_text, _ = truncate(thought, reasoning_budget)
            completion.reasoning_tokens = count_tokens(completion.reasoning_text)
        else:
            completion.reasoning_tokens = reasoning_budget
        if max_tokens is not None and completion.reasoning_tokens >= max_tokens:
            completion.reasoning_tokens = max_tokens
            completion.reasoning_text, _ = truncate(completion.reasoning_text, max_tokens)
            completion.finish = "length"
            return completion

        tool = choose_tool(turn, tools, choice)
        if tool is not None:
            earlier = [text for role, text in reversed(turn.messages[:-1]) if role == "user"]
            arguments = structured.tool_arguments(tool.parameters, _plain_question(turn), "\n".join(earlier))
            completion.tool_calls.append(ToolCall(tool.name, arguments))
            completion.finish = "tool_calls"
            return completion

        text = self.answer(turn)
        if output.json_mode:
            text = structured.json_answer(text, _plain_question(turn), output.schema)
        cut = [(text.find(s), s) for s in stop if s and s in text]
        if cut:
            index, sequence = min(cut)
            text = text[:index]
            completion.finish, completion.stop_sequence = "stop_sequence", sequence
        if max_tokens is not None:
            text, truncated = truncate(text, max_tokens - completion.reasoning_tokens)
            if truncated:
                completion.finish, completion.stop_sequence = "length", None
        completion.text = text
        return completion


_CITATION = re.compile(r"\s*\[(?:source|sources|doc|ref)?:?\s*[^\]\n]{0,80}\]", re.IGNORECASE)


def drift_answer(text: str) -> str:
    """A drifted model's version of `text`: citations dropped, hedged wording, and a longer answer (so
    its token counts differ too). Deterministic, so a drifted simulator answers a request the same way
    every time."""
    if not text.strip():
        return text
    body = _CITATION.sub("", text).strip()
    body = re.sub(r"\bwithin\b", "in roughly", body)
    body = re.sub(r"\b(\d+)\b", lambda m: m.group(1) + " or so", body, count=1)
    lead = body[:1].lower() + body[1:]
    return (
        f"As far as I can tell, {lead} That said, details may vary, so please check the latest "
        "policy or contact support if anything is unclear."
    )


@dataclass(slots=True)
class CallContext:
    """One request being answered: its sequence number, where it was sent, and id generation."""

    engine: Engine
    seq: int
    path: str = "/"
    query: Mapping[str, Sequence[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    received_at: float = 0.0
    """`time.monotonic()` when the request arrived (for latency metrics some APIs report)."""
    _ids: int = 0

    def new_id(self, prefix: str, length: int, alphabet: str = ALNUM) -> str:
        """A fresh id, deterministic given the order of requests since the server started."""
        self._ids += 1
        return prefix + token_string(f"{self.seq}:{self._ids}:{prefix}", length, alphabet)

    def stable_id(self, prefix: str, length: int, material: str, alphabet: str = ALNUM) -> str:
        """An id that depends only on `material` (e.g. a model's `system_fingerprint`)."""
        return prefix + token_string(material, length, alphabet)

    def turn(
        self,
        *,
        provider: str,
        endpoint: str,
        model: str,
        system: str,
        messages: Sequence[tuple[str, str]],
        params: Mapping[str, Any],
        tools: Sequence[ToolSpec],
        request: Mapping[str, Any],
    ) -> ChatTurn:
        """The responder's view of this request; identical requests get increasing `repeat` numbers.

        A request that sets `seed` always gets repeat 0: reproducible sampling, as the seed promises.
        """
        ignored = {"stream", "stream_options"}
        key = json.dumps({k: v for k, v in request.items() if k not in ignored}, sort_keys=True, default=str)
        key = f"{provider}:{endpoint}:{key}"
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        repeat = 0 if request.get("seed") is not None else self.engine.repeat_index(key)
        return ChatTurn(
            provider=provider,
            endpoint=endpoint,
            model=model,
            system=system,
            messages=tuple(messages),
            params=dict(params),
            tools=tuple(t.name for t in tools),
            request=request,
            seed=seed,
            repeat=repeat,
            headers=dict(self.headers),
        )


def choose_tool(turn: ChatTurn, tools: Sequence[ToolSpec], choice: ToolChoice) -> ToolSpec | None:
    """The tool the model calls, if any.

    "required" and named choices always call; "auto" calls a tool only when the
    last message is the user's and names that tool (its name, or its name with
    underscores read as spaces), so a finished tool round ends in text.
    """
    if not tools or choice.mode == "none":
        return None
    if choice.mode == "named":
        return next((t for t in tools if t.name == choice.name), tools[0])
    mentioned = _mentioned_tool(turn, tools)
    if choice.mode == "required":
        return mentioned or tools[0]
    last_role = turn.messages[-1][0] if turn.messages else ""
    return mentioned if last_role == "user" else None


def _mentioned_tool(turn: ChatTurn, tools: Sequence[ToolSpec]) -> ToolSpec | None:
    question = turn.question.lower()
    for tool in tools:
        name = tool.name.lower()
        if name in question or name.replace("_", " ") in question or name.replace("-", " ") in question:
            return tool
    return None


def _plain_question(turn: ChatTurn) -> str:
    return question_text(turn, find_passages(turn.question))


def _thinking_text(turn: ChatTurn) -> str:
    question = _plain_question(turn).strip().replace("\n", " ")
    if len(question) > 300:
        question = question[:300] + "..."
    return (
        f"The user asks: {question} I should find the relevant facts in what I was given, check that they "
        "actually answer the question, and reply concisely without adding anything unsupported."
    )
