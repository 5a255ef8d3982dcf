"""Multi-turn cases: a dataset row holding a conversation, driven turn by turn against the app.

A row's `conversation` is a list of user turns, each optionally with the reply
expected at that point:

    - id: order_followup
      conversation:
        - user: Hi, my order number is A-1042.
        - user: What is the order status?
          expected: shipped
        - user: Thanks! What was my order number again?
          expected: A-1042

The `llm_conversation` fixture plays it: for each user turn it appends the
user's message to the history and calls the test's `reply(history)` (the app:
it gets every message so far as `{"role", "content"}` dicts and returns its
reply text), then appends the reply. The result holds every turn, the
messages, and the transcript the conversation checks judge
(`checks.knowledge_retention`, `checks.role_adherence`,
`checks.conversation_relevance`). A turn may also carry `assistant:` instead
of `user:`, a scripted assistant message put into the history as if the app
had said it (to test recovery from an earlier bad reply).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Reply = Callable[[list[dict[str, str]]], str]


class ConversationError(ValueError):
    """A malformed conversation in a dataset row or a test; the message names the row and turn."""


@dataclass(frozen=True, slots=True)
class ScriptedTurn:
    role: str
    """"user" (the app replies to it) or "assistant" (a scripted reply, put into the history as is)."""
    content: str
    expected: str | None = None


@dataclass(slots=True)
class Turn:
    """One user message and the app's reply to it."""

    user: str
    reply: str
    expected: str | None = None
    index: int = 0


@dataclass(slots=True)
class Conversation:
    """A played conversation: the turns, and every message in order (scripted ones included)."""

    turns: list[Turn] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)

    @property
    def last_reply(self) -> str:
        return self.turns[-1].reply if self.turns else ""

    @property
    def transcript(self) -> str:
        return "\n".join(f"[{i}] {m['role']}: {m['content'].strip()}" for i, m in enumerate(self.messages, 1))

    def with_expected(self) -> list[Turn]:
        """The turns that carry an expected reply."""
        return [t for t in self.turns if t.expected is not None]


def parse(raw: Any, where: str) -> list[ScriptedTurn]:
    """The turns of a conversation field; ConversationError naming `where` and the turn when malformed."""
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not raw:
        raise ConversationError(f"{where}: 'conversation' must be a non-empty list of turns (user: ...)")
    turns: list[ScriptedTurn] = []
    for number, item in enumerate(raw, 1):
        if not isinstance(item, Mapping):
            raise ConversationError(
                f"{where}, turn {number}: a turn is a mapping like {{user: ...}}, got {item!r}"
            )
        roles = [r for r in ("user", "assistant") if r in item]
        unknown = sorted(set(item) - {"user", "assistant", "expected"})
        if len(roles) != 1 or unknown:
            extra = f"; unknown keys: {', '.join(unknown)}" if unknown else ""
            raise ConversationError(
                f"{where}, turn {number}: give exactly one of 'user' or 'assistant' (and optionally "
                f"'expected'){extra}"
            )
        role = roles[0]
        content, expected = item[role], item.get("expected")
        if not isinstance(content, str) or not content.strip():
            raise ConversationError(f"{where}, turn {number}: '{role}' must be non-empty text")
        if expected is not None and (role != "user" or not isinstance(expected, str | int | float)):
            raise ConversationError(f"{where}, turn {number}: 'expected' is text, on a user turn only")
        turns.append(ScriptedTurn(role, content, None if expected is None else str(expected)))
    if not any(t.role == "user" for t in turns):
        raise ConversationError(f"{where}: the conversation has no user turn")
    return turns


def play(turns: Sequence[ScriptedTurn], reply: Reply, *, system: str | None = None) -> Conversation:
    """Drive `reply` through the turns; its history is a fresh list each call, so it may keep or alter it."""
    conversation = Conversation()
    if system:
        conversation.messages.append({"role": "system", "content": system})
    for turn in turns:
        if turn.role == "assistant":
            conversation.messages.append({"role": "assistant", "content": turn.content})
            continue
        conversation.messages.append({"role": "user", "content": turn.content})
        answer = reply([dict(m) for m in conversation.messages])
        if not isinstance(answer, str):
            raise TypeError(f"reply(history) must return the reply text, got {type(answer).__name__}")
        conversation.messages.append({"role": "assistant", "content": answer})
        conversation.turns.append(Turn(turn.content, answer, turn.expected, len(conversation.turns) + 1))
    return conversation
