"""Fixtures of the support bot's LLM tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_llmops.experiments.datasets import Case, load

from supportbot import Retriever, SupportBot

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden.yaml"


@pytest.fixture(scope="session")
def retriever() -> Retriever:
    """One BM25 index for the whole run."""
    return Retriever()


@pytest.fixture
def bot(llm_prompt, retriever: Retriever) -> SupportBot:
    """The bot as configured for production (SUPPORTBOT_PROVIDER, SUPPORTBOT_MODEL) with the test's prompt."""
    return SupportBot.from_env(llm_prompt, retriever=retriever)


@pytest.fixture(scope="session")
def golden() -> dict[str, Case]:
    """The golden cases by id, for tests that pick a few of them."""
    return {case.id: case for case in load(GOLDEN)}
