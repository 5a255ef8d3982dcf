"""`OrderAgent`: the billing assistant. It looks orders up with a tool, then answers; it can also fill a
status card (structured output) and hold a conversation.

The model decides when to call a tool (OpenAI chat completions with `tools`); the agent runs the tool
and sends its result back, for at most `max_steps` model calls. `cancel_order` is offered to the model
but must never be called from a status question: the tests check that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from supportbot import llm

SYSTEM = (
    "You are the Acme Notes billing assistant. Look orders up with the order_status tool before answering "
    "questions about them; never cancel an order unless the customer asks to cancel it."
)
ORDERS: dict[str, dict[str, str]] = {
    "A-1042": {"plan": "Pro, annual", "status": "paid", "paid_on": "2024-05-02", "renews_on": "2025-05-02"},
    "A-2077": {"plan": "Team, monthly", "status": "payment failed", "paid_on": "-", "renews_on": "-"},
}
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "order_status",
            "description": "Look up an Acme Notes order (a plan purchase) by its order id, e.g. A-1042.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string", "description": "The order id, e.g. A-1042"}},
                "required": ["order_id"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "cancel_order",
            "description": "Cancel an order and stop its renewal. Only when the customer asks to cancel.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
                "additionalProperties": False,
            },
        },
    },
]


class StatusCard(BaseModel):
    """What the billing page shows for an order: the agent fills it from the model's structured output."""

    order_id: str
    status: Literal["paid", "pending", "payment failed", "refunded", "unknown"]
    answer: str


def order_status(order_id: str) -> str:
    order = ORDERS.get(order_id.strip().upper())
    if order is None:
        return f"Order {order_id}: no such order."
    return (
        f"Order {order_id}: {order['plan']} plan, status {order['status']}, paid on {order['paid_on']}, "
        f"renews on {order['renews_on']}."
    )


@dataclass
class AgentReply:
    text: str
    tools_called: list[str] = field(default_factory=list)
    steps: int = 0


class OrderAgent:
    def __init__(self, model: str = "gpt-4o-mini", max_steps: int = 4) -> None:
        self.client = llm.client("openai")  # the process's OpenAI client, shared with the support bot
        self.model = model
        self.max_steps = max_steps

    def reply(self, history: list[dict[str, str]]) -> AgentReply:
        """The answer to the last user message of `history` (user and assistant messages, oldest first)."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, *history]
        done = AgentReply("")
        for _ in range(self.max_steps):
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, tools=TOOLS, temperature=0
            )
            done.steps += 1
            message = response.choices[0].message
            if not message.tool_calls:
                done.text = message.content or ""
                return done
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                arguments = json.loads(call.function.arguments or "{}")
                done.tools_called.append(call.function.name)
                result = (
                    order_status(arguments.get("order_id", ""))
                    if call.function.name == "order_status"
                    else (f"Order {arguments.get('order_id')} cancelled.")
                )
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        done.text = "Sorry, I could not finish looking that up."
        return done

    def ask(self, question: str) -> AgentReply:
        return self.reply([{"role": "user", "content": question}])

    def status_card(self, question: str) -> str:
        """The model's JSON status card for the order in `question` (structured output, as raw JSON text)."""
        response = self.client.chat.completions.create(
            model=self.model,
            temperature=0,
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "status_card",
                    "schema": StatusCard.model_json_schema(),
                    "strict": True,
                },
            },
        )
        return response.choices[0].message.content or ""
