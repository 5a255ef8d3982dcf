"""The example project's app (example_project/supportbot) as a real app is written: one SDK client per
provider for the whole process, shared by every bot and agent, and only the chosen provider's SDK imported.

Each case runs the app in a fresh interpreter (a `sys.modules` check needs one) against the provider
simulator, with the real SDKs; the README's `pytest example_project --llm-eval` itself runs in CI (.ci/run)
and is timed by benchmarks/bench_example.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmops.simulator import ProviderSimulator
from tests.conftest import fake_key

EXAMPLE = Path(__file__).resolve().parent.parent / "example_project"

# Counts the CA bundle loads (one per TLS context an HTTP client builds, ~20 ms each), then asks three
# questions through two bots (and, for OpenAI, the billing agent) and reports what the process holds.
APP = """
import json, ssl, sys

loads = []
_load = ssl.SSLContext.load_verify_locations


def counting(self, *args, **kwargs):
    loads.append(1)
    return _load(self, *args, **kwargs)


ssl.SSLContext.load_verify_locations = counting

from supportbot import SupportBot

bot = SupportBot.from_env()
answers = [bot.ask(q).text for q in ("How do I cancel my subscription?", "Can I get a refund?")]
other = SupportBot.from_env()
answers.append(other.ask("How do I export my notes?").text)
clients = {id(bot.chat.client), id(other.chat.client)}
if bot.chat.provider == "openai":
    from supportbot.agent import OrderAgent

    agent = OrderAgent()
    answers.append(agent.ask("What's the order status for A-1042?").text)
    clients.add(id(agent.client))
print(json.dumps({
    "sdks": sorted(name for name in ("openai", "anthropic") if name in sys.modules),
    "clients": len(clients),
    "ca_bundle_loads": len(loads),
    "answers": answers,
}))
"""


def run_app(provider: str, sim: ProviderSimulator) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTBOT_", "OPENAI_", "ANTHROPIC_"))}
    env.update(
        SUPPORTBOT_PROVIDER=provider,
        OPENAI_BASE_URL=sim.openai_base_url,
        ANTHROPIC_BASE_URL=sim.anthropic_base_url,
        OPENAI_API_KEY=fake_key(),
        ANTHROPIC_API_KEY=fake_key("sk-ant-api03-"),
        PYTHONPATH=os.pathsep.join([str(EXAMPLE), env.get("PYTHONPATH", "")]),
    )
    proc = subprocess.run(
        [sys.executable, "-c", APP], cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("provider", "answers", "calls"),
    [("openai", 4, 5), ("anthropic", 3, 3)],  # the agent looks the order up (a tool call), then answers
    ids=["openai", "anthropic"],
)
def test_app_builds_one_client_and_imports_only_its_provider(provider, answers, calls, sim):
    seen = run_app(provider, sim)
    assert seen["sdks"] == [provider], f"a {provider} run imported {seen['sdks']}"
    assert seen["clients"] == 1, "every bot and agent shares the process's client"
    assert seen["ca_bundle_loads"] == 1, "one TLS context for the process, not one per bot or question"
    assert len(seen["answers"]) == answers  # type: ignore[arg-type]
    assert all(seen["answers"]), seen["answers"]  # type: ignore[attr-defined]
    assert len(sim.requests) == calls, "every question reached the provider"


def test_retriever_ranks_by_bm25(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from supportbot.corpus import Passage
    from supportbot.retrieval import Retriever

    def passage(source: str, text: str) -> Passage:
        return Passage(source=source, title="", text=text)

    corpus = [
        passage("sync", "Notes sync between devices within seconds."),
        passage(
            "refund-long", "Refunds: annual plans get a refund within 30 days, " + "and more words " * 12
        ),
        passage("refund-short", "Annual plans get a refund within 30 days."),
        passage("refund-twice", "Refund rules. A refund of an annual plan within 30 days."),
        passage("export", "Export notebooks as Markdown or PDF."),
        passage("export-copy", "Export notebooks as Markdown or PDF."),
    ]
    retriever = Retriever(corpus)
    # Two mentions in a short passage, then one in a short passage, then two in a long one (length counts);
    # passages sharing no word with the question are left out.
    assert [p.source for p in retriever.search("How do refunds work?", k=5)] == [
        "refund-twice",
        "refund-short",
        "refund-long",
    ]
    assert [p.source for p in retriever.search("export to PDF", k=3)] == ["export", "export-copy"]  # a tie
    assert retriever.search("How do I do it?") == []  # stopwords only
    assert [p.source for p in retriever.search("syncing", k=1)] == ["sync"]  # stems meet
