"""Retrieval quality, without any model call: for every answerable golden question, is an expected article
among the top 3 passages? Recorded as a score so the report and the baseline track it."""

from __future__ import annotations

import pytest
from pytest_llmops import checks

TOP_K = 3


@pytest.mark.llm(tags=["retrieval"])
def test_retrieval_recall(golden, retriever):
    cases = [c for c in golden.values() if c["expected_sources"]]
    missed = []
    reciprocal_ranks = []
    for case in cases:
        found = [p.source for p in retriever.search(case["question"], k=TOP_K)]
        ranks = [found.index(s) + 1 for s in case["expected_sources"] if s in found]
        reciprocal_ranks.append(1 / min(ranks) if ranks else 0.0)
        if not ranks:
            missed.append(f"{case.id}: expected {case['expected_sources']}, found {found}")
    checks.record_score("mrr", sum(reciprocal_ranks) / len(cases), details={"k": TOP_K})
    recall = 1 - len(missed) / len(cases)
    checks.record_score(f"recall_at_{TOP_K}", recall, details={"missed": missed})
    assert recall >= 0.95, "\n".join(missed)
