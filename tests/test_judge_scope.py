"""Inside a pytest session the judge is asked only from llm tests, whose cassettes keep its calls."""

from __future__ import annotations

import pytest


def test_judge_outside_an_llm_test_is_a_clear_error(llm_pytester: pytest.Pytester) -> None:
    llm_pytester.makeini("[pytest]\nllm_judge = openai:gpt-4o-mini\n")
    llm_pytester.makepyfile(
        test_j="""
        from pytest_llmops import checks

        def test_unmarked():
            checks.relevance("What is the capital of France?", "Paris is the capital of France.")
        """
    )
    result = llm_pytester.runpytest("--llm-eval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the LLM judge (openai:gpt-4o-mini) is asked only from llm tests*@pytest.mark.llm*"]
    )


def test_bad_judge_band_names_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllm_judge_band = 0.8,0.2\n")
    result = pytester.runpytest("--llm-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*llm_judge_band = 0.8,0.2 in *: '0.8,0.2' must satisfy 0 <= low <= high <= 1*"]
    )
