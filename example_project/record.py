"""Re-record the example's cassettes against the provider simulator, then rewrite the baseline.

    python example_project/record.py

There is no API key on the machine these cassettes come from, so the "provider" is pytest-llmops' local
simulator (`pytest_llmops.simulator`): an OpenAI + Anthropic API on 127.0.0.1 whose model answers like a
careful extractive RAG model, and which also answers the LLM judge's rubrics. To record against the real
APIs instead, skip this script and run, with real keys:

    OPENAI_API_KEY=... ANTHROPIC_API_KEY=... pytest example_project --llm-eval --llm-record=rewrite

Steps:
1. every test, recorded from scratch (`--llm-record=rewrite`) with the released prompt;
2. the suite again with the experimental prompt rag_qa@1.4.0-beta.1, adding its new requests to the
   same cassettes (`--llm-record=new_episodes`), so the regression demo in README.md replays offline
   (this run fails: that is the demo);
3. `--llm-update-baseline` from a replay of the released prompt, writing .llm-baseline.json.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pytest_llmops.simulator import ProviderSimulator
from pytest_llmops.simulator.judge_responder import with_judge

HERE = Path(__file__).resolve().parent
CASSETTES = HERE / "tests" / "cassettes"
BETA_PROMPT = "rag_qa@1.4.0-beta.1"
SIMULATED_LATENCY_MS = 350  # roughly a small model's time to answer a short RAG prompt


def fake_key(prefix: str) -> str:
    """A key the simulator accepts; never a real one, and built here so no key-like text is committed."""
    return prefix + "simulator-" + "0" * 24


def pytest_run(*args: str, env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "pytest", str(HERE), "--llm-eval", "-p", "no:cacheprovider", *args]
    print("$", " ".join(command[2:]), flush=True)
    return subprocess.run(command, env=env, check=False).returncode


def main() -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTBOT_", "OPENAI_", "ANTHROPIC_"))}
    with ProviderSimulator(responder=with_judge(), latency_ms=SIMULATED_LATENCY_MS) as sim:
        live = {
            **env,
            "OPENAI_BASE_URL": sim.openai_base_url,
            "ANTHROPIC_BASE_URL": sim.anthropic_base_url,
            "OPENAI_API_KEY": fake_key("sk-"),
            "ANTHROPIC_API_KEY": fake_key("sk-ant-"),
        }
        judge_url = f"llm_judge_base_url={sim.openai_base_url}"
        shutil.rmtree(CASSETTES, ignore_errors=True)
        if pytest_run("--llm-record=rewrite", "-o", judge_url, env=live) != 0:
            print("recording with the released prompt failed: fix that first", file=sys.stderr)
            return 1
        beta = {**live, "SUPPORTBOT_PROMPT": BETA_PROMPT}
        pytest_run("--llm-record=new_episodes", "-o", judge_url, env=beta)  # fails: the demo's point
    return pytest_run("--llm-update-baseline", env=env)


if __name__ == "__main__":
    raise SystemExit(main())
